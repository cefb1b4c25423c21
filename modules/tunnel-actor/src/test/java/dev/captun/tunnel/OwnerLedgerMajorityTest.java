package dev.captun.tunnel;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import dev.captun.tunnel.ownership.OwnerLedger;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A starting tunnel entity reads the owner ledger from a majority of replicas, not its node's own:
 * two nodes in one JVM with gossip effectively off, the owner recorded on node A only (as after a
 * majority write that did not include B), and an entity starting on B must still refuse another token.
 */
@Timeout(90)
class OwnerLedgerMajorityTest {
    private static final AdmissionPolicy PUBLIC = new AdmissionPolicy(AdmissionPolicy.Mode.PUBLIC, null);
    private static final Credential OWNER = PUBLIC.authenticate("owner-token").credential();
    private static final Credential THIEF = PUBLIC.authenticate("thief-token").credential();

    private static Config config() {
        return ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical.hostname = 127.0.0.1
                pekko.remote.artery.canonical.port = 0
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
                pekko.actor.serialization-bindings { "dev.captun.tunnel.CborSerializable" = jackson-cbor }
                # No gossip or delta propagation within the test: B's replica learns nothing by itself.
                pekko.cluster.distributed-data.gossip-interval = 1h
                pekko.cluster.distributed-data.delta-crdt.enabled = off
                """);
    }

    private static final ActorTestKit a = ActorTestKit.create("captun", config());
    private static final ActorTestKit b = ActorTestKit.create("captun", config());

    @BeforeAll
    static void formCluster() {
        Cluster ca = Cluster.get(a.system());
        ca.manager().tell(Join.create(ca.selfMember().address()));
        Cluster.get(b.system()).manager().tell(Join.create(ca.selfMember().address()));
        TestProbe<Object> wait = a.createTestProbe();
        wait.awaitAssert(Duration.ofSeconds(30), () -> {
            for (ActorTestKit kit : new ActorTestKit[] {a, b}) {
                var members = Cluster.get(kit.system()).state().getMembers();
                int up = 0;
                for (var m : members) {
                    up += m.status() == MemberStatus.up() ? 1 : 0;
                }
                assertEquals(2, up, "both members Up as seen from " + kit.system().address());
            }
            return null;
        });
    }

    @AfterAll
    static void stop() {
        b.shutdownTestKit();
        a.shutdownTestKit();
    }

    private static void recordOnlyOnA(String name, Credential owner) {
        TestProbe<Replicator.UpdateResponse<LWWMap<String, String>>> done = a.createTestProbe();
        SelfUniqueAddress self = DistributedData.get(a.system()).selfUniqueAddress();
        DistributedData.get(a.system()).replicator().tell(new Replicator.Update<>(OwnerLedger.keyFor(name), LWWMap.empty(),
                Replicator.writeLocal(), done.getRef(), map -> map.put(self, name, owner.ownerDigest())));
        assertInstanceOf(Replicator.UpdateSuccess.class, done.receiveMessage(Duration.ofSeconds(10)));
    }

    private static TunnelEntity.ConnectReply probeOnB(String name, Credential c) {
        TestProbe<ClusterSharding.ShardCommand> shard = b.createTestProbe();
        ActorRef<TunnelEntity.Command> entity = b.spawn(TunnelEntity.create(shard.getRef(), Duration.ofSeconds(60), Duration.ofSeconds(30)), name);
        TestProbe<TunnelEntity.ConnectReply> reply = b.createTestProbe();
        entity.tell(new TunnelEntity.Probe(c, reply.getRef()));
        TunnelEntity.ConnectReply r = reply.receiveMessage(Duration.ofSeconds(10));
        b.stop(entity, Duration.ofSeconds(5));
        return r;
    }

    @Test
    void anEntityStartingOnANodeWhoseReplicaLagsStillKnowsTheOwner() {
        recordOnlyOnA("lagging", OWNER);
        TestProbe<Object> retry = b.createTestProbe();
        // B's replicator learns that A is a member from cluster events; until then its "majority" is
        // itself. Probes change nothing, so asking again until it has caught up is harmless; with a
        // local read the answer would stay Admitted for good (gossip is off).
        retry.awaitAssert(Duration.ofSeconds(20), () -> {
            assertEquals(new TunnelEntity.Rejected(409, "Tunnel name is already connected"), probeOnB("lagging", THIEF));
            return null;
        });
        assertEquals(new TunnelEntity.Admitted(true), probeOnB("lagging", OWNER), "the owner itself is welcome (it replaces its remembered claim)");
    }

    @Test
    void aNameNobodyOwnsIsFreeOnEveryNode() {
        assertEquals(new TunnelEntity.Admitted(false), probeOnB("nobody-owns-this", THIEF));
    }
}
