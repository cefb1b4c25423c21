package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.Backoff;
import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Three gateway nodes in one JVM (each its own ActorSystem, free ports everywhere, nodes 2 and 3
 * seeded from node 1), the real SDK over real sockets: cross-node forwarding, single ownership of a
 * name under racing connects on different nodes, the management API, and entity handover when a
 * node leaves. The leave test runs last (it removes node C).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(180)
class ClusterTest {
    /** Public policy (owner tokens, 409), limits high enough that this class never hits them. */
    private static final String[] COMMON = {
        "captun.policy = public",
        "captun.rate-limit.connects-per-ip = 100000",
        "captun.rate-limit.requests-per-ip = 1000000",
        "captun.rate-limit.requests-per-tunnel = 1000000",
    };
    /** Fast reconnects in tests (the SDK default is 2 s ×1.5 ≤ 8 s). */
    private static final Backoff QUICK = new Backoff(Duration.ofMillis(300), 1.5, Duration.ofSeconds(2), 0.2);

    private GatewayNode a;
    private GatewayNode b;
    private GatewayNode c;

    @BeforeAll
    void startCluster() throws Exception {
        long t0 = System.nanoTime();
        a = Gateways.start(COMMON);
        Address seed = Cluster.get(a.system()).selfMember().address();
        String seedNodes = "captun.seed-nodes = \"" + seed.getHost().orElseThrow() + ":" + seed.getPort().orElseThrow() + "\"";
        b = Gateways.start(with(COMMON, seedNodes));
        // Node C allows cluster writes on its management API: the leave test uses it.
        c = Gateways.start(with(COMMON, seedNodes, "captun.management.writes = \"1\""));
        await(Duration.ofSeconds(60), "all three nodes Up on every node",
                () -> List.of(a, b, c).stream().allMatch(n -> upCount(n) == 3));
        await(Duration.ofSeconds(30), "/ready on every node",
                () -> List.of(a, b, c).stream().allMatch(n -> status(mgmt(n) + "/ready") == 200));
        System.out.printf("ClusterTest: 3 nodes Up and ready in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    void stopCluster() {
        for (GatewayNode n : new GatewayNode[] {c, b, a}) {
            if (n != null) {
                n.close();
            }
        }
    }

    // ---- cross-node forwarding ----

    @Test
    @Order(2)
    void aPublicWebSocketOnOneNodeReachesATunnelHeldByAnother() throws Exception {
        try (CaptunTunnel t = tunnel(a, "xws").handler(req -> TunnelResponse.webSocket(null, new dev.captun.client.TunnelWebSocket.Listener() {
            @Override
            public void onText(dev.captun.client.TunnelWebSocket s, String m) {
                if (m.equals("bye")) {
                    s.close(4001, "done");
                } else {
                    s.sendText("echo:" + m);
                    s.sendBinary(new byte[100_000]);
                }
            }
        })).connect()) {
            var pub = new PublicWebSocketEdgeTest.PublicListener();
            var ws = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(java.net.URI.create("ws://127.0.0.1:" + b.port() + "/xws/"), pub).get(30, java.util.concurrent.TimeUnit.SECONDS);
            ws.sendText("hi", true).join();
            assertEquals("text:echo:hi", pub.next());
            assertEquals("binary:100000", pub.next());
            ws.sendText("bye", true).join();
            assertEquals("close:4001:done", pub.next());
        }
    }

    @Test
    @Order(1)
    void requestOnOneNodeReachesATunnelHeldByAnother() throws Exception {
        try (CaptunTunnel t = tunnel(a, "xnode").handler(req -> {
            byte[] body = req.body().readAllBytes();
            return TunnelResponse.text(200, req.method() + " " + req.path() + " " + body.length + " " + sha256(body));
        }).connect()) {
            for (GatewayNode via : List.of(b, c)) {
                HttpResponse<String> r = PublicClient.get(Gateways.url(via) + "/xnode/hello?x=1");
                assertEquals(200, r.statusCode(), "via " + Gateways.url(via) + ": " + r.body());
                assertEquals("GET /hello?x=1 0 " + sha256(new byte[0]), r.body());
            }
            byte[] body = new byte[1024 * 1024];
            new Random(7).nextBytes(body);
            HttpResponse<String> r = PublicClient.send(PublicClient.request(Gateways.url(b) + "/xnode/upload")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("POST /upload " + body.length + " " + sha256(body), r.body());
        }
    }

    @Test
    @Order(2)
    void streamedResponseCrossesNodesChunkByChunk() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        int chunk = 64 * 1024;
        try (CaptunTunnel t = tunnel(a, "xstream").handler(req -> TunnelResponse.streaming(200, out -> {
            out.write(fill(chunk, 0));
            out.flush();
            // Still inside the handler: the public client on node B must already hold chunk 0.
            if (!firstSeen.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("first chunk was buffered");
            }
            for (int i = 1; i < 8; i++) {
                out.write(fill(chunk, i));
            }
        }).header("content-type", "application/octet-stream")).connect()) {
            HttpResponse<InputStream> r = PublicClient.stream(PublicClient.request(Gateways.url(b) + "/xstream/big").GET().build());
            assertEquals(200, r.statusCode());
            try (InputStream in = r.body()) {
                byte[] first = in.readNBytes(chunk);
                assertArrayEquals(fill(chunk, 0), first);
                firstSeen.countDown();
                for (int i = 1; i < 8; i++) {
                    assertArrayEquals(fill(chunk, i), in.readNBytes(chunk), "chunk " + i);
                }
                assertEquals(-1, in.read());
            }
        }
    }

    // ---- admission across the cluster ----

    @Test
    @Order(3)
    void racingConnectsOnDifferentNodesHaveExactlyOneOwner() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            for (int round = 0; round < 4; round++) {
                String name = "race" + round;
                List<GatewayNode> nodes = List.of(a, b, c);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Object>> attempts = new ArrayList<>();
                for (int i = 0; i < nodes.size(); i++) {
                    GatewayNode node = nodes.get(i);
                    String token = "token-" + round + "-" + i;
                    attempts.add(pool.submit(() -> {
                        go.await();
                        try {
                            return tunnel(node, name).token(token)
                                    .handler(req -> TunnelResponse.text(200, "owner " + token)).connect();
                        } catch (CaptunConnectException e) {
                            return e;
                        }
                    }));
                }
                go.countDown();
                List<CaptunTunnel> winners = new ArrayList<>();
                List<CaptunConnectException> losers = new ArrayList<>();
                for (Future<Object> f : attempts) {
                    Object o = f.get(60, TimeUnit.SECONDS);
                    if (o instanceof CaptunTunnel t) {
                        winners.add(t);
                    } else {
                        losers.add((CaptunConnectException) o);
                    }
                }
                try {
                    assertEquals(1, winners.size(), "exactly one owner for " + name + "; losers: " + losers);
                    for (CaptunConnectException e : losers) {
                        assertEquals(409, e.status(), e.getMessage());
                        assertEquals("Tunnel name is already connected\n", e.body());
                    }
                    // The owner serves, through its own node.
                    CaptunTunnel w = winners.get(0);
                    HttpResponse<String> r = PublicClient.get(w.url() + "/");
                    assertEquals(200, r.statusCode());
                    assertEquals("owner " + w.token(), r.body());
                } finally {
                    winners.forEach(CaptunTunnel::close);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- management API ----

    @Test
    @Order(4)
    void managementApiShowsMembersShardsAndHealth() throws Exception {
        for (GatewayNode n : List.of(a, b, c)) {
            assertNotEquals(n.port(), n.managementPort());
            assertEquals(200, status(mgmt(n) + "/alive"));
            assertEquals(200, status(mgmt(n) + "/ready"));
            HttpResponse<String> members = PublicClient.get(mgmt(n) + "/cluster/members");
            assertEquals(200, members.statusCode());
            assertEquals(3, members.body().split("\"status\":\"Up\"", -1).length - 1, members.body());
            assertEquals(200, status(mgmt(n) + "/cluster/shards/Tunnel"));
            assertEquals(200, status(mgmt(n) + "/cluster/shards/RateLimiter"));
        }
        // Writes are off unless configured (node A: default), on where configured (node C; used below).
        String self = Cluster.get(a.system()).selfMember().address().toString();
        HttpResponse<String> denied = PublicClient.send(PublicClient.request(mgmt(a) + "/cluster/members/" + self)
                .header("content-type", "application/x-www-form-urlencoded")
                .PUT(HttpRequest.BodyPublishers.ofString("operation=Leave")).build());
        assertEquals(405, denied.statusCode());
        assertEquals(3, upCount(a));
        // Nothing operational on the public port: /ready there is just a tunnel named "ready".
        assertEquals(503, status(Gateways.url(a) + "/ready"));
    }

    // ---- handover when a node leaves (last: node C is gone afterwards) ----

    @Test
    @Order(10)
    void tunnelsServeAgainAfterANodeLeaves() throws Exception {
        // Enough names that the least-shards allocation puts some of their entities on node C.
        List<CaptunTunnel> tunnels = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                GatewayNode home = i % 2 == 0 ? a : b;
                String name = "stay" + i;
                tunnels.add(tunnel(home, name).handler(req -> TunnelResponse.text(200, "I am " + name)).connect());
            }
            // One client held by node C itself: it must reconnect to A or B (gateway list C, A, B).
            tunnels.add(CaptunTunnel.builder()
                    .gateway(String.join(",", Gateways.url(c), Gateways.url(a), Gateways.url(b)))
                    .name("moved").backoff(QUICK)
                    .handler(req -> TunnelResponse.text(200, "I am moved")).connect());
            for (CaptunTunnel t : tunnels) {
                assertEquals("I am " + t.name(), PublicClient.get(t.url() + "/").body());
            }
            String onC = PublicClient.get(mgmt(c) + "/cluster/shards/Tunnel").body();
            System.out.println("ClusterTest: node C's Tunnel shards before leaving: " + onC);
            assertTrue(onC.contains("\"shardId\""), "node C hosts some tunnel entities: " + onC);

            // Leave through node C's management API (writes enabled there).
            Address cAddress = Cluster.get(c.system()).selfMember().address();
            long t0 = System.nanoTime();
            HttpResponse<String> leave = PublicClient.send(PublicClient.request(mgmt(c) + "/cluster/members/" + cAddress)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .PUT(HttpRequest.BodyPublishers.ofString("operation=Leave")).build());
            assertEquals(200, leave.statusCode(), leave.body());
            await(Duration.ofSeconds(30), "node C removed", () -> upCount(a) == 2 && upCount(b) == 2
                    && members(a).stream().noneMatch(m -> m.address().equals(cAddress)));
            long removedMs = (System.nanoTime() - t0) / 1_000_000;
            await(Duration.ofSeconds(30), "node C terminated", () -> c.system().getWhenTerminated().toCompletableFuture().isDone());

            // Every tunnel serves again through the node holding its client, within a deadline.
            long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
            for (CaptunTunnel t : tunnels) {
                while (true) {
                    String url = t.url();
                    int code = url.contains(":" + c.port() + "/") ? -1 : statusOf(url + "/", "I am " + t.name());
                    if (code == 200) {
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, t.name() + " did not serve again after node C left (last " + code + ")");
                    Thread.sleep(200);
                }
            }
            System.out.printf("ClusterTest: node C removed %d ms after leave; all 7 tunnels serving again %d ms after leave%n",
                    removedMs, (System.nanoTime() - t0) / 1_000_000);
            assertFalse(tunnels.get(6).url().contains(":" + c.port() + "/"), "moved tunnel reconnected to a surviving node");
            assertEquals(200, status(mgmt(a) + "/ready"));
        } finally {
            tunnels.forEach(CaptunTunnel::close);
        }
    }

    // ---- helpers ----

    private static CaptunTunnel.Builder tunnel(GatewayNode node, String name) {
        return CaptunTunnel.builder().gateway(Gateways.url(node)).name(name).backoff(QUICK);
    }

    private static String mgmt(GatewayNode n) {
        return "http://127.0.0.1:" + n.managementPort();
    }

    private static List<Member> members(GatewayNode n) {
        return StreamSupport.stream(Cluster.get(n.system()).state().getMembers().spliterator(), false).toList();
    }

    private static long upCount(GatewayNode n) {
        return members(n).stream().filter(m -> m.status() == MemberStatus.up()).count();
    }

    private static int status(String url) {
        try {
            return PublicClient.get(url).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    /** 200 if {@code url} answers 200 with {@code body}; else the status (or -1 on an I/O error). */
    private static int statusOf(String url, String body) {
        try {
            HttpResponse<String> r = PublicClient.HTTP.send(PublicClient.request(url).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return r.statusCode() == 200 && !r.body().equals(body) ? -2 : r.statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout.toSeconds() + " s waiting for: " + what);
            }
            Thread.sleep(100);
        }
    }

    private static String[] with(String[] base, String... more) {
        List<String> all = new ArrayList<>(List.of(base));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static byte[] fill(int n, int value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
