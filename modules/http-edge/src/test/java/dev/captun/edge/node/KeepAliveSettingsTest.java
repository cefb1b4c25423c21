package dev.captun.edge.node;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The keep-alive timeout and the head deadline in the shipped conf/application.conf, and Pekko's idle-timeout above them. */
class KeepAliveSettingsTest {
    /** The shipped file with overrides, resolved as the node resolves it (env vars absent). */
    private static Config shipped(String overrides) {
        return ConfigFactory.parseString(overrides)
                .withFallback(ConfigFactory.parseResourcesAnySyntax("application.conf"))
                .withFallback(ConfigFactory.defaultReference()).resolve();
    }

    @Test
    void defaultsKeepAnIdleConnectionLongerThanAHeadMayTake() {
        Config c = shipped("");
        EdgeSettings s = EdgeSettings.from(c);
        assertEquals(Duration.ofSeconds(20), s.requestHeadTimeout());
        assertEquals(Duration.ofSeconds(75), s.keepAliveTimeout());
        // Pekko's idle-timeout aborts: the shipped one is already above the keep-alive timeout.
        assertSame(c, GatewayNode.withIdleTimeout(c, s));
        assertTrue(c.getDuration("pekko.http.server.idle-timeout").compareTo(s.keepAliveTimeout()) > 0);
    }

    @Test
    void theKeepAliveTimeoutIsItsOwnSettingAndGarbageFallsBackToTheDefault() {
        // Environment variables arrive as strings (CAPTUN_KEEP_ALIVE_TIMEOUT_SECONDS).
        assertEquals(Duration.ofSeconds(120), EdgeSettings.from(shipped("captun.limits.keep-alive-timeout-seconds = \"120\"")).keepAliveTimeout());
        assertEquals(Duration.ofSeconds(20), EdgeSettings.from(shipped("captun.limits.keep-alive-timeout-seconds = \"120\"")).requestHeadTimeout());
        assertEquals(Duration.ofSeconds(75), EdgeSettings.from(shipped("captun.limits.keep-alive-timeout-seconds = \"soon\"")).keepAliveTimeout());
        assertEquals(Duration.ofSeconds(75), EdgeSettings.from(shipped("captun.limits.keep-alive-timeout-seconds = 0")).keepAliveTimeout());
    }

    @Test
    void pekkosIdleTimeoutIsRaisedAboveALongerKeepAliveTimeout() {
        Config c = shipped("captun.limits.keep-alive-timeout-seconds = 300");
        Config effective = GatewayNode.withIdleTimeout(c, EdgeSettings.from(c));
        assertEquals(Duration.ofSeconds(315), effective.getDuration("pekko.http.server.idle-timeout"));

        Config off = shipped("captun.limits.keep-alive-timeout-seconds = 300\npekko.http.server.idle-timeout = infinite");
        assertEquals("infinite", GatewayNode.withIdleTimeout(off, EdgeSettings.from(off)).getString("pekko.http.server.idle-timeout"));
    }
}
