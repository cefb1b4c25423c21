package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.client.TunnelWebSocket;
import dev.captun.edge.node.GatewayNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.javadsl.Flow;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Public WebSockets end to end: a real node, the real SDK, and a real local WebSocket server (Pekko HTTP). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class WebSocketTest {
    private GatewayNode node;
    private String gateway;
    private ActorSystem<Void> localSystem;
    private ServerBinding local;
    private final BlockingQueue<String> localSaw = new LinkedBlockingQueue<>();

    @BeforeAll
    void start() throws Exception {
        node = Gateways.start();
        gateway = Gateways.url(node);
        localSystem = ActorSystem.create(Behaviors.empty(), "local",
                com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local\npekko.remote.artery.enabled = off"));
        local = Http.get(localSystem).newServerAt("127.0.0.1", 0).bindSync(this::localService).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    void stop() {
        local.unbind();
        localSystem.terminate();
        node.close();
    }

    /** The developer's local service: /echo echoes and prefers subprotocol v2; /refuse says 403. */
    private org.apache.pekko.http.javadsl.model.HttpResponse localService(HttpRequest request) {
        Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        String path = request.getUri().path();
        if (upgrade.isEmpty() || path.equals("/refuse")) {
            return org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(StatusCodes.FORBIDDEN).withEntity("nope");
        }
        String tag = request.getUri().query().get("tag").orElse("-");
        localSaw.add(tag + ":cookie=" + request.getHeader("cookie").map(h -> h.value()).orElse("-")
                + " auth=" + request.getHeader("authorization").map(h -> h.value()).orElse("-")
                + " origin=" + request.getHeader("origin").map(h -> h.value()).orElse("-"));
        // Echo through a queue, so the inbound side's end (and a peer's close code) is observed on its own.
        var queue = org.apache.pekko.stream.javadsl.Source.<Message>queue(256).preMaterialize(localSystem);
        var materializer = org.apache.pekko.stream.Materializer.matFromSystem(localSystem);
        org.apache.pekko.stream.javadsl.Sink<Message, org.apache.pekko.NotUsed> in = Flow.<Message>create()
                .mapAsync(1, m -> m.isText()
                        ? m.asTextMessage().toStrict(10_000, materializer).<Message>thenApply(x -> x)
                        : m.asBinaryMessage().toStrict(10_000, materializer).<Message>thenApply(x -> x))
                .toMat(org.apache.pekko.stream.javadsl.Sink.foreach(m -> queue.first().offer(m)), org.apache.pekko.stream.javadsl.Keep.right())
                .mapMaterializedValue(done -> {
                    done.whenComplete((d, e) -> {
                        localSaw.add(tag + ":closed:" + (e instanceof org.apache.pekko.http.javadsl.model.ws.PeerClosedConnectionException p
                                ? p.closeCode() + ":" + p.closeReason() : "normal"));
                        queue.first().complete();
                    });
                    return org.apache.pekko.NotUsed.getInstance();
                });
        Flow<Message, Message, ?> echo = Flow.fromSinkAndSource(in, queue.second());
        List<String> offered = new ArrayList<>();
        upgrade.get().getRequestedProtocols().forEach(offered::add);
        return offered.contains("v2") ? upgrade.get().handleMessagesWith(echo, "v2") : upgrade.get().handleMessagesWith(echo);
    }

    private String localUrl() {
        return "http://127.0.0.1:" + local.localAddress().getPort();
    }

    private static CompletableFuture<WebSocket> open(String url, PublicWebSocketEdgeTest.PublicListener l, String... subprotocols) {
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Cookie", "sid=7").header("Authorization", "Bearer abc").header("Origin", "http://example.test");
        if (subprotocols.length > 0) {
            b.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        }
        return b.buildAsync(URI.create(url.replace("http://", "ws://")), l);
    }

    @Test
    void targetModeNegotiatesPassesHeadersAndEchoesInOrder() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsecho").target(localUrl()).connect()) {
            var pub = new PublicWebSocketEdgeTest.PublicListener();
            WebSocket ws = open(t.url() + "/echo?tag=neg", pub, "v1", "v2").get(30, TimeUnit.SECONDS);
            assertEquals("v2", ws.getSubprotocol());
            assertEquals("neg:cookie=sid=7 auth=Bearer abc origin=http://example.test", nextLocal("neg:cookie"));
            ws.sendText("one", true).join();
            ws.sendBinary(ByteBuffer.wrap(new byte[100_000]), true).join();
            ws.sendText("three", true).join();
            assertEquals("text:one", pub.next());
            assertEquals("binary:100000", pub.next());
            assertEquals("text:three", pub.next());
            ws.sendClose(4002, "bye").join();
            assertEquals("neg:closed:4002:bye", nextLocal("neg:closed:"));
        }
    }

    @Test
    void aLocalRefusalFailsThePublicHandshakeWithTheLocalResponse() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsrefused").target(localUrl()).connect()) {
            var e = assertThrows(ExecutionException.class,
                    () -> open(t.url() + "/refuse", new PublicWebSocketEdgeTest.PublicListener()).get(30, TimeUnit.SECONDS));
            var hs = assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
            assertEquals(403, hs.getResponse().statusCode());
            assertEquals("nope", hs.getResponse().body());
        }
    }

    @Test
    void aHandlersCloseCodeReachesThePublicClient() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsdone")
                .handler(req -> TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {
                    @Override
                    public void onText(TunnelWebSocket s, String m) {
                        if (m.equals("finish")) {
                            s.close(4001, "done");
                        } else {
                            s.sendText("re:" + m);
                        }
                    }
                })).connect()) {
            var pub = new PublicWebSocketEdgeTest.PublicListener();
            WebSocket ws = open(t.url() + "/", pub).get(30, TimeUnit.SECONDS);
            ws.sendText("a", true).join();
            assertEquals("text:re:a", pub.next());
            ws.sendText("finish", true).join();
            assertEquals("close:4001:done", pub.next());
        }
    }

    @Test
    void everySocketGetsA1001WhenTheTunnelClientGoes() throws Exception {
        CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsgone")
                .handler(req -> TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {})).connect();
        var a = new PublicWebSocketEdgeTest.PublicListener();
        var b = new PublicWebSocketEdgeTest.PublicListener();
        open(t.url() + "/", a).get(30, TimeUnit.SECONDS);
        open(t.url() + "/", b).get(30, TimeUnit.SECONDS);
        t.close();
        assertEquals("close:1001:Tunnel client disconnected", a.next());
        assertEquals("close:1001:Tunnel client disconnected", b.next());
    }

    @Test
    void aReplacedTunnelClosesItsSocketsWith1001Too() throws Exception {
        try (CaptunTunnel first = CaptunTunnel.builder().gateway(gateway).name("wsswap")
                .handler(req -> TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {})).connect()) {
            var pub = new PublicWebSocketEdgeTest.PublicListener();
            open(first.url() + "/", pub).get(30, TimeUnit.SECONDS);
            // Trusted policy: a newer connection for the name replaces the first.
            try (CaptunTunnel second = CaptunTunnel.builder().gateway(gateway).name("wsswap")
                    .handler(req -> TunnelResponse.text(200, "second")).connect()) {
                assertEquals("close:1001:Tunnel client disconnected", pub.next());
                assertEquals("second", PublicClient.get(second.url() + "/").body());
            }
        }
    }

    @Test
    void anOversizedMessageClosesOnlyItsSocketWith4009() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsbig").target(localUrl()).connect()) {
            var big = new PublicWebSocketEdgeTest.PublicListener();
            var other = new PublicWebSocketEdgeTest.PublicListener();
            WebSocket bigWs = open(t.url() + "/echo", big).get(30, TimeUnit.SECONDS);
            WebSocket otherWs = open(t.url() + "/echo", other).get(30, TimeUnit.SECONDS);
            bigWs.sendBinary(ByteBuffer.wrap(new byte[16 * 1024 * 1024 + 1]), true);
            String ev;
            do {
                ev = big.next();
            } while (ev.startsWith("error"));
            assertEquals("close:4009:Message too large to tunnel", ev);
            otherWs.sendText("still here", true).join();
            assertEquals("text:still here", other.next());
            HttpResponse<String> plain = PublicClient.get(t.url() + "/plain-http");
            assertEquals(403, plain.statusCode(), "HTTP through the same tunnel still works");
            assertEquals("nope", plain.body());
        }
    }

    @Test
    void manySocketsAndRequestsShareOneTunnelWithoutCrossTalk() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("wsmany").target(localUrl()).connect()) {
            List<PublicWebSocketEdgeTest.PublicListener> listeners = new ArrayList<>();
            List<WebSocket> sockets = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                var l = new PublicWebSocketEdgeTest.PublicListener();
                listeners.add(l);
                sockets.add(open(t.url() + "/echo", l).get(30, TimeUnit.SECONDS));
            }
            List<CompletableFuture<HttpResponse<String>>> http = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                http.add(PublicClient.HTTP.sendAsync(PublicClient.request(t.url() + "/refuse").build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < sockets.size(); i++) {
                    sockets.get(i).sendText("s" + i + "r" + round, true).join();
                }
            }
            for (int i = 0; i < sockets.size(); i++) {
                for (int round = 0; round < 3; round++) {
                    assertEquals("text:s" + i + "r" + round, listeners.get(i).next());
                }
            }
            for (var f : http) {
                HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
                assertEquals(403, r.statusCode());
                assertEquals("nope", r.body());
            }
        }
    }

    private String nextLocal(String prefix) throws InterruptedException {
        while (true) {
            String s = localSaw.poll(20, TimeUnit.SECONDS);
            assertNotNull(s, "local server saw nothing starting with " + prefix);
            if (s.startsWith(prefix)) {
                return s;
            }
        }
    }
}
