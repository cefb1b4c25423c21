package dev.captun.client.inspect;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.captun.client.TunnelHandler;
import dev.captun.client.TunnelRequest;
import dev.captun.client.TunnelResponse;
import dev.captun.protocol.Header;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The inspector without a tunnel: a handler wrapped by it, its JSON API over real HTTP. */
@Timeout(60)
class InspectorTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final BlockingQueue<String> handlerSaw = new LinkedBlockingQueue<>();
    private Inspector inspector;
    private TunnelHandler handler;

    @BeforeEach
    void start() throws Exception {
        inspector = Inspector.builder().address("127.0.0.1:0").capacity(5).bodyCap(8).start();
        TunnelHandler app = req -> {
            // /exact reads content-length bytes and never asks for the end, as the target proxy does
            byte[] bytes = req.path().equals("/exact") ? req.body().readNBytes(Integer.parseInt(req.header("content-length")))
                    : req.body().readAllBytes();
            String body = new String(bytes, StandardCharsets.UTF_8);
            handlerSaw.add(req.method() + " " + req.path() + " " + body);
            return switch (req.path()) {
                case "/fixed" -> TunnelResponse.json(201, "{\"ok\":true,\"n\":12345}");
                case "/boom" -> throw new IllegalStateException("boom");
                default -> TunnelResponse.streaming(200, out -> {
                    out.write("echo:".getBytes(StandardCharsets.UTF_8));
                    out.write(body.getBytes(StandardCharsets.UTF_8));
                }).header("content-type", "text/plain");
            };
        };
        handler = inspector.wrap(app, false);
    }

    @AfterEach
    void stop() {
        inspector.close();
    }

    private String call(String method, String path, String body) throws Exception {
        TunnelResponse r = handler.handle(TunnelRequest.of(method, path, List.of(new Header("x-test", "1")),
                body.getBytes(StandardCharsets.UTF_8)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.writeBody(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    private HttpResponse<String> api(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(inspector.url().resolve(path)).timeout(Duration.ofSeconds(20));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("content-type", "application/json");
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return InspectorJson.MAPPER.readTree(r.body());
    }

    @Test
    void recordsRequestsAndResponsesWithinTheCapAndServesThem() throws Exception {
        assertEquals("echo:hello world", call("POST", "/a?q=1", "hello world"));
        assertEquals("{\"ok\":true,\"n\":12345}", call("GET", "/fixed", ""));
        assertThrows(IllegalStateException.class, () -> call("GET", "/boom", ""));

        HttpResponse<String> list = api("GET", "/api/requests", null);
        assertEquals(200, list.statusCode());
        assertEquals("application/json", list.headers().firstValue("content-type").orElseThrow());
        JsonNode l = json(list);
        assertEquals(5, l.get("capacity").asInt());
        assertEquals(8, l.get("cap").asInt());
        JsonNode reqs = l.get("requests");
        assertEquals(3, reqs.size());
        assertEquals("/boom", reqs.get(0).get("path").asText(), "newest first");
        assertEquals("failed", reqs.get(0).get("state").asText());
        assertEquals("/fixed", reqs.get(1).get("path").asText());
        assertEquals(201, reqs.get(1).get("status").asInt());
        assertEquals(21, reqs.get(1).get("size").asLong());
        JsonNode first = reqs.get(2);
        assertEquals("POST", first.get("method").asText());
        assertEquals("/a?q=1", first.get("path").asText());
        assertEquals("done", first.get("state").asText());
        assertEquals(200, first.get("status").asInt());
        assertEquals(16, first.get("size").asLong());
        assertTrue(first.get("durationMs").asDouble() >= 0);

        long id = first.get("id").asLong();
        HttpResponse<String> one = api("GET", "/api/requests/" + id, null);
        assertEquals(200, one.statusCode());
        JsonNode d = json(one);
        JsonNode reqBody = d.get("request").get("body");
        assertEquals(11, reqBody.get("size").asLong());
        assertEquals("hello wo", reqBody.get("text").asText(), "cut at the 8-byte cap");
        assertTrue(reqBody.get("truncated").asBoolean());
        assertTrue(reqBody.get("complete").asBoolean());
        assertEquals("[[\"x-test\",\"1\"],[\"content-length\",\"11\"]]", d.get("request").get("headers").toString());
        JsonNode resp = d.get("response");
        assertEquals(200, resp.get("status").asInt());
        assertEquals("[[\"content-type\",\"text/plain\"]]", resp.get("headers").toString());
        assertEquals("echo:hel", resp.get("body").get("text").asText());
        assertEquals(16, resp.get("body").get("size").asLong());

        JsonNode failed = json(api("GET", "/api/requests/" + reqs.get(0).get("id").asLong(), null));
        assertTrue(failed.get("error").asText().contains("boom"), failed.toString());
        assertEquals(404, api("GET", "/api/requests/999", null).statusCode());
        assertEquals(404, api("GET", "/api/requests/abc", null).statusCode());
        assertEquals(404, api("GET", "/nothing", null).statusCode());

        HttpResponse<String> page = api("GET", "/", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("content-type").orElseThrow().startsWith("text/html"));
        assertTrue(page.body().contains("<script src=\"/inspector.js\""), page.body());
        HttpResponse<String> js = api("GET", "/inspector.js", null);
        assertEquals(200, js.statusCode());
        assertTrue(js.body().contains("EventSource('/api/events')"));
        assertEquals(200, api("GET", "/inspector.css", null).statusCode());

        assertEquals(204, api("DELETE", "/api/requests", null).statusCode());
        assertEquals(0, json(api("GET", "/api/requests", null)).get("requests").size());
    }

    @Test
    void replaysThroughTheHandlerAsANewEntryOptionallyEdited() throws Exception {
        call("POST", "/hook", "short");
        assertEquals("POST /hook short", handlerSaw.poll());
        long id = json(api("GET", "/api/requests", null)).get("requests").get(0).get("id").asLong();

        HttpResponse<String> r = api("POST", "/api/requests/" + id + "/replay", "");
        assertEquals(202, r.statusCode(), r.body());
        long replayId = json(r).get("id").asLong();
        assertEquals(id, json(r).get("replayOf").asLong());
        assertNotEquals(id, replayId);
        assertEquals("POST /hook short", handlerSaw.poll(10, TimeUnit.SECONDS), "the handler received it again");
        JsonNode replay = awaitState(replayId, "done");
        assertEquals(id, replay.get("replayOf").asLong());
        assertEquals(200, replay.get("status").asInt());
        assertEquals("echo:sho", replay.get("response").get("body").get("text").asText());

        HttpResponse<String> edited = api("POST", "/api/requests/" + id + "/replay",
                "{\"method\":\"PUT\",\"path\":\"/edited\",\"headers\":[[\"x-edit\",\"yes\"]],\"body\":\"new body\"}");
        assertEquals(202, edited.statusCode(), edited.body());
        assertEquals("PUT /edited new body", handlerSaw.poll(10, TimeUnit.SECONDS));
        JsonNode e = awaitState(json(edited).get("id").asLong(), "done");
        assertEquals("[[\"x-edit\",\"yes\"],[\"content-length\",\"8\"]]", e.get("request").get("headers").toString());

        call("POST", "/exact", "abc");
        assertEquals("POST /exact abc", handlerSaw.poll());
        long exact = json(api("GET", "/api/requests", null)).get("requests").get(0).get("id").asLong();
        JsonNode exactBody = json(api("GET", "/api/requests/" + exact, null)).get("request").get("body");
        assertTrue(exactBody.get("complete").asBoolean(), "complete once content-length bytes were read: " + exactBody);
        assertEquals(202, api("POST", "/api/requests/" + exact + "/replay", "").statusCode());
        assertEquals("POST /exact abc", handlerSaw.poll(10, TimeUnit.SECONDS));

        call("POST", "/big", "longer than eight");
        handlerSaw.clear();
        long big = json(api("GET", "/api/requests", null)).get("requests").get(0).get("id").asLong();
        HttpResponse<String> refused = api("POST", "/api/requests/" + big + "/replay", "{}");
        assertEquals(409, refused.statusCode());
        assertTrue(json(refused).get("error").asText().contains("cut at the capture cap"), refused.body());
        assertEquals(400, api("POST", "/api/requests/" + big + "/replay", "{\"method\":3}").statusCode());
        assertEquals(404, api("POST", "/api/requests/12345/replay", "{}").statusCode());
        assertEquals(405, api("GET", "/api/requests/" + big + "/replay", null).statusCode());
        assertNull(handlerSaw.poll(), "nothing refused reached the handler");
    }

    private JsonNode awaitState(long id, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        JsonNode d;
        do {
            d = json(api("GET", "/api/requests/" + id, null));
            if (state.equals(d.get("state").asText())) {
                return d;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        throw new AssertionError("request " + id + " never reached " + state + ": " + d);
    }

    @Test
    void refusesOtherHostsAndOtherSitesOrigins() throws Exception {
        int port = inspector.address().getPort();
        assertTrue(raw(port, "GET /api/requests HTTP/1.1\r\nHost: attacker.example:" + port + "\r\nConnection: close\r\n\r\n")
                .startsWith("HTTP/1.1 421"), "a DNS-rebinding page is refused");
        assertTrue(raw(port, "GET /api/requests HTTP/1.1\r\nHost: localhost:" + port + "\r\nConnection: close\r\n\r\n")
                .startsWith("HTTP/1.1 200"));
        assertTrue(raw(port, "DELETE /api/requests HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nOrigin: http://evil.example\r\n"
                + "Connection: close\r\n\r\n").startsWith("HTTP/1.1 403"), "another site's page cannot clear or replay");
        assertTrue(raw(port, "DELETE /api/requests HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nOrigin: http://127.0.0.1:" + port
                + "\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 204"));
    }

    private static String raw(int port, String request) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void theEventStreamAnnouncesEachChange() throws Exception {
        HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(inspector.url().resolve("/api/events")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertEquals("retry: 1000", in.readLine());
            long first = Long.parseLong(in.readLine().substring("data: ".length()));
            call("GET", "/x", "");
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.startsWith("data: "));
            assertNotNull(line);
            assertTrue(Long.parseLong(line.substring("data: ".length())) > first);
        }
    }

    @Test
    void fallsBackToTheNextFreePortOnlyWhenAllowed() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            BindException e = assertThrows(BindException.class,
                    () -> Inspector.builder().address("127.0.0.1:" + port).start());
            assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
            try (Inspector next = Inspector.builder().address("127.0.0.1:" + port).nextFreePort(true).start()) {
                assertTrue(next.address().getPort() > port);
                assertEquals(URI.create("http://127.0.0.1:" + next.address().getPort()), next.url());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Inspector.builder().address("host:x"));
        assertThrows(IllegalArgumentException.class, () -> Inspector.builder().address("70000"));
        assertTrue(Inspector.isLoopback("127.0.0.1"));
        assertTrue(Inspector.isLoopback("::1"));
        assertFalse(Inspector.isLoopback("0.0.0.0"));
    }

}
