package dev.captun.edge.ratelimit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;

/**
 * The {@code captun.rate-limit} block (SPEC §6). Values may arrive as strings (environment
 * variables substitute strings in HOCON) or numbers; a value that is not an integer ≥ 1 falls back
 * to its default rather than breaking start-up.
 *
 * <pre>
 * captun.rate-limit {
 *   window-seconds      = 60    # HOSTED_RATE_LIMIT_WINDOW_SECONDS
 *   connects-per-ip     = 30    # HOSTED_CONNECTS_PER_IP_PER_WINDOW
 *   requests-per-ip     = 600   # HOSTED_REQUESTS_PER_IP_PER_WINDOW
 *   requests-per-tunnel = 1200  # HOSTED_REQUESTS_PER_TUNNEL_PER_WINDOW
 *   probes-per-ip       = 60    # HOSTED_PROBES_PER_IP_PER_WINDOW: diagnostic probes, own bucket
 *   disabled            = ""    # HOSTED_RATE_LIMIT_DISABLED: exactly "1" = fail open
 *   timeout             = 2s    # how long to wait for a limiter before it counts as unavailable
 * }
 * </pre>
 *
 * @param probesPerIp diagnostic probes per client IP per window, in a bucket of their own (never the
 *     connect bucket, SPEC §3): a probe costs an entity round trip, so it cannot be free either
 * @param disabled true only for the value {@code "1"}: an unavailable limiter lets traffic through
 *     (fail open); limits still apply while the limiter answers
 * @param timeout ask timeout after which the limiter is "unavailable"
 */
public record RateLimitSettings(
        int windowSeconds,
        int connectsPerIp,
        int requestsPerIp,
        int requestsPerTunnel,
        int probesPerIp,
        boolean disabled,
        Duration timeout) {

    public static final int DEFAULT_WINDOW_SECONDS = 60;
    public static final int DEFAULT_CONNECTS_PER_IP = 30;
    public static final int DEFAULT_REQUESTS_PER_IP = 600;
    public static final int DEFAULT_REQUESTS_PER_TUNNEL = 1200;
    public static final int DEFAULT_PROBES_PER_IP = 60;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    public static final String PATH = "captun.rate-limit";

    public RateLimitSettings {
        if (windowSeconds < 1 || connectsPerIp < 1 || requestsPerIp < 1 || requestsPerTunnel < 1 || probesPerIp < 1) {
            throw new IllegalArgumentException("rate-limit values must be >= 1");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("rate-limit timeout must be > 0");
        }
    }

    /** All defaults, not disabled. */
    public static RateLimitSettings defaults() {
        return new RateLimitSettings(DEFAULT_WINDOW_SECONDS, DEFAULT_CONNECTS_PER_IP, DEFAULT_REQUESTS_PER_IP,
                DEFAULT_REQUESTS_PER_TUNNEL, DEFAULT_PROBES_PER_IP, false, DEFAULT_TIMEOUT);
    }

    /** Reads {@code captun.rate-limit} from the node's root config (missing block or keys = defaults). */
    public static RateLimitSettings fromRoot(Config root) {
        return from(root.hasPath(PATH) ? root.getConfig(PATH) : ConfigFactory.empty());
    }

    /** Reads the {@code rate-limit} block itself. */
    public static RateLimitSettings from(Config block) {
        return new RateLimitSettings(
                positiveOr(string(block, "window-seconds"), DEFAULT_WINDOW_SECONDS),
                positiveOr(string(block, "connects-per-ip"), DEFAULT_CONNECTS_PER_IP),
                positiveOr(string(block, "requests-per-ip"), DEFAULT_REQUESTS_PER_IP),
                positiveOr(string(block, "requests-per-tunnel"), DEFAULT_REQUESTS_PER_TUNNEL),
                positiveOr(string(block, "probes-per-ip"), DEFAULT_PROBES_PER_IP),
                "1".equals(trimmed(string(block, "disabled"))),
                durationOr(block, "timeout", DEFAULT_TIMEOUT));
    }

    /** Window length as a Duration. */
    public Duration window() {
        return Duration.ofSeconds(windowSeconds);
    }

    /** Window length in milliseconds (what the limiter entity's commands carry). */
    public long windowMillis() {
        return windowSeconds * 1000L;
    }

    /** An integer ≥ 1 (surrounding whitespace allowed), else {@code fallback}. */
    public static int positiveOr(String value, int fallback) {
        if (value == null) {
            return fallback;
        }
        String v = value.trim();
        if (!v.matches("\\+?[0-9]+")) { // no signs but +, no decimals, no units
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            return n >= 1 ? n : fallback;
        } catch (NumberFormatException overflow) {
            return fallback;
        }
    }

    private static String string(Config block, String key) {
        try {
            return block.hasPath(key) ? block.getString(key) : null;
        } catch (ConfigException.WrongType e) { // a list or object where a value belongs
            return null;
        }
    }

    private static String trimmed(String s) {
        return s == null ? null : s.trim();
    }

    private static Duration durationOr(Config block, String key, Duration fallback) {
        if (!block.hasPath(key)) {
            return fallback;
        }
        try {
            Duration d = block.getDuration(key); // "2s", "1500ms", or a bare number of milliseconds
            return d.isNegative() || d.isZero() ? fallback : d;
        } catch (ConfigException e) {
            return fallback;
        }
    }
}
