package dev.captun.edge.drain;

import dev.captun.tunnel.SessionControl;
import dev.captun.tunnel.SessionMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The node's live tunnel sessions, in one place: they are registered on admission and watched.
 * Replaces a timer per session. It tells them to re-assert their registration with their tunnel
 * entity (slowly all the time, as a safety net, and in a wave spread over about a second when a
 * member was removed from the cluster, since that member's entities restart empty elsewhere), and
 * it drains them when the node shuts down.
 */
public final class NodeSessions extends AbstractBehavior<NodeSessions.Command> {

    public sealed interface Command {}

    /** An admitted session (its socket attaches next). */
    public record Register(ActorRef<SessionMessage> session) implements Command {}

    /** Drain every session (and every one registered later): they tell their clients to move. */
    public record DrainAll(String reason) implements Command {}

    /** The drain grace is over: every session still here closes with 1001. */
    public record CloseAll() implements Command {}

    /** Answer {@code replyTo} once no live session is left (moved ones do not count). */
    public record AwaitEmpty(ActorRef<Empty> replyTo) implements Command {}

    /**
     * A drained session handed over to its client's new connection and closed its socket. It stays
     * alive (answering {@code Gone}) until the node stops, but no longer counts as live.
     */
    public record Moved(ActorRef<SessionMessage> session) implements Command {}

    public record Empty() {}

    private record Gone(ActorRef<SessionMessage> session) implements Command {}

    private record MemberRemoved(ClusterEvent.MemberRemoved event) implements Command {}

    private enum Tick implements Command { SWEEP, SECOND_WAVE }

    /** Sweep tick: waves spread over {@link #WAVE_TICKS} ticks (~1 s). */
    static final Duration TICK = Duration.ofMillis(100);
    static final int WAVE_TICKS = 10;
    /**
     * A second wave this long after a removal: a re-assert reaching a shard region before it has
     * learned of the removal could go to the dead node's old region; the second one cannot.
     */
    static final Duration SECOND_WAVE = Duration.ofSeconds(3);

    public static Behavior<Command> create(Duration reassertInterval) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new NodeSessions(ctx, timers, reassertInterval)));
    }

    private final TimerScheduler<Command> timers;
    private final ReassertSweep<ActorRef<SessionMessage>> sweep;
    private final List<ActorRef<Empty>> awaiting = new ArrayList<>();
    private String drainReason;

    private NodeSessions(ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration reassertInterval) {
        super(ctx);
        this.timers = timers;
        int periodTicks = (int) Math.max(1, reassertInterval.toMillis() / TICK.toMillis());
        this.sweep = new ReassertSweep<>(periodTicks, WAVE_TICKS);
        timers.startTimerWithFixedDelay(Tick.SWEEP, Tick.SWEEP, TICK);
        ActorRef<ClusterEvent.MemberRemoved> removed = ctx.messageAdapter(ClusterEvent.MemberRemoved.class, MemberRemoved::new);
        Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(removed, ClusterEvent.MemberRemoved.class));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Register.class, this::onRegister)
                .onMessage(Gone.class, this::onGone)
                .onMessage(MemberRemoved.class, this::onMemberRemoved)
                .onMessage(DrainAll.class, this::onDrainAll)
                .onMessage(CloseAll.class, this::onCloseAll)
                .onMessage(AwaitEmpty.class, this::onAwaitEmpty)
                .onMessage(Moved.class, this::onMoved)
                .onMessageEquals(Tick.SWEEP, this::onSweep)
                .onMessageEquals(Tick.SECOND_WAVE, () -> {
                    sweep.wave();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onRegister(Register m) {
        if (sweep.members().contains(m.session())) {
            return this;
        }
        sweep.add(m.session());
        getContext().watchWith(m.session(), new Gone(m.session()));
        if (drainReason != null) {
            m.session().tell(new SessionLifecycle.Drain(drainReason, getContext().getSelf())); // admitted while the node was already draining
        }
        return this;
    }

    private Behavior<Command> onGone(Gone m) {
        sweep.remove(m.session());
        answerIfEmpty();
        return this;
    }

    private Behavior<Command> onMoved(Moved m) {
        if (sweep.members().contains(m.session())) {
            sweep.remove(m.session());
            answerIfEmpty();
        }
        return this;
    }

    private void answerIfEmpty() {
        if (sweep.size() == 0 && !awaiting.isEmpty()) {
            awaiting.forEach(r -> r.tell(new Empty()));
            awaiting.clear();
        }
    }

    private Behavior<Command> onMemberRemoved(MemberRemoved m) {
        if (drainReason != null || sweep.size() == 0) {
            return this;
        }
        getContext().getLog().info("member {} removed: {} sessions re-assert their registration", m.event().member().address(), sweep.size());
        sweep.wave();
        timers.startSingleTimer(Tick.SECOND_WAVE, Tick.SECOND_WAVE, SECOND_WAVE);
        return this;
    }

    private Behavior<Command> onSweep() {
        SessionControl.ReassertNow reassert = new SessionControl.ReassertNow();
        for (ActorRef<SessionMessage> s : sweep.tick()) {
            s.tell(reassert);
        }
        return this;
    }

    private Behavior<Command> onDrainAll(DrainAll m) {
        if (drainReason == null) {
            drainReason = m.reason();
            getContext().getLog().info("draining {} tunnel sessions: {}", sweep.size(), m.reason());
            SessionLifecycle.Drain drain = new SessionLifecycle.Drain(m.reason(), getContext().getSelf());
            sweep.members().forEach(s -> s.tell(drain));
        }
        return this;
    }

    private Behavior<Command> onCloseAll(CloseAll m) {
        if (sweep.size() > 0) {
            getContext().getLog().info("drain grace over: closing {} remaining tunnel sessions", sweep.size());
        }
        SessionLifecycle.GraceOver over = new SessionLifecycle.GraceOver();
        sweep.members().forEach(s -> s.tell(over));
        return this;
    }

    private Behavior<Command> onAwaitEmpty(AwaitEmpty m) {
        if (sweep.size() == 0) {
            m.replyTo().tell(new Empty());
        } else {
            awaiting.add(m.replyTo());
        }
        return this;
    }
}
