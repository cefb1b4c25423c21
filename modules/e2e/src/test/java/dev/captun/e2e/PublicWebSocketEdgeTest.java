package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Header;
import dev.captun.protocol.Tokens;
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
        RawTunnelSocket t = RawTunnelSocket.open("ws://127.0.0.1:" + node.port() + "/?captun-connect=1&captun-protocol=1&captun-name=" + name,
                b -> b.subprotocols("captun", Tokens.toSubprotocol("tok")));
        assertInstanceOf(Control.Ready.class, ControlCodec.decode(t.nextText()));
        return t;
    }

    private static ByteBuffer frame(int kind, boolean fin, int id, byte[] payload) {
        return DataFrame.encode(kind, fin, id, payload, 0, payload.length);
    }

    @Test
    void messagesAndCloseCodesCrossTheTunnelBothWays() throws Exception {
        try (RawTunnelSocket t = tunnel("wsedge")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .subprotocols("chat", "superchat")
                    .header("Cookie", "sid=42")
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsedge/socket?x=1"), pub);
            Control.Request req = (Control.Request) ControlCodec.decode(t.nextText());
            assertTrue(req.websocket());
            assertEquals("/socket?x=1", req.path());
            assertTrue(req.headers().contains(new Header("Cookie", "sid=42")), String.valueOf(req.headers()));
            assertTrue(req.headers().stream().anyMatch(h -> h.name().equalsIgnoreCase("sec-websocket-protocol") && h.value().contains("chat")));
            assertTrue(req.headers().stream().noneMatch(h -> h.name().equalsIgnoreCase("sec-websocket-key")), "handshake headers are regenerated");
            assertTrue(req.headers().stream().noneMatch(h -> h.name().equalsIgnoreCase("upgrade")));
            t.send(ControlCodec.encode(new Control.Response(req.id(), 101, List.of(new Header("sec-websocket-protocol", "superchat")), false)));
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            assertEquals("superchat", ws.getSubprotocol());

            ws.sendText("hello", true).join();
            DataFrame f = DataFrame.decode(t.nextBinary());
            assertEquals(DataFrame.WS_TEXT, f.kind());
            assertTrue(f.fin());
            assertEquals(req.id(), f.streamId());
            assertEquals("hello", new String(f.payloadBytes(), StandardCharsets.UTF_8));

            t.send(frame(DataFrame.WS_BINARY, false, req.id(), new byte[60_000]));
            t.send(frame(DataFrame.WS_BINARY, true, req.id(), new byte[1000]));
            t.send(frame(DataFrame.WS_TEXT, true, req.id(), "second".getBytes(StandardCharsets.UTF_8)));
            assertEquals("binary:61000", pub.next());
            assertEquals("text:second", pub.next());

            t.send(ControlCodec.encode(new Control.WsClose(req.id(), 4001, "done")));
            assertEquals("close:4001:done", pub.next());
        }
    }

    @Test
    void publicMessagesRespectTheStreamCreditAndOversizeClosesWith4009() throws Exception {
        try (RawTunnelSocket t = tunnel("wsbig")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsbig/"), pub);
            Control.Request req = (Control.Request) ControlCodec.decode(t.nextText());
            t.send(ControlCodec.encode(new Control.Response(req.id(), 101, List.of(), false)));
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            ws.sendBinary(ByteBuffer.wrap(new byte[17 * 1024 * 1024]), true); // over the 16 MiB limit
            // Without credit the gateway sends at most one window of fragments (whole fragments only).
            long received = 0;
            for (java.nio.ByteBuffer b = t.nextBinary(); b != null; b = t.pollBinary(500)) {
                DataFrame f = DataFrame.decode(b);
                assertEquals(DataFrame.WS_BINARY, f.kind());
                assertFalse(f.fin());
                received += f.payload().remaining();
            }
            assertTrue(received > 0 && received <= 262_144, "sent " + received + " bytes before any credit");
            // Grant as a real client does while it buffers the message: the rest flows, then the 4009 close.
            Control close = null;
            while (close == null) {
                t.send(ControlCodec.encode(new Control.Credit(req.id(), 1 << 20)));
                String text = t.pollText(200);
                if (text != null && ControlCodec.decode(text) instanceof Control.WsClose wc) {
                    close = wc;
                }
                t.drainBinaries();
            }
            assertEquals(new Control.WsClose(req.id(), 4009, "Message too large to tunnel"), close);
            String ev;
            do {
                ev = pub.next();
            } while (ev.startsWith("error"));
            assertEquals("close:4009:Message too large to tunnel", ev);
            // The tunnel goes on: a plain request still works through it.
            var plain = PublicClient.HTTP.sendAsync(PublicClient.request("http://127.0.0.1:" + node.port() + "/wsbig/after").build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            Control.Request next;
            do {
                next = ControlCodec.decode(t.nextText()) instanceof Control.Request r ? r : null;
            } while (next == null);
            t.send(ControlCodec.encode(new Control.Response(next.id(), 204, List.of(), true)));
            assertEquals(204, plain.get(20, TimeUnit.SECONDS).statusCode());
        }
    }

    @Test
    void publicCloseCodeReachesTheTunnelClient() throws Exception {
        try (RawTunnelSocket t = tunnel("wsclose")) {
            PublicListener pub = new PublicListener();
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsclose/"), pub);
            Control.Request req = (Control.Request) ControlCodec.decode(t.nextText());
            t.send(ControlCodec.encode(new Control.Response(req.id(), 101, List.of(), false)));
            WebSocket ws = pending.get(20, TimeUnit.SECONDS);
            ws.sendClose(4002, "bye").join();
            Control c;
            do {
                c = ControlCodec.decode(t.nextText());
            } while (!(c instanceof Control.WsClose));
            assertEquals(new Control.WsClose(req.id(), 4002, "bye"), c);
        }
    }

    @Test
    void aRefusedUpgradeFailsThePublicHandshakeWithTheLocalResponse() throws Exception {
        try (RawTunnelSocket t = tunnel("wsrefuse")) {
            var pending = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + node.port() + "/wsrefuse/"), new PublicListener());
            Control.Request req = (Control.Request) ControlCodec.decode(t.nextText());
            t.send(ControlCodec.encode(new Control.Response(req.id(), 403, List.of(new Header("content-type", "text/plain")), false)));
            t.send(frame(DataFrame.DATA, false, req.id(), "go away".getBytes(StandardCharsets.UTF_8)));
            t.send(ControlCodec.encode(new Control.End(req.id())));
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
            Control.Request req = (Control.Request) ControlCodec.decode(t.nextText());
            t.send(ControlCodec.encode(new Control.Response(req.id(), 101, List.of(), false)));
            pending.get(20, TimeUnit.SECONDS);
        }
        t.close(); // abrupt drop of the tunnel client
        assertEquals("close:1001:Tunnel client disconnected", a.next());
        assertEquals("close:1001:Tunnel client disconnected", b.next());
    }
}
