package dev.captun.tunnel;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class TunnelEntityTest {
    private static final ActorTestKit testKit = ActorTestKit.create();
    private static final AdmissionPolicy PUBLIC = new AdmissionPolicy(AdmissionPolicy.Mode.PUBLIC, null);
    private static final Credential A = PUBLIC.authenticate("token-a").credential();
    private static final Credential B = PUBLIC.authenticate("token-b").credential();

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    private ActorRef<TunnelEntity.Command> spawnEntity(TestProbe<ClusterSharding.ShardCommand> shard) {
        return testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(30)));
    }

    private TunnelEntity.ConnectReply connect(ActorRef<TunnelEntity.Command> e, String id, Credential c, TestProbe<SessionMessage> session) {
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        e.tell(new TunnelEntity.Connect(id, c, session.getRef(), reply.getRef()));
        return reply.receiveMessage();
    }

    private TunnelEntity.LookupReply lookup(ActorRef<TunnelEntity.Command> e) {
        TestProbe<TunnelEntity.LookupReply> reply = testKit.createTestProbe();
        e.tell(new TunnelEntity.Lookup(reply.getRef()));
        return reply.receiveMessage();
    }

    @Test
    void admitsThenRoutesToTheSession() {
        var e = spawnEntity(testKit.createTestProbe());
        assertEquals(new TunnelEntity.NoRoute(), lookup(e));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        assertEquals(new TunnelEntity.Admitted(false), connect(e, "s1", A, s1));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(e));
    }

    @Test
    void differentOwnerGetsConflictAndCurrentKeepsServing() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"), connect(e, "s2", B, s2));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(e));
        s1.expectNoMessage(Duration.ofMillis(50));
    }

    @Test
    void sameOwnerReplacesAndTheOldSessionIsToldSo() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        assertEquals(new TunnelEntity.Admitted(true), connect(e, "s2", A, s2));
        s1.expectMessage(new SessionControl.Replaced());
        assertEquals(new TunnelEntity.Route("s2", s2.getRef()), lookup(e));
        // the replaced session's late disconnect must not remove the new one
        e.tell(new TunnelEntity.Disconnect("s1"));
        assertEquals(new TunnelEntity.Route("s2", s2.getRef()), lookup(e));
    }

    @Test
    void handOffTellsTheLiveSessionToReassertAndStops() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        TestProbe<Object> watcher = testKit.createTestProbe();
        e.tell(new TunnelEntity.HandOff());
        s1.expectMessage(new SessionControl.ReassertNow());
        watcher.expectTerminated(e, Duration.ofSeconds(3));
        // An entity with no session stops without telling anyone.
        var idle = spawnEntity(testKit.createTestProbe());
        idle.tell(new TunnelEntity.HandOff());
        watcher.expectTerminated(idle, Duration.ofSeconds(3));
    }

    @Test
    void aLookupRightAfterStartWaitsForTheSessionToReassert() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<TunnelEntity.LookupReply> early = testKit.createTestProbe();
        e.tell(new TunnelEntity.Lookup(early.getRef()));
        early.expectNoMessage(Duration.ofMillis(100));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        e.tell(new TunnelEntity.Reassert("s1", A, s1.getRef()));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), early.receiveMessage());
        // Without a re-assert the answer comes at the end of the window.
        var empty = spawnEntity(testKit.createTestProbe());
        TestProbe<TunnelEntity.LookupReply> held = testKit.createTestProbe();
        empty.tell(new TunnelEntity.Lookup(held.getRef()));
        assertEquals(new TunnelEntity.NoRoute(), held.receiveMessage(TunnelEntity.RELEARN_WINDOW.plusSeconds(3)));
        assertEquals(new TunnelEntity.NoRoute(), lookup(empty)); // after the window: at once
    }

    @Test
    void probeNeverChangesAnything() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        e.tell(new TunnelEntity.Probe(A, reply.getRef()));
        assertEquals(new TunnelEntity.Admitted(false), reply.receiveMessage());
        assertEquals(new TunnelEntity.NoRoute(), lookup(e));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        e.tell(new TunnelEntity.Probe(A, reply.getRef()));
        assertEquals(new TunnelEntity.Admitted(true), reply.receiveMessage());
        e.tell(new TunnelEntity.Probe(B, reply.getRef()));
        assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"), reply.receiveMessage());
        s1.expectNoMessage(Duration.ofMillis(50));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(e));
    }

    @Test
    void disconnectFreesTheNameForAnotherOwner() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        e.tell(new TunnelEntity.Disconnect("s1"));
        assertEquals(new TunnelEntity.Admitted(false), connect(e, "s2", B, testKit.createTestProbe()));
    }

    @Test
    void aSessionThatDiesFreesTheName() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        connect(e, "s1", A, s1);
        s1.stop();
        TestProbe<TunnelEntity.LookupReply> reply = testKit.createTestProbe();
        reply.awaitAssert(() -> {
            e.tell(new TunnelEntity.Lookup(reply.getRef()));
            assertEquals(new TunnelEntity.NoRoute(), reply.receiveMessage());
            return null;
        });
    }

    @Test
    void reassertRestoresAnEmptyEntityButNeverStealsTheName() {
        var e = spawnEntity(testKit.createTestProbe());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        e.tell(new TunnelEntity.Reassert("s1", A, s1.getRef()));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(e));
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        e.tell(new TunnelEntity.Reassert("s2", B, s2.getRef()));
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(e));
    }

    @Test
    void trustedLastConnectionWins() {
        var e = spawnEntity(testKit.createTestProbe());
        Credential trusted = new AdmissionPolicy(AdmissionPolicy.Mode.TRUSTED, null).authenticate(null).credential();
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        connect(e, "s1", trusted, s1);
        assertEquals(new TunnelEntity.Admitted(true), connect(e, "s2", trusted, s2));
        s1.expectMessage(new SessionControl.Replaced());
    }

    @Test
    void racingConnectsForAFreeNameEndWithExactlyOneOwner() {
        var e = spawnEntity(testKit.createTestProbe());
        int racers = 50;
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            Credential c = PUBLIC.authenticate("racer-" + i).credential();
            TestProbe<SessionMessage> s = testKit.createTestProbe();
            String id = "s" + i;
            threads.add(new Thread(() -> e.tell(new TunnelEntity.Connect(id, c, s.getRef(), reply.getRef()))));
        }
        threads.forEach(Thread::start);
        long admitted = reply.receiveSeveralMessages(racers).stream().filter(r -> r instanceof TunnelEntity.Admitted).count();
        assertEquals(1, admitted);
    }

    @Test
    void passivatesWhenIdleWithoutASessionOnly() {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        var e = testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofMillis(200)));
        connect(e, "s1", A, testKit.createTestProbe());
        shard.expectNoMessage(Duration.ofMillis(500));
        e.tell(new TunnelEntity.Disconnect("s1"));
        assertInstanceOf(ClusterSharding.Passivate.class, shard.receiveMessage(Duration.ofSeconds(5)));
    }

    @Test
    void aProbeOrLookupOfAFreeNameStopsItsEntityAtOnce() {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        var probed = testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(60)));
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        probed.tell(new TunnelEntity.Probe(A, reply.getRef()));
        assertEquals(new TunnelEntity.Admitted(false), reply.receiveMessage());
        assertEquals(new ClusterSharding.Passivate<>(probed), shard.receiveMessage(Duration.ofSeconds(5)));

        var looked = testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(60)));
        assertEquals(new TunnelEntity.NoRoute(), lookup(looked));
        assertEquals(new ClusterSharding.Passivate<>(looked), shard.receiveMessage(Duration.ofSeconds(5)));
    }

    @Test
    void anEntityHoldingASessionStaysWhateverItIsAsked() {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        var held = testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(60)));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        connect(held, "s1", A, s1);
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        held.tell(new TunnelEntity.Probe(B, reply.getRef()));
        assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"), reply.receiveMessage());
        assertEquals(new TunnelEntity.Route("s1", s1.getRef()), lookup(held));
        shard.expectNoMessage(Duration.ofMillis(300));
    }
}
