package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gateway's dead-peer timeout: a tunnel client silent for 3 heartbeat intervals is dropped with 4003. */
@Timeout(60)
class HeartbeatTest {

    @Test
    void aSilentTunnelClientIsClosedWith4003AndItsNameFreed() throws Exception {
        try (GatewayNode node = Gateways.start("captun.session.heartbeat-seconds = 1")) {
            RawTunnelSocket silent = RawTunnelSocket.open(RawTunnelSocket.url(node.port(), "quiet"),
                    b -> b.subprotocols("captun", Tokens.toSubprotocol("t")));
            Wire.Ready ready = (Wire.Ready) silent.next();
            assertEquals(1, ready.heartbeatSeconds());
            // The client answers nothing: the gateway pings (PING frames), then gives up after 3 silent seconds.
            assertEquals(new Wire.Close(4003, "Heartbeat timeout"), silent.nextNonPing());
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
