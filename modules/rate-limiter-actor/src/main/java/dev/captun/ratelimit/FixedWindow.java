package dev.captun.ratelimit;

/**
 * Fixed-window counter for one rate-limit key: the arithmetic of the {@link RateLimiter} entity,
 * with the time passed in so it can be unit-tested with a controllable clock.
 *
 * <ul>
 *   <li>The window is anchored at the first charged hit after the previous window expired
 *       ({@code resetAt = anchor + window}); it is live while {@code now < resetAt}.
 *   <li>{@link #check} charges: allowed while {@code count < limit}; a rejected attempt is not
 *       counted (but is remembered for diagnostics).
 *   <li>{@link #diagnose} is read-only: it reports a rejection only if the bucket is full now
 *       <em>and</em> it really rejected an attempt within the last {@value #RECENT_REJECTION_MILLIS} ms.
 *   <li>{@link #refund} gives back one charged hit, only if that hit's window is still the live one
 *       (the window id is the anchor time carried in {@link RateLimiter.Allowed#windowId()}).
 * </ul>
 *
 * <p>Not thread-safe: owned by one actor.
 */
public final class FixedWindow {

  /** How long a real rejection makes {@link #diagnose} report a 429. */
  public static final long RECENT_REJECTION_MILLIS = 2_000;

  /** Window id meaning "no window" (never equal to an anchor time a real clock gives). */
  public static final long NO_WINDOW = Long.MIN_VALUE;

  private long anchorMillis = NO_WINDOW;
  private long resetAtMillis = NO_WINDOW;
  private int count;
  private long lastRejectedAtMillis = NO_WINDOW;

  /** Charges one hit if allowed; a rejection does not increment. */
  public RateLimiter.Decision check(int limit, long windowMillis, long nowMillis) {
    RateLimiter.Decision d = lease(limit, windowMillis, 1, nowMillis);
    return d instanceof RateLimiter.Leased l ? new RateLimiter.Allowed(limit, l.remaining(), l.windowId(), l.resetAtMillis()) : d;
  }

  /**
   * Charges up to {@code want} hits at once for an edge that hands them out locally (a lease):
   * grants {@code min(want, limit - count)}, or rejects (charging nothing) when the bucket is full.
   * The limit holds exactly: a node never holds more than was charged here.
   */
  public RateLimiter.Decision lease(int limit, long windowMillis, int want, long nowMillis) {
    requireValid(limit, windowMillis);
    if (want < 1) throw new IllegalArgumentException("want must be >= 1, was " + want);
    if (!isWindowLive(nowMillis)) {
      anchorMillis = nowMillis;
      resetAtMillis = nowMillis + windowMillis;
      count = 0;
    }
    if (count >= limit) {
      lastRejectedAtMillis = nowMillis;
      return new RateLimiter.Rejected(limit, retryAfterSeconds(resetAtMillis, nowMillis), resetAtMillis);
    }
    int granted = Math.min(want, limit - count);
    count += granted;
    return new RateLimiter.Leased(limit, granted, limit - count, anchorMillis, resetAtMillis);
  }

  /**
   * Read-only: what the bucket says now, without charging. Reports {@link RateLimiter.Rejected}
   * only if the live window is full and the bucket rejected a real attempt within the last
   * {@value #RECENT_REJECTION_MILLIS} ms; otherwise {@link RateLimiter.Allowed} with the slots left
   * ({@code remaining} may be 0 for a full bucket that has not rejected recently).
   */
  public RateLimiter.Decision diagnose(int limit, long windowMillis, long nowMillis) {
    requireValid(limit, windowMillis);
    if (!isWindowLive(nowMillis)) {
      return new RateLimiter.Allowed(limit, limit, NO_WINDOW, nowMillis + windowMillis);
    }
    if (count >= limit && rejectedRecently(nowMillis)) {
      return new RateLimiter.Rejected(limit, retryAfterSeconds(resetAtMillis, nowMillis), resetAtMillis);
    }
    return new RateLimiter.Allowed(limit, Math.max(0, limit - count), anchorMillis, resetAtMillis);
  }

  /**
   * Gives back one hit charged in window {@code windowId}. Applied only if that window is still the
   * live one and has a charged hit; a refund for an expired or replaced window is ignored (the
   * hit already fell out with its window).
   *
   * @return whether the count was decremented
   */
  public boolean refund(long windowId, long nowMillis) {
    if (windowId == NO_WINDOW || windowId != anchorMillis || !isWindowLive(nowMillis) || count <= 0) {
      return false;
    }
    count--;
    return true;
  }

  /** True while a window is live. */
  public boolean isWindowLive(long nowMillis) {
    return anchorMillis != NO_WINDOW && nowMillis < resetAtMillis;
  }

  /**
   * True while this counter holds something that forgetting would change: a live window or a
   * rejection still inside the diagnostics horizon. When false, the state is equivalent to a fresh
   * counter, so the owning entity may passivate without losing anything.
   */
  public boolean isLive(long nowMillis) {
    return nowMillis < liveUntilMillis();
  }

  /** The instant after which {@link #isLive} is false ({@link #NO_WINDOW} if never used). */
  public long liveUntilMillis() {
    long until = resetAtMillis;
    if (lastRejectedAtMillis != NO_WINDOW) {
      until = Math.max(until, lastRejectedAtMillis + RECENT_REJECTION_MILLIS);
    }
    return until;
  }

  /** Hits charged in the live window (0 if none is live). */
  public int count(long nowMillis) {
    return isWindowLive(nowMillis) ? count : 0;
  }

  /** Anchor of the live window, or {@link #NO_WINDOW}. */
  public long windowId(long nowMillis) {
    return isWindowLive(nowMillis) ? anchorMillis : NO_WINDOW;
  }

  /** {@code max(1, ceil((resetAt - now) / 1 s))}. */
  public static long retryAfterSeconds(long resetAtMillis, long nowMillis) {
    long remaining = resetAtMillis - nowMillis;
    long seconds = remaining <= 0 ? 0 : (remaining + 999) / 1000;
    return Math.max(1, seconds);
  }

  private boolean rejectedRecently(long nowMillis) {
    return lastRejectedAtMillis != NO_WINDOW && nowMillis - lastRejectedAtMillis <= RECENT_REJECTION_MILLIS;
  }

  static void requireValid(int limit, long windowMillis) {
    if (limit < 1) throw new IllegalArgumentException("limit must be >= 1, was " + limit);
    if (windowMillis < 1) throw new IllegalArgumentException("windowMillis must be >= 1, was " + windowMillis);
  }
}
