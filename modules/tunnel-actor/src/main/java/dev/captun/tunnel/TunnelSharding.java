package dev.captun.tunnel;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** Starts the tunnel entity's shard region; one entity per tunnel name. */
public final class TunnelSharding {
    public static final EntityTypeKey<TunnelEntity.Command> TYPE_KEY =
            EntityTypeKey.create(TunnelEntity.Command.class, "Tunnel");

    private final ClusterSharding sharding;

    private TunnelSharding(ClusterSharding sharding) {
        this.sharding = sharding;
    }

    /** @param idleTimeout how long an entity without a session lives on before passivating */
    public static TunnelSharding init(ActorSystem<?> system, Duration idleTimeout) {
        return init(system, idleTimeout, Duration.ZERO);
    }

    /**
     * @param ownershipGrace above zero (public policy, anonymous owners): owners are recorded in a
     *     replicated ledger, and an entity restarted after a crash keeps the name for its remembered
     *     owner this long
     */
    public static TunnelSharding init(ActorSystem<?> system, Duration idleTimeout, Duration ownershipGrace) {
        return init(system, idleTimeout, ownershipGrace, "");
    }

    /** @param role host tunnel entities only on cluster members with this role (empty = every member) */
    public static TunnelSharding init(ActorSystem<?> system, Duration idleTimeout, Duration ownershipGrace, String role) {
        ClusterSharding sharding = ClusterSharding.get(system);
        boolean ledger = !ownershipGrace.isZero() && !ownershipGrace.isNegative();
        Entity<TunnelEntity.Command, org.apache.pekko.cluster.sharding.typed.ShardingEnvelope<TunnelEntity.Command>> entity =
                Entity.of(TYPE_KEY, ctx -> ledger
                        ? TunnelEntity.create(ctx.getShard(), idleTimeout, ownershipGrace)
                        : TunnelEntity.create(ctx.getShard(), idleTimeout))
                // On hand-off the entity tells its session to re-assert with the entity's next incarnation.
                .withStopMessage(new TunnelEntity.HandOff());
        if (role != null && !role.isBlank()) {
            entity = entity.withRole(role.trim());
        }
        sharding.init(entity);
        return new TunnelSharding(sharding);
    }

    public EntityRef<TunnelEntity.Command> entity(String tunnelName) {
        return sharding.entityRefFor(TYPE_KEY, tunnelName);
    }
}
