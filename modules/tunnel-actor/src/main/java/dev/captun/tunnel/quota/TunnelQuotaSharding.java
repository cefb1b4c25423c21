package dev.captun.tunnel.quota;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** Shard region of {@link TunnelQuota}: one entity per client IP, so the cap holds cluster-wide. */
public final class TunnelQuotaSharding {
    public static final EntityTypeKey<TunnelQuota.Command> TYPE_KEY = EntityTypeKey.create(TunnelQuota.Command.class, "TunnelQuota");

    private final ClusterSharding sharding;

    private TunnelQuotaSharding(ClusterSharding sharding) {
        this.sharding = sharding;
    }

    public static TunnelQuotaSharding init(ActorSystem<?> system, Duration idleTimeout) {
        ClusterSharding sharding = ClusterSharding.get(system);
        sharding.init(Entity.of(TYPE_KEY, ctx -> TunnelQuota.create(ctx.getShard(), idleTimeout)));
        return new TunnelQuotaSharding(sharding);
    }

    public EntityRef<TunnelQuota.Command> forIp(String clientIp) {
        return sharding.entityRefFor(TYPE_KEY, "tunnels:ip:" + clientIp);
    }
}
