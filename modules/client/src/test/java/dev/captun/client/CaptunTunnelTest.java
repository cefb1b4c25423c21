package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.Tokens;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The whole SDK over a real java.net.http WebSocket, against {@link FakeGateway}. */
class CaptunTunnelTest {
    private final LinkedBlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();

    private <T extends TunnelEvent> T awaitEvent(Class<T> type) throws InterruptedException {
        while (true) {
            TunnelEvent e = events.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(e, "no " + type.getSimpleName() + " event");
            if (type.isInstance(e)) {
                return type.cast(e);
            }
        }
    }

    /** Next frame that is not a ping, pong or credit ({@link WireFrame}), or the close ({@link FakeGateway.Msg}). */
    private static Object nextFrame(FakeGateway.Conn c) throws Exception {
        while (true) {
            Object f = c.nextFrame();
            if (!(f instanceof WireFrame.Ping) && !(f instanceof WireFrame.Pong) && !(f instanceof WireFrame.Credit)) {
                return f;
            }
        }
    }

    /** Frames until the client's close; its code. */
    private static int closeCode(FakeGateway.Conn c) throws Exception {
        while (true) {
            if (c.nextFrame() instanceof FakeGateway.Msg m) {
                return m.closeCode();
            }
        }
    }

    private static void ready(FakeGateway.Conn c, String url) throws Exception {
        c.ready(url);
    }

