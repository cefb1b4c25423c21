package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** A real node, the real SDK and a real local HTTP server, over real sockets (issue: end to end on one node). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ForwardingTest {
    private GatewayNode node;
    private String gateway;
    private LocalServer local;

    @BeforeAll
    void start() throws Exception {
        node = Gateways.start();
        gateway = Gateways.url(node);
        local = new LocalServer()
                .on("/sha256", ex -> {
                    MessageDigest sha = sha256();
                    long n = 0;
                    try (InputStream in = ex.getRequestBody()) {
                        byte[] buf = new byte[8192];
                        for (int r; (r = in.read(buf)) > 0; n += r) {
                            sha.update(buf, 0, r);
                        }
                    }
                    LocalServer.reply(ex, 200, "text/plain", (n + " " + HexFormat.of().formatHex(sha.digest())).getBytes());
                })
                .on("/chunks", ex -> {
                    ex.getResponseHeaders().set("content-type", "application/octet-stream");
                    ex.sendResponseHeaders(200, 0); // chunked
                    try (OutputStream out = ex.getResponseBody()) {
                        for (int i = 0; i < 8; i++) {
                            byte[] chunk = new byte[64 * 1024];
                            java.util.Arrays.fill(chunk, (byte) i);
                            out.write(chunk);
                            out.flush();
                        }
                    }
                })
                .on("/hello", ex -> LocalServer.reply(ex, 200, "text/plain; charset=utf-8",
                        ("hello from " + ex.getRequestMethod() + " " + ex.getRequestURI()).getBytes()));
    }

    @AfterAll
    void stop() {
        local.close();
        node.close();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private CaptunTunnel.Builder tunnel(String name) {
        return CaptunTunnel.builder().gateway(gateway).name(name);
    }

    @Test
    void getAndPostRoundTripWithExactBodiesAndHeaders() throws Exception {
        List<String> seen = new ArrayList<>();
        try (CaptunTunnel t = tunnel("roundtrip").handler(req -> {
            String body = new String(req.body().readAllBytes(), StandardCharsets.UTF_8);
            synchronized (seen) {
                seen.add(req.method() + " " + req.path() + " x-test=" + req.header("x-test") + " body=" + body
                        + " xff=" + req.header("x-forwarded-for") + " proto=" + req.header("x-forwarded-proto")
                        + " xfh=" + req.header("x-forwarded-host") + " url=" + req.header("x-captun-tunnel-url")
                        + " ct=" + req.header("content-type"));
            }
            return TunnelResponse.text(201, "got " + req.method() + " " + body)
                    .header("x-reply", "yes")
                    .header("connection", "x-hop")
                    .header("x-hop", "must not pass");
        }).connect()) {
            assertEquals(gateway + "/roundtrip", t.url());
            HttpResponse<String> get = PublicClient.send(PublicClient.request(gateway + "/roundtrip/a/b?q=1&r=%20x")
                    .header("x-test", "one").GET().build());
            assertEquals(201, get.statusCode());
            assertEquals("got GET ", get.body());
            assertEquals("8", get.headers().firstValue("content-length").orElseThrow(), "a fixed body keeps its length (not chunked)");
            assertEquals("yes", get.headers().firstValue("x-reply").orElseThrow());
            assertTrue(get.headers().firstValue("x-hop").isEmpty(), "headers named by Connection are hop-by-hop");
            assertEquals("text/plain; charset=UTF-8", get.headers().firstValue("content-type").orElseThrow());

            HttpResponse<String> post = PublicClient.send(PublicClient.request(gateway + "/roundtrip/submit")
                    .header("x-test", "two").header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"a\":1}")).build());
            assertEquals(201, post.statusCode());
            assertEquals("got POST {\"a\":1}", post.body());
            String host = "127.0.0.1:" + node.port();
            assertEquals(List.of(
                    "GET /a/b?q=1&r=%20x x-test=one body= xff=127.0.0.1 proto=http xfh=" + host + " url=" + gateway + "/roundtrip ct=null",
                    "POST /submit x-test=two body={\"a\":1} xff=127.0.0.1 proto=http xfh=" + host + " url=" + gateway + "/roundtrip ct=application/json"),
                    seen);
        }
    }

    @Test
    void targetProxyServesTheLocalService() throws Exception {
        try (CaptunTunnel t = tunnel("proxy").target(local.url()).connect()) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/hello?x=1");
            assertEquals(200, r.statusCode());
            assertEquals("hello from GET /hello?x=1", r.body());
            assertEquals(1, r.headers().allValues("date").size(), "the local service's Date, once");
            assertEquals(1, r.headers().allValues("server").size(), "one Server header");
            HttpResponse<String> bare = PublicClient.get(gateway + "/proxy");
            assertEquals(404, bare.statusCode(), "/proxy reaches the local service at / (no context there)");
        }
    }

    @Test
    void oneMebibyteUploadArrivesIntact() throws Exception {
        byte[] body = new byte[1024 * 1024];
        new Random(42).nextBytes(body);
        String expected = body.length + " " + HexFormat.of().formatHex(sha256().digest(body));
        try (CaptunTunnel t = tunnel("upload").target(local.url()).connect()) {
            HttpResponse<String> r = PublicClient.send(PublicClient.request(t.url() + "/sha256")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
            assertEquals(200, r.statusCode());
            assertEquals(expected, r.body());
        }
    }

    @Test
    void streamedBinaryResponseOfEightChunks() throws Exception {
        try (CaptunTunnel t = tunnel("chunks").target(local.url()).connect()) {
            HttpResponse<byte[]> r = PublicClient.bytes(PublicClient.request(t.url() + "/chunks").GET().build());
            assertEquals(200, r.statusCode());
            byte[] b = r.body();
            assertEquals(8 * 64 * 1024, b.length);
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 64 * 1024; j += 4096) {
                    assertEquals((byte) i, b[i * 64 * 1024 + j]);
                }
            }
        }
    }

    @Test
    void serverSentEventsArriveOneByOneBeforeTheHandlerFinishes() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        try (CaptunTunnel t = tunnel("sse").handler(req -> TunnelResponse.streaming(200, out -> {
            out.write("data: one\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            // The handler is still running: the public client must already have event one.
            if (!firstSeen.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("event one was buffered");
            }
            out.write("data: two\n\n".getBytes(StandardCharsets.UTF_8));
        }).header("content-type", "text/event-stream")).connect()) {
            HttpResponse<InputStream> r = PublicClient.stream(PublicClient.request(t.url() + "/events").GET().build());
            assertEquals("text/event-stream", r.headers().firstValue("content-type").orElseThrow());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                assertEquals("data: one", reader.readLine());
                firstSeen.countDown();
                assertEquals("", reader.readLine());
                assertEquals("data: two", reader.readLine());
            }
        }
    }

    @Test
    void hundredConcurrentRequestsWithoutCrossTalk() throws Exception {
        try (CaptunTunnel t = tunnel("many").handler(req -> {
            String body = new String(req.body().readAllBytes(), StandardCharsets.UTF_8);
            return TunnelResponse.text(200, req.path() + "|" + body);
        }).connect()) {
            List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                futures.add(PublicClient.HTTP.sendAsync(PublicClient.request(t.url() + "/n/" + i)
                        .POST(HttpRequest.BodyPublishers.ofString("body-" + i)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < 100; i++) {
                HttpResponse<String> r = futures.get(i).get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode());
                assertEquals("/n/" + i + "|body-" + i, r.body());
            }
        }
    }

    @Test
    void noClientIs503() throws Exception {
        HttpResponse<String> r = PublicClient.get(gateway + "/nobody-here/x");
        assertEquals(503, r.statusCode());
        assertEquals("No tunnel client connected\n", r.body());
        assertEquals("text/plain; charset=UTF-8", r.headers().firstValue("content-type").orElseThrow());
        assertEquals("no-store", r.headers().firstValue("cache-control").orElseThrow());
    }

    @Test
    void handlerFailureIs502() throws Exception {
        try (CaptunTunnel t = tunnel("broken").handler(req -> {
            throw new IllegalStateException("boom");
        }).connect()) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/x");
            assertEquals(502, r.statusCode());
            assertEquals("Tunnel fetch failed\n", r.body());
            assertEquals("no-store", r.headers().firstValue("cache-control").orElseThrow());
        }
    }

    @Test
    void healthIsAnsweredByTheClientItself() throws Exception {
        try (CaptunTunnel t = tunnel("healthy").handler(req -> TunnelResponse.text(500, "handler must not see this")).connect()) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/__captun/health");
            assertEquals(200, r.statusCode());
            assertEquals("{\"ok\":true}", r.body());
        }
    }

    @Test
    void folderRoutingRejectsMissingAndMalformedNames() throws Exception {
        for (String path : new String[] {"/", "/Upper/x", "/bad_name/", "/%zz/", "/-x/", "/a%2Fb/", "/" + "a".repeat(64) + "/"}) {
            RawHttp.Reply r = RawHttp.get(node.port(), path, "127.0.0.1");
            assertEquals(404, r.status(), path);
            assertEquals("Missing tunnel name\n", r.body(), path);
        }
    }

    @Test
    void folderRoutingRewritesLocationAndCookiePath() throws Exception {
        try (CaptunTunnel t = tunnel("cookies").handler(req -> TunnelResponse.empty(302)
                .header("location", "/login")
                .header("set-cookie", "sid=1; Path=/app; HttpOnly")).connect()) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/");
            assertEquals(302, r.statusCode());
            assertEquals("/cookies/login", r.headers().firstValue("location").orElseThrow());
            assertEquals("sid=1; Path=/cookies/app; HttpOnly", r.headers().firstValue("set-cookie").orElseThrow());
        }
    }

    @Test
    void slowConsumerOnOneStreamDoesNotStallAnother() throws Exception {
        byte[] big = new byte[4 * 1024 * 1024];
        try (CaptunTunnel t = tunnel("fair").handler(req -> req.path().startsWith("/big")
                ? TunnelResponse.bytes(200, big)
                : TunnelResponse.text(200, "quick")).connect()) {
            // Open a big download and do not read it: its credit runs out, the tunnel must keep serving.
            HttpResponse<InputStream> stalled = PublicClient.stream(PublicClient.request(t.url() + "/big").GET().build());
            assertEquals(200, stalled.statusCode());
            for (int i = 0; i < 5; i++) {
                assertEquals("quick", PublicClient.get(t.url() + "/small").body());
            }
            assertEquals(big.length, stalled.body().readAllBytes().length);
        }
    }
}
