package dev.captun.tunnel.ownership;

import org.apache.pekko.cluster.ddata.LWWMap;
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
}
