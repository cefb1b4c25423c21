package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The tunnel socket at WebSocket frame level (the gateway's own message layer, not Pekko's): a protocol
 * message arrives in any number of WebSocket frames and TCP reads, the 256 KiB limit holds for the whole
 * message, control frames keep working and both sides' closes end the session.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class TunnelSocketFramesTest {
    /** No stream has this id in a fresh session: DATA for it is well-formed and ignored. */
    private static final int UNKNOWN_STREAM = 999;

    private GatewayNode node;

    @BeforeAll
    void start() {
        // Idle sockets get the server's WebSocket pings quickly.
        node = Gateways.start("pekko.http.server.websocket.periodic-keep-alive-max-idle = 1s");
    }

    @AfterAll
    void stop() {
        node.close();
    }

    private RawTunnelSocket connect(String name) throws Exception {
        return RawTunnelSocket.ready(node.port(), name, "t");
    }

    private static ByteBuffer slice(ByteBuffer b, int from, int to) {
        return b.duplicate().position(from).limit(to);
    }

    /** A PING then DATA frames for an unknown stream, {@code size} bytes in all: every frame well-formed. */
    private static ByteBuffer messageOf(int size, long nonce) {
        FrameWriter w = new FrameWriter(size);
        w.ping(nonce);
        byte[] chunk = new byte[Protocol.MAX_DATA_PAYLOAD];
        while (w.size() < size) {
            w.data(UNKNOWN_STREAM, chunk, 0, Math.min(chunk.length, size - w.size() - FrameType.HEADER_BYTES), false);
        }
        assertEquals(size, w.size());
        return w.toByteBuffer();
    }

    @Test
    void aMessageInSeveralWebSocketFramesIsReadWhole() throws Exception {
        try (RawTunnelSocket t = connect("pieces")) {
            CompletableFuture<HttpResponse<String>> pub = PublicClient.HTTP.sendAsync(
                    PublicClient.request(Gateways.url(node) + "/pieces/").build(), HttpResponse.BodyHandlers.ofString());
            Wire.Request req = t.nextOf(Wire.Request.class);
            byte[] body = "one message, four WebSocket frames".getBytes(StandardCharsets.UTF_8);
            ByteBuffer m = new FrameWriter()
                    .response(req.id(), 200, List.of(new Header("content-type", "text/plain")), false)
                    .data(req.id(), body, 0, body.length, true)
                    .toByteBuffer();
            // Cut inside a frame header, between the frames and inside the body; a ping (control frame) between continuations.
            int between = m.limit() - FrameType.HEADER_BYTES - body.length;
            t.ws.sendBinary(slice(m, 0, 3), false).join();
            t.ws.sendPing(ByteBuffer.wrap(new byte[] {7})).join();
            t.ws.sendBinary(slice(m, 3, between), false).join();
            t.ws.sendBinary(slice(m, between, m.limit() - 1), false).join();
            t.ws.sendBinary(slice(m, m.limit() - 1, m.limit()), true).join();
            HttpResponse<String> r = pub.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("one message, four WebSocket frames", r.body());
            assertEquals(ByteBuffer.wrap(new byte[] {7}), t.pongs.poll(10, TimeUnit.SECONDS), "frame handling answers the client's ping");
        }
    }

    @Test
    void aMessageOfExactlyTheLimitIsRead() throws Exception {
        try (RawTunnelSocket t = connect("atlimit")) {
            t.sendInPieces(messageOf(Protocol.MAX_MESSAGE_BYTES, 42), 100_000, 200_000);
            assertEquals(new Wire.Pong(42), t.nextOf(Wire.Pong.class));
        }
    }

    @Test
    void aMessageOverTheLimitClosesWith4002ThenTheSocket() throws Exception {
        try (RawTunnelSocket t = connect("overlimit")) {
            t.send(messageOf(Protocol.MAX_MESSAGE_BYTES + 1, 42));
            assertEquals(new Wire.Close(4002, "Protocol error"), t.nextNonPing());
            // The protocol's CLOSE first, then the WebSocket close (Pekko's 1000 when the session's side ends).
            assertEquals(1000, t.closed.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void anIdleSocketGetsTheServersKeepAlivePings() throws Exception {
        try (RawTunnelSocket t = connect("idle")) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (t.pings.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(t.pings.get() > 0, "no WebSocket ping within 10 s of idleness (keep-alive 1 s)");
            t.send(new FrameWriter().ping(5));
            assertEquals(new Wire.Pong(5), t.nextOf(Wire.Pong.class), "the session still reads after the pings");
        }
    }

    @Test
    void theClientsCloseEndsTheSession() throws Exception {
        try (RawTunnelSocket t = connect("leaving")) {
            t.ws.sendClose(1000, "bye").join();
            assertEquals(1000, t.closed.get(10, TimeUnit.SECONDS), "the gateway answers the close");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            HttpResponse<String> r;
            while ((r = PublicClient.get(Gateways.url(node) + "/leaving/")).statusCode() != 503 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(503, r.statusCode());
            assertEquals(PlainResponses.NO_CLIENT, r.body().trim());
        }
    }
}
