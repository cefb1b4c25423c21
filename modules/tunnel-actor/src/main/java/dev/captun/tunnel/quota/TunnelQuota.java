package dev.captun.tunnel.quota;

import dev.captun.tunnel.CborSerializable;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One per client IP (sharded): how many tunnel names that IP holds right now, capped. A name
 * counts once however often its owner replaces its own session, and is released when its
 * session ends (explicitly, or by death watch when its node crashes).
 */
public final class TunnelQuota extends AbstractBehavior<TunnelQuota.Command> {

    public sealed interface Command extends CborSerializable {}

    /** Take a slot for {@code name} held by {@code session}, unless the IP already holds {@code max} other names. */
    public record Acquire(String name, String sessionId, ActorRef<?> session, int max, ActorRef<Reply> replyTo) implements Command {}

    /** What {@link Acquire} would answer for {@code name}; changes nothing (diagnostic probe). */
    public record Probe(String name, int max, ActorRef<Reply> replyTo) implements Command {}

    /** Give back {@code name}'s slot if {@code sessionId} still holds it. */
    public record Release(String name, String sessionId) implements Command {}

    private record Ended(String name, String sessionId) implements Command {}

    private enum Idle implements Command { TICK }

    public sealed interface Reply extends CborSerializable {}

    public record Granted(int active) implements Reply {}

    public record Denied(int active, int max) implements Reply {}

    private record Holder(String sessionId, ActorRef<?> session) {}

    public static Behavior<Command> create(ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(t -> new TunnelQuota(ctx, t, shard, idleTimeout)));
    }

    private final Map<String, Holder> held = new HashMap<>();
    private final TimerScheduler<Command> timers;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final Duration idleTimeout;

    private TunnelQuota(ActorContext<Command> ctx, TimerScheduler<Command> timers, ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout) {
        super(ctx);
        this.timers = timers;
        this.shard = shard;
        this.idleTimeout = idleTimeout;
        timers.startSingleTimer(Idle.TICK, idleTimeout);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Acquire.class, this::onAcquire)
                .onMessage(Probe.class, m -> {
                    boolean fits = held.containsKey(m.name()) || held.size() < m.max();
                    m.replyTo().tell(fits ? new Granted(held.size()) : new Denied(held.size(), m.max()));
                    return this;
                })
                .onMessage(Release.class, m -> release(m.name(), m.sessionId()))
                .onMessage(Ended.class, m -> release(m.name(), m.sessionId()))
                .onMessageEquals(Idle.TICK, () -> {
                    if (held.isEmpty()) {
                        shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
                    }
                    return this;
                })
                .build();
    }

    private Behavior<Command> onAcquire(Acquire m) {
        Holder previous = held.get(m.name());
        if (previous == null && held.size() >= m.max()) {
            m.replyTo().tell(new Denied(held.size(), m.max()));
            return this;
        }
        if (previous != null) {
            getContext().unwatch(previous.session());
        }
        held.put(m.name(), new Holder(m.sessionId(), m.session()));
        getContext().watchWith(m.session(), new Ended(m.name(), m.sessionId()));
        timers.cancel(Idle.TICK);
        m.replyTo().tell(new Granted(held.size()));
        return this;
    }

    private Behavior<Command> release(String name, String sessionId) {
        Holder h = held.get(name);
        if (h != null && h.sessionId().equals(sessionId)) {
            getContext().unwatch(h.session());
            held.remove(name);
            if (held.isEmpty()) {
                timers.startSingleTimer(Idle.TICK, idleTimeout);
            }
        }
        return this;
    }
}
