package dev.captun.tunnel;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.quota.TunnelQuota;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class TunnelQuotaTest {
    private static final ActorTestKit testKit = ActorTestKit.create();

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    private TunnelQuota.Reply acquire(ActorRef<TunnelQuota.Command> q, String name, String sid, TestProbe<?> session, int max) {
        TestProbe<TunnelQuota.Reply> reply = testKit.createTestProbe();
        q.tell(new TunnelQuota.Acquire(name, sid, session.getRef(), max, reply.getRef()));
        return reply.receiveMessage();
    }

    @Test
    void capsDistinctNamesAndReleasesOnlyTheHoldingSession() {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        var q = testKit.spawn(TunnelQuota.create(shard.getRef(), Duration.ofSeconds(30)));
        TestProbe<Object> s1 = testKit.createTestProbe();
        TestProbe<Object> s2 = testKit.createTestProbe();
        TestProbe<Object> s3 = testKit.createTestProbe();
        assertEquals(new TunnelQuota.Granted(1), acquire(q, "a", "s1", s1, 2));
        assertEquals(new TunnelQuota.Granted(2), acquire(q, "b", "s2", s2, 2));
        assertEquals(new TunnelQuota.Denied(2, 2), acquire(q, "c", "s3", s3, 2));
        TestProbe<TunnelQuota.Reply> probe = testKit.createTestProbe();
        q.tell(new TunnelQuota.Probe("c", 2, probe.getRef()));
        assertEquals(new TunnelQuota.Denied(2, 2), probe.receiveMessage());
        q.tell(new TunnelQuota.Probe("a", 2, probe.getRef()));
        assertEquals(new TunnelQuota.Granted(2), probe.receiveMessage(), "a held name fits");
        assertEquals(new TunnelQuota.Granted(2), acquire(q, "a", "s1b", testKit.createTestProbe(), 2), "replacing one's own name takes no new slot");
        q.tell(new TunnelQuota.Release("a", "s1")); // the replaced session's late release is ignored
        assertEquals(new TunnelQuota.Denied(2, 2), acquire(q, "c", "s4", testKit.createTestProbe(), 2));
        q.tell(new TunnelQuota.Release("b", "s2"));
        assertEquals(new TunnelQuota.Granted(2), acquire(q, "c", "s5", testKit.createTestProbe(), 2));
    }

    @Test
    void aDeadSessionFreesItsSlot() {
        var q = testKit.spawn(TunnelQuota.create(testKit.<ClusterSharding.ShardCommand>createTestProbe().getRef(), Duration.ofSeconds(30)));
        TestProbe<Object> s1 = testKit.createTestProbe();
        assertEquals(new TunnelQuota.Granted(1), acquire(q, "a", "s1", s1, 1));
        s1.stop();
        TestProbe<TunnelQuota.Reply> reply = testKit.createTestProbe();
        TestProbe<Object> s2 = testKit.createTestProbe();
        reply.awaitAssert(() -> {
            q.tell(new TunnelQuota.Acquire("b", "s2", s2.getRef(), 1, reply.getRef()));
            assertEquals(new TunnelQuota.Granted(1), reply.receiveMessage());
            return null;
        });
    }

    @Test
    void passivatesWhenEmpty() {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        var q = testKit.spawn(TunnelQuota.create(shard.getRef(), Duration.ofMillis(200)));
        TestProbe<Object> s1 = testKit.createTestProbe();
        acquire(q, "a", "s1", s1, 1);
        shard.expectNoMessage(Duration.ofMillis(400));
        q.tell(new TunnelQuota.Release("a", "s1"));
        assertInstanceOf(ClusterSharding.Passivate.class, shard.receiveMessage(Duration.ofSeconds(5)));
    }
}
