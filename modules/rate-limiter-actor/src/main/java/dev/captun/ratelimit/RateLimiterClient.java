package dev.captun.ratelimit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * Edge-side helper: asks one or more buckets and charges all of them or none.
 *
 * <p>{@link #check} asks every bucket concurrently; if any rejects, every bucket that granted a hit
 * is refunded ({@link RateLimiter.Refund}, same window only), so a request rejected by one bucket
 * charges no other. The first rejection in list order is returned. If any ask fails (timeout:
 * limiter unavailable), the granted hits are refunded too and the returned stage fails with that
 * error; the caller decides fail-closed (503) or fail-open.
 *
 * <p>Returned stages are plain {@link CompletableFuture}s completed on the thread that delivered the
 * reply (never {@code ForkJoinPool.commonPool()}): Pekko's own stages are only ever continued with
 * {@code *Async(..., Runnable::run)} here, so callers may chain cheap non-async callbacks on them.
 */
public final class RateLimiterClient {

  /** One bucket to charge: entity key, its limit and its window. */
  public record Bucket(String key, int limit, Duration window) {
    public Bucket {
      Objects.requireNonNull(key, "key");
      FixedWindow.requireValid(limit, window.toMillis());
    }
  }

  private static final Executor SAME_THREAD = Runnable::run;

  private final Function<String, EntityRef<RateLimiter.Command>> refs;
  private final Duration timeout;

  /** Uses the sharded entities ({@link RateLimiterSharding#init} must have run on this node). */
  public RateLimiterClient(ActorSystem<?> system, Duration timeout) {
    this(key -> RateLimiterSharding.entityRef(system, key), timeout);
  }

  /** With a custom key-to-entity lookup (tests). */
  public RateLimiterClient(Function<String, EntityRef<RateLimiter.Command>> refs, Duration timeout) {
    this.refs = refs;
    this.timeout = timeout;
  }

  /** Charges all buckets or none: {@link RateLimiter.Allowed} of the first bucket, or the first rejection. */
  public CompletableFuture<RateLimiter.Decision> check(List<Bucket> buckets) {
    if (buckets.isEmpty()) throw new IllegalArgumentException("no buckets");
    List<CompletableFuture<RateLimiter.Decision>> asks = new ArrayList<>(buckets.size());
    for (Bucket b : buckets) {
      asks.add(plain(refs.apply(b.key()).<RateLimiter.Decision>ask(
          replyTo -> new RateLimiter.Check(b.limit(), b.window().toMillis(), replyTo), timeout)));
    }
    CompletableFuture<RateLimiter.Decision> result = new CompletableFuture<>();
    CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0]))
        .whenCompleteAsync(
            (ignored, error) -> {
              RateLimiter.Decision firstRejection = null;
              Throwable firstError = null;
              for (CompletableFuture<RateLimiter.Decision> f : asks) {
                if (f.isCompletedExceptionally()) {
                  if (firstError == null) firstError = failureOf(f);
                } else if (firstRejection == null && f.join() instanceof RateLimiter.Rejected r) {
                  firstRejection = r;
                }
              }
              if (firstError == null && firstRejection == null) {
                result.complete(asks.get(0).join());
                return;
              }
              for (int i = 0; i < asks.size(); i++) {
                CompletableFuture<RateLimiter.Decision> f = asks.get(i);
                if (!f.isCompletedExceptionally() && f.join() instanceof RateLimiter.Allowed a) {
                  refs.apply(buckets.get(i).key()).tell(RateLimiter.Refund.of(a));
                }
              }
              if (firstRejection != null) result.complete(firstRejection);
              else result.completeExceptionally(unwrap(firstError));
            },
            SAME_THREAD);
    return result;
  }

  /** Read-only check of one bucket ({@link RateLimiter.Diagnose}). */
  public CompletableFuture<RateLimiter.Decision> diagnose(Bucket bucket) {
    return plain(refs.apply(bucket.key()).<RateLimiter.Decision>ask(
        replyTo -> new RateLimiter.Diagnose(bucket.limit(), bucket.window().toMillis(), replyTo), timeout));
  }

  private static <T> CompletableFuture<T> plain(CompletionStage<T> pekkoStage) {
    CompletableFuture<T> f = new CompletableFuture<>();
    pekkoStage.whenCompleteAsync(
        (v, e) -> {
          if (e != null) f.completeExceptionally(unwrap(e));
          else f.complete(v);
        },
        SAME_THREAD);
    return f;
  }

  /** The failure of an already failed future. */
  private static Throwable failureOf(CompletableFuture<?> failed) {
    try {
      failed.join();
      return null;
    } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static Throwable unwrap(Throwable e) {
    while (e instanceof java.util.concurrent.CompletionException && e.getCause() != null) e = e.getCause();
    return e;
  }
}
