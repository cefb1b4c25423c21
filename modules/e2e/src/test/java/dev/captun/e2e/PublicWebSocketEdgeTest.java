package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The gateway's half of public WebSocket forwarding, driven by a hand-written tunnel client speaking the wire protocol. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class PublicWebSocketEdgeTest {
    private GatewayNode node;

    @BeforeAll
    void start() {
        node = Gateways.start();
    }

    @AfterAll
    void stop() {
        node.close();
    }

    /** Records what a public WebSocket client sees. */
    static final class PublicListener implements WebSocket.Listener {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final java.io.ByteArrayOutputStream bin = new java.io.ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                events.add("text:" + text);
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            bin.writeBytes(b);
            if (last) {
                events.add("binary:" + bin.size());
                bin.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            events.add("close:" + code + ":" + reason);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            events.add("error:" + error);
        }

        String next() throws InterruptedException {
            String e = events.poll(20, TimeUnit.SECONDS);
            assertNotNull(e, "no public WebSocket event within 20 s");
            return e;
        }
    }

    private RawTunnelSocket tunnel(String name) throws Exception {
        return RawTunnelSocket.ready(node.port(), name, "tok");
    }

    /** Accepts the public upgrade of stream {@code id}, as a tunnel client whose local socket chose no subprotocol. */
    private static void accept(RawTunnelSocket t, int id) {
        t.send(new FrameWriter().response(id, 101, List.of(), false));
    }

    private static FrameWriter fragment(FrameWriter w, int id, boolean text, byte[] payload, boolean fin) {
        return w.wsFragment(id, text, payload, 0, payload.length, fin);
    }

    @Test
    void messagesAndCloseCodesCrossTheTunnelBothWays() throws Exception {
        try (RawTunnelSocket t = tunnel("wsedge")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .subprotocols("chat", "superchat")
                    .header("Cookie", "sid=42")
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsedge/socket?x=1"), pub);
            Wire.Request req = (Wire.Request) t.nextNonPing();
            assertTrue(req.websocket());
            assertEquals("/socket?x=1", req.path());
            assertTrue(req.headers().contains(new Header("Cookie", "sid=42")), String.valueOf(req.headers()));
            assertTrue(req.headers().stream().anyMatch(h -> h.name().equalsIgnoreCase("sec-websocket-protocol") && h.value().contains("chat")));
            assertTrue(req.headers().stream().noneMatch(h -> h.name().equalsIgnoreCase("sec-websocket-key")), "handshake headers are regenerated");
            assertTrue(req.headers().stream().noneMatch(h -> h.name().equalsIgnoreCase("upgrade")));
            t.send(new FrameWriter().response(req.id(), 101, List.of(new Header("sec-websocket-protocol", "superchat")), false));
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            assertEquals("superchat", ws.getSubprotocol());

            ws.sendText("hello", true).join();
            Wire.WsFragment f = (Wire.WsFragment) t.nextNonPing();
            assertTrue(f.text());
            assertTrue(f.fin());
            assertEquals(req.id(), f.id());
            assertEquals("hello", Wire.text(f.payload()));

            t.send(fragment(new FrameWriter(), req.id(), false, new byte[60_000], false));
            // The binary message's last fragment and a whole text message in one WebSocket message: a batch, as the SDK sends one.
            FrameWriter batch = fragment(new FrameWriter(), req.id(), false, new byte[1000], true);
            t.send(fragment(batch, req.id(), true, "second".getBytes(StandardCharsets.UTF_8), true));
            assertEquals("binary:61000", pub.next());
            assertEquals("text:second", pub.next());

            t.send(new FrameWriter().wsClose(req.id(), 4001, "done"));
            assertEquals("close:4001:done", pub.next());
        }
    }

    @Test
    void publicMessagesRespectTheStreamCreditAndOversizeClosesWith4009() throws Exception {
        try (RawTunnelSocket t = tunnel("wsbig")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsbig/"), pub);
            Wire.Request req = (Wire.Request) t.nextNonPing();
            accept(t, req.id());
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            ws.sendBinary(ByteBuffer.wrap(new byte[17 * 1024 * 1024]), true); // over the 16 MiB limit
            // Without credit the gateway sends at most one window of fragments (whole fragments only).
            long received = 0;
            for (Wire.Frame next = t.nextNonPing(); next != null; next = t.poll(500)) {
                if (next instanceof Wire.Ping) {
                    continue;
                }
                Wire.WsFragment f = assertInstanceOf(Wire.WsFragment.class, next);
                assertEquals(req.id(), f.id());
                assertFalse(f.text());
                assertFalse(f.fin());
                received += f.payload().length;
            }
            assertTrue(received > 0 && received <= 262_144, "sent " + received + " bytes before any credit");
            // Grant as a real client does while it buffers the message (each non-final fragment's bytes once
            // received): the rest flows, then the 4009 close.
            long owed = received;
            Wire.WsClose close = null;
            while (close == null) {
                if (owed > 0) {
                    t.send(new FrameWriter().credit(req.id(), (int) owed));
                    owed = 0;
                }
                Wire.Frame next = t.nextNonPing();
                if (next instanceof Wire.WsClose wc) {
                    close = wc;
                } else {
                    Wire.WsFragment f = assertInstanceOf(Wire.WsFragment.class, next);
                    assertFalse(f.fin(), "an oversized message is never delivered whole");
                    owed += f.payload().length;
                }
            }
            assertEquals(new Wire.WsClose(req.id(), 4009, "Message too large to tunnel"), close);
            String ev;
            do {
                ev = pub.next();
            } while (ev.startsWith("error"));
            assertEquals("close:4009:Message too large to tunnel", ev);
            // The tunnel goes on: a plain request still works through it.
            var plain = PublicClient.HTTP.sendAsync(PublicClient.request("http://127.0.0.1:" + node.port() + "/wsbig/after").build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            Wire.Request next = t.nextOf(Wire.Request.class);
            t.send(new FrameWriter().response(next.id(), 204, List.of(), true));
            assertEquals(204, plain.get(20, TimeUnit.SECONDS).statusCode());
        }
    }

    @Test
    void publicCloseCodeReachesTheTunnelClient() throws Exception {
        try (RawTunnelSocket t = tunnel("wsclose")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsclose/"), pub);
            Wire.Request req = (Wire.Request) t.nextNonPing();
            accept(t, req.id());
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            ws.sendClose(4002, "bye").join();
            assertEquals(new Wire.WsClose(req.id(), 4002, "bye"), t.nextOf(Wire.WsClose.class));
        }
    }

    @Test
    void aRefusedUpgradeFailsThePublicHandshakeWithTheLocalResponse() throws Exception {
        try (RawTunnelSocket t = tunnel("wsrefuse")) {
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsrefuse/"), new PublicListener());
            Wire.Request req = (Wire.Request) t.nextNonPing();
            byte[] refusal = "go away".getBytes(StandardCharsets.UTF_8);
            // A small body travels right after its head, in the same message, and ends with it.
            t.send(new FrameWriter().response(req.id(), 403, List.of(new Header("content-type", "text/plain")), false)
                    .data(req.id(), refusal, 0, refusal.length, true));
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> pending.get(20, TimeUnit.SECONDS));
            var hs = assertInstanceOf(java.net.http.WebSocketHandshakeException.class, e.getCause());
            assertEquals(403, hs.getResponse().statusCode());
        }
    }

    @Test
    void everyForwardedSocketClosesWith1001WhenTheTunnelGoes() throws Exception {
        RawTunnelSocket t = tunnel("wsdrop");
        PublicListener a = new PublicListener();
        PublicListener b = new PublicListener();
        for (PublicListener l : List.of(a, b)) {
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsdrop/"), l);
            Wire.Request req = (Wire.Request) t.nextNonPing();
            accept(t, req.id());
            pending.get(20, TimeUnit.SECONDS);
        }
        t.close(); // abrupt drop of the tunnel client
        assertEquals("close:1001:Tunnel client disconnected", a.next());
        assertEquals("close:1001:Tunnel client disconnected", b.next());
    }
}
