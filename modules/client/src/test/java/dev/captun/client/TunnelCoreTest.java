package dev.captun.client;

import static dev.captun.client.Wire.assertBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class TunnelCoreTest {
    private static final int WINDOW = 1024;

    @Test
    void readyVersionWindowAndPing() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.empty(204), WINDOW)) {
            assertEquals("http://gw/demo", w.core.ready().get().url());
            assertEquals(WINDOW, w.core.window());
            w.control(new Control.Ping(42));
            assertEquals(42, w.pong().nonce());
        }
    }

    @Test
    void unknownProtocolVersionIsAProtocolError() {
        TunnelCore core = new TunnelCore(new Wire.NoOp(), req -> null, Runnable::run, null);
        assertThrows(ProtocolException.class,
                () -> core.onText(ControlCodec.encode(new Control.Ready(Protocol.VERSION + 1, "n", "u", 1, 15))));
        assertTrue(core.ready().isCompletedExceptionally());
    }

    @Test
    void protocolTwoCarriesSmallBodiesInsideTheHeads() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(200, "got:" + new String(req.body().readAllBytes(), StandardCharsets.UTF_8)),
                WINDOW, 2)) {
            w.core.onText(ControlCodec.encode(new Control.Request(1, "POST", "/x", List.of(), true, false,
                    "hi".getBytes(StandardCharsets.UTF_8))));
            Control.Response head = w.response(1);
            assertEquals(200, head.status());
            assertTrue(head.end());
            assertEquals("got:hi", new String(head.body(), StandardCharsets.UTF_8));
            assertEquals("6", Wire.header(head.headers(), "content-length"));
            // One frame was the whole exchange: no DATA, no end, and no credit for bytes that never used any.
            assertNull(w.stream(1).poll(200, TimeUnit.MILLISECONDS));
            assertEquals(200, w.event().status());
        }
    }

    @Test
    void protocolTwoBatchesSeveralFramesInOneTextMessage() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(200, req.path()), WINDOW, 2)) {
            w.core.onText(ControlCodec.encode(new Control.Request(1, "GET", "/one", List.of(), true, false)) + "\n"
                    + ControlCodec.encode(new Control.Request(2, "GET", "/two", List.of(), true, false)));
            assertEquals("/one", new String(w.response(1).body(), StandardCharsets.UTF_8));
            assertEquals("/two", new String(w.response(2).body(), StandardCharsets.UTF_8));
            assertTrue(w.core.batching());
        }
    }

    @Test
    void protocolTwoStreamsBodiesOverTheInlineLimit() throws Exception {
        byte[] big = new byte[Protocol.INLINE_BODY_MAX + 1];
        java.util.Arrays.fill(big, (byte) 'x');
        try (Wire w = new Wire(req -> TunnelResponse.bytes(200, big), 1024 * 1024, 2)) {
            w.request(1, "GET", "/big", List.of(), true);
            Control.Response head = w.response(1);
            assertFalse(head.end());
            assertNull(head.body());
            assertEquals(big.length, w.bodyUntilEnd(1).length);
        }
    }

    @Test
    void handlerSeesTheStreamedRequestBodyAndCreditIsReturned() throws Exception {
        CompletableFuture<String> seenPath = new CompletableFuture<>();
        try (Wire w = new Wire(req -> {
            seenPath.complete(req.method() + " " + req.path() + " " + req.header("X-TEST"));
            String body = new String(req.body().readAllBytes(), StandardCharsets.UTF_8);
            return TunnelResponse.text(201, "got:" + body).header("x-a", "1");
        }, WINDOW)) {
            w.request(1, "POST", "/up?q=1", List.of(new Header("x-test", "yes")), false);
            w.data(1, "hello ");
            w.data(1, "world");
            w.control(new Control.End(1));
            Control.Response head = w.response(1);
            assertEquals(201, head.status());
            assertFalse(head.end());
            assertEquals("1", Wire.header(head.headers(), "x-a"));
            assertEquals("text/plain; charset=utf-8", Wire.header(head.headers(), "content-type"));
            assertBody("got:hello world", w.bodyUntilEnd(1));
            assertEquals("POST /up?q=1 yes", seenPath.get());
            TunnelEvent.Request ev = w.event();
            assertEquals(201, ev.status());
            assertEquals("/up?q=1", ev.path());
        }
    }

    @Test
    void requestBodyGrantsCreditOnlyAfterReading() throws Exception {
        CountDownLatch firstRead = new CountDownLatch(1);
        CountDownLatch readMore = new CountDownLatch(1);
        try (Wire w = new Wire(req -> {
            InputStream in = req.body();
            byte[] buf = new byte[100];
            int n = in.readNBytes(buf, 0, 100);
            firstRead.countDown();
            readMore.await();
            byte[] rest = in.readAllBytes();
            return TunnelResponse.text(200, (n + rest.length) + "");
        }, WINDOW)) {
            w.request(1, "PUT", "/", List.of(), false);
            w.data(1, new byte[WINDOW]); // a whole window: allowed
            assertTrue(firstRead.await(20, TimeUnit.SECONDS));
            // 100 of 1024 read: below window/4 and not everything held -> no credit yet
            assertNull(w.stream(1).poll(200, TimeUnit.MILLISECONDS));
            readMore.countDown();
            Object credit = w.next(1);
            assertTrue(credit instanceof Control.Credit, "expected credit, got " + credit);
            int granted = ((Control.Credit) credit).bytes();
            assertEquals(WINDOW, granted); // everything held consumed -> all granted at once
            w.data(1, new byte[10]);
            w.control(new Control.End(1));
            assertEquals(200, w.response(1).status());
            assertBody(String.valueOf(WINDOW + 10), w.bodyUntilEnd(1));
        }
    }

    @Test
    void sendingMoreThanTheWindowIsAProtocolError() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        try (Wire w = new Wire(req -> {
            never.await();
            return null;
        }, WINDOW)) {
            w.request(1, "POST", "/", List.of(), false);
            w.data(1, new byte[WINDOW]);
            assertThrows(ProtocolException.class, () -> w.data(1, new byte[1]));
            never.countDown();
        }
    }

    @Test
    void streamedResponseNeverExceedsTheCreditWindow() throws Exception {
        int total = 5 * WINDOW + 300;
        byte[] payload = new byte[total];
        for (int i = 0; i < total; i++) {
            payload[i] = (byte) i;
        }
        try (Wire w = new Wire(req -> TunnelResponse.streaming(200, out -> {
            for (int off = 0; off < total; off += 100) {
                out.write(payload, off, Math.min(100, total - off));
            }
        }), WINDOW)) {
            w.request(1, "GET", "/stream", List.of(), true);
            assertEquals(200, w.response(1).status());
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            while (got.size() < total) {
                int outstanding = 0;
                while (outstanding < WINDOW && got.size() < total) {
                    DataFrame f = (DataFrame) w.nextNonCredit(1);
                    byte[] b = f.payloadBytes();
                    got.write(b);
                    outstanding += b.length;
                    assertTrue(outstanding <= WINDOW, "more than the window outstanding: " + outstanding);
                }
                if (got.size() < total) {
                    // window exhausted: nothing more until credit arrives
                    assertNull(w.stream(1).poll(150, TimeUnit.MILLISECONDS));
                    w.control(new Control.Credit(1, outstanding));
                }
            }
            assertTrue(w.nextNonCredit(1) instanceof Control.End);
            assertTrue(Arrays.equals(payload, got.toByteArray()));
        }
    }

    @Test
    void eachWriteIsSentPromptly() throws Exception {
        CountDownLatch secondEvent = new CountDownLatch(1);
        try (Wire w = new Wire(req -> TunnelResponse.streaming(200, out -> {
            out.write("data: 1\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            secondEvent.await();
            out.write("data: 2\n\n".getBytes(StandardCharsets.UTF_8));
        }).header("content-type", "text/event-stream"), WINDOW)) {
            w.request(1, "GET", "/events", List.of(), true);
            w.response(1);
            assertBody("data: 1\n\n", ((DataFrame) w.nextNonCredit(1)).payloadBytes());
            secondEvent.countDown();
            assertBody("data: 2\n\n", ((DataFrame) w.nextNonCredit(1)).payloadBytes());
            assertTrue(w.nextNonCredit(1) instanceof Control.End);
        }
    }

    @Test
    void largeWritesAreSplitAt64KiB() throws Exception {
        byte[] big = new byte[200 * 1024];
        try (Wire w = new Wire(req -> TunnelResponse.bytes(200, big), 256 * 1024)) {
            w.request(1, "GET", "/big", List.of(), true);
            w.response(1);
            assertEquals(big.length, w.bodyUntilEnd(1).length); // Wire asserts each frame <= 64 KiB
        }
    }

    @Test
    void aStalledStreamDoesNotBlockAnother() throws Exception {
        try (Wire w = new Wire(req -> req.path().equals("/slow")
                ? TunnelResponse.bytes(200, new byte[4 * WINDOW])
                : TunnelResponse.text(200, "fast"), WINDOW)) {
            w.request(1, "GET", "/slow", List.of(), true);
            w.response(1);
            int got = 0;
            while (got < WINDOW) {
                got += ((DataFrame) w.nextNonCredit(1)).payloadBytes().length;
            }
            // stream 1 now waits for credit; stream 2 completes meanwhile
            w.request(2, "GET", "/fast", List.of(), true);
            assertEquals(200, w.response(2).status());
            assertBody("fast", w.bodyUntilEnd(2));
            assertNull(w.stream(1).poll(50, TimeUnit.MILLISECONDS));
            w.control(new Control.Credit(1, got));
            assertEquals(3 * WINDOW, w.bodyUntilEnd(1).length);
        }
    }

    @Test
    void gatewayResetStopsTheWriterAndTheBodyReader() throws Exception {
        CompletableFuture<Throwable> writerError = new CompletableFuture<>();
        CompletableFuture<Throwable> readerError = new CompletableFuture<>();
        AtomicBoolean abortedSeen = new AtomicBoolean();
        try (Wire w = new Wire(req -> {
            Thread reader = new Thread(() -> {
                try {
                    req.body().readAllBytes();
                    readerError.complete(null);
                } catch (IOException e) {
                    readerError.complete(e);
                }
            });
            reader.start();
            return TunnelResponse.streaming(200, out -> {
                try {
                    while (true) {
                        out.write(new byte[256]);
                    }
                } catch (IOException e) {
                    abortedSeen.set(req.isAborted());
                    writerError.complete(e);
                    throw e;
                }
            });
        }, WINDOW)) {
            w.request(7, "POST", "/", List.of(), false);
            w.response(7);
            w.control(new Control.Reset(7, "client went away"));
            assertTrue(writerError.get(20, TimeUnit.SECONDS) instanceof IOException);
            assertTrue(readerError.get(20, TimeUnit.SECONDS) instanceof IOException);
            assertTrue(abortedSeen.get());
            TunnelEvent.Request ev = w.event();
            assertEquals(200, ev.status());
            // the SDK does not answer a gateway reset with its own reset or end
            List<Object> rest = new ArrayList<>();
            w.stream(7).drainTo(rest);
            assertTrue(rest.stream().allMatch(o -> o instanceof DataFrame), "unexpected frames " + rest);
            // frames for the finished stream are ignored
            w.data(7, "late");
            w.control(new Control.Credit(7, 10));
        }
    }

    @Test
    void handlerExceptionResetsTheStream() throws Exception {
        try (Wire w = new Wire(req -> {
            throw new IllegalStateException("boom");
        }, WINDOW)) {
            w.request(3, "GET", "/", List.of(), true);
            Object o = w.nextNonCredit(3);
            assertTrue(o instanceof Control.Reset, "expected reset, got " + o);
            assertEquals(502, w.event().status());
        }
    }

    @Test
    void writerExceptionAfterTheHeadResetsTheStream() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.streaming(200, out -> {
            out.write(1);
            throw new IOException("disk gone");
        }), WINDOW)) {
            w.request(3, "GET", "/", List.of(), true);
            w.response(3);
            assertTrue(w.nextNonCredit(3) instanceof DataFrame);
            assertTrue(w.nextNonCredit(3) instanceof Control.Reset);
        }
    }

    @Test
    void healthIsAnsweredByTheSdk() throws Exception {
        AtomicBoolean called = new AtomicBoolean();
        try (Wire w = new Wire(req -> {
            called.set(true);
            return TunnelResponse.empty(500);
        }, WINDOW)) {
            w.request(1, "GET", "/__captun/health?x=1", List.of(), true);
            Control.Response head = w.response(1);
            assertEquals(200, head.status());
            assertEquals("application/json", Wire.header(head.headers(), "content-type"));
            assertBody("{\"ok\":true}", w.bodyUntilEnd(1));
            w.request(2, "GET", "/__captun/healthz", List.of(), true);
            assertEquals(500, w.response(2).status());
            assertTrue(called.get());
        }
    }

    @Test
    void anOrdinaryResponseToAWebSocketUpgradeIsRelayedAsTheRefusal() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(426, "plain HTTP only"), WINDOW)) {
            w.control(new Control.Request(1, "GET", "/ws", List.of(), true, true));
            Control.Response head = w.response(1);
            assertEquals(426, head.status());
            assertBody("plain HTTP only", w.bodyUntilEnd(1));
        }
    }

    @Test
    void shutdownAbortsOpenStreams() throws Exception {
        CompletableFuture<Throwable> readerError = new CompletableFuture<>();
        try (Wire w = new Wire(req -> {
            try {
                req.body().read();
                readerError.complete(null);
            } catch (IOException e) {
                readerError.complete(e);
            }
            return TunnelResponse.empty(200);
        }, WINDOW)) {
            w.request(1, "POST", "/", List.of(), false);
            w.core.shutdown("dropped");
            assertTrue(readerError.get(20, TimeUnit.SECONDS) instanceof IOException);
            assertEquals(0, w.core.openStreams());
        }
    }
}
