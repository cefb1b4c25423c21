package dev.captun.ratelimit;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** Cluster Sharding wiring for {@link RateLimiter}: one entity per rate-limit key. */
public final class RateLimiterSharding {

  public static final EntityTypeKey<RateLimiter.Command> TYPE_KEY =
      EntityTypeKey.create(RateLimiter.Command.class, "RateLimiter");

  private RateLimiterSharding() {}

  /**
   * Starts (or returns) the shard region on this node. Idempotent.
   *
   * <p>Passivation choice: sharding's automatic passivation is switched OFF for this type
   * ({@code withNoPassivationStrategy}). The window length travels in each command, so no fixed
   * idle timeout could be guaranteed to outlast every live window (the default idle strategy, 120 s,
   * would silently reset a longer window, and a shorter configured window would gain nothing).
   * Instead each entity passivates itself via its shard once its window and diagnostics horizon
   * have expired and it has been idle for a grace period ({@link RateLimiter}), so idle keys still
   * cost no memory. Remember-entities stays off: it would not restore counters anyway.
   */
  public static ActorRef<ShardingEnvelope<RateLimiter.Command>> init(ActorSystem<?> system) {
    return init(system, "");
  }

  /**
   * As {@link #init(ActorSystem)}, hosting limiter entities only on cluster members with {@code role}
   * (empty = every member). A node without the role only proxies to the members that have it.
   */
  public static ActorRef<ShardingEnvelope<RateLimiter.Command>> init(ActorSystem<?> system, String role) {
    Entity<RateLimiter.Command, ShardingEnvelope<RateLimiter.Command>> entity =
        Entity.of(TYPE_KEY, ctx -> RateLimiter.create(ctx.getEntityId(), ctx.getShard()))
            .withStopMessage(new RateLimiter.Stop())
            .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy());
    if (role != null && !role.isBlank()) {
      entity = entity.withRole(role.trim());
    }
    return ClusterSharding.get(system).init(entity);
  }

  /** Reference to the entity for {@code key} (e.g. {@link #requestIpKey}). */
  public static EntityRef<RateLimiter.Command> entityRef(ActorSystem<?> system, String key) {
    return ClusterSharding.get(system).entityRefFor(TYPE_KEY, key);
  }

  /** {@code connect:ip:<ip>}: connect attempts per client IP. */
  public static String connectIpKey(String ip) {
    return "connect:ip:" + ip;
  }

  /** {@code probe:ip:<ip>}: diagnostic connect probes per client IP (a bucket of their own). */
  public static String probeIpKey(String ip) {
    return "probe:ip:" + ip;
  }

  /** {@code request:ip:<ip>}: forwarded requests per client IP. */
  public static String requestIpKey(String ip) {
    return "request:ip:" + ip;
  }

  /** {@code request:tunnel:<name>}: forwarded requests per tunnel name. */
  public static String requestTunnelKey(String tunnelName) {
    return "request:tunnel:" + tunnelName;
  }
}
