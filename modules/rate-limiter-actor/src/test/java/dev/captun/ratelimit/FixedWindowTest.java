package dev.captun.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.ratelimit.RateLimiter.Allowed;
import dev.captun.ratelimit.RateLimiter.Decision;
import dev.captun.ratelimit.RateLimiter.Rejected;
import org.junit.jupiter.api.Test;

class FixedWindowTest {

  static final long W = 60_000;
  /** Fake clock: a plain long we move by hand (starts well away from 0). */
  long now = 1_000_000;

  private Decision check(FixedWindow fw, int limit) {
    return fw.check(limit, W, now);
  }

  @Test
  void allowsUpToLimitThenRejects() {
    FixedWindow fw = new FixedWindow();
    for (int i = 1; i <= 3; i++) {
      Allowed a = assertInstanceOf(Allowed.class, check(fw, 3));
      assertEquals(3 - i, a.remaining());
      assertEquals(3, a.limit());
      assertEquals(1_000_000, a.windowId());
      assertEquals(1_000_000 + W, a.resetAtMillis());
    }
    Rejected r = assertInstanceOf(Rejected.class, check(fw, 3));
    assertEquals(3, r.limit());
    assertEquals(60, r.retryAfterSeconds());
  }

  @Test
  void rejectedAttemptsAreNotCounted() {
    FixedWindow fw = new FixedWindow();
    check(fw, 2);
    check(fw, 2);
    for (int i = 0; i < 5; i++) assertInstanceOf(Rejected.class, check(fw, 2));
    assertEquals(2, fw.count(now));
    // One refund frees exactly one slot: the 5 rejections did not pile up above the limit.
    assertTrue(fw.refund(fw.windowId(now), now));
    assertInstanceOf(Allowed.class, check(fw, 2));
    assertInstanceOf(Rejected.class, check(fw, 2));
  }

  @Test
  void windowAnchorsAtFirstHitAfterExpiryNotOnAGrid() {
    FixedWindow fw = new FixedWindow();
    check(fw, 1); // anchor t0
    now += 30_000;
    assertInstanceOf(Rejected.class, check(fw, 1));
    now = 1_000_000 + W; // exactly resetAt: expired
    assertFalse(fw.isWindowLive(now));
    now += 12_345; // first hit after expiry, not at a multiple of the window
    Allowed a = assertInstanceOf(Allowed.class, check(fw, 1));
    assertEquals(now, a.windowId());
    assertEquals(now + W, a.resetAtMillis());
    assertEquals(1, fw.count(now));
    now += W - 1; // last millisecond of the new window
    assertInstanceOf(Rejected.class, check(fw, 1));
    now += 1;
    assertInstanceOf(Allowed.class, check(fw, 1));
  }

  @Test
  void retryAfterIsCeilOfRemainingSecondsAtLeastOne() {
    assertEquals(1, FixedWindow.retryAfterSeconds(1000, 1000));
    assertEquals(1, FixedWindow.retryAfterSeconds(1000, 2000));
    assertEquals(1, FixedWindow.retryAfterSeconds(1001, 1000));
    assertEquals(1, FixedWindow.retryAfterSeconds(2000, 1000));
    assertEquals(2, FixedWindow.retryAfterSeconds(2001, 1000));
    assertEquals(60, FixedWindow.retryAfterSeconds(61_000, 1000));

    FixedWindow fw = new FixedWindow();
    check(fw, 1);
    now += 58_500; // 1.5 s left
    assertEquals(2, ((Rejected) check(fw, 1)).retryAfterSeconds());
    now += 1_000; // 0.5 s left
    assertEquals(1, ((Rejected) check(fw, 1)).retryAfterSeconds());
  }

  @Test
  void diagnoseIsReadOnly() {
    FixedWindow fw = new FixedWindow();
    Allowed fresh = assertInstanceOf(Allowed.class, fw.diagnose(2, W, now));
    assertEquals(2, fresh.remaining());
    assertEquals(FixedWindow.NO_WINDOW, fresh.windowId());
    assertFalse(fw.isWindowLive(now), "diagnose must not anchor a window");
    for (int i = 0; i < 10; i++) fw.diagnose(2, W, now);
    check(fw, 2);
    assertEquals(1, fw.count(now));
    Allowed d = assertInstanceOf(Allowed.class, fw.diagnose(2, W, now));
    assertEquals(1, d.remaining());
    assertEquals(1, fw.count(now));
    assertInstanceOf(Allowed.class, check(fw, 2)); // still a slot: diagnoses charged nothing
  }

  @Test
  void diagnoseReportsRejectionOnlyIfReallyRejectedWithinTwoSeconds() {
    FixedWindow fw = new FixedWindow();
    check(fw, 1);
    // Full, but nothing was rejected: a diagnostic must not claim a 429.
    Allowed full = assertInstanceOf(Allowed.class, fw.diagnose(1, W, now));
    assertEquals(0, full.remaining());

    now += 10_000;
    assertInstanceOf(Rejected.class, check(fw, 1)); // real rejection at t
    Rejected r = assertInstanceOf(Rejected.class, fw.diagnose(1, W, now));
    assertEquals(1, r.limit());
    assertEquals(50, r.retryAfterSeconds());
    now += 2_000; // exactly 2 s later: still reported
    assertInstanceOf(Rejected.class, fw.diagnose(1, W, now));
    now += 1; // more than 2 s: no longer
    assertInstanceOf(Allowed.class, fw.diagnose(1, W, now));
    assertFalse(fw.diagnose(1, W, now) instanceof Rejected);
  }

