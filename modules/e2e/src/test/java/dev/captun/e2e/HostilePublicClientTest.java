package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import dev.captun.tunnel.TunnelSharding;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
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

    private static final String CONNECT = "/?captun-connect=1&captun-protocol=3&captun-name=";

    /** Tunnel entities alive on this (single) node, from the shard region's own state. */
    private static int tunnelEntities(GatewayNode node) throws Exception {
        var system = node.system();
        ShardRegion.CurrentShardRegionState state = AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
                        ClusterSharding.get(system).shardState(),
                        replyTo -> new GetShardRegionState(TunnelSharding.TYPE_KEY, replyTo), Duration.ofSeconds(10), system.scheduler())
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
        return state.getShards().stream().mapToInt(shard -> shard.getEntityIds().size()).sum();
    }

    @Test
    void probesHaveABudgetOfTheirOwnAndFreeNamesLeaveNoEntityBehind() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.probes-per-ip = 10",
                "captun.rate-limit.connects-per-ip = 1")) {
            for (int i = 0; i < 10; i++) {
                RawHttp.Reply probe = RawHttp.get(node.port(), CONNECT + "free-" + i, "127.0.0.1",
                        "x-captun-connect-diagnostic: 1", "x-captun-connect-token: tok");
                assertEquals(204, probe.status(), "probe " + i + ": " + probe.head());
                assertEquals("no-store", probe.header("cache-control"));
            }
            for (int i = 10; i < 13; i++) {
                RawHttp.Reply probe = RawHttp.get(node.port(), CONNECT + "free-" + i, "127.0.0.1",
                        "x-captun-connect-diagnostic: 1", "x-captun-connect-token: tok");
                assertEquals(429, probe.status(), "probe " + i + " is past the probe budget");
                assertTrue(probe.body().matches("Rate limit exceeded\\. Try again in \\d+s\\.\n"), probe.body());
                assertEquals("10", probe.header("x-captun-rate-limit"));
                assertEquals("no-store", probe.header("cache-control"));
                assertEquals("text/plain; charset=UTF-8", probe.header("content-type"));
            }
            // Public requests to free names: each asks (and so starts) that name's entity.
            for (int i = 0; i < 5; i++) {
                assertPlain(RawHttp.get(node.port(), "/unheld-" + i + "/", "127.0.0.1"), 503, "No tunnel client connected");
            }
            // The probes spent nothing of the connect bucket (limit 1): a real connect still passes.
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("held").token("tok")
                    .handler(req -> TunnelResponse.text(200, "held")).connect()) {
                assertEquals("held", RawHttp.get(node.port(), "/held/", "127.0.0.1").body());
                // Only the held name keeps an entity; those of the 15 free names stopped after answering.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int entities = tunnelEntities(node);
                while (entities != 1 && System.nanoTime() < deadline) {
                    Thread.sleep(50); // polling interval under a deadline
                    entities = tunnelEntities(node);
                }
                assertEquals(1, entities, "tunnel entities left");
            }
        }
    }
}
