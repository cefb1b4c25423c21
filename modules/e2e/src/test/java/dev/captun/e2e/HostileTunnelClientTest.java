package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Bad input from a tunnel client: a clear close for that client, and everyone else keeps being served. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class HostileTunnelClientTest {
    private GatewayNode node;
    private CaptunTunnel bystander;

    @BeforeAll
    void start() throws Exception {
        node = Gateways.start();
        bystander = CaptunTunnel.builder().gateway(Gateways.url(node)).name("bystander")
                .handler(req -> TunnelResponse.text(200, "still fine")).connect();
    }

    @AfterAll
    void stop() {
        bystander.close();
        node.close();
    }

    private RawTunnelSocket connect(String name) throws Exception {
        return RawTunnelSocket.ready(node.port(), name, "t");
    }

    private void bystanderStillServes() throws Exception {
        assertEquals("still fine", PublicClient.get(Gateways.url(node) + "/bystander/").body());
    }

    /** Connects as {@code name}, lets {@code misbehave} send something, then expects that tunnel closed 4002 and the bystander served. */
    private void closedWith4002(String name, Consumer<RawTunnelSocket> misbehave) throws Exception {
        try (RawTunnelSocket t = connect(name)) {
            misbehave.accept(t);
            assertEquals(new Wire.Close(4002, "Protocol error"), t.nextNonPing());
            bystanderStillServes();
        }
    }

    /** A hand-built frame: the 10-byte header says {@code length}, whatever {@code payload} really holds. */
    private static ByteBuffer rawFrame(int type, int stream, int length, byte... payload) {
        return ByteBuffer.allocate(FrameType.HEADER_BYTES + payload.length)
                .put((byte) type).put((byte) 0).putInt(stream).putInt(length).put(payload).flip();
    }

    @Test
    void aTextMessageClosesThatTunnelWith4002() throws Exception {
        // Protocol 3 is binary only: even a well-formed protocol 2 JSON frame is refused.
        closedWith4002("garbage", t -> t.sendText("{\"type\":\"credit\",\"id\":1,\"bytes\":1}"));
    }

    @Test
    void aMessageShorterThanAFrameHeaderClosesThatTunnelWith4002() throws Exception {
        closedWith4002("stub", t -> t.send(ByteBuffer.wrap(new byte[] {FrameType.DATA, 0, 0, 0})));
    }

    @Test
    void aFrameRunningPastItsMessageClosesThatTunnelWith4002() throws Exception {
        closedWith4002("truncated", t -> t.send(rawFrame(FrameType.DATA, 1, 100, new byte[5])));
    }

    @Test
    void unknownFrameTypeClosesThatTunnelWith4002() throws Exception {
        // 0x0f: in the stream-frame range (so the stream id is valid), but no frame type has that number.
        closedWith4002("badkind", t -> t.send(rawFrame(0x0f, 1, 1, (byte) 42)));
    }

    @Test
    void aFrameOfTheWrongDirectionClosesThatTunnelWith4002() throws Exception {
        closedWith4002("wrongway", t -> t.send(new FrameWriter().request(1, "GET", "/", List.of(), true, false)));
    }

    @Test
    void dataBeyondTheCreditWindowResetsOnlyThatStream() throws Exception {
        try (RawTunnelSocket t = connect("greedy")) {
            // The public client does not read yet, so no credit can come back.
            CompletableFuture<java.net.http.HttpResponse<java.io.InputStream>> pub = PublicClient.HTTP.sendAsync(
                    PublicClient.request(Gateways.url(node) + "/greedy/big").build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            Wire.Request req = (Wire.Request) t.nextNonPing();
            t.send(new FrameWriter().response(req.id(), 200, List.of(), false));
            // Wait for the public head first: a stream reset before Pekko rendered it closes the connection
            // without a response, and the JDK client then retries the GET on a new connection (which this
            // raw tunnel client never answers), so the test would wait on the retry instead.
            java.io.InputStream body = pub.get(30, TimeUnit.SECONDS).body();
            assertEquals(200, pub.get().statusCode());
            byte[] chunk = new byte[Protocol.MAX_DATA_PAYLOAD];
            FrameWriter data = new FrameWriter(FrameType.HEADER_BYTES + chunk.length);
            // Never wait for credit (CREDIT frames that do come are ignored). Socket buffers on loopback absorb
            // a few MiB before the unread public response stops consuming, so keep sending (at most 64 MiB)
            // until the gateway resets the stream.
            Wire.Reset reset = null;
            for (int i = 0; i < 1024 && reset == null; i++) {
                data.reset();
                t.send(data.data(req.id(), chunk, 0, chunk.length, false));
                for (Wire.Frame f = t.poll(0); f != null && reset == null; f = t.poll(0)) {
                    reset = f instanceof Wire.Reset r ? r : null;
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (reset == null && System.nanoTime() < deadline) {
                reset = t.poll(200) instanceof Wire.Reset r ? r : null;
            }
            assertEquals(new Wire.Reset(req.id(), "credit window exceeded"), reset);
            assertThrows(java.io.IOException.class, () -> body.readAllBytes(), "the public response is cut off, not completed");
            bystanderStillServes();
        }
    }
}
