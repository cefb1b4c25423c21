package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Handler-mode public WebSockets through the in-memory {@link Wire}. */
class WebSocketHandlerTest {

    /** Records every callback as a string; echoes messages back. */
    static class Echo implements TunnelWebSocket.Listener {
        final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        final CompletableFuture<TunnelWebSocket> opened = new CompletableFuture<>();
        final AtomicBoolean concurrent = new AtomicBoolean();
        final AtomicBoolean onTransportThread = new AtomicBoolean();
        private final AtomicBoolean inCallback = new AtomicBoolean();

        void enter() {
            if (!inCallback.compareAndSet(false, true)) {
                concurrent.set(true);
            }
            if (Thread.currentThread().getName().contains("main")) {
                onTransportThread.set(true); // the test thread plays the tunnel transport
            }
        }

        void exit() {
            inCallback.set(false);
        }

        @Override
        public void onOpen(TunnelWebSocket ws) {
            enter();
            events.add("open " + ws.subprotocol());
            opened.complete(ws);
            exit();
        }

        @Override
        public void onText(TunnelWebSocket ws, String message) {
            enter();
            events.add("text " + message.length());
            ws.sendText(message);
            exit();
        }

        @Override
        public void onBinary(TunnelWebSocket ws, ByteBuffer message) {
            enter();
            events.add("binary " + message.remaining());
            ws.sendBinary(message);
            exit();
        }

        @Override
        public void onClose(TunnelWebSocket ws, int code, String reason) {
            enter();
            events.add("close " + code + " " + reason);
            exit();
        }

        String next() throws InterruptedException {
            String e = events.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(e, "no listener event");
            return e;
        }
    }

    private static TunnelHandler accepting(TunnelWebSocket.Listener l) {
        return req -> req.isWebSocket() ? TunnelResponse.webSocket(req.webSocketProtocols().isEmpty() ? null
                : req.webSocketProtocols().get(req.webSocketProtocols().size() - 1), l) : TunnelResponse.text(200, "plain");
    }

