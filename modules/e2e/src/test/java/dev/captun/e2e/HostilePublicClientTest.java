package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a hostile public client can send to the public port, and the plain answer it gets (docs/SECURITY.md). */
@Timeout(120)
class HostilePublicClientTest {

    private static void assertPlain(RawHttp.Reply r, int status, String message) {
        assertEquals(status, r.status(), r.head());
        assertEquals(message + "\n", r.body());
        assertEquals("no-store", r.header("cache-control"));
        assertEquals("text/plain; charset=UTF-8", r.header("content-type"));
    }

    @Test
    void aPercentEncodedTunnelNameIsNotASecondSpellingOfTheName() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("demo")
                     .handler(req -> TunnelResponse.text(200, "demo saw " + req.path())).connect()) {
            RawHttp.Reply plain = RawHttp.get(node.port(), "/demo/x", "127.0.0.1");
            assertEquals(200, plain.status());
            assertEquals("demo saw /x", plain.body());
            for (String escaped : new String[] {"/%64emo/x", "/dem%6f/x", "/%64%65%6D%6F/x"}) {
                assertPlain(RawHttp.get(node.port(), escaped, "127.0.0.1"), 404, "Missing tunnel name");
            }
        }
    }
}
