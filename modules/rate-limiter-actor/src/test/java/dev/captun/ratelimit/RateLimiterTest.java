package dev.captun.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.captun.ratelimit.RateLimiter.Allowed;
import dev.captun.ratelimit.RateLimiter.Decision;
import dev.captun.ratelimit.RateLimiter.Rejected;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The entity run directly (no sharding), replies to TestProbes. */
class RateLimiterTest {

  /**
   * Test kits ignore application.conf: config given explicitly. serialize-messages forces every
   * message through its serializer, proving the Jackson CBOR binding (null replyTo included).
   */
  static final Config CONFIG =
      ConfigFactory.parseString(
          """
          pekko.actor.serialization-bindings { "dev.captun.ratelimit.CborSerializable" = jackson-cbor }
          pekko.actor.serialize-messages = on
          pekko.actor.allow-java-serialization = off
          """);

  static final ActorTestKit testKit = ActorTestKit.create("RateLimiterTest", CONFIG);

  @AfterAll
  static void cleanup() {
    testKit.shutdownTestKit();
  }

  final AtomicLong clock = new AtomicLong(5_000_000);
  static final long W = 60_000;

  private ActorRef<RateLimiter.Command> spawn(Duration grace) {
    TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    return testKit.spawn(RateLimiter.create("request:ip:203.0.113.7", shard.getRef(), clock::get, grace));
  }

