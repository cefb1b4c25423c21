package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gateway's dead-peer timeout: a tunnel client silent for 3 heartbeat intervals is dropped with 4003. */
@Timeout(60)
class HeartbeatTest {

    @Test
    void aSilentTunnelClientIsClosedWith4003AndItsNameFreed() throws Exception {
        try (GatewayNode node = Gateways.start("captun.session.heartbeat-seconds = 1")) {
            RawTunnelSocket silent = RawTunnelSocket.open(
                    "ws://127.0.0.1:" + node.port() + "/?captun-connect=1&captun-protocol=1&captun-name=quiet",
                    b -> b.subprotocols("captun", Tokens.toSubprotocol("t")));
            Control.Ready ready = (Control.Ready) ControlCodec.decode(silent.nextText());
            assertEquals(1, ready.heartbeatSeconds());
            // The client answers nothing: the gateway pings, then gives up after 3 silent seconds.
            Control c;
            do {
                c = ControlCodec.decode(silent.nextText());
            } while (c instanceof Control.Ping);
            assertEquals(new Control.Close(4003, "Heartbeat timeout"), c);
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (PublicClient.get(Gateways.url(node) + "/quiet/").statusCode() != 503) {
                assertTrue(System.nanoTime() < deadline, "the dead session kept its route");
                Thread.sleep(100);
            }
            assertEquals("No tunnel client connected\n", PublicClient.get(Gateways.url(node) + "/quiet/").body());
            silent.close();
        }
    }
}
