package dev.captun.tunnel;

import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.AdmissionPolicy.Claim;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One per tunnel name. Owns admission (who holds the name) and knows the live session's
 * {@code ActorRef}; never sees body bytes. State is in memory: a live session keeps it alive
 * (it re-asserts itself periodically, so an entity restarted elsewhere learns it back), and an
 * entity without a session passivates after {@code idleTimeout}.
 */
public final class TunnelEntity extends AbstractBehavior<TunnelEntity.Command> {

    public sealed interface Command extends CborSerializable {}

    /** Admit {@code session} under {@code credential}, atomically with respect to every other connect. */
    public record Connect(String sessionId, Credential credential, ActorRef<SessionMessage> session,
                          ActorRef<ConnectReply> replyTo) implements Command {}

    /** What a connect with this credential would get; changes nothing (diagnostic probe). */
    public record Probe(Credential credential, ActorRef<ConnectReply> replyTo) implements Command {}

    /** The session ended; removes the entry only if it is still that session. */
    public record Disconnect(String sessionId) implements Command {}

    /** Where the live session is, for forwarding. */
    public record Lookup(ActorRef<LookupReply> replyTo) implements Command {}

    /**
     * A live session re-asserting its registration (sent periodically). Restores the entry after
     * the entity restarted empty (crash, rebalance); ignored if another session holds the name.
     */
    public record Reassert(String sessionId, Credential credential, ActorRef<SessionMessage> session) implements Command {}

    private record SessionTerminated(String sessionId) implements Command {}

    private enum IdleTick implements Command { INSTANCE }

    public sealed interface ConnectReply extends CborSerializable {}

    public record Admitted(boolean replacedAnother) implements ConnectReply {}

    public record Rejected(int status, String message) implements ConnectReply {}

    public sealed interface LookupReply extends CborSerializable {}

    public record Route(String sessionId, ActorRef<SessionMessage> session) implements LookupReply {}

    public record NoRoute() implements LookupReply {}

    private record Active(String sessionId, Credential credential, ActorRef<SessionMessage> session) {}

    public static Behavior<Command> create(ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new TunnelEntity(ctx, timers, shard, idleTimeout)));
    }

    private final TimerScheduler<Command> timers;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final Duration idleTimeout;
    private Active active;

    private TunnelEntity(ActorContext<Command> ctx, TimerScheduler<Command> timers,
                         ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout) {
        super(ctx);
        this.timers = timers;
        this.shard = shard;
        this.idleTimeout = idleTimeout;
        armIdleTimer();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Connect.class, this::onConnect)
                .onMessage(Probe.class, this::onProbe)
                .onMessage(Disconnect.class, m -> onGone(m.sessionId()))
                .onMessage(SessionTerminated.class, m -> onGone(m.sessionId()))
                .onMessage(Lookup.class, this::onLookup)
                .onMessage(Reassert.class, this::onReassert)
                .onMessageEquals(IdleTick.INSTANCE, this::onIdle)
                .build();
    }

    private Behavior<Command> onConnect(Connect m) {
        Claim claim = AdmissionPolicy.claim(active != null, active == null ? null : active.credential().ownerDigest(), m.credential());
        if (claim == Claim.CONFLICT) {
            m.replyTo().tell(new Rejected(AdmissionPolicy.CONFLICT.status(), AdmissionPolicy.CONFLICT.message()));
            return this;
        }
        boolean replaced = false;
        if (active != null && !active.sessionId().equals(m.sessionId())) {
            getContext().unwatch(active.session());
            active.session().tell(new SessionControl.Replaced());
            replaced = true;
        }
        register(new Active(m.sessionId(), m.credential(), m.session()));
        getContext().getLog().info("tunnel {} admitted session {}{}", getContext().getSelf().path().name(), m.sessionId(),
                replaced ? " (replaced previous)" : "");
        m.replyTo().tell(new Admitted(replaced));
        return this;
    }

    private Behavior<Command> onProbe(Probe m) {
        Claim claim = AdmissionPolicy.claim(active != null, active == null ? null : active.credential().ownerDigest(), m.credential());
        if (claim == Claim.CONFLICT) {
            m.replyTo().tell(new Rejected(AdmissionPolicy.CONFLICT.status(), AdmissionPolicy.CONFLICT.message()));
        } else {
            m.replyTo().tell(new Admitted(claim == Claim.REPLACE));
        }
        return this;
    }

    private Behavior<Command> onReassert(Reassert m) {
        if (active == null) {
            register(new Active(m.sessionId(), m.credential(), m.session()));
            getContext().getLog().info("tunnel {} re-learned session {}", getContext().getSelf().path().name(), m.sessionId());
        }
        return this;
    }

    private Behavior<Command> onGone(String sessionId) {
        if (active != null && active.sessionId().equals(sessionId)) {
            getContext().unwatch(active.session());
            active = null;
            armIdleTimer();
        }
        return this;
    }

    private Behavior<Command> onLookup(Lookup m) {
        m.replyTo().tell(active == null ? new NoRoute() : new Route(active.sessionId(), active.session()));
        if (active == null) {
            armIdleTimer();
        }
        return this;
    }

    private Behavior<Command> onIdle() {
        if (active == null) {
            shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
        }
        return this;
    }

    private void register(Active next) {
        active = next;
        // watchWith: a session on a crashed node or one that stopped without saying so still frees the name.
        getContext().watchWith(next.session(), new SessionTerminated(next.sessionId()));
        timers.cancel(IdleTick.INSTANCE);
    }

    private void armIdleTimer() {
        timers.startSingleTimer(IdleTick.INSTANCE, IdleTick.INSTANCE, idleTimeout);
    }
}
