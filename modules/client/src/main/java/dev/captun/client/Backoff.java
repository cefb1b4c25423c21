package dev.captun.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reconnect delays: {@code initial × multiplier^attempt}, capped at {@code max}, then stretched by
 * a random jitter of up to {@code jitter} (0.2 = +0–20%). Pure and immutable.
 */
public final class Backoff {
    private final Duration initial;
    private final double multiplier;
    private final Duration max;
    private final double jitter;

    public Backoff(Duration initial, double multiplier, Duration max, double jitter) {
        if (initial.isNegative() || max.compareTo(initial) < 0 || multiplier < 1 || jitter < 0) {
            throw new IllegalArgumentException("invalid backoff");
        }
        this.initial = initial;
        this.multiplier = multiplier;
        this.max = max;
        this.jitter = jitter;
    }

    /** SPEC §7: 2 s, ×1.5, capped at 8 s, +0–20% jitter. */
    public static Backoff standard() {
        return new Backoff(Duration.ofSeconds(2), 1.5, Duration.ofSeconds(8), 0.2);
    }

    /** Delay before attempt {@code attempt} (0-based), with {@code random} in [0,1) choosing the jitter. */
    public Duration delay(int attempt, double random) {
        double base = initial.toMillis() * Math.pow(multiplier, Math.max(0, Math.min(attempt, 64)));
        base = Math.min(base, max.toMillis());
        return Duration.ofMillis(Math.round(base * (1 + jitter * random)));
    }

    public Duration delay(int attempt) {
        return delay(attempt, ThreadLocalRandom.current().nextDouble());
    }
}
