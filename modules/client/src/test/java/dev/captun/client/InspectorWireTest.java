package dev.captun.client;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captun.client.inspect.Inspector;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The inspector behind the real {@link TunnelCore} (in-memory {@link Wire}): handler-mode WebSockets and bodies without length. */
@Timeout(60)
class InspectorWireTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();
    private Inspector inspector;

    @BeforeEach
    void start() throws Exception {
        inspector = Inspector.builder().address("127.0.0.1:0").start();
    }

    @AfterEach
    void stop() {
        inspector.close();
    }

    private JsonNode api(String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(inspector.url().resolve(path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** Polls entry {@code id} until it reaches {@code state} (it is written by SDK threads). */
    private JsonNode awaitState(int id, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Wire.WAIT_SECONDS);
        JsonNode d;
        do {
            d = api("/api/requests/" + id);
            if (state.equals(d.get("state").asText())) {
                return d;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        throw new AssertionError("entry " + id + " never reached " + state + ": " + d);
    }

    @Test
    void aHandlersWebSocketIsRecordedBothWaysWithItsClose() throws Exception {
        WebSocketHandlerTest.Echo echo = new WebSocketHandlerTest.Echo();
        TunnelHandler app = req -> TunnelResponse.webSocket(null, echo);
        try (Wire w = new Wire(inspector.wrap(app, false), Protocol.DEFAULT_WINDOW)) {
            w.wsRequest(1, "/chat", List.of());
            assertEquals(101, w.response(1).status());
            assertEquals("open null", echo.next());
            w.wsText(1, "hello");
            assertEquals("text 5", echo.next());
            assertEquals("hello", w.wsRead(1).text());
            w.wsCloseToClient(1, 1000, "bye");
            assertEquals("close 1000 bye", echo.next());
        }
        JsonNode d = awaitState(1, "closed");
        assertEquals(101, d.get("status").asInt());
        assertTrue(d.get("webSocket").asBoolean());
        JsonNode ms = d.get("messages");
        assertEquals(2, ms.size(), ms.toString());
        assertEquals("in", ms.get(0).get("direction").asText());
        assertEquals("hello", ms.get(0).get("text").asText());
        assertEquals("out", ms.get(1).get("direction").asText(), "what the listener sent is seen through its socket");
        assertEquals("hello", ms.get(1).get("text").asText());
        assertEquals(1000, d.get("close").get("code").asInt());
        assertEquals("bye", d.get("close").get("reason").asText());
        assertEquals(2, api("/api/requests").get("requests").get(0).get("messageCount").asInt());
    }

    @Test
    void aBodyWithoutLengthIsRecordedInHandlerModeAndPassedUntouchedForTheProxy() throws Exception {
        for (boolean targetProxy : new boolean[] {false, true}) {
            TunnelHandler app = req -> TunnelResponse.text(200, "got " + new String(req.body().readAllBytes(), StandardCharsets.UTF_8));
            try (Wire w = new Wire(inspector.wrap(app, targetProxy), Protocol.DEFAULT_WINDOW)) {
                w.request(1, "POST", "/up", List.of(new Header("content-type", "text/plain")), false);
                w.data(1, "part1,");
                w.data(1, "part2");
                w.end(1);
                assertEquals(200, w.response(1).status());
                Wire.assertBody("got part1,part2", w.bodyUntilEnd(1));
            }
            JsonNode list = api("/api/requests");
            int id = list.get("requests").get(0).get("id").asInt();
            JsonNode req = awaitState(id, "done").get("request");
            if (targetProxy) {
                assertNull(req.get("body"), req.toString());
                assertTrue(req.get("bodyNote").asText().contains("without content-length"), req.toString());
            } else {
                assertEquals("part1,part2", req.get("body").get("text").asText());
                assertTrue(req.get("body").get("complete").asBoolean());
                assertNull(req.get("bodyNote"));
            }
        }
    }
}
