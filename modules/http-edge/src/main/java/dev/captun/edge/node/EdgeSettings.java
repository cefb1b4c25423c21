package dev.captun.edge.node;

import com.typesafe.config.Config;
import dev.captun.tunnel.admission.AdmissionPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** The {@code captun} block of the node's config, validated once at start-up. */
public record EdgeSettings(
        String host,
        int port,
        String hostname,
        AdmissionPolicy.Mode policy,
        String sharedToken,
        Duration requestTimeout,
        Set<String> reservedNames,
        String trustedProxies,
        Duration tunnelIdleTimeout,
        List<String> seedNodes,
        int window,
        int heartbeatSeconds,
        Duration reassertInterval,
        Duration registryTimeout,
        int maxTunnelsPerIp,
        int maxInFlightPerTunnel,
        Duration ownershipGrace,
        int maxConnectionsPerIp,
        Duration requestHeadTimeout,
        Duration keepAliveTimeout,
        long websocketBufferBytes,
        Duration drainGrace,
        Duration drainUnready) {

    public static EdgeSettings from(Config root) {
        Config c = root.getConfig("captun");
        String hostname = c.getString("hostname").trim().toLowerCase(Locale.ROOT);
        while (hostname.startsWith(".")) {
            hostname = hostname.substring(1);
        }
        return new EdgeSettings(
                c.getString("host"),
                c.getInt("port"),
                hostname,
                AdmissionPolicy.Mode.parse(c.getString("policy")),
                c.getString("token"),
                Duration.ofSeconds(positiveOr(c.getString("request-timeout-seconds"), 100)),
                c.getStringList("reserved-names").stream().map(s -> s.trim().toLowerCase(Locale.ROOT))
                        .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet()),
                c.getString("trusted-proxies"),
                c.getDuration("tunnel-idle-timeout"),
                splitList(c.getString("seed-nodes")),
                c.getInt("session.window"),
                c.getInt("session.heartbeat-seconds"),
                c.getDuration("session.reassert-interval"),
                c.getDuration("session.registry-timeout"),
                positiveOr(c.getString("limits.tunnels-per-ip"), 10),
                positiveOr(c.getString("limits.in-flight-per-tunnel"), 256),
                c.getDuration("session.ownership-grace"),
                positiveOr(string(c, "limits.connections-per-ip"), 64),
                Duration.ofSeconds(positiveOr(string(c, "limits.request-head-timeout-seconds"), 20)),
                Duration.ofSeconds(positiveOr(string(c, "limits.keep-alive-timeout-seconds"), 75)),
                // MiB: the bytes every public WebSocket of the node may hold while assembling messages.
                1024L * 1024 * positiveOr(string(c, "limits.websocket-buffer-mib"), 256),
                Duration.ofSeconds(positiveOr(c.getString("drain-grace-seconds"), 30)),
                Duration.ofSeconds(nonNegativeOr(c.getString("drain-unready-seconds"), 5)));
    }

    public boolean subdomainRouting() {
        return !hostname.isEmpty();
    }

    /** Reserved names apply in public policy, and in subdomain routing under either policy (SPEC §2). */
    public boolean isReserved(String name) {
        return (policy == AdmissionPolicy.Mode.PUBLIC || subdomainRouting()) && reservedNames.contains(name);
    }

    public boolean publicPolicy() {
        return policy == AdmissionPolicy.Mode.PUBLIC;
    }

    /** An integer ≥ 1, else the default (env vars arrive as strings; garbage must not break start-up). */
    public static int positiveOr(String value, int fallback) {
        try {
            int v = Integer.parseInt(value.trim());
            return v >= 1 ? v : fallback;
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    private static String string(Config c, String path) {
        return c.hasPath(path) ? c.getString(path) : "";
    }

    /** An integer ≥ 0, else the default. */
    public static int nonNegativeOr(String value, int fallback) {
        try {
            int v = Integer.parseInt(value.trim());
            return v >= 0 ? v : fallback;
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    static List<String> splitList(String value) {
        return java.util.Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
