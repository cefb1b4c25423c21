package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Hostile public requests (docs/SECURITY.md): that request alone gets a clear answer; the tunnel never notices. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class HostilePublicInputTest {
    private GatewayNode node;
    private CaptunTunnel echo;
    private CaptunTunnel liar;
    private final List<TunnelEvent> echoEvents = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        node = Gateways.start();
        echo = CaptunTunnel.builder().gateway(Gateways.url(node)).name("echo")
                .listener(echoEvents::add)
                .handler(req -> {
                    StringBuilder sb = new StringBuilder();
                    req.headers().forEach(h -> sb.append(h.name().toLowerCase()).append('=').append(h.value()).append('\n'));
                    return TunnelResponse.text(200, sb.toString());
                }).connect();
        // A tunnel client that answers 101 to requests that never asked for a WebSocket.
        liar = CaptunTunnel.builder().gateway(Gateways.url(node)).name("liar")
                .handler(req -> TunnelResponse.empty(101)).connect();
    }

    @AfterAll
    void stop() {
        echo.close();
        liar.close();
        node.close();
    }

    @Test
    void aRequestHeadTooLargeForTheTunnelIsRefusedAloneWith431() throws Exception {
        List<String> headers = new ArrayList<>();
        String big = "x".repeat(8000);
        for (int i = 0; i < 9; i++) {
            headers.add("X-Big-" + i + ": " + big);
        }
        RawHttp.Reply r = RawHttp.get(node.port(), "/echo/", "127.0.0.1:" + node.port(), headers.toArray(String[]::new));
        assertEquals(431, r.status());
        assertEquals("Request header fields too large to tunnel\n", r.body());
        // The tunnel and its other requests never noticed: same session, still serving.
        var ok = PublicClient.get(Gateways.url(node) + "/echo/after");
        assertEquals(200, ok.statusCode());
        assertTrue(echoEvents.stream().noneMatch(e -> e instanceof TunnelEvent.Disconnected || e instanceof TunnelEvent.Reconnecting), "tunnel events: " + echoEvents);
        assertEquals(CaptunTunnel.State.CONNECTED, echo.state());
    }

    @Test
    void publicClientsLeavingMidResponseNeverTakeTheTunnelDown() throws Exception {
        // Each response streams in pieces; each client reads the head and a little, then drops the connection,
        // so the session sees public sides cancel while the tunnel client is still sending and ending bodies.
        try (CaptunTunnel streamer = CaptunTunnel.builder().gateway(Gateways.url(node)).name("streamer")
                .listener(echoEvents::add)
                .handler(req -> TunnelResponse.streaming(200, out -> {
                    byte[] piece = new byte[8 * 1024];
                    for (int i = 0; i < 64; i++) {
                        out.write(piece);
                    }
                })).connect()) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            try {
                List<java.util.concurrent.Future<?>> runs = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    runs.add(pool.submit(() -> {
                        try (java.net.Socket s = new java.net.Socket("127.0.0.1", node.port())) {
                            s.getOutputStream().write(("GET /streamer/ HTTP/1.1\r\nHost: x\r\n\r\n").getBytes());
                            s.getInputStream().readNBytes(1024);
                            s.setSoLinger(true, 0); // an abrupt reset, like a client killed mid-download
                        }
                        return null;
                    }));
                }
                for (var r : runs) {
                    r.get(60, java.util.concurrent.TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            var after = PublicClient.bytes(PublicClient.request(Gateways.url(node) + "/streamer/").build());
            assertEquals(200, after.statusCode());
            assertEquals(64 * 8 * 1024, after.body().length);
            assertEquals(CaptunTunnel.State.CONNECTED, streamer.state());
            assertTrue(echoEvents.stream().noneMatch(e -> e instanceof TunnelEvent.Disconnected), "tunnel events: " + echoEvents);
        }
    }

    @Test
    void a101WithoutAnUpgradeRequestIsA502() throws Exception {
        var r = PublicClient.get(Gateways.url(node) + "/liar/");
        assertEquals(502, r.statusCode());
        assertEquals("Tunnel fetch failed\n", r.body());
    }

    @Test
    void identityHeadersComeOnlyFromTheGatewayAndTheTunnelUrlIsTheTunnels() throws Exception {
        RawHttp.Reply r = RawHttp.get(node.port(), "/echo/who", "evil.example",
                "X-Real-IP: 6.6.6.6", "Forwarded: for=6.6.6.6", "CF-Connecting-IP: 6.6.6.6", "True-Client-IP: 6.6.6.6",
                "X-Forwarded-For: 6.6.6.6", "X-Captun-Tunnel-Url: http://evil.example/echo");
        assertEquals(200, r.status());
        String seen = r.body();
        assertFalse(seen.contains("6.6.6.6"), seen);
        assertTrue(seen.contains("x-forwarded-for=127.0.0.1\n"), seen);
        assertTrue(seen.contains("x-captun-tunnel-url=" + Gateways.url(node) + "/echo\n"), seen);
        assertTrue(seen.contains("x-forwarded-host=evil.example\n"), seen);
    }
}
