package dev.captun.edge.connection;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Open connections per client IP, with a cap (slow-loris: one IP must not hold the node's sockets).
 * A connection is admitted with {@link #tryOpen} and must be {@link #close}d exactly once when it
 * ends. Thread-safe: connections open and end on any thread. An IP with no open connection has no
 * entry, so the map never outgrows the connections actually open.
 */
public final class ConnectionCounter {
    private final int maxPerIp;
    private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();

    /** @param maxPerIp connections one IP may have open at once (≥ 1) */
    public ConnectionCounter(int maxPerIp) {
        if (maxPerIp < 1) {
            throw new IllegalArgumentException("maxPerIp must be >= 1");
        }
        this.maxPerIp = maxPerIp;
    }

    public int maxPerIp() {
        return maxPerIp;
    }

    /** Counts a new connection from {@code ip}; false (and nothing counted) when the IP is at its cap. */
    public boolean tryOpen(String ip) {
        boolean[] admitted = {false};
        open.compute(ip, (k, n) -> {
            int current = n == null ? 0 : n;
            if (current >= maxPerIp) {
                return n;
            }
            admitted[0] = true;
            return current + 1;
        });
        return admitted[0];
    }

    /** A connection admitted by {@link #tryOpen} ended. */
    public void close(String ip) {
        open.computeIfPresent(ip, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Connections open from {@code ip} now. */
    public int openFrom(String ip) {
        return open.getOrDefault(ip, 0);
    }
}
