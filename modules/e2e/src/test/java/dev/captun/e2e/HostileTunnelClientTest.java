package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Tokens;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
        RawTunnelSocket t = RawTunnelSocket.open("ws://127.0.0.1:" + node.port() + "/?captun-connect=1&captun-protocol=1&captun-name=" + name,
                b -> b.subprotocols("captun", Tokens.toSubprotocol("t")));
        assertInstanceOf(Control.Ready.class, ControlCodec.decode(t.nextText()));
        return t;
    }

    private static Control nextNonPing(RawTunnelSocket t) throws Exception {
        Control c;
        do {
            c = ControlCodec.decode(t.nextText());
        } while (c instanceof Control.Ping);
        return c;
    }

    private void bystanderStillServes() throws Exception {
        assertEquals("still fine", PublicClient.get(Gateways.url(node) + "/bystander/").body());
    }

    @Test
    void malformedControlFrameClosesThatTunnelWith4002() throws Exception {
        try (RawTunnelSocket t = connect("garbage")) {
            t.send("this is not json");
            assertEquals(new Control.Close(4002, "Protocol error"), nextNonPing(t));
            bystanderStillServes();
        }
    }

    @Test
    void unknownBinaryFrameKindClosesThatTunnelWith4002() throws Exception {
        try (RawTunnelSocket t = connect("badkind")) {
            t.send(ByteBuffer.wrap(new byte[] {0x7f, 0, 0, 0, 1, 42}));
            assertEquals(new Control.Close(4002, "Protocol error"), nextNonPing(t));
            bystanderStillServes();
        }
    }

    @Test
    void aFrameOfTheWrongDirectionClosesThatTunnelWith4002() throws Exception {
        try (RawTunnelSocket t = connect("wrongway")) {
            t.send(ControlCodec.encode(new Control.Request(1, "GET", "/", List.of(), true, false)));
            assertEquals(new Control.Close(4002, "Protocol error"), nextNonPing(t));
            bystanderStillServes();
        }
    }

    @Test
    void dataBeyondTheCreditWindowResetsOnlyThatStream() throws Exception {
        try (RawTunnelSocket t = connect("greedy")) {
            // The public client does not read yet, so no credit can come back.
            CompletableFuture<java.net.http.HttpResponse<java.io.InputStream>> pub = PublicClient.HTTP.sendAsync(
                    PublicClient.request(Gateways.url(node) + "/greedy/big").build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            Control.Request req = (Control.Request) nextNonPing(t);
            t.send(ControlCodec.encode(new Control.Response(req.id(), 200, List.of(), false)));
            // Wait for the public head first: a stream reset before Pekko rendered it closes the connection
            // without a response, and the JDK client then retries the GET on a new connection (which this
            // raw tunnel client never answers), so the test would wait on the retry instead.
            java.io.InputStream body = pub.get(30, TimeUnit.SECONDS).body();
            assertEquals(200, pub.get().statusCode());
            byte[] chunk = new byte[65_536];
            // Never wait for credit. Socket buffers on loopback absorb a few MiB before the unread public
            // response stops consuming, so keep sending (at most 64 MiB) until the gateway resets the stream.
            Control.Reset reset = null;
            for (int i = 0; i < 1024 && reset == null; i++) {
                t.send(DataFrame.encode(DataFrame.DATA, false, req.id(), chunk, 0, chunk.length));
                for (String text = t.pollText(0); text != null && reset == null; text = t.pollText(0)) {
                    if (ControlCodec.decode(text) instanceof Control.Reset r) {
                        reset = r;
                    }
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (reset == null && System.nanoTime() < deadline) {
                String text = t.pollText(200);
                if (text != null && ControlCodec.decode(text) instanceof Control.Reset r) {
                    reset = r;
                }
            }
            assertEquals(new Control.Reset(req.id(), "credit window exceeded"), reset);
            assertThrows(java.io.IOException.class, () -> body.readAllBytes(), "the public response is cut off, not completed");
            bystanderStillServes();
        }
    }
}