    /** The gateway side of a connect: accept the next WebSocket and send {@code ready}. */
    private static java.util.concurrent.CompletableFuture<FakeGateway.Conn> acceptAndReady(FakeGateway gw, String url) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                FakeGateway.Conn c = gw.accept();
                ready(c, url);
                return c;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void connectReturnsTheConfirmedUrlAndToken() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> gwSide = acceptAndReady(gw, "http://127.0.0.1/demo");
            try (CaptunTunnel t = CaptunTunnel.builder()
                    .gateway(gw.url())
                    .name("demo")
                    .token("tok en/é")
                    .handler(req -> TunnelResponse.text(200, "echo:" + new String(req.body().readAllBytes(), StandardCharsets.UTF_8)))
                    .listener(events::add)
                    .backoff(new Backoff(Duration.ofMillis(10), 1.5, Duration.ofMillis(50), 0.2))
                    .connect()) {
                gwSide.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                assertEquals("http://127.0.0.1/demo", t.url());
                assertEquals(CaptunTunnel.State.CONNECTED, t.state());
                assertEquals("tok en/é", t.token());
                awaitEvent(TunnelEvent.Connected.class);
                FakeGateway.Conn c1 = gw.connections.isEmpty() ? null : gw.connections.peek();
                assertTrue(c1 == null, "only one connection so far");
            }
        }
    }

    @Test
    void aGatewayThatVanishesWithOnlyAFinIsNoticedAtOnce() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> conn = acceptAndReady(gw, "http://127.0.0.1/demo");
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).name("demo")
                    .handler(req -> TunnelResponse.empty(204)).listener(events::add)
                    .backoff(new Backoff(Duration.ofSeconds(30), 1.5, Duration.ofSeconds(30), 0)).connect()) {
                awaitEvent(TunnelEvent.Connected.class);
                conn.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS).vanish();
                // Reported by java.net.http itself: the heartbeat (15 s here) would need 45 s, more than
                // awaitEvent waits.
                awaitEvent(TunnelEvent.Disconnected.class);
            }
        }
    }

    @Test
    void aSilentGatewayIsPingedAndThenDroppedAfterThreeHeartbeatIntervals() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> accepted = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    FakeGateway.Conn c = gw.accept();
                    c.ready("http://127.0.0.1/demo", 1);
                    return c;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).name("demo")
                    .handler(req -> TunnelResponse.empty(204)).listener(events::add)
                    .backoff(new Backoff(Duration.ofSeconds(30), 1.5, Duration.ofSeconds(30), 0)).connect()) {
                awaitEvent(TunnelEvent.Connected.class);
                FakeGateway.Conn c = accepted.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                // No PING from this gateway: past 1.5 intervals the client pings it (never answered here) ...
                RawWs.Frame first = c.nextRawFrame();
                assertEquals(0x9, first.opcode(), "a WebSocket ping first");
                // ... and past 3 silent intervals it closes with 4003 and reports the drop.
                RawWs.Frame f = first;
                while (f.opcode() != 0x8) {
                    f = c.nextRawFrame();
                    assertTrue(f.opcode() == 0x9 || f.opcode() == 0x8, "only pings, then the close: opcode " + f.opcode());
                }
                byte[] p = f.payload();
                assertEquals(Protocol.CLOSE_HEARTBEAT_TIMEOUT, ((p[0] & 0xff) << 8) | (p[1] & 0xff));
                TunnelEvent.Disconnected d = awaitEvent(TunnelEvent.Disconnected.class);
                assertNotNull(d);
            }
        }
    }

    @Test
    void fullSession() throws Exception {
        LinkedBlockingQueue<String> seenUrls = new LinkedBlockingQueue<>();
        try (FakeGateway gw = new FakeGateway()) {
            LinkedBlockingQueue<FakeGateway.Conn> conns = gw.connections;
            Thread opener = new Thread(() -> {
                try {
                    FakeGateway.Conn c = gw.accept();
                    conns.add(c); // hand it back to the test after ready
                    ready(c, "http://127.0.0.1/demo");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            opener.start();
            CaptunTunnel t = CaptunTunnel.builder()
                    .gateway(gw.url())
                    .name("demo")
                    .token("secret")
                    .handler(req -> {
                        seenUrls.add(String.valueOf(req.header("x-captun-tunnel-url")));
                        return TunnelResponse.text(200, "echo:" + new String(req.body().readAllBytes(), StandardCharsets.UTF_8));
                    })
                    .listener(events::add)
                    .backoff(new Backoff(Duration.ofMillis(10), 1.5, Duration.ofMillis(50), 0.2))
                    .connect();
            try {
                opener.join();
                FakeGateway.Conn c = gw.accept();
                assertTrue(c.requestLine.startsWith("GET /?captun-connect=1&captun-name=demo&captun-protocol=3 "), c.requestLine);
                assertEquals("captun, " + Tokens.toSubprotocol("secret"), c.headers.get("sec-websocket-protocol"));

                // a request whose body arrives as a fragmented WebSocket message
                c.send(new FrameWriter().request(1, "POST", "/x", List.of(new Header("a", "b")), false, false));
                byte[] body = new byte[40_000];
                java.util.Arrays.fill(body, (byte) 'z');
                c.sendBinaryFragmented(new FrameWriter().data(1, body, 0, body.length, false).toByteArray(), 7000);
                c.send(new FrameWriter().data(1, new byte[0], 0, 0, true));
                WireFrame.Response head = (WireFrame.Response) nextFrame(c);
                assertEquals(200, head.status());
                WireFrame.Data d = (WireFrame.Data) nextFrame(c);
                assertEquals("echo:" + "z".repeat(40_000), new String(d.payload(), StandardCharsets.UTF_8));
                assertTrue(d.end());
                assertEquals(200, awaitEvent(TunnelEvent.Request.class).status());
                assertEquals("http://127.0.0.1/demo", seenUrls.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS), "the URL from ready");

                // ping is answered
                c.send(new FrameWriter().ping(7));
                while (true) {
                    if (c.nextFrame() instanceof WireFrame.Pong p) {
                        assertEquals(7, p.nonce());
                        break;
                    }
                }

                // drop: the SDK reconnects with the same name and token
                c.kill();
                awaitEvent(TunnelEvent.Disconnected.class);
                awaitEvent(TunnelEvent.Reconnecting.class);
                FakeGateway.Conn c2 = gw.accept();
                assertEquals("captun, " + Tokens.toSubprotocol("secret"), c2.headers.get("sec-websocket-protocol"));
                ready(c2, "http://127.0.0.1/demo2");
                assertEquals("http://127.0.0.1/demo2", awaitEvent(TunnelEvent.Connected.class).url());
                assertEquals("http://127.0.0.1/demo2", t.url());
                c2.send(new FrameWriter().request(1, "GET", "/again", List.of(), true, false));
                assertEquals(200, ((WireFrame.Response) nextFrame(c2)).status());
                assertEquals("http://127.0.0.1/demo2", seenUrls.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS), "the new connection's URL");

                // replaced, the Pekko way (PROTOCOL.md): CLOSE frame with 4000, then a plain 1000 close
                c2.send(new FrameWriter().close(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON));
                c2.sendClose(1000, "");
                awaitEvent(TunnelEvent.Replaced.class);
                assertEquals(CaptunTunnel.State.REPLACED, t.state());
                assertTrue(gw.connections.poll(300, TimeUnit.MILLISECONDS) == null, "a replaced tunnel must not reconnect");
            } finally {
                t.close();
            }
            assertEquals(CaptunTunnel.State.CLOSED, t.state());
        }
    }

    @Test
    void rawCloseCode4000MeansReplacedAndPlain1000MeansReconnect() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> handed = acceptAndReady(gw, "http://127.0.0.1/demo");
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).handler(req -> TunnelResponse.empty(204))
                    .listener(events::add).backoff(new Backoff(Duration.ofMillis(10), 1.5, Duration.ofMillis(50), 0.2)).connect()) {
                FakeGateway.Conn c = handed.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                c.sendClose(1000, "");
                assertEquals("1000", awaitEvent(TunnelEvent.Disconnected.class).reason());
                FakeGateway.Conn c2 = gw.accept();
                ready(c2, "http://127.0.0.1/demo");
                awaitEvent(TunnelEvent.Connected.class);
                c2.sendClose(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON);
                awaitEvent(TunnelEvent.Replaced.class);
                assertEquals(CaptunTunnel.State.REPLACED, t.state());
            }
        }
    }

    @Test
    void closeSends1000() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> handed = acceptAndReady(gw, "http://127.0.0.1/demo");
            CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).handler(req -> TunnelResponse.empty(204)).connect();
            FakeGateway.Conn c = handed.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(t.name().equals("demo"));
            Thread closer = new Thread(t::close);
            closer.start();
            Object f;
            do {
                f = nextFrame(c);
            } while (!(f instanceof FakeGateway.Msg));
            assertEquals(1000, ((FakeGateway.Msg) f).closeCode());
            c.sendClose(1000, "");
            closer.join(Wire.WAIT_SECONDS * 1000);
            assertFalse(closer.isAlive());
        }
    }

    @Test
    void aDrainingGatewayIsLeftMakeBeforeBreakAndItsInFlightRequestFinishes() throws Exception {
        try (FakeGateway gw1 = new FakeGateway(); FakeGateway gw2 = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> first = acceptAndReady(gw1, "http://127.0.0.1/one");
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw1.url() + "," + gw2.url()).name("demo")
                    .handler(req -> {
                        if (req.path().equals("/slow")) {
                            release.await(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                        }
                        return TunnelResponse.text(200, "done " + req.path());
                    })
                    .listener(events::add)
                    .backoff(new Backoff(Duration.ofSeconds(30), 1.5, Duration.ofSeconds(30), 0)).connect()) {
                FakeGateway.Conn c1 = first.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                awaitEvent(TunnelEvent.Connected.class);
                c1.send(new FrameWriter().request(1, "GET", "/slow", List.of(), true, false));
                java.util.concurrent.CompletableFuture<FakeGateway.Conn> second = acceptAndReady(gw2, "http://127.0.0.1/two");
                c1.send(new FrameWriter().drain("node shutting down"));
                assertEquals("node shutting down", awaitEvent(TunnelEvent.Draining.class).reason());
                FakeGateway.Conn c2 = second.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                assertEquals("http://127.0.0.1/two", awaitEvent(TunnelEvent.Connected.class).url());
                assertEquals("http://127.0.0.1/two", t.url());
                // The request in flight on the old connection still finishes there.
                release.countDown();
                WireFrame.Response head = (WireFrame.Response) nextFrame(c1);
                assertEquals(200, head.status());
                // The old gateway ends the old socket (even announcing 4000): the tunnel stays on the new one.
                c1.send(new FrameWriter().close(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON));
                c1.sendClose(1000, "");
                c2.send(new FrameWriter().request(1, "GET", "/fast", List.of(), true, false));
                Object f = nextFrame(c2);
                assertTrue(f instanceof WireFrame.Response r && r.status() == 200, String.valueOf(f));
                assertEquals(CaptunTunnel.State.CONNECTED, t.state());
                for (TunnelEvent e = events.poll(300, TimeUnit.MILLISECONDS); e != null; e = events.poll(300, TimeUnit.MILLISECONDS)) {
                    assertFalse(e instanceof TunnelEvent.Replaced || e instanceof TunnelEvent.Disconnected
                            || e instanceof TunnelEvent.Reconnecting, "unexpected " + e);
                }
                assertTrue(gw1.connections.isEmpty() && gw2.connections.isEmpty(), "no further connections");
            }
        }
    }

    @Test
    void aDrainWithNowhereElseToGoEndsInAnOrdinaryReconnect() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> first = acceptAndReady(gw, "http://127.0.0.1/one");
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).name("demo").handler(req -> TunnelResponse.empty(204))
                    .listener(events::add).connectTimeout(Duration.ofSeconds(2))
                    .backoff(new Backoff(Duration.ofMillis(10), 1.5, Duration.ofMillis(50), 0)).connect()) {
                FakeGateway.Conn c1 = first.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                awaitEvent(TunnelEvent.Connected.class);
                c1.send(new FrameWriter().drain("node shutting down"));
                awaitEvent(TunnelEvent.Draining.class);
                // The move's connect to the only gateway never gets `ready` (it fails after the connect timeout) ...
                FakeGateway.Conn unready = gw.accept();
                assertTrue(unready.requestLine.contains("captun-name=demo"), unready.requestLine);
                // ... and meanwhile the draining node ends the old socket: the SDK then reconnects as after any drop.
                c1.send(new FrameWriter().close(Protocol.CLOSE_GOING_AWAY, "Gateway node shutting down"));
                c1.sendClose(1000, "");
                FakeGateway.Conn c2 = gw.accept();
                ready(c2, "http://127.0.0.1/again");
                assertEquals("http://127.0.0.1/again", awaitEvent(TunnelEvent.Connected.class).url());
                assertEquals(CaptunTunnel.State.CONNECTED, t.state());
            }
        }
    }

    @Test
    void aTextMessageFromTheGatewayIsAProtocolError() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> handed = acceptAndReady(gw, "http://127.0.0.1/demo");
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gw.url()).handler(req -> TunnelResponse.empty(204))
                    .listener(events::add).backoff(new Backoff(Duration.ofMillis(10), 1.5, Duration.ofMillis(50), 0)).connect()) {
                FakeGateway.Conn c = handed.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
                c.sendText("{\"type\":\"ping\",\"nonce\":1}"); // a protocol 2 frame
                assertEquals(Protocol.CLOSE_PROTOCOL_ERROR, closeCode(c));
                assertTrue(awaitEvent(TunnelEvent.Disconnected.class).reason().startsWith("4002 text message"));
                ready(gw.accept(), "http://127.0.0.1/demo"); // and reconnects, as after any drop
                awaitEvent(TunnelEvent.Connected.class);
            }
        }
    }

    @Test
    void aGatewayOfAnotherProtocolVersionIsReportedAndClosedWith4002() throws Exception {
        try (FakeGateway gw = new FakeGateway()) {
            java.util.concurrent.CompletableFuture<FakeGateway.Conn> handed = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    FakeGateway.Conn c = gw.accept();
                    c.send(new FrameWriter().ready(new dev.captun.protocol.Control.Ready(2, "demo", "http://127.0.0.1/demo",
                            Protocol.DEFAULT_WINDOW, 15)));
                    return c;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CaptunConnectException e = org.junit.jupiter.api.Assertions.assertThrows(CaptunConnectException.class,
                    () -> CaptunTunnel.builder().gateway(gw.url()).handler(req -> TunnelResponse.empty(204)).connect());
            assertEquals("gateway speaks captun protocol version 2, this client speaks " + Protocol.VERSION, e.getMessage());
            assertEquals(Protocol.CLOSE_PROTOCOL_ERROR, closeCode(handed.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS)));
        }
    }
}
