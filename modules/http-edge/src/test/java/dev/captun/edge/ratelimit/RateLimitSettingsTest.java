package dev.captun.edge.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RateLimitSettingsTest {

    private static RateLimitSettings parse(String hocon) {
        return RateLimitSettings.fromRoot(ConfigFactory.parseString(hocon).resolve());
    }

    @Test
    void defaultsWhenBlockMissing() {
        RateLimitSettings s = parse("");
        assertEquals(RateLimitSettings.defaults(), s);
        assertEquals(60, s.windowSeconds());
        assertEquals(30, s.connectsPerIp());
        assertEquals(600, s.requestsPerIp());
        assertEquals(1200, s.requestsPerTunnel());
        assertFalse(s.disabled());
        assertEquals(Duration.ofSeconds(2), s.timeout());
        assertEquals(Duration.ofSeconds(60), s.window());
        assertEquals(60_000, s.windowMillis());
    }

    @Test
    void readsIntsAndStrings() {
        RateLimitSettings s = parse("""
                captun.rate-limit {
                  window-seconds = 10
                  connects-per-ip = "5"
                  requests-per-ip = " 7 "
                  requests-per-tunnel = 9
                  probes-per-ip = "11"
                  disabled = "1"
                  timeout = 750ms
                }
                """);
        assertEquals(new RateLimitSettings(10, 5, 7, 9, 11, true, Duration.ofMillis(750)), s);
    }

    @Test
    void invalidValuesFallBackToDefaults() {
        for (String bad : new String[] {"0", "-5", "abc", "1.5", "\"\"", "99999999999", "[1]", "{a=1}", "60s"}) {
            RateLimitSettings s = parse("captun.rate-limit { window-seconds = " + bad + ", connects-per-ip = " + bad
                    + ", requests-per-ip = " + bad + ", requests-per-tunnel = " + bad + ", probes-per-ip = " + bad + " }");
            assertEquals(60, s.windowSeconds(), bad);
            assertEquals(30, s.connectsPerIp(), bad);
            assertEquals(600, s.requestsPerIp(), bad);
            assertEquals(1200, s.requestsPerTunnel(), bad);
            assertEquals(60, s.probesPerIp(), bad);
        }
    }

    @Test
    void disabledOnlyForExactlyOne() {
        assertTrue(parse("captun.rate-limit.disabled = 1").disabled());
        assertTrue(parse("captun.rate-limit.disabled = \"1\"").disabled());
        for (String v : new String[] {"\"\"", "0", "true", "yes", "\"on\"", "2", "\"01\""}) {
            assertFalse(parse("captun.rate-limit.disabled = " + v).disabled(), v);
        }
    }

    @Test
    void environmentStyleSubstitution() {
        // What conf/application.conf does: a default, then ${?ENV}; here the "env" is a config value.
        RateLimitSettings s = parse("""
                env { W = "15", D = "1" }
                captun.rate-limit {
                  window-seconds = 60
                  window-seconds = ${?env.W}
                  disabled = ""
                  disabled = ${?env.D}
                  requests-per-ip = 600
                  requests-per-ip = ${?env.MISSING}
                }
                """);
        assertEquals(15, s.windowSeconds());
        assertTrue(s.disabled());
        assertEquals(600, s.requestsPerIp());
    }

    @Test
    void badTimeoutFallsBack() {
        assertEquals(Duration.ofSeconds(2), parse("captun.rate-limit.timeout = banana").timeout());
        assertEquals(Duration.ofSeconds(2), parse("captun.rate-limit.timeout = 0s").timeout());
        assertEquals(Duration.ofSeconds(3), parse("captun.rate-limit.timeout = 3s").timeout());
    }

    @Test
    void positiveOr() {
        assertEquals(5, RateLimitSettings.positiveOr("5", 1));
        assertEquals(5, RateLimitSettings.positiveOr("+5", 1));
        assertEquals(1, RateLimitSettings.positiveOr(null, 1));
        assertEquals(3, RateLimitSettings.positiveOr("0x10", 3));
    }
}
