package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.time.Duration;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One counter per key across the cluster: requests through different nodes share the tunnel's bucket. */
@Timeout(120)
class ClusterRateLimitTest {

    @Test
    void aTunnelsRequestBucketIsSharedByEveryNode() throws Exception {
        String[] common = {"captun.policy = public", "captun.rate-limit.requests-per-tunnel = 3",
                "captun.trusted-proxies = \"127.0.0.1/32\""};
        try (GatewayNode a = Gateways.start(common)) {
            Address seed = Cluster.get(a.system()).selfMember().address();
            String seeds = "captun.seed-nodes = \"" + seed.getHost().orElseThrow() + ":" + seed.getPort().orElseThrow() + "\"";
            String[] withSeed = java.util.Arrays.copyOf(common, common.length + 1);
            withSeed[common.length] = seeds;
            try (GatewayNode b = Gateways.start(withSeed)) {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (Cluster.get(b.system()).selfMember().status() != MemberStatus.up()
                        || java.util.stream.StreamSupport.stream(Cluster.get(a.system()).state().getMembers().spliterator(), false)
                                .filter(m -> m.status() == MemberStatus.up()).count() < 2) {
                    assertTrue(System.nanoTime() < deadline, "node B never joined");
                    Thread.sleep(100);
                }
                try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(a)).name("shared-bucket")
                        .handler(req -> TunnelResponse.text(200, "ok")).connect()) {
                    // Distinct client IPs (via a trusted proxy), so only the tunnel's bucket can run out.
                    assertEquals(200, RawHttp.get(a.port(), "/shared-bucket/", "h", "x-forwarded-for: 10.1.0.1").status());
                    assertEquals(200, RawHttp.get(b.port(), "/shared-bucket/", "h", "x-forwarded-for: 10.1.0.2").status());
                    assertEquals(200, RawHttp.get(a.port(), "/shared-bucket/", "h", "x-forwarded-for: 10.1.0.3").status());
                    RawHttp.Reply limited = RawHttp.get(b.port(), "/shared-bucket/", "h", "x-forwarded-for: 10.1.0.4");
                    assertEquals(429, limited.status(), limited.body());
                    assertEquals("3", limited.header("x-captun-rate-limit"));
                }
            }
        }
    }
}