  @Test
  void countsAcrossMessagesAndRejectsWithoutCounting() {
    ActorRef<RateLimiter.Command> e = spawn(Duration.ofMinutes(5));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Check(2, W, probe.getRef()));
    assertEquals(1, probe.expectMessageClass(Allowed.class).remaining());
    clock.addAndGet(1_000);
    e.tell(new RateLimiter.Check(2, W, probe.getRef()));
    Allowed second = probe.expectMessageClass(Allowed.class);
    assertEquals(0, second.remaining());
    assertEquals(5_000_000, second.windowId());
    e.tell(new RateLimiter.Check(2, W, probe.getRef()));
    Rejected r = probe.expectMessageClass(Rejected.class);
    assertEquals(2, r.limit());
    assertEquals(59, r.retryAfterSeconds());
    clock.addAndGet(W); // window over: re-anchored at the next hit
    e.tell(new RateLimiter.Check(2, W, probe.getRef()));
    Allowed fresh = probe.expectMessageClass(Allowed.class);
    assertEquals(1, fresh.remaining());
    assertEquals(5_000_000 + 1_000 + W, fresh.windowId());
  }

  @Test
  void diagnoseIsReadOnlyAndReportsOnlyRecentRealRejections() {
    ActorRef<RateLimiter.Command> e = spawn(Duration.ofMinutes(5));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Diagnose(1, W, probe.getRef()));
    assertEquals(1, probe.expectMessageClass(Allowed.class).remaining());
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    probe.expectMessageClass(Allowed.class); // diagnose charged nothing
    e.tell(new RateLimiter.Diagnose(1, W, probe.getRef()));
    assertEquals(0, probe.expectMessageClass(Allowed.class).remaining()); // full, never rejected
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    probe.expectMessageClass(Rejected.class);
    clock.addAndGet(1_500);
    e.tell(new RateLimiter.Diagnose(1, W, probe.getRef()));
    probe.expectMessageClass(Rejected.class);
    clock.addAndGet(1_000); // 2.5 s after the rejection
    e.tell(new RateLimiter.Diagnose(1, W, probe.getRef()));
    probe.expectMessageClass(Allowed.class);
  }

  @Test
  void refundInSameWindowOnly() {
    ActorRef<RateLimiter.Command> e = spawn(Duration.ofMinutes(5));
    TestProbe<Decision> probe = testKit.createTestProbe();
    TestProbe<RateLimiter.Refunded> refunds = testKit.createTestProbe();
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    Allowed a = probe.expectMessageClass(Allowed.class);
    e.tell(new RateLimiter.Refund(a.windowId(), refunds.getRef()));
    assertTrue(refunds.receiveMessage().applied());
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    Allowed b = probe.expectMessageClass(Allowed.class); // the slot came back
    // Fire-and-forget refund (null replyTo) also works and survives serialization.
    e.tell(RateLimiter.Refund.of(b));
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    Allowed c = probe.expectMessageClass(Allowed.class);
    clock.addAndGet(W);
    e.tell(new RateLimiter.Refund(c.windowId(), refunds.getRef()));
    assertFalse(refunds.receiveMessage().applied(), "window expired: refund ignored");
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    Allowed d = probe.expectMessageClass(Allowed.class);
    e.tell(new RateLimiter.Refund(c.windowId(), refunds.getRef()));
    assertFalse(refunds.receiveMessage().applied(), "old window id never touches the new window");
    e.tell(new RateLimiter.Check(1, W, probe.getRef()));
    probe.expectMessageClass(Rejected.class);
    assertNotEquals(c.windowId(), d.windowId());
  }

  @Test
  void asksShardToPassivateOnlyAfterTheWindowExpired() {
    TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    ActorRef<RateLimiter.Command> e =
        testKit.spawn(RateLimiter.create("k", shard.getRef(), System::currentTimeMillis, Duration.ofMillis(100)));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Check(5, 3_000, probe.getRef()));
    probe.expectMessageClass(Allowed.class);
    // Window live for 3 s: no passivation request meanwhile (checked well within, to stay robust).
    shard.expectNoMessage(Duration.ofMillis(1_000));
    e.tell(new RateLimiter.Check(5, 3_000, probe.getRef()));
    assertEquals(3, probe.expectMessageClass(Allowed.class).remaining(), "state kept while live");
    ClusterSharding.Passivate<?> p = shard.expectMessageClass(ClusterSharding.Passivate.class, Duration.ofSeconds(8));
    assertEquals(e, p.entity());
    // The shard answers with the configured stop message.
    TestProbe<Object> watcher = testKit.createTestProbe();
    e.tell(new RateLimiter.Stop());
    watcher.expectTerminated(e, Duration.ofSeconds(3));
  }

  @Test
  void aRejectionKeepsTheEntityForTheDiagnosticsHorizon() {
    TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    ActorRef<RateLimiter.Command> e =
        testKit.spawn(RateLimiter.create("k2", shard.getRef(), System::currentTimeMillis, Duration.ofMillis(50)));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Check(1, 1_000, probe.getRef()));
    probe.expectMessageClass(Allowed.class);
    e.tell(new RateLimiter.Check(1, 1_000, probe.getRef()));
    probe.expectMessageClass(Rejected.class);
    // Window ends within 1 s, but the rejection stays reportable for 2 s after it happened.
    shard.expectNoMessage(Duration.ofMillis(1_500));
    shard.expectMessageClass(ClusterSharding.Passivate.class, Duration.ofSeconds(5));
  }

  @Test
  void unusedEntityPassivatesAfterGrace() {
    TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    ActorRef<RateLimiter.Command> e =
        testKit.spawn(RateLimiter.create("k3", shard.getRef(), System::currentTimeMillis, Duration.ofMillis(200)));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Diagnose(1, 60_000, probe.getRef()));
    probe.expectMessageClass(Allowed.class);
    shard.expectMessageClass(ClusterSharding.Passivate.class, Duration.ofSeconds(3));
  }

  @Test
  void withoutShardItStopsItselfWhenIdle() {
    ActorRef<RateLimiter.Command> e =
        testKit.spawn(RateLimiter.create("k4", null, System::currentTimeMillis, Duration.ofMillis(100)));
    TestProbe<Decision> probe = testKit.createTestProbe();
    e.tell(new RateLimiter.Check(1, 300, probe.getRef()));
    probe.expectMessageClass(Allowed.class);
    probe.expectTerminated(e, Duration.ofSeconds(3));
  }

  @Test
  void invalidCommandsFailAtTheSender() {
    TestProbe<Decision> probe = testKit.createTestProbe();
    assertThrows(IllegalArgumentException.class, () -> new RateLimiter.Check(0, W, probe.getRef()));
    assertThrows(IllegalArgumentException.class, () -> new RateLimiter.Diagnose(1, 0, probe.getRef()));
  }
}
