package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HOSTED_* and bind variables as an operator sets them: in the real environment of a
 * {@code bin/captun-node} process (HOCON substitutes them at start-up), not as config overrides.
 */
@Timeout(180)
class HostedEnvironmentTest {
    private static final String CONNECT = "/?captun-connect=1&captun-protocol=3&captun-name=";

    private static void assertLimited(RawHttp.Reply r, int limit, int window) {
        assertEquals(429, r.status(), r.head());
        assertTrue(r.body().matches("Rate limit exceeded\\. Try again in \\d+s\\.\n"), r.body());
        assertEquals(Integer.toString(limit), r.header("x-captun-rate-limit"));
        long retry = Long.parseLong(r.header("retry-after"));
        assertTrue(retry >= 1 && retry <= window, "retry-after " + retry + " within the " + window + " s window");
        assertEquals("no-store", r.header("cache-control"));
    }

    @Test
    void hostedLimitsAndBindsComeFromTheProcessEnvironment() throws Exception {
        Path root = CliProcessTest.repoRoot();
        int port = CliProcessTest.freePort();
        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/captun-node").toString());
        Map<String, String> env = pb.environment();
        env.put("CAPTUN_PORT", Integer.toString(port));
        env.put("CAPTUN_HOST", "0.0.0.0"); // public port on every interface...
        env.put("CAPTUN_REMOTE_PORT", "0");
        env.put("CAPTUN_MANAGEMENT_PORT", "0");
        env.put("CAPTUN_POLICY", "public");
        env.put("CAPTUN_TRUSTED_PROXIES", "127.0.0.1/32");
        env.put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx256m");
        env.put("HOSTED_RATE_LIMIT_WINDOW_SECONDS", "40"); // short enough to tell from the default 60, long enough for a loaded box
        env.put("HOSTED_CONNECTS_PER_IP_PER_WINDOW", "2");
        env.put("HOSTED_REQUESTS_PER_IP_PER_WINDOW", "2");
        env.put("HOSTED_REQUESTS_PER_TUNNEL_PER_WINDOW", "3");
        env.put("HOSTED_PROBES_PER_IP_PER_WINDOW", "1");
        try (CliProcessTest.Proc node = new CliProcessTest.Proc(pb)) {
            node.await("captun gateway listening on http://0.0.0.0:" + port);
            // ...while cluster remoting and management stay on loopback.
            assertTrue(node.await("captun cluster remoting on ").contains("pekko://captun@127.0.0.1:"));
            assertTrue(node.await("captun management API on ").contains("http://127.0.0.1:"));

            try (CaptunTunnel t = CaptunTunnel.builder().gateway("http://127.0.0.1:" + port).name("envtun")
                    .handler(req -> TunnelResponse.text(200, "ok")).connect()) { // connect 1 of 2
                assertEquals(101, RawHttp.upgrade(port, CONNECT + "envtwo", "x-captun-connect-token: tok").status()); // 2 of 2
                assertLimited(RawHttp.upgrade(port, CONNECT + "envthree", "x-captun-connect-token: tok"), 2, 40);

                // Requests: 2 per client IP (told apart by the trusted proxy's x-forwarded-for), 3 per tunnel.
                for (int i = 0; i < 2; i++) {
                    RawHttp.Reply r = RawHttp.get(port, "/envtun/", "h", "x-forwarded-for: 10.0.0.1");
                    assertEquals(200, r.status());
                    assertEquals("ok", r.body());
                }
                assertLimited(RawHttp.get(port, "/envtun/", "h", "x-forwarded-for: 10.0.0.1"), 2, 40);
                assertEquals(200, RawHttp.get(port, "/envtun/", "h", "x-forwarded-for: 10.0.0.2").status());
                assertLimited(RawHttp.get(port, "/envtun/", "h", "x-forwarded-for: 10.0.0.3"), 3, 40);

                // Probes: 1 per client IP in their own bucket.
                String[] probe = {"x-captun-connect-diagnostic: 1", "x-captun-connect-token: tok", "x-forwarded-for: 10.0.0.9"};
                assertEquals(204, RawHttp.get(port, CONNECT + "envfree", "h", probe).status());
                assertLimited(RawHttp.get(port, CONNECT + "envfree", "h", probe), 1, 40);
            }
        }
    }

    @Test
    void rateLimitDisabledFromTheEnvironmentLetsTrafficThroughAnUnavailableLimiter() throws Exception {
        Path root = CliProcessTest.repoRoot();
        int port = CliProcessTest.freePort();
        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/captun-node").toString());
        Map<String, String> env = pb.environment();
        env.put("CAPTUN_PORT", Integer.toString(port));
        env.put("CAPTUN_REMOTE_PORT", "0");
        env.put("CAPTUN_MANAGEMENT_PORT", "0");
        env.put("CAPTUN_POLICY", "public");
        env.put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx256m");
        // Limiter entities only on a role no member has: the limiter never answers.
        env.put("CAPTUN_RATE_LIMIT_ROLE", "limiter");
        env.put("HOSTED_RATE_LIMIT_DISABLED", "1");
        env.put("HOSTED_REQUESTS_PER_IP_PER_WINDOW", "1");
        try (CliProcessTest.Proc node = new CliProcessTest.Proc(pb)) {
            node.await("captun gateway listening on http://127.0.0.1:" + port);
            try (CaptunTunnel t = CaptunTunnel.builder().gateway("http://127.0.0.1:" + port).name("failopen")
                    .handler(req -> TunnelResponse.text(200, "open")).connect()) {
                for (int i = 0; i < 3; i++) {
                    RawHttp.Reply r = RawHttp.get(port, "/failopen/", "h");
                    assertEquals(200, r.status(), "request " + i + " passes the unavailable limiter: " + r.head());
                    assertEquals("open", r.body());
                }
            }
        }
    }
}