    @Test
    void acceptsWithSubprotocolAndEchoesTextAndBinaryInOrderBothWays() throws Exception {
        Echo echo = new Echo();
        CompletableFuture<List<String>> offered = new CompletableFuture<>();
        try (Wire w = new Wire(req -> {
            offered.complete(req.webSocketProtocols());
            return TunnelResponse.webSocket("superchat", echo);
        }, Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/ws?room=1", List.of(new Header("sec-websocket-protocol", "chat, superchat"),
                    new Header("Sec-WebSocket-Protocol", "other")));
            WireFrame.Response head = w.response(1);
            assertEquals(101, head.status());
            assertEquals("superchat", Wire.header(head.headers(), "sec-websocket-protocol"));
            assertEquals(List.of("chat", "superchat", "other"), offered.get());
            assertEquals("open superchat", echo.next());

            byte[] big = new byte[200 * 1024];
            new Random(7).nextBytes(big);
            String bigText = "é".repeat(100 * 1024); // 200 KiB of UTF-8, split mid-character below
            w.wsText(1, "hello");
            w.wsMessage(1, false, new byte[] {1, 2, 3}, 64 * 1024);
            w.wsMessage(1, false, big, 64 * 1024);
            w.wsMessage(1, false, new byte[0], 64 * 1024);
            w.wsMessage(1, true, bigText.getBytes(StandardCharsets.UTF_8), 65535);
            w.wsText(1, "bye");

            assertEquals("hello", w.wsRead(1).text());
            assertArrayEquals(new byte[] {1, 2, 3}, w.wsRead(1).binary());
            assertArrayEquals(big, w.wsRead(1).binary());
            assertArrayEquals(new byte[0], w.wsRead(1).binary());
            assertEquals(bigText, w.wsRead(1).text());
            assertEquals("bye", w.wsRead(1).text());
            assertEquals(List.of("text 5", "binary 3", "binary " + big.length, "binary 0", "text " + bigText.length(), "text 3"),
                    List.of(echo.next(), echo.next(), echo.next(), echo.next(), echo.next(), echo.next()));
            assertFalse(echo.concurrent.get(), "listener callbacks overlapped");
            assertFalse(echo.onTransportThread.get(), "listener ran on the transport thread");
        }
    }

    @Test
    void outboundNeverExceedsTheWindowAndWaitsForCredit() throws Exception {
        int window = 4096;
        Echo echo = new Echo();
        try (Wire w = new Wire(accepting(echo), window)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            TunnelWebSocket ws = echo.opened.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            byte[] a = new byte[10_000];
            new Random(1).nextBytes(a);
            CompletableFuture<Void> first = ws.sendBinary(a);
            CompletableFuture<Void> second = ws.sendText("after");
            // without credit: exactly one window's worth goes out, then nothing
            int seen = 0;
            while (seen < window) {
                WireFrame.WsFragment f = (WireFrame.WsFragment) w.next(1);
                assertFalse(f.fin());
                seen += f.payload().length;
            }
            assertEquals(window, seen);
            assertNull(w.stream(1).poll(200, TimeUnit.MILLISECONDS), "sent beyond the window");
            assertFalse(first.isDone());
            // grant a little at a time: outstanding never exceeds the window
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            got.write(a, 0, 0);
            int outstanding = window;
            int received = window;
            while (received < a.length) {
                w.credit(1, 1000);
                outstanding -= 1000;
                while (outstanding < window && received < a.length) {
                    WireFrame.WsFragment f = (WireFrame.WsFragment) w.next(1);
                    outstanding += f.payload().length;
                    received += f.payload().length;
                    assertTrue(outstanding <= window, "outstanding " + outstanding + " > window");
                }
            }
            assertEquals(a.length, received);
            first.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            w.credit(1, window);
            assertEquals("after", w.wsRead(1).text());
            second.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void inboundCreditForTheFinalFragmentWaitsForDelivery() throws Exception {
        int window = 4096;
        CountDownLatch release = new CountDownLatch(1);
        LinkedBlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        try (Wire w = new Wire(accepting(new TunnelWebSocket.Listener() {
            @Override
            public void onBinary(TunnelWebSocket ws, ByteBuffer m) throws Exception {
                got.add(m.remaining());
                release.await();
            }
        }), window)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            // a message larger than the window: non-FIN fragments are granted as buffered
            byte[] big = new byte[3 * window];
            int credited = 0;
            for (int off = 0; off < big.length; off += 1024) {
                boolean fin = off + 1024 == big.length;
                w.wsFragment(1, false, fin, big, off, 1024);
                while (!fin && off + 1024 - credited > window - 1024) {
                    credited += ((WireFrame.Credit) w.next(1)).bytes(); // wait for room for the next fragment
                }
            }
            while (credited < big.length - 1024) {
                credited += ((WireFrame.Credit) w.next(1)).bytes();
            }
            assertEquals(big.length - 1024, credited);
            assertEquals(3 * window, got.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS));
            // the message is with the (blocked) listener: its FIN bytes are not granted yet
            w.wsFragment(1, false, true, new byte[2000], 0, 2000);
            assertNull(w.stream(1).poll(200, TimeUnit.MILLISECONDS), "FIN bytes granted before delivery");
            release.countDown();
            int rest = 0;
            while (rest < 1024 + 2000) {
                rest += ((WireFrame.Credit) w.next(1)).bytes();
            }
            assertEquals(1024 + 2000, rest);
            assertEquals(2000, got.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    @Test
    void closeFromThePublicSideReachesTheListenerAndIsLogged() throws Exception {
        Echo echo = new Echo();
        try (Wire w = new Wire(accepting(echo), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(3, "/chat", List.of());
            assertEquals(101, w.response(3).status());
            assertEquals("open null", echo.next());
            w.wsText(3, "last words");
            w.wsCloseToClient(3, 4001, "done");
            assertEquals("text 10", echo.next());
            assertEquals("close 4001 done", echo.next());
            TunnelEvent.Request ev = w.event();
            assertEquals(101, ev.status());
            assertEquals("/chat", ev.path());
            assertEquals(0, w.core.openStreams());
        }
    }

    @Test
    void closeFromTheHandlerFollowsItsMessages() throws Exception {
        Echo echo = new Echo();
        try (Wire w = new Wire(accepting(echo), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            TunnelWebSocket ws = echo.opened.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            ws.sendText("one");
            ws.sendBinary(new byte[70_000]);
            ws.close(4001, "bye");
            assertFalse(ws.isOpen());
            ExecutionException ex = assertThrows(ExecutionException.class, () -> ws.sendText("late").get());
            assertTrue(ex.getCause() instanceof java.io.IOException);
            assertEquals("one", w.wsRead(1).text());
            assertEquals(70_000, w.wsRead(1).binary().length);
            WireFrame.WsClose c = w.wsClose(1);
            assertEquals(4001, c.code());
            assertEquals("bye", c.reason());
            assertEquals("open null", echo.next());
            assertEquals("close 4001 bye", echo.next());
            assertEquals(101, w.event().status());
            assertThrows(IllegalArgumentException.class, () -> ws.close(1005, "reserved"));
        }
    }

    @Test
    void oversizeInboundMessageClosesOnlyThatSocketWith4009() throws Exception {
        Echo echo = new Echo();
        int window = 32 * 1024 * 1024; // lets the test send 16 MiB + 1 without waiting for credit
        try (Wire w = new Wire(accepting(echo), window)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            assertEquals("open null", echo.next());
            byte[] chunk = new byte[64 * 1024];
            for (int i = 0; i < 256; i++) {
                w.wsFragment(1, false, false, chunk, 0, chunk.length); // exactly 16 MiB, not yet FIN
            }
            // another stream works meanwhile
            w.request(2, "GET", "/other", List.of(), true);
            assertEquals(200, w.response(2).status());
            Wire.assertBody("plain", w.bodyUntilEnd(2));
            w.wsFragment(1, false, true, new byte[1], 0, 1); // 16 MiB + 1
            WireFrame.WsClose c = w.wsClose(1);
            assertEquals(Protocol.CLOSE_MESSAGE_TOO_LARGE, c.code());
            assertEquals(Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON, c.reason());
            assertEquals("close 4009 Message too large to tunnel", echo.next());
            // later frames for the finished stream are ignored; the tunnel goes on
            w.wsText(1, "ignored");
            w.request(3, "GET", "/again", List.of(), true);
            assertEquals(200, w.response(3).status());
        }
    }

    @Test
    void oversizeOutboundMessageFailsAndCloses4009() throws Exception {
        Echo echo = new Echo();
        try (Wire w = new Wire(accepting(echo), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            TunnelWebSocket ws = echo.opened.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            CompletableFuture<Void> f = ws.sendBinary(new byte[Protocol.MAX_TUNNELED_WS_MESSAGE + 1]);
            ExecutionException ex = assertThrows(ExecutionException.class, f::get);
            assertTrue(ex.getCause() instanceof IllegalArgumentException);
            WireFrame.WsClose c = w.wsClose(1);
            assertEquals(4009, c.code());
            assertEquals("open null", echo.next());
            assertEquals("close 4009 Message too large to tunnel", echo.next());
        }
    }

    @Test
    void refusalIsAnOrdinaryResponse() throws Exception {
        try (Wire w = new Wire(req -> TunnelResponse.text(403, "no sockets here"), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/", List.of());
            WireFrame.Response r = w.response(1);
            assertEquals(403, r.status());
            Wire.assertBody("no sockets here", w.bodyUntilEnd(1));
            assertEquals(403, w.event().status());
        }
    }

    @Test
    void bare101AndMisplacedWebSocketResponsesAreHandlerErrors() throws Exception {
        try (Wire w = new Wire(req -> req.path().equals("/bare") ? TunnelResponse.empty(101)
                : TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {}), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/bare", List.of());
            assertTrue(w.nextNonCredit(1) instanceof WireFrame.Reset);
            w.request(2, "GET", "/http", List.of(), true);
            assertTrue(w.nextNonCredit(2) instanceof WireFrame.Reset);
        }
    }

    @Test
    void resetAndTunnelDropCloseWith1001() throws Exception {
        Echo a = new Echo();
        Echo b = new Echo();
        Wire w = new Wire(req -> TunnelResponse.webSocket(null, req.path().equals("/a") ? a : b), Protocol.DEFAULT_WINDOW);
        try {
            w.wsRequest(1, "/a", List.of());
            w.wsRequest(2, "/b", List.of());
            assertEquals(101, w.response(1).status());
            assertEquals(101, w.response(2).status());
            assertEquals("open null", a.next());
            assertEquals("open null", b.next());
            w.reset(1, "public client gone");
            assertEquals("close 1001 Tunnel client disconnected", a.next());
            TunnelWebSocket bs = b.opened.get();
            w.core.shutdown("dropped");
            assertEquals("close 1001 Tunnel client disconnected", b.next());
            assertFalse(bs.isOpen());
        } finally {
            w.close();
        }
    }

    @Test
    void aThrowingListenerClosesWith1011() throws Exception {
        LinkedBlockingQueue<String> closes = new LinkedBlockingQueue<>();
        try (Wire w = new Wire(accepting(new TunnelWebSocket.Listener() {
            @Override
            public void onText(TunnelWebSocket ws, String m) {
                throw new IllegalStateException("boom");
            }

            @Override
            public void onClose(TunnelWebSocket ws, int code, String reason) {
                closes.add(code + " " + reason);
            }
        }), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/", List.of());
            assertEquals(101, w.response(1).status());
            w.wsText(1, "x");
            WireFrame.WsClose c = w.wsClose(1);
            assertEquals(1011, c.code());
            assertEquals("1011 Handler failed", closes.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }
}
