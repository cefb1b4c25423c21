package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SPEC §8: Prometheus /metrics on the management port, nothing operational on the public port. */
@Timeout(60)
class MetricsTest {

    private static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), "no series " + series + " in:\n" + scrape);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void theManagementPortExposesTunnelRequestLimiterAndAdmissionFigures() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.requests-per-tunnel = 3");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("metered").token("owner")
                     .handler(req -> TunnelResponse.text(200, "twelve bytes")).connect()) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, PublicClient.get(t.url() + "/").statusCode());
            }
            assertEquals(429, PublicClient.get(t.url() + "/").statusCode());
            assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder().gateway(Gateways.url(node)).name("metered")
                    .token("thief").handler(req -> TunnelResponse.empty(204)).connect());

            String mgmt = "http://127.0.0.1:" + node.managementPort() + "/metrics";
            HttpResponse<String> r = PublicClient.get(mgmt);
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/plain"));
            String s = r.body();
            assertEquals(1.0, value(s, "captun_tunnels_active"));
            assertEquals(3.0, value(s, "captun_requests_total{status=\"200\"}"));
            assertEquals(1.0, value(s, "captun_requests_total{status=\"429\"}"));
            assertEquals(3.0, value(s, "captun_rate_limit_decisions_total{kind=\"request\",outcome=\"allowed\"}"));
            assertEquals(1.0, value(s, "captun_rate_limit_decisions_total{kind=\"request\",outcome=\"limited\"}"));
            assertEquals(1.0, value(s, "captun_admissions_total{outcome=\"admitted\"}"));
            assertEquals(1.0, value(s, "captun_admissions_total{outcome=\"409\"}"));
            assertEquals(1.0, value(s, "captun_admissions_total{outcome=\"probe_409\"}"), "the SDK's probe after the refused upgrade");
            assertEquals(36.0, value(s, "captun_tunnel_bytes_total{direction=\"from_client\"}"), "three 12-byte bodies");
            assertTrue(value(s, "captun_request_duration_seconds_count") >= 4.0);
            assertTrue(s.contains("captun_request_duration_seconds_bucket{"), "a latency histogram");

            // The public port has no /metrics: that path belongs to a tunnel named "metrics".
            HttpResponse<String> pub = PublicClient.get(Gateways.url(node) + "/metrics");
            assertEquals(503, pub.statusCode());
            assertEquals("No tunnel client connected\n", pub.body());
        }
    }
}
