package dev.captun.ratelimit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * Request limits without a round trip per request: this node charges hits to a bucket's entity in
 * batches ({@link RateLimiter.Lease}) and hands them out locally until the batch or its window
 * runs out. The limit still holds cluster-wide, because a node only hands out hits the entity has
 * already charged; what a batch costs is precision in the other direction: hits a node holds when
 * the window ends are lost, so a client spread over several nodes may be limited a little early.
 *
 * <p>The batch size adapts to the key's pace (doubling while batches run out within a second,
 * halving when they last longer) and never exceeds {@code limit / 8} nor {@link #MAX_LEASE}: a key
 * with a small limit is charged one hit at a time, exactly like {@link RateLimiterClient#check}.
 * A request charged to several buckets is charged to all or none: a granted hit is given back
 * when another bucket rejects (locally when it came from a batch, to the entity when the batch was
 * a single hit). A key the entity rejected is rejected here, with no round trip, until its window
 * resets: a flood past a limit costs the entity nothing.
 */
public final class LeasedLimiter {
    /** Largest batch one node takes for one key. */
    public static final int MAX_LEASE = 64;

    private final Function<String, EntityRef<RateLimiter.Command>> refs;
    private final Duration timeout;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Holding> holdings = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong checks = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.Executor SAME_THREAD = Runnable::run;

    public LeasedLimiter(Function<String, EntityRef<RateLimiter.Command>> refs, Duration timeout, LongSupplier clock) {
        this.refs = refs;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** A granted hit: which holding it came from, to give it back. */
    private record Grant(Holding from, long windowId, boolean single) {}

    /**
     * Charges one hit to every bucket or to none. Completes with null when allowed, with the first
     * rejection otherwise; fails when an entity did not answer (the caller fails closed or open).
     */
    public CompletableFuture<RateLimiter.Rejected> check(List<RateLimiterClient.Bucket> buckets) {
        if ((checks.incrementAndGet() & 4095) == 0) {
            forgetIdle();
        }
        List<CompletableFuture<Object>> parts = new ArrayList<>(buckets.size());
        for (RateLimiterClient.Bucket b : buckets) {
            parts.add(holdings.computeIfAbsent(b.key(), k -> new Holding(b)).acquire());
        }
        if (parts.size() == 1 && parts.get(0).isDone()) {
            return parts.get(0).thenApplyAsync(LeasedLimiter::rejection, SAME_THREAD);
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).handleAsync((ignored, error) -> {
            RateLimiter.Rejected rejected = null;
            Throwable failure = null;
            for (CompletableFuture<Object> p : parts) {
                if (p.isCompletedExceptionally()) {
                    failure = failure != null ? failure : failureOf(p);
                } else if (rejected == null && p.join() instanceof RateLimiter.Rejected r) {
                    rejected = r;
                }
            }
            if (rejected != null || failure != null) {
                for (CompletableFuture<Object> p : parts) {
                    if (!p.isCompletedExceptionally() && p.join() instanceof Grant g) {
                        g.from().giveBack(g);
                    }
                }
            }
            if (failure != null) {
                throw failure instanceof java.util.concurrent.CompletionException ce ? ce : new java.util.concurrent.CompletionException(failure);
            }
            return rejected;
        }, SAME_THREAD);
    }

    /** Holdings are per client IP and tunnel: drop those whose window is over, so the map stays bounded by live keys. */
    private void forgetIdle() {
        long now = clock.getAsLong();
        holdings.values().removeIf(h -> h.idle(now));
    }

    /** How many keys this node holds hits for (for tests and metrics). */
    public int size() {
        return holdings.size();
    }

    private static Throwable failureOf(CompletableFuture<?> failed) {
        try {
            failed.join();
            return new IllegalStateException("not failed");
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    private static RateLimiter.Rejected rejection(Object outcome) {
        return outcome instanceof RateLimiter.Rejected r ? r : null;
    }

    /** Hits held for one key on this node. */
    private final class Holding {
        private final RateLimiterClient.Bucket bucket;
        private final int maxLease;
        private long windowId = FixedWindow.NO_WINDOW;
        private long resetAtMillis;
        private int available;
        private int nextWant = 1;
        private int lastGranted;
        private long leasedAtMillis;
        private CompletableFuture<Object> pending;
        /** The entity's rejection for this window: answered here until the window resets (a flood of 429s asks nobody). */
        private RateLimiter.Rejected rejected;
        private long rejectedUntilMillis;

        Holding(RateLimiterClient.Bucket bucket) {
            // limit / 8: a node holds at most an eighth of a bucket; under 16 that is one hit at a time (exact).
            this.bucket = bucket;
            this.maxLease = Math.max(1, Math.min(MAX_LEASE, bucket.limit() / 8));
        }

        /** A {@link Grant}, or the entity's {@link RateLimiter.Rejected}. */
        CompletableFuture<Object> acquire() {
            CompletableFuture<Object> wait;
            synchronized (this) {
                long now = clock.getAsLong();
                if (rejected != null) {
                    if (now < rejectedUntilMillis) {
                        return CompletableFuture.completedFuture(new RateLimiter.Rejected(rejected.limit(),
                                FixedWindow.retryAfterSeconds(rejected.resetAtMillis(), now), rejected.resetAtMillis()));
                    }
                    rejected = null;
                }
                if (available > 0 && now < resetAtMillis) {
                    available--;
                    return CompletableFuture.completedFuture(new Grant(this, windowId, lastGranted == 1));
                }
                if (pending != null) {
                    wait = pending; // one lease in flight per key: the others wait for it, then try again
                } else {
                    if (lastGranted > 0) {
                        // Adapt to the pace: a batch used up within a second is too small, one that lasted longer too big.
                        nextWant = now - leasedAtMillis < 1000 ? Math.min(maxLease, nextWant * 2) : Math.max(1, nextWant / 2);
                    }
                    CompletableFuture<Object> mine = new CompletableFuture<>();
                    pending = mine;
                    requestLease(nextWant, mine); // may complete at once, on this thread
                    return mine.thenComposeAsync(outcome -> outcome == Taken.ONE ? grantFromLease()
                            : CompletableFuture.completedFuture(outcome), SAME_THREAD);
                }
            }
            return wait.handleAsync((v, e) -> null, SAME_THREAD).thenComposeAsync(x -> acquire(), SAME_THREAD);
        }

        private CompletableFuture<Object> grantFromLease() {
            synchronized (this) {
                return CompletableFuture.completedFuture(new Grant(this, windowId, lastGranted == 1));
            }
        }

        private void requestLease(int want, CompletableFuture<Object> done) {
            CompletionStage<RateLimiter.Decision> ask = refs.apply(bucket.key()).ask(
                    replyTo -> new RateLimiter.Lease(bucket.limit(), bucket.window().toMillis(), want, replyTo), timeout);
            ask.whenCompleteAsync((decision, error) -> {
                Object outcome;
                synchronized (this) {
                    pending = null;
                    if (decision instanceof RateLimiter.Leased l) {
                        windowId = l.windowId();
                        resetAtMillis = l.resetAtMillis();
                        lastGranted = l.granted();
                        leasedAtMillis = clock.getAsLong();
                        available = l.granted() - 1; // one is this request's
                        outcome = Taken.ONE;
                    } else {
                        if (decision instanceof RateLimiter.Rejected r) {
                            // Until the entity's reset, bounded by its retry-after in case this node's clock runs behind.
                            rejected = r;
                            rejectedUntilMillis = Math.min(r.resetAtMillis(), clock.getAsLong() + r.retryAfterSeconds() * 1000);
                        }
                        outcome = decision;
                    }
                }
                if (error != null) {
                    done.completeExceptionally(error);
                } else {
                    done.complete(outcome);
                }
            }, Runnable::run);
        }

        synchronized boolean idle(long now) {
            return pending == null && now >= resetAtMillis && now >= rejectedUntilMillis;
        }

        void giveBack(Grant g) {
            if (g.single()) {
                // A one-hit lease is exactly a check: refund it at the entity, so no bucket stays charged.
                refs.apply(bucket.key()).tell(new RateLimiter.Refund(g.windowId(), null));
                return;
            }
            synchronized (this) {
                if (g.windowId() == windowId && clock.getAsLong() < resetAtMillis) {
                    available++; // still charged at the entity, but this node will hand it out again
                }
            }
        }
    }

    private enum Taken { ONE }
}
