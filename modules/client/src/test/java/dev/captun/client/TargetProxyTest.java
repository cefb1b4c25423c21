package dev.captun.client;

import static dev.captun.client.Wire.assertBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.captun.protocol.Header;
import dev.captun.protocol.HopByHop;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TargetProxyTest {
    static HttpServer server;
    static int port;
    static final Map<String, CompletableFuture<HttpExchange>> seen = new ConcurrentHashMap<>();
    static final Map<String, String> seenBodies = new ConcurrentHashMap<>();
    static final CountDownLatch sseClosed = new CountDownLatch(1);

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/echo", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            String key = ex.getRequestHeaders().getFirst("x-key");
            seenBodies.put(key, new String(body, StandardCharsets.UTF_8));
            seen.computeIfAbsent(key, k -> new CompletableFuture<>()).complete(ex);
            ex.getResponseHeaders().add("X-Custom", "a");
            ex.getResponseHeaders().add("X-Custom", "b");
            ex.getResponseHeaders().add("Connection", "x-hop");
            ex.getResponseHeaders().add("X-Hop", "1");
            ex.getResponseHeaders().add("Keep-Alive", "timeout=5");
            ex.getResponseHeaders().add("Content-Encoding", "gzip"); // must pass through untouched
            byte[] out = (ex.getRequestMethod() + " " + ex.getRequestURI() + " " + body.length).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(201, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        server.createContext("/redirect", ex -> {
            ex.getResponseHeaders().add("Location", "/elsewhere");
            ex.sendResponseHeaders(302, -1);
            ex.close();
        });
        server.createContext("/sse", ex -> {
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream os = ex.getResponseBody();
            try {
                for (int i = 0; ; i++) {
                    os.write(("data: " + i + "\n\n").getBytes(StandardCharsets.UTF_8));
                    os.flush();
                    Thread.sleep(20); // pacing of the fake event source, not test synchronisation
                }
            } catch (IOException | InterruptedException e) {
                sseClosed.countDown();
            } finally {
                ex.close();
            }
        });
        server.start();
        port = server.getAddress().getPort();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    private Wire wire() throws Exception {
        TargetProxy proxy = new TargetProxy(java.net.URI.create("http://127.0.0.1:" + port));
        return new Wire(proxy, 256 * 1024) {
            @Override
            public void close() {
                super.close();
                proxy.close();
            }
        };
    }

    private static HttpExchange exchange(String key) throws Exception {
        return seen.computeIfAbsent(key, k -> new CompletableFuture<>()).get(20, TimeUnit.SECONDS);
    }

    @Test
    void getIsForwardedWithExactStatusHeadersAndBody() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "GET", "/echo/a?x=1&y=%20", List.of(new Header("x-key", "get"), new Header("Host", "public.example"),
                    new Header("Connection", "x-secret"), new Header("x-secret", "1"), new Header("Proxy-Authorization", "Basic x"),
                    new Header("TE", "trailers"), new Header("Upgrade", "h2c"), new Header("x-keep", "yes"),
                    new Header("x-forwarded-host", "public.example")), true);
            WireFrame.Response head = w.response(1);
            assertEquals(201, head.status());
            assertBody("GET /echo/a?x=1&y=%20 0", w.bodyUntilEnd(1));
            List<String> custom = head.headers().stream().filter(h -> h.name().equalsIgnoreCase("x-custom")).map(Header::value).toList();
            assertEquals(List.of("a", "b"), custom);
            assertEquals("gzip", Wire.header(head.headers(), "content-encoding"));
            assertEquals("23", Wire.header(head.headers(), "content-length"));
            for (String hop : List.of("connection", "x-hop", "keep-alive", "transfer-encoding")) {
                assertNull(Wire.header(head.headers(), hop), hop + " must be stripped");
            }
            HttpExchange ex = exchange("get");
            assertEquals("127.0.0.1:" + port, ex.getRequestHeaders().getFirst("Host"));
            assertEquals("yes", ex.getRequestHeaders().getFirst("x-keep"));
            assertEquals("public.example", ex.getRequestHeaders().getFirst("x-forwarded-host"));
            for (String hop : List.of("x-secret", "proxy-authorization", "te", "upgrade")) {
                assertNull(ex.getRequestHeaders().getFirst(hop), hop + " must be stripped");
            }
            assertEquals(201, w.event().status());
        }
    }

    @Test
    void postBodyWithContentLengthIsStreamed() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "POST", "/echo", List.of(new Header("x-key", "post"), new Header("Content-Length", "11"),
                    new Header("Content-Type", "text/plain")), false);
            w.data(1, "hello ");
            w.data(1, "world");
            w.end(1);
            assertEquals(201, w.response(1).status());
            assertBody("POST /echo 11", w.bodyUntilEnd(1));
            assertEquals("hello world", seenBodies.get("post"));
            assertEquals("text/plain", exchange("post").getRequestHeaders().getFirst("Content-Type"));
        }
    }

    @Test
    void patchWithAChunkedBodyWorks() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "PATCH", "/echo", List.of(new Header("x-key", "patch"), new Header("Transfer-Encoding", "chunked")), false);
            w.data(1, "{\"a\":1}");
            w.end(1);
            assertEquals(201, w.response(1).status());
            assertBody("PATCH /echo 7", w.bodyUntilEnd(1));
            assertEquals("{\"a\":1}", seenBodies.get("patch"));
        }
    }

    @Test
    void emptyBodyThatWasAnnouncedAsStreamedIsSentWithoutBody() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "DELETE", "/echo/x", List.of(new Header("x-key", "delete")), false);
            w.end(1);
            assertEquals(201, w.response(1).status());
            assertBody("DELETE /echo/x 0", w.bodyUntilEnd(1));
        }
    }

    @Test
    void redirectsAreNotFollowed() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "GET", "/redirect", List.of(), true);
            WireFrame.Response head = w.response(1);
            assertEquals(302, head.status());
            assertEquals("/elsewhere", Wire.header(head.headers(), "location"));
        }
    }

    @Test
    void unreachableTargetAnswers502SayingWhichTunnelCouldNotReachWhat() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        TargetProxy proxy = new TargetProxy(java.net.URI.create("http://127.0.0.1:" + closedPort + "/app/"), () -> "demo");
        try (Wire w = new Wire(proxy, 1024)) {
            w.request(1, "GET", "/page", List.of(), true);
            WireFrame.Response head = w.response(1);
            assertEquals(502, head.status());
            assertEquals("text/plain; charset=utf-8", Wire.header(head.headers(), "content-type"));
            assertEquals("no-store", Wire.header(head.headers(), "cache-control"));
            Wire.assertBody("Tunnel \"demo\" could not reach its local service at http://127.0.0.1:" + closedPort
                    + "/app: Connection refused\n", w.bodyUntilEnd(1));
            // the tunnel goes on: the next request gets the same answer on its own stream
            w.request(3, "POST", "/form", List.of(new Header("content-length", "0")), true);
            assertEquals(502, w.response(3).status());
        } finally {
            proxy.close();
        }
    }

    @Test
    void unresolvableTargetHostAnswers502() throws Exception {
        TargetProxy proxy = new TargetProxy(java.net.URI.create("http://no-such-host.invalid:3000"), () -> "demo");
        try (Wire w = new Wire(proxy, 1024)) {
            w.request(1, "GET", "/", List.of(), true);
            WireFrame.Response head = w.response(1);
            assertEquals(502, head.status());
            String body = new String(w.bodyUntilEnd(1), StandardCharsets.UTF_8);
            assertTrue(body.startsWith("Tunnel \"demo\" could not reach its local service at http://no-such-host.invalid:3000: unknown host"), body);
        } finally {
            proxy.close();
        }
    }

    @Test
    void eventStreamArrivesInPiecesAndAResetCancelsTheLocalCall() throws Exception {
        try (Wire w = wire()) {
            w.request(1, "GET", "/sse", List.of(), true);
            assertEquals(200, w.response(1).status());
            StringBuilder got = new StringBuilder();
            while (!got.toString().contains("data: 2\n\n")) {
                got.append(new String(w.nextData(1).payload(), StandardCharsets.UTF_8));
            }
            w.reset(1, "client went away");
            assertTrue(sseClosed.await(20, TimeUnit.SECONDS), "local SSE connection should be closed after a reset");
        }
    }

    @Test
    void hopByHopStripHonoursConnectionTokens() {
        List<Header> out = HopByHop.strip(List.of(new Header("Connection", "close, X-Foo"), new Header("x-foo", "1"),
                new Header("Keep-Alive", "1"), new Header("Proxy-Connection", "x"), new Header("Trailer", "x"),
                new Header("Proxy-Authenticate", "x"), new Header("X-Bar", "2")), java.util.Set.of());
        assertEquals(List.of(new Header("X-Bar", "2")), out);
    }

    @Test
    void illegalPathCharactersAreEscaped() throws Exception {
        TargetProxy proxy = new TargetProxy(java.net.URI.create("http://127.0.0.1:1/base/"));
        try {
            assertEquals("http://127.0.0.1:1/base/a%7Cb?q=%22x%22", proxy.targetUri("/a|b?q=\"x\"").toString());
            assertEquals("http://127.0.0.1:1/base/ok?x=1", proxy.targetUri("/ok?x=1").toString());
        } finally {
            proxy.close();
        }
    }
}
