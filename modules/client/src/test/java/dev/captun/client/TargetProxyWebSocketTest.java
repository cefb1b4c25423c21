package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Target proxy mode for public WebSockets, against a real local WebSocket server ({@link TestWsServer}). */
class TargetProxyWebSocketTest {
    TestWsServer local;
    TargetProxy proxy;
    Wire w;

    @BeforeEach
    void start() throws Exception {
        local = new TestWsServer();
        proxy = new TargetProxy(URI.create(local.httpUrl()));
        w = new Wire(proxy, Protocol.DEFAULT_WINDOW);
    }

    @AfterEach
    void stop() throws Exception {
        w.close();
        proxy.close();
        local.close();
    }

    private void open(int id, String path, List<Header> headers) throws Exception {
        w.wsRequest(id, path, headers);
        WireFrame.Response r = w.response(id);
        assertEquals(101, r.status(), "local upgrade failed: " + r);
    }

    @Test
    void negotiatesTheSubprotocolAndPassesEndToEndHeaders() throws Exception {
        w.wsRequest(1, "/socket?room=7", List.of(
                new Header("sec-websocket-protocol", "v1, v2"),
                new Header("Cookie", "sid=abc"),
                new Header("Authorization", "Bearer t0k"),
                new Header("Origin", "https://demo.example"),
                new Header("Host", "demo.gw.example"),
                new Header("Connection", "Upgrade, x-hop"),
                new Header("X-Hop", "1"),
                new Header("Content-Length", "0"),
                new Header("x-forwarded-proto", "https")));
        WireFrame.Response r = w.response(1);
        assertEquals(101, r.status());
        assertEquals("v2", Wire.header(r.headers(), "sec-websocket-protocol"));
        Map<String, String> seen = local.nextRequest();
        assertEquals("GET /socket?room=7 HTTP/1.1", seen.get(":line"));
        assertEquals(List.of("v1", "v2"), TestWsServer.split(seen.get("sec-websocket-protocol")));
        assertEquals("sid=abc", seen.get("cookie"));
        assertEquals("Bearer t0k", seen.get("authorization"));
        assertEquals("https://demo.example", seen.get("origin"));
        assertEquals("https", seen.get("x-forwarded-proto"));
        assertEquals("127.0.0.1:" + local.server.getLocalPort(), seen.get("host"));
        assertNull(seen.get("x-hop"));
        w.wsCloseToClient(1, 1000, "");
        assertEquals("1000 ", local.nextClose());
    }

    @Test
    void noSubprotocolWhenTheLocalServiceChoosesNone() throws Exception {
        w.wsRequest(1, "/", List.of(new Header("sec-websocket-protocol", "v1")));
        WireFrame.Response r = w.response(1);
        assertEquals(101, r.status());
        assertNull(Wire.header(r.headers(), "sec-websocket-protocol"));
    }

    @Test
    void echoesTextAndBinaryInOrderIncludingLargeFragmentedMessages() throws Exception {
        open(1, "/echo", List.of());
        byte[] big = new byte[200 * 1024];
        new Random(3).nextBytes(big);
        String bigText = "ü".repeat(100 * 1024);
        w.wsText(1, "one");
        w.wsMessage(1, false, new byte[] {9, 8, 7}, 64 * 1024);
        w.wsMessage(1, false, big, 64 * 1024);
        w.wsMessage(1, true, bigText.getBytes(StandardCharsets.UTF_8), 65535);
        w.wsText(1, "two");
        assertEquals("one", w.wsRead(1).text());
        assertArrayEquals(new byte[] {9, 8, 7}, w.wsRead(1).binary());
        assertArrayEquals(big, w.wsRead(1).binary());
        assertEquals(bigText, w.wsRead(1).text());
        assertEquals("two", w.wsRead(1).text());
        // a local message the server sends in many WebSocket fragments arrives whole
        w.wsText(1, "frag:150000");
        assertEquals("x".repeat(150000), w.wsRead(1).text());
    }

    @Test
    void closeCodesTravelBothWays() throws Exception {
        open(1, "/a", List.of());
        w.wsCloseToClient(1, 4001, "done");
        assertEquals("4001 done", local.nextClose());
        assertEquals(101, w.event().status());

        open(2, "/b", List.of());
        w.wsText(2, "close:4002:server bye");
        WireFrame.WsClose c = w.wsClose(2);
        assertEquals(4002, c.code());
        assertEquals("server bye", c.reason());
        assertTrue(local.nextClose().startsWith("4002"), "java.net.http echoes the server's close");

        // codes java.net.http cannot send travel as 1000, reason kept
        open(3, "/c", List.of());
        w.wsCloseToClient(3, 1001, "going away");
        assertEquals("1000 going away", local.nextClose());
    }

    @Test
    void localRefusalIsRelayedWithStatusAndBody() throws Exception {
        w.wsRequest(1, "/refuse", List.of());
        WireFrame.Response r = w.response(1);
        assertEquals(403, r.status());
        assertEquals("text/plain; charset=utf-8", Wire.header(r.headers(), "content-type"));
        Wire.assertBody("forbidden here", w.bodyUntilEnd(1));
    }

    @Test
    void unreachableTargetResetsTheStream() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (TargetProxy dead = new TargetProxy(URI.create("http://127.0.0.1:" + port)); Wire w2 = new Wire(dead, Protocol.DEFAULT_WINDOW)) {
            w2.wsRequest(1, "/", List.of());
            WireFrame o = w2.nextNonCredit(1);
            assertTrue(o instanceof WireFrame.Reset, "expected reset, got " + o);
        }
    }

    @Test
    void gatewayResetAbortsTheLocalSocketAndOtherStreamsGoOn() throws Exception {
        open(1, "/a", List.of());
        open(2, "/b", List.of());
        w.reset(1, "public client gone");
        assertEquals(101, w.event().status());
        w.wsText(2, "still here");
        assertEquals("still here", w.wsRead(2).text());
    }

    @Test
    void oversizeLocalMessageCloses4009() throws Exception {
        open(1, "/big", List.of());
        w.wsText(1, "frag:" + (Protocol.MAX_TUNNELED_WS_MESSAGE + 1));
        WireFrame.WsClose c = w.wsClose(1);
        assertEquals(Protocol.CLOSE_MESSAGE_TOO_LARGE, c.code());
        assertEquals(Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON, c.reason());
        assertEquals("4009 " + Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON, local.nextClose());
    }
}