  @Test
  void diagnoseDoesNotReportARejectionWhoseWindowHasSinceExpired() {
    FixedWindow fw = new FixedWindow();
    check(fw, 1);
    now += W - 500;
    assertInstanceOf(Rejected.class, check(fw, 1));
    now += 1_000; // rejection 1 s ago, but the window expired: a connect now would pass
    assertInstanceOf(Allowed.class, fw.diagnose(1, W, now));
  }

  @Test
  void refundGivesBackOneHitInTheSameWindow() {
    FixedWindow fw = new FixedWindow();
    Allowed a = (Allowed) check(fw, 2);
    check(fw, 2);
    assertInstanceOf(Rejected.class, check(fw, 2));
    assertTrue(fw.refund(a.windowId(), now));
    assertEquals(1, fw.count(now));
    Allowed again = assertInstanceOf(Allowed.class, check(fw, 2));
    assertEquals(0, again.remaining());
  }

  @Test
  void refundNeverGoesBelowZero() {
    FixedWindow fw = new FixedWindow();
    Allowed a = (Allowed) check(fw, 5);
    assertTrue(fw.refund(a.windowId(), now));
    assertFalse(fw.refund(a.windowId(), now));
    assertEquals(0, fw.count(now));
  }

  @Test
  void refundForAnExpiredOrReplacedWindowIsIgnored() {
    FixedWindow fw = new FixedWindow();
    Allowed old = (Allowed) check(fw, 5);
    now += W; // expired
    assertFalse(fw.refund(old.windowId(), now));
    Allowed current = (Allowed) check(fw, 5); // new window anchored
    assertNotEquals(old.windowId(), current.windowId());
    check(fw, 5);
    assertFalse(fw.refund(old.windowId(), now), "refund of the old window must not touch the new one");
    assertEquals(2, fw.count(now));
    assertTrue(fw.refund(current.windowId(), now));
    assertEquals(1, fw.count(now));
  }

  @Test
  void refundWithNoWindowIdIsIgnored() {
    FixedWindow fw = new FixedWindow();
    check(fw, 5);
    assertFalse(fw.refund(FixedWindow.NO_WINDOW, now));
    assertEquals(1, fw.count(now));
  }

  @Test
  void chargeAThenBRefundAIfBRejects() {
    FixedWindow ip = new FixedWindow();
    FixedWindow tunnel = new FixedWindow();
    tunnel.check(1, W, now); // tunnel bucket already full
    Allowed a = (Allowed) ip.check(10, W, now);
    Decision b = tunnel.check(1, W, now);
    assertInstanceOf(Rejected.class, b);
    assertTrue(ip.refund(a.windowId(), now));
    assertEquals(0, ip.count(now), "a request rejected by the tunnel bucket charged no IP slot");
  }

  @Test
  void livenessCoversWindowAndDiagnosticsHorizon() {
    FixedWindow fw = new FixedWindow();
    assertFalse(fw.isLive(now));
    assertEquals(FixedWindow.NO_WINDOW, fw.liveUntilMillis());
    check(fw, 1);
    assertTrue(fw.isLive(now));
    now += W - 1_000;
    check(fw, 1); // rejected 1 s before the window ends
    now += 1_000; // window over, rejection 1 s old: still live (diagnostics horizon)
    assertFalse(fw.isWindowLive(now));
    assertTrue(fw.isLive(now));
    now += 1_000;
    assertFalse(fw.isLive(now));
  }

  @Test
  void invalidArgumentsAreRejected() {
    FixedWindow fw = new FixedWindow();
    assertThrows(IllegalArgumentException.class, () -> fw.check(0, W, now));
    assertThrows(IllegalArgumentException.class, () -> fw.check(1, 0, now));
  }

  @Test
  void aLeaseGrantsWhatIsLeftAndThenRejectsWithoutCharging() {
    FixedWindow w = new FixedWindow();
    var first = (RateLimiter.Leased) w.lease(10, 60_000, 4, 1_000);
    assertEquals(4, first.granted());
    assertEquals(6, first.remaining());
    var second = (RateLimiter.Leased) w.lease(10, 60_000, 8, 1_001);
    assertEquals(6, second.granted(), "never more than the limit");
    assertEquals(first.windowId(), second.windowId());
    assertInstanceOf(RateLimiter.Rejected.class, w.lease(10, 60_000, 1, 1_002));
    assertEquals(10, w.count(1_002));
    var next = (RateLimiter.Leased) w.lease(10, 60_000, 3, 61_000); // a new window
    assertEquals(3, next.granted());
    assertNotEquals(first.windowId(), next.windowId());
  }
}
