package dev.captun.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.captun.ratelimit.RateLimiter.Allowed;
import dev.captun.ratelimit.RateLimiter.Decision;
import dev.captun.ratelimit.RateLimiter.Rejected;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real single-node Cluster Sharding. */
class RateLimiterShardingTest {

  static final Config CONFIG =
      ConfigFactory.parseString(
          """
          pekko.actor.provider = cluster
          pekko.remote.artery.canonical.hostname = 127.0.0.1
          pekko.remote.artery.canonical.port = 0
          pekko.cluster.seed-nodes = []
          pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
          pekko.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
          pekko.actor.serialization-bindings { "dev.captun.ratelimit.CborSerializable" = jackson-cbor }
          pekko.actor.allow-java-serialization = off
          """);

  static ActorTestKit testKit;

  @BeforeAll
  static void startCluster() {
    testKit = ActorTestKit.create("captun", CONFIG);
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(new Join(cluster.selfMember().address()));
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(
        Duration.ofSeconds(15),
        () -> {
          assertEquals(MemberStatus.up(), cluster.selfMember().status());
          return null;
        });
    RateLimiterSharding.init(testKit.system());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void checkViaEntityRefKeepsCountAcrossMessages() {
    EntityRef<RateLimiter.Command> ref =
        RateLimiterSharding.entityRef(testKit.system(), RateLimiterSharding.requestIpKey("198.51.100.1"));
    TestProbe<Decision> probe = testKit.createTestProbe();
    ref.tell(new RateLimiter.Check(3, Duration.ofMinutes(1), probe.getRef()));
    // First message creates shard + entity: allow time for allocation.
    assertEquals(2, probe.expectMessageClass(Allowed.class, Duration.ofSeconds(10)).remaining());
    ref.tell(new RateLimiter.Check(3, Duration.ofMinutes(1), probe.getRef()));
    assertEquals(1, probe.expectMessageClass(Allowed.class).remaining());
    ref.tell(new RateLimiter.Check(3, Duration.ofMinutes(1), probe.getRef()));
    assertEquals(0, probe.expectMessageClass(Allowed.class).remaining());
    ref.tell(new RateLimiter.Check(3, Duration.ofMinutes(1), probe.getRef()));
    Rejected r = probe.expectMessageClass(Rejected.class);
    assertEquals(3, r.limit());
    // Another key is another bucket.
    RateLimiterSharding.entityRef(testKit.system(), RateLimiterSharding.requestIpKey("198.51.100.2"))
        .tell(new RateLimiter.Check(3, Duration.ofMinutes(1), probe.getRef()));
    assertEquals(2, probe.expectMessageClass(Allowed.class, Duration.ofSeconds(5)).remaining());
  }

  @Test
  void askViaEntityRef() throws Exception {
    EntityRef<RateLimiter.Command> ref =
        RateLimiterSharding.entityRef(testKit.system(), RateLimiterSharding.connectIpKey("2001:db8::1"));
    Decision d =
        ref.<Decision>ask(replyTo -> new RateLimiter.Check(1, 60_000, replyTo), Duration.ofSeconds(10))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertInstanceOf(Allowed.class, d);
    Decision diag =
        ref.<Decision>ask(replyTo -> new RateLimiter.Diagnose(1, 60_000, replyTo), Duration.ofSeconds(5))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertEquals(0, ((Allowed) diag).remaining());
  }

  @Test
  void clientChargesAllOrNone() throws Exception {
    RateLimiterClient client = new RateLimiterClient(testKit.system(), Duration.ofSeconds(10));
    var ip = new RateLimiterClient.Bucket(RateLimiterSharding.requestIpKey("192.0.2.9"), 10, Duration.ofMinutes(1));
    var tunnel = new RateLimiterClient.Bucket(RateLimiterSharding.requestTunnelKey("demo"), 1, Duration.ofMinutes(1));

    Decision first = client.check(List.of(ip, tunnel)).get(10, TimeUnit.SECONDS);
    assertEquals(9, ((Allowed) first).remaining()); // the first bucket's Allowed
    Decision second = client.check(List.of(ip, tunnel)).get(10, TimeUnit.SECONDS);
    Rejected r = assertInstanceOf(Rejected.class, second);
    assertEquals(1, r.limit(), "the limit of the bucket that rejected");

    // The IP bucket was refunded: one charge left from the first request only.
    TestProbe<RateLimiter.Decision> probe = testKit.createTestProbe();
    probe.awaitAssert(
        Duration.ofSeconds(5),
        () -> {
          Decision d = client.diagnose(ip).get(5, TimeUnit.SECONDS);
          assertEquals(9, ((Allowed) d).remaining());
          return null;
        });
    Decision diag = client.diagnose(tunnel).get(5, TimeUnit.SECONDS);
    assertInstanceOf(Rejected.class, diag, "tunnel bucket really rejected within 2 s");
  }

  @Test
  void clientFailsWhenALimiterDoesNotAnswer() throws Exception {
    TestProbe<Object> silent = testKit.createTestProbe();
    // A sharded entity type whose entities never answer stands in for an unavailable limiter.
    EntityTypeKey<RateLimiter.Command> silentKey = EntityTypeKey.create(RateLimiter.Command.class, "Silent");
    ClusterSharding.get(testKit.system())
        .init(Entity.of(silentKey, ctx -> Behaviors.receive(RateLimiter.Command.class).onAnyMessage(m -> Behaviors.same()).build()));
    RateLimiterClient client =
        new RateLimiterClient(
            key ->
                key.equals("silent")
                    ? ClusterSharding.get(testKit.system()).entityRefFor(silentKey, key)
                    : RateLimiterSharding.entityRef(testKit.system(), key),
            Duration.ofMillis(500));
    var ip = new RateLimiterClient.Bucket(RateLimiterSharding.requestIpKey("192.0.2.77"), 5, Duration.ofMinutes(1));
    var dead = new RateLimiterClient.Bucket("silent", 5, Duration.ofMinutes(1));
    CompletableFuture<Decision> f = client.check(List.of(ip, dead));
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    assertNotNull(e.getCause());
    // The granted IP hit was refunded.
    silent.awaitAssert(
        Duration.ofSeconds(5),
        () -> {
          Decision d = client.diagnose(ip).get(5, TimeUnit.SECONDS);
          assertEquals(5, ((Allowed) d).remaining());
          return null;
        });
  }

  @Test
  void leasedLimiterHoldsTheLimitExactlyForSmallLimitsAndChargesAllOrNone() throws Exception {
    var leases = new LeasedLimiter(key -> RateLimiterSharding.entityRef(testKit.system(), key), Duration.ofSeconds(10),
        System::currentTimeMillis);
    RateLimiterClient client = new RateLimiterClient(testKit.system(), Duration.ofSeconds(10));
    var ip = new RateLimiterClient.Bucket(RateLimiterSharding.requestIpKey("192.0.2.31"), 10, Duration.ofMinutes(1));
    var tunnel = new RateLimiterClient.Bucket(RateLimiterSharding.requestTunnelKey("lease-small"), 3, Duration.ofMinutes(1));
    for (int i = 0; i < 3; i++) {
      assertNull(leases.check(List.of(tunnel, ip)).get(10, TimeUnit.SECONDS), "request " + (i + 1));
    }
    Rejected r = leases.check(List.of(tunnel, ip)).get(10, TimeUnit.SECONDS);
    assertEquals(3, r.limit());
    // Limits under 16 lease one hit at a time: the IP bucket's hit for the rejected request went back to the entity.
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(7, ((Allowed) client.diagnose(ip).get(5, TimeUnit.SECONDS)).remaining());
      return null;
    });
  }

  @Test
  void leasedLimiterAnswersARejectedKeyLocallyUntilItsWindowResets() throws Exception {
    java.util.concurrent.atomic.AtomicInteger asks = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(System.currentTimeMillis());
    var leases = new LeasedLimiter(key -> {
      asks.incrementAndGet();
      return RateLimiterSharding.entityRef(testKit.system(), key);
    }, Duration.ofSeconds(10), now::get);
    var ip = new RateLimiterClient.Bucket(RateLimiterSharding.requestIpKey("192.0.2.77"), 2, Duration.ofMinutes(1));
    assertNull(leases.check(List.of(ip)).get(10, TimeUnit.SECONDS));
    assertNull(leases.check(List.of(ip)).get(10, TimeUnit.SECONDS));
    Rejected first = leases.check(List.of(ip)).get(10, TimeUnit.SECONDS);
    assertEquals(2, first.limit());
    int asked = asks.get();
    assertEquals(3, asked, "one hit at a time for a limit of 2, then the rejection");
    now.addAndGet(30_000);
    for (int i = 0; i < 100; i++) {
      Rejected r = leases.check(List.of(ip)).get(10, TimeUnit.SECONDS);
      assertEquals(2, r.limit());
      assertEquals(first.resetAtMillis(), r.resetAtMillis());
      assertTrue(r.retryAfterSeconds() >= 1 && r.retryAfterSeconds() <= first.retryAfterSeconds() - 29, "retry-after counts down: " + r);
    }
    assertEquals(asked, asks.get(), "a flood past the limit asks the entity nothing");
    now.set(first.resetAtMillis() + 1); // this node's clock past the window: the entity decides again
    leases.check(List.of(ip)).get(10, TimeUnit.SECONDS);
    assertEquals(asked + 1, asks.get());
  }

  @Test
  void leasedLimiterBatchesForLargeLimitsAndNeverHandsOutMoreThanTheLimit() throws Exception {
    var leases = new LeasedLimiter(key -> RateLimiterSharding.entityRef(testKit.system(), key), Duration.ofSeconds(10),
        System::currentTimeMillis);
    RateLimiterClient client = new RateLimiterClient(testKit.system(), Duration.ofSeconds(10));
    var big = new RateLimiterClient.Bucket(RateLimiterSharding.requestTunnelKey("lease-big"), 1000, Duration.ofMinutes(1));
    int allowed = 0;
    for (int i = 0; i < 1100; i++) {
      if (leases.check(List.of(big)).get(10, TimeUnit.SECONDS) == null) {
        allowed++;
      }
    }
    assertEquals(1000, allowed, "exactly the limit, however the hits were batched");
    Decision d = client.diagnose(big).get(5, TimeUnit.SECONDS);
    assertInstanceOf(Rejected.class, d);
    assertTrue(leases.size() >= 1);
  }

  @Test
  void messagesUseJacksonCbor() {
    Serialization ser = SerializationExtension.get(testKit.system().classicSystem());
    TestProbe<Decision> probe = testKit.createTestProbe();
    TestProbe<RateLimiter.Refunded> refunds = testKit.createTestProbe();
    List<Object> messages =
        List.of(
            new RateLimiter.Check(5, 60_000, probe.getRef()),
            new RateLimiter.Diagnose(5, 60_000, probe.getRef()),
            new RateLimiter.Lease(5, 60_000, 4, probe.getRef()),
            new RateLimiter.Leased(5, 4, 1, 42, 60_042),
            new RateLimiter.Refund(42, refunds.getRef()),
            new RateLimiter.Refund(42, null),
            new RateLimiter.Stop(),
            new Allowed(5, 4, 42, 60_042),
            new Rejected(5, 3, 60_042),
            new RateLimiter.Refunded(true));
    for (Object m : messages) {
      var serializer = ser.findSerializerFor(m);
      assertInstanceOf(JacksonCborSerializer.class, serializer, m.getClass().getName());
      byte[] bytes = ser.serialize(m).get(); // sets the transport information ActorRefs need
      Object back = ser.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, m)).get();
      assertEquals(m, back);
    }
  }
}
