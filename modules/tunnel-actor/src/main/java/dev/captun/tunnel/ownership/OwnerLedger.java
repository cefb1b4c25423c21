package dev.captun.tunnel.ownership;

import java.time.Duration;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * Who owns a name in public policy, replicated to every node (Distributed Data), so that a tunnel
 * entity restarted empty after its node crashed still knows the owner's token digest and does not
 * hand the name to another token before the owner is back (SPEC §4: names are never stolen).
 * Entries are written when an exclusive owner is admitted and removed when its session ends or a
 * grace period passes without it. The map is split over a few keys so no single CRDT grows large.
 */
public final class OwnerLedger {
    private OwnerLedger() {}

    private static final int PARTITIONS = 16;

    public static Key<LWWMap<String, String>> keyFor(String name) {
        return LWWMapKey.create("captun-owners-" + Math.floorMod(name.hashCode(), PARTITIONS));
    }

    public static String ownerOf(LWWMap<String, String> map, String name) {
        return map.get(name).isDefined() ? map.get(name).get() : null;
    }

    /** How long a starting entity waits for a majority of replicas before it falls back to its own. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(2);

    /** What a ledger read told a starting entity about its name. */
    public sealed interface Read {
        record Found(String ownerDigest) implements Read {}

        record Absent() implements Read {}

        /** The read's consistency could not be met in time (or it failed): the answer is unknown. */
        record Unavailable() implements Read {}
    }

    /** The decision on a replicator's answer to a read of {@code name}'s key. Pure. */
    public static Read outcome(Replicator.GetResponse<LWWMap<String, String>> response, String name) {
        if (response instanceof Replicator.GetSuccess<LWWMap<String, String>> ok) {
            String owner = ownerOf(ok.dataValue(), name);
            return owner == null ? new Read.Absent() : new Read.Found(owner);
        }
        if (response instanceof Replicator.NotFound) {
            return new Read.Absent(); // nobody ever wrote this key: nobody owns the name
        }
        return new Read.Unavailable(); // GetFailure (timeout), GetDataDeleted: unknown
    }
}
