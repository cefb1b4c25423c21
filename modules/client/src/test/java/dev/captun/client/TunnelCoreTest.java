package dev.captun.client;

import static dev.captun.client.Wire.assertBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
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
            assertEquals("trusted", w.core.ready().get().policy());
            assertEquals(WINDOW, w.core.window());
            w.ping(42);
            assertEquals(42, w.pong().nonce());
        }
    }

    @Test
    void aGatewayOfAnotherProtocolVersionIsAProtocolError() {
        for (int version : new int[] {2, Protocol.VERSION + 1}) {
            TunnelCore core = new TunnelCore(new Wire.NoOp(), req -> null, Runnable::run, null);
            ProtocolException e = assertThrows(ProtocolException.class, () -> core.onMessage(
                    ByteBuffer.wrap(new FrameWriter().ready(new Control.Ready(version, "n", "u", 1, 15)).toByteArray())));
            assertEquals("gateway speaks captun protocol version " + version + ", this client speaks " + Protocol.VERSION, e.getMessage());
            assertTrue(core.ready().isCompletedExceptionally());
        }
    }

    @Test
    void framesTheClientNeverReceivesAreProtocolErrors() throws Exception {
        TunnelCore fresh = new TunnelCore(new Wire.NoOp(), req -> TunnelResponse.empty(204), Runnable::run, null);
        assertThrows(ProtocolException.class, () -> fresh.onMessage(
                ByteBuffer.wrap(new FrameWriter().request(1, "GET", "/", List.of(), true, false).toByteArray())), "request before ready");
        try (Wire w = new Wire(req -> TunnelResponse.empty(204), WINDOW)) {
            assertThrows(ProtocolException.class, () -> w.send(new FrameWriter().response(1, 200, List.of(), true)));
            assertThrows(ProtocolException.class, () -> w.send(new FrameWriter().ready(new Control.Ready(Protocol.VERSION, "n", "u", 1, 15))),
                    "a second ready");
            assertThrows(ProtocolException.class, () -> w.core.onMessage(ByteBuffer.wrap(new byte[] {1, 2, 3})));
        }
    }

    @Test
    void aSmallExchangeIsOneMessageEachWay() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(200, "got:" + new String(req.body().readAllBytes(), StandardCharsets.UTF_8)),
                WINDOW)) {
            byte[] hi = "hi".getBytes(StandardCharsets.UTF_8);
            w.send(new FrameWriter().request(1, "POST", "/x", List.of(), false, false).data(1, hi, 0, hi.length, true));
            List<WireFrame> answer = w.messages.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(2, answer.size(), "head and body in one message: " + answer);
            WireFrame.Response head = (WireFrame.Response) answer.get(0);
            assertEquals(200, head.status());
            assertFalse(head.end());
            assertEquals("6", Wire.header(head.headers(), "content-length"));
            WireFrame.Data body = (WireFrame.Data) answer.get(1);
            assertTrue(body.end());
            assertBody("got:hi", body.payload());
            // No credit for a request body that ended, nor anything else on the stream.
            assertEquals(200, w.event().status());
            assertNull(w.messages.poll(200, TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void anEmptyBodyIsAResponseHeadWithEnd() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.empty(204), WINDOW)) {
            w.request(1, "GET", "/", List.of(), true);
            List<WireFrame> answer = w.messages.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(1, answer.size(), answer.toString());
            WireFrame.Response head = (WireFrame.Response) answer.get(0);
            assertEquals(204, head.status());
            assertTrue(head.end());
            assertNull(Wire.header(head.headers(), "content-length"));
        }
    }

    @Test
    void severalRequestsInOneMessageAreAllAnswered() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(200, req.path()), WINDOW)) {
            w.send(new FrameWriter().request(1, "GET", "/one", List.of(), true, false).request(2, "GET", "/two", List.of(), true, false));
            assertEquals(200, w.response(1).status());
            assertBody("/one", w.bodyUntilEnd(1));
            assertEquals(200, w.response(2).status());
            assertBody("/two", w.bodyUntilEnd(2));
        }
    }

    @Test
    void theHandlerSeesTheTunnelUrlFromReadyAndNoOtherOne() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(200, String.join(",", req.headers().stream()
                .filter(h -> h.name().equalsIgnoreCase("x-captun-tunnel-url")).map(Header::value).toList())), WINDOW)) {
            w.request(1, "GET", "/", List.of(new Header("X-Captun-Tunnel-Url", "http://evil/"), new Header("a", "b")), true);
            w.response(1);
            assertBody(Wire.URL, w.bodyUntilEnd(1));
        }
    }

    @Test
    void aKnownBodyOverOneDataFrameGoesAsSeveralUnderCreditTheLastWithEnd() throws Exception {
        byte[] big = new byte[Protocol.MAX_DATA_PAYLOAD + 1];
        Arrays.fill(big, (byte) 'x');
        try (Wire w = new Wire(req -> TunnelResponse.bytes(200, big), 1024 * 1024)) {
            w.request(1, "GET", "/big", List.of(), true);
            List<WireFrame> first = w.messages.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(2, first.size(), "the head leaves with the first part: " + first);
            assertFalse(((WireFrame.Response) first.get(0)).end());
            assertEquals(String.valueOf(big.length), Wire.header(((WireFrame.Response) first.get(0)).headers(), "content-length"));
            w.response(1);
            assertEquals(big.length, w.bodyUntilEnd(1).length);
        }
        // A window smaller than the body: the rest waits for credit.
        try (Wire w = new Wire(req -> TunnelResponse.bytes(200, new byte[3 * WINDOW]), WINDOW)) {
            w.request(1, "GET", "/", List.of(), true);
            w.response(1);
            WireFrame.Data d = w.nextData(1);
            assertEquals(WINDOW, d.payload().length);
            assertFalse(d.end());
            assertNull(w.stream(1).poll(150, TimeUnit.MILLISECONDS));
            w.credit(1, WINDOW);
            assertEquals(2 * WINDOW, w.bodyUntilEnd(1).length);
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
            w.end(1);
            WireFrame.Response head = w.response(1);
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
            WireFrame credit = w.next(1);
            assertTrue(credit instanceof WireFrame.Credit, "expected credit, got " + credit);
            int granted = ((WireFrame.Credit) credit).bytes();
            assertEquals(WINDOW, granted); // everything held consumed -> all granted at once
            w.data(1, new byte[10]);
            w.end(1);
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
                    WireFrame.Data f = w.nextData(1);
                    assertFalse(f.end());
                    byte[] b = f.payload();
                    got.write(b);
                    outstanding += b.length;
                    assertTrue(outstanding <= WINDOW, "more than the window outstanding: " + outstanding);
                }
                if (got.size() < total) {
                    // window exhausted: nothing more until credit arrives
                    assertNull(w.stream(1).poll(150, TimeUnit.MILLISECONDS));
                    w.credit(1, outstanding);
                }
            }
            WireFrame.Data end = w.nextData(1);
            assertTrue(end.end() && end.payload().length == 0, "a streamed body ends with an empty DATA END: " + end);
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
            assertBody("data: 1\n\n", w.nextData(1).payload());
            secondEvent.countDown();
            assertBody("data: 2\n\n", w.nextData(1).payload());
            assertTrue(w.nextData(1).end());
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
                got += w.nextData(1).payload().length;
            }
            // stream 1 now waits for credit; stream 2 completes meanwhile
            w.request(2, "GET", "/fast", List.of(), true);
            assertEquals(200, w.response(2).status());
            assertBody("fast", w.bodyUntilEnd(2));
            assertNull(w.stream(1).poll(50, TimeUnit.MILLISECONDS));
            w.credit(1, got);
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
            w.reset(7, "client went away");
            assertTrue(writerError.get(20, TimeUnit.SECONDS) instanceof IOException);
            assertTrue(readerError.get(20, TimeUnit.SECONDS) instanceof IOException);
            assertTrue(abortedSeen.get());
            TunnelEvent.Request ev = w.event();
            assertEquals(200, ev.status());
            // the SDK does not answer a gateway reset with its own reset or end
            List<WireFrame> rest = new ArrayList<>();
            w.stream(7).drainTo(rest);
            assertTrue(rest.stream().allMatch(o -> o instanceof WireFrame.Data d && !d.end()), "unexpected frames " + rest);
            // frames for the finished stream are ignored
            w.data(7, "late");
            w.credit(7, 10);
        }
    }

    @Test
    void handlerExceptionResetsTheStream() throws Exception {
        try (Wire w = new Wire(req -> {
            throw new IllegalStateException("boom");
        }, WINDOW)) {
            w.request(3, "GET", "/", List.of(), true);
            WireFrame o = w.nextNonCredit(3);
            assertTrue(o instanceof WireFrame.Reset, "expected reset, got " + o);
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
            assertTrue(w.nextNonCredit(3) instanceof WireFrame.Data d && !d.end());
            assertTrue(w.nextNonCredit(3) instanceof WireFrame.Reset);
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
            WireFrame.Response head = w.response(1);
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
            w.wsRequest(1, "/ws", List.of());
            WireFrame.Response head = w.response(1);
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
