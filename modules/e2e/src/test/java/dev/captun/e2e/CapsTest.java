package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Per-IP active tunnel cap and per-tunnel in-flight cap (public policy). */
@Timeout(120)
class CapsTest {

    @Test
    void aClientIpMayHoldOnlySoManyTunnelsAtOnce() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.limits.tunnels-per-ip = 2")) {
            CaptunTunnel a = connect(node, "cap-a");
            try (CaptunTunnel b = connect(node, "cap-b")) {
                CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> connect(node, "cap-c"));
                assertEquals(429, e.status());
                assertEquals("Too many active tunnels from this IP\n", e.body());
                // Replacing one's own tunnel takes no new slot.
                try (CaptunTunnel again = CaptunTunnel.builder().gateway(Gateways.url(node)).name("cap-b").token(b.token())
                        .handler(req -> TunnelResponse.text(200, "b2")).connect()) {
                    assertEquals("b2", PublicClient.get(again.url() + "/").body());
                }
                a.close();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                CaptunTunnel c = null;
                while (c == null) {
                    try {
                        c = connect(node, "cap-c");
                    } catch (CaptunConnectException stillHeld) {
                        assertEquals(429, stillHeld.status());
                        assertTrue(System.nanoTime() < deadline, "slot was never released");
                        Thread.sleep(100);
                    }
                }
                c.close();
            }
        }
    }

    @Test
    void aTunnelServesOnlySoManyRequestsAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(2);
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.limits.in-flight-per-tunnel = 2");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("busy").handler(req -> {
                 if (req.path().startsWith("/hold")) {
                     started.countDown();
                     release.await(60, TimeUnit.SECONDS);
                 }
                 return TunnelResponse.text(200, "done");
             }).connect()) {
            // Two clients (each within its own share) fill the tunnel's two slots; a third client is refused.
            CompletableFuture<String> first = rawGet("127.0.0.2", node, "/busy/hold1");
            CompletableFuture<String> second = rawGet("127.0.0.3", node, "/busy/hold2");
            assertTrue(started.await(30, TimeUnit.SECONDS));
            HttpResponse<String> third = PublicClient.get(t.url() + "/3");
            assertEquals(503, third.statusCode());
            assertEquals("Tunnel has too many requests in flight\n", third.body());
            release.countDown();
            assertTrue(first.get(30, TimeUnit.SECONDS).endsWith("done"));
            assertTrue(second.get(30, TimeUnit.SECONDS).endsWith("done"));
            assertEquals("done", PublicClient.get(t.url() + "/4").body());
        }
    }

    /** A GET sent from another loopback address (another client IP), answered on a thread of its own. */
    private static CompletableFuture<String> rawGet(String sourceIp, GatewayNode node, String target) {
        return CompletableFuture.supplyAsync(() -> {
            try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), node.port(),
                    java.net.InetAddress.getByName(sourceIp), 0)) {
                s.setSoTimeout(60_000);
                s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, java.util.concurrent.Executors.newSingleThreadExecutor());
    }

    @Test
    void oneClientIpMayHoldOnlyAQuarterOfATunnelsInFlightSlots() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(2);
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.limits.in-flight-per-tunnel = 8");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("shared").handler(req -> {
                 if (req.path().startsWith("/hold")) {
                     started.countDown();
                     release.await(60, TimeUnit.SECONDS);
                 }
                 return TunnelResponse.text(200, "done");
             }).connect()) {
            // 127.0.0.1 takes its share (8 / 4 = 2) of the tunnel's slots ...
            CompletableFuture<HttpResponse<String>> first = PublicClient.HTTP.sendAsync(PublicClient.request(t.url() + "/hold1").build(), HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> second = PublicClient.HTTP.sendAsync(PublicClient.request(t.url() + "/hold2").build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(started.await(30, TimeUnit.SECONDS));
            HttpResponse<String> third = PublicClient.get(t.url() + "/more");
            assertEquals(503, third.statusCode());
            assertEquals("Too many requests in flight from this IP to this tunnel\n", third.body());
            // ... and another client is still served meanwhile.
            String reply = rawGet("127.0.0.2", node, "/shared/other").get(30, TimeUnit.SECONDS);
            assertTrue(reply.startsWith("HTTP/1.1 200"), reply);
            assertTrue(reply.endsWith("done"), reply);
            release.countDown();
            assertEquals("done", first.get(30, TimeUnit.SECONDS).body());
            assertEquals("done", second.get(30, TimeUnit.SECONDS).body());
            assertEquals("done", PublicClient.get(t.url() + "/after").body()); // the share is free again
        }
    }

    private static CaptunTunnel connect(GatewayNode node, String name) throws CaptunConnectException {
        return CaptunTunnel.builder().gateway(Gateways.url(node)).name(name).handler(req -> TunnelResponse.text(200, name)).connect();
    }
}
