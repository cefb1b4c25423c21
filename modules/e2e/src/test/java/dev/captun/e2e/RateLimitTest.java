package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SPEC §6 end to end: real nodes in public policy with small limits. */
@Timeout(120)
class RateLimitTest {
    private static final String CONNECT = "/?captun-connect=1&captun-protocol=3&captun-name=";

    private static void assertLimited(RawHttp.Reply r, int limit) {
        assertEquals(429, r.status(), r.head());
        assertTrue(r.body().matches("Rate limit exceeded\\. Try again in \\d+s\\.\n"), r.body());
        assertEquals(Integer.toString(limit), r.header("x-captun-rate-limit"));
        long retry = Long.parseLong(r.header("retry-after"));
        assertTrue(retry >= 1 && retry <= 60, "retry-after " + retry);
        assertTrue(r.body().contains("in " + retry + "s."), "body and retry-after agree");
        assertEquals("no-store", r.header("cache-control"));
        assertEquals("text/plain; charset=UTF-8", r.header("content-type"));
    }

    @Test
    void aRejectedConnectStillSpendsTheConnectSlot() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.token = s3cret",
                "captun.rate-limit.connects-per-ip = 1")) {
            RawHttp.Reply wrong = RawHttp.upgrade(node.port(), CONNECT + "demo", "x-captun-connect-token: nope");
            assertEquals(401, wrong.status());
            assertEquals("Unauthorized\n", wrong.body());
            RawHttp.Reply next = RawHttp.upgrade(node.port(), CONNECT + "demo", "x-captun-connect-token: s3cret");
            assertLimited(next, 1);
        }
    }

    @Test
    void diagnosticsNeverSpendASlotButSurfaceARecentRejection() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.connects-per-ip = 1")) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Reply probe = RawHttp.get(node.port(), CONNECT + "diag", "127.0.0.1", "x-captun-connect-diagnostic: 1",
                        "x-captun-connect-token: tok");
                assertEquals(204, probe.status(), "probe " + i);
                assertEquals("no-store", probe.header("cache-control"));
            }
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("diag").token("tok")
                    .handler(req -> TunnelResponse.text(200, "ok")).connect()) {
                assertLimited(RawHttp.upgrade(node.port(), CONNECT + "other", "x-captun-connect-token: tok"), 1);
                RawHttp.Reply probe = RawHttp.get(node.port(), CONNECT + "other", "127.0.0.1", "x-captun-connect-diagnostic: 1",
                        "x-captun-connect-token: tok");
                assertLimited(probe, 1);
                assertEquals("ok", PublicClient.get(t.url() + "/").body(), "the admitted tunnel keeps serving");
            }
        }
    }

    @Test
    void perIpRequestLimitAndSpoofedForwardingHeadersDoNotDodgeIt() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.requests-per-ip = 3");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("perip")
                     .handler(req -> TunnelResponse.text(200, "ok")).connect()) {
            for (int i = 0; i < 3; i++) {
                // Loopback is not a trusted proxy by default: these headers must be ignored.
                RawHttp.Reply r = RawHttp.get(node.port(), "/perip/" + i, "127.0.0.1",
                        "x-forwarded-for: 10.9.9." + i, "x-real-ip: 10.8.8." + i, "cf-connecting-ip: 10.7.7." + i,
                        "forwarded: for=10.6.6." + i);
                assertEquals(200, r.status());
            }
            assertLimited(RawHttp.get(node.port(), "/perip/x", "127.0.0.1", "x-forwarded-for: 10.1.2.3"), 3);
        }
    }

    @Test
    void aPublicWebSocketUpgradeCountsAsOneRequest() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.requests-per-ip = 2");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("wscount")
                     .handler(req -> req.isWebSocket()
                             ? TunnelResponse.webSocket(null, new dev.captun.client.TunnelWebSocket.Listener() {})
                             : TunnelResponse.text(200, "ok")).connect()) {
            var ws = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(java.net.URI.create("ws://127.0.0.1:" + node.port() + "/wscount/"), new java.net.http.WebSocket.Listener() {})
                    .get(20, java.util.concurrent.TimeUnit.SECONDS);
            ws.sendText("messages on an open socket are not requests", true).join();
            assertEquals(200, RawHttp.get(node.port(), "/wscount/", "h").status());
            assertLimited(RawHttp.get(node.port(), "/wscount/", "h"), 2);
            ws.abort();
        }
    }

    @Test
    void aRequestRejectedByTheTunnelBucketChargesNoIpSlot() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public",
                "captun.rate-limit.requests-per-tunnel = 2", "captun.rate-limit.requests-per-ip = 5")) {
            int port = node.port();
            try (CaptunTunnel a = tunnel(node, "tun-a"); CaptunTunnel b = tunnel(node, "tun-b"); CaptunTunnel c = tunnel(node, "tun-c")) {
                assertEquals(200, RawHttp.get(port, "/tun-a/", "h").status());
                assertEquals(200, RawHttp.get(port, "/tun-a/", "h").status());
                for (int i = 0; i < 3; i++) {
                    assertLimited(RawHttp.get(port, "/tun-a/", "h"), 2); // tunnel bucket rejects; IP bucket untouched
                }
                // IP bucket used 2 of 5: three more pass (on other tunnels), the sixth is the IP's 429.
                assertEquals(200, RawHttp.get(port, "/tun-b/", "h").status());
                assertEquals(200, RawHttp.get(port, "/tun-b/", "h").status());
                assertEquals(200, RawHttp.get(port, "/tun-c/", "h").status());
                assertLimited(RawHttp.get(port, "/tun-c/", "h"), 5);
            }
        }
    }

    @Test
    void aRequestRejectedByTheIpBucketChargesNoTunnelSlot() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.trusted-proxies = \"127.0.0.1/32\"",
                "captun.rate-limit.requests-per-tunnel = 3", "captun.rate-limit.requests-per-ip = 1");
             CaptunTunnel t = tunnel(node, "shared")) {
            int port = node.port();
            assertEquals(200, RawHttp.get(port, "/shared/", "h", "x-forwarded-for: 10.0.0.1").status());
            for (int i = 0; i < 3; i++) {
                assertLimited(RawHttp.get(port, "/shared/", "h", "x-forwarded-for: 10.0.0.1"), 1);
            }
            // The tunnel bucket was charged once: two more clients get through, the next hits the tunnel limit.
            assertEquals(200, RawHttp.get(port, "/shared/", "h", "x-forwarded-for: 10.0.0.2").status());
            assertEquals(200, RawHttp.get(port, "/shared/", "h", "x-forwarded-for: 10.0.0.3").status());
            assertLimited(RawHttp.get(port, "/shared/", "h", "x-forwarded-for: 10.0.0.4"), 3);
        }
    }

    @Test
    void trustedPolicyHasNoLimits() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = trusted", "captun.rate-limit.requests-per-ip = 1",
                "captun.rate-limit.connects-per-ip = 1");
             CaptunTunnel t = tunnel(node, "free")) {
            for (int i = 0; i < 5; i++) {
                RawHttp.Reply r = RawHttp.get(node.port(), "/free/", "h");
                assertEquals(200, r.status());
                assertEquals("ok", r.body());
            }
            // Real connect attempts (upgrades), each past the limit of 1 the SDK's connect already used.
            for (int i = 0; i < 3; i++) {
                RawHttp.Reply connect = RawHttp.upgrade(node.port(), CONNECT + "free-" + i, "x-captun-connect-token: tok");
                assertEquals(101, connect.status(), "connect " + i + " is not rate limited: " + connect.head());
                assertEquals("websocket", connect.header("upgrade").toLowerCase(java.util.Locale.ROOT));
            }
        }
    }

    @Test
    void requestsAnsweredBeforeTheLimiterAreNotCounted() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.requests-per-ip = 2");
             CaptunTunnel t = tunnel(node, "counted")) {
            // 404s first, while the bucket is still empty: had they been charged, it would be full.
            for (String noName : new String[] {"/", "/%zz/", "/Bad_Name/", "/%63ounted/", "/admin/"}) {
                RawHttp.Reply r = RawHttp.get(node.port(), noName, "h");
                assertEquals(404, r.status(), noName);
                assertTrue(r.body().equals("Missing tunnel name\n") || r.body().equals("Reserved Captun tunnel name\n"), r.body());
                assertEquals("no-store", r.header("cache-control"));
            }
            for (int i = 0; i < 2; i++) {
                RawHttp.Reply r = RawHttp.get(node.port(), "/counted/", "h");
                assertEquals(200, r.status(), "request " + i + " still has its slot");
                assertEquals("ok", r.body());
            }
            assertLimited(RawHttp.get(node.port(), "/counted/", "h"), 2);
        }
    }

    @Test
    void behindATrustedProxyTheClientsOwnXffLineDoesNotChooseItsKey() throws Exception {
        // The proxy (loopback here) appends its own x-forwarded-for line after the one the client forged.
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.trusted-proxies = \"127.0.0.1/32\"",
                "captun.rate-limit.requests-per-ip = 3");
             CaptunTunnel t = tunnel(node, "chain")) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Reply r = RawHttp.get(node.port(), "/chain/", "h",
                        "x-forwarded-for: 10.9.9." + i, "x-forwarded-for: 203.0.113.7");
                assertEquals(200, r.status());
                assertEquals("ok", r.body());
            }
            assertLimited(RawHttp.get(node.port(), "/chain/", "h", "x-forwarded-for: 10.9.9.99", "x-forwarded-for: 203.0.113.7"), 3);
            // Another real client behind the same proxy has its own bucket.
            RawHttp.Reply other = RawHttp.get(node.port(), "/chain/", "h", "x-forwarded-for: 10.9.9.0", "x-forwarded-for: 203.0.113.8");
            assertEquals(200, other.status());
        }
    }

    @Test
    void disabledStillLimitsWhileTheLimiterAnswers() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.rate-limit.disabled = \"1\"",
                "captun.rate-limit.requests-per-ip = 2");
             CaptunTunnel t = tunnel(node, "stilllimited")) {
            for (int i = 0; i < 2; i++) {
                assertEquals(200, RawHttp.get(node.port(), "/stilllimited/", "h").status());
            }
            assertLimited(RawHttp.get(node.port(), "/stilllimited/", "h"), 2);
        }
    }

    @Test
    void anUnavailableLimiterFailsClosedUnlessExplicitlyDisabled() throws Exception {
        // Limiter entities live only on members with a role this node lacks: the region exists, nobody answers.
        String[] unreachable = {"captun.policy = public", "captun.rate-limit.entity-role = limiter", "captun.rate-limit.timeout = 500ms"};
        try (GatewayNode node = Gateways.start(unreachable)) {
            RawHttp.Reply connect = RawHttp.upgrade(node.port(), CONNECT + "closed", "x-captun-connect-token: tok");
            assertEquals(503, connect.status());
            assertEquals("Rate limiter unavailable\n", connect.body());
            assertEquals("no-store", connect.header("cache-control"));
            RawHttp.Reply probe = RawHttp.get(node.port(), CONNECT + "closed", "h", "x-captun-connect-diagnostic: 1", "x-captun-connect-token: tok");
            assertEquals(503, probe.status());
            assertEquals("Rate limiter unavailable\n", probe.body());
            RawHttp.Reply request = RawHttp.get(node.port(), "/closed/", "h");
            assertEquals(503, request.status());
            assertEquals("Rate limiter unavailable\n", request.body());
        }
        String[] open = {"captun.policy = public", "captun.rate-limit.entity-role = limiter", "captun.rate-limit.timeout = 500ms",
                "captun.rate-limit.disabled = \"1\""};
        try (GatewayNode node = Gateways.start(open);
             CaptunTunnel t = tunnel(node, "open")) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/");
            assertEquals(200, r.statusCode());
            assertEquals("ok", r.body());
        }
    }

    private static CaptunTunnel tunnel(GatewayNode node, String name) throws Exception {
        return CaptunTunnel.builder().gateway(Gateways.url(node)).name(name).handler(req -> TunnelResponse.text(200, "ok")).connect();
    }
}
