package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The tunnel registry (the sharded tunnel entities) not answering, for real: its entities live only
 * on members with a role this node lacks. Connects, probes and requests get a clear 503.
 */
@Timeout(60)
class RegistryUnavailableTest {

    @Test
    void everyPathAnswers503TunnelRegistryUnavailable() throws Exception {
        try (GatewayNode node = Gateways.start("captun.tunnel-role = registry", "captun.session.registry-timeout = 500ms")) {
            RawHttp.Reply connect = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=orphan");
            assertEquals(503, connect.status());
            assertEquals("Tunnel registry unavailable\n", connect.body());
            assertEquals("no-store", connect.header("cache-control"));
            RawHttp.Reply probe = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=orphan", "h", "x-captun-connect-diagnostic: 1");
            assertEquals(503, probe.status());
            assertEquals("Tunnel registry unavailable\n", probe.body());
            RawHttp.Reply request = RawHttp.get(node.port(), "/orphan/x", "h");
            assertEquals(503, request.status());
            assertEquals("Tunnel registry unavailable\n", request.body());
        }
    }
}
