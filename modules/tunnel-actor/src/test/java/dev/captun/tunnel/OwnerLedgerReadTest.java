package dev.captun.tunnel;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.ownership.OwnerLedger;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.junit.jupiter.api.Test;

/** The pure decision on the starting entity's ledger read. */
class OwnerLedgerReadTest {
    private static final SelfUniqueAddress NODE = new SelfUniqueAddress(
            new UniqueAddress(new org.apache.pekko.actor.Address("pekko", "captun", "127.0.0.1", 25520), 1L));

    @Test
    void aMajorityAnswerNamesTheOwnerOrNobody() {
        var key = OwnerLedger.keyFor("demo");
        LWWMap<String, String> map = LWWMap.<String, String>empty().put(NODE, "demo", "digest-a").put(NODE, "other", "digest-b");
        assertEquals(new OwnerLedger.Read.Found("digest-a"), OwnerLedger.outcome(new Replicator.GetSuccess<>(key, map), "demo"));
        assertEquals(new OwnerLedger.Read.Absent(), OwnerLedger.outcome(new Replicator.GetSuccess<>(key, map), "free"));
        assertEquals(new OwnerLedger.Read.Absent(), OwnerLedger.outcome(new Replicator.NotFound<>(key), "demo"));
    }

    @Test
    void aTimedOutMajorityReadIsUnknownNotFree() {
        assertEquals(new OwnerLedger.Read.Unavailable(), OwnerLedger.outcome(new Replicator.GetFailure<>(OwnerLedger.keyFor("demo")), "demo"));
    }
}
