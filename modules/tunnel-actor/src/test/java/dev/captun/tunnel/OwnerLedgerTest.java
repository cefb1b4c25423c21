package dev.captun.tunnel;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The replicated owner ledger: an entity that restarts empty (as after its node crashed) keeps the
 * name for the owner it remembers, for a grace period, and never hands it to another token meanwhile.
 */
class OwnerLedgerTest {
    private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
            pekko.actor.provider = cluster
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.actor.serialization-bindings { "dev.captun.tunnel.CborSerializable" = jackson-cbor }
            """));
    private static final AdmissionPolicy PUBLIC = new AdmissionPolicy(AdmissionPolicy.Mode.PUBLIC, null);
    private static final Credential OWNER = PUBLIC.authenticate("owner-token").credential();
    private static final Credential THIEF = PUBLIC.authenticate("thief-token").credential();

    @BeforeAll
    static void joinItself() {
        Cluster cluster = Cluster.get(testKit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    /** Entities are named after their tunnel; a restart is a new actor with the same name. */
    private ActorRef<TunnelEntity.Command> entity(String name, Duration grace) {
        TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
        return testKit.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(60), grace), name);
    }

    private TunnelEntity.ConnectReply connect(ActorRef<TunnelEntity.Command> e, Credential c) {
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        e.tell(new TunnelEntity.Connect(java.util.UUID.randomUUID().toString(), c, testKit.<SessionMessage>createTestProbe().getRef(), reply.getRef()));
        return reply.receiveMessage(Duration.ofSeconds(10));
    }

    private void crash(ActorRef<TunnelEntity.Command> e) {
        // Stopping the entity loses its memory but, like a crash, does not end the session.
        testKit.stop(e, Duration.ofSeconds(5));
    }

    private TunnelEntity.ConnectReply connectAfterRestart(String name, Duration grace, Credential c) {
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        // The ledger write is replicated asynchronously: retry the restart until it is visible.
        return reply.awaitAssert(Duration.ofSeconds(10), () -> {
            ActorRef<TunnelEntity.Command> restarted = entity(name + "", grace);
            TunnelEntity.ConnectReply r = connect(restarted, c);
            crash(restarted);
            assertInstanceOf(TunnelEntity.Rejected.class, r);
            return r;
        });
    }

    @Test
    void aRestartedEntityKeepsTheNameForItsRememberedOwner() {
        ActorRef<TunnelEntity.Command> first = entity("kept", Duration.ofSeconds(30));
        assertEquals(new TunnelEntity.Admitted(false), connect(first, OWNER));
        crash(first);
        assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"),
                connectAfterRestart("kept", Duration.ofSeconds(30), THIEF));
        ActorRef<TunnelEntity.Command> again = entity("kept", Duration.ofSeconds(30));
        assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"), connect(again, THIEF));
        assertInstanceOf(TunnelEntity.Admitted.class, connect(again, OWNER), "the owner gets its name back");
    }

    @Test
    void anOwnerThatNeverComesBackFreesTheNameAfterTheGrace() {
        ActorRef<TunnelEntity.Command> first = entity("abandoned", Duration.ofMillis(500));
        connect(first, OWNER);
        crash(first);
        connectAfterRestart("abandoned", Duration.ofMillis(500), THIEF);
        ActorRef<TunnelEntity.Command> restarted = entity("abandoned", Duration.ofMillis(500));
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        reply.awaitAssert(Duration.ofSeconds(10), () -> {
            assertEquals(new TunnelEntity.Admitted(false), connect(restarted, THIEF));
            return null;
        });
    }

    @Test
    void aSessionThatEndsNormallyLeavesNothingBehind() {
        ActorRef<TunnelEntity.Command> first = entity("ended", Duration.ofSeconds(30));
        TestProbe<SessionMessage> session = testKit.createTestProbe();
        TestProbe<TunnelEntity.ConnectReply> reply = testKit.createTestProbe();
        first.tell(new TunnelEntity.Connect("s1", OWNER, session.getRef(), reply.getRef()));
        assertEquals(new TunnelEntity.Admitted(false), reply.receiveMessage(Duration.ofSeconds(15)));
        first.tell(new TunnelEntity.Disconnect("s1"));
        // Stop only after the entity has handled the Disconnect (a stop overtakes queued messages).
        TestProbe<TunnelEntity.LookupReply> lookup = testKit.createTestProbe();
        first.tell(new TunnelEntity.Lookup(lookup.getRef()));
        assertEquals(new TunnelEntity.NoRoute(), lookup.receiveMessage(Duration.ofSeconds(15)));
        crash(first);
        // Once the removal has replicated, a restarted entity admits anyone at once.
        reply.awaitAssert(Duration.ofSeconds(10), () -> {
            ActorRef<TunnelEntity.Command> restarted = entity("ended", Duration.ofSeconds(30));
            TunnelEntity.ConnectReply r = connect(restarted, THIEF);
            crash(restarted);
            assertEquals(new TunnelEntity.Admitted(false), r);
            return null;
        });
    }
}
