package dev.captun.ratelimit;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One rate-limit bucket (a sharded entity per key such as {@code request:ip:203.0.113.7}): a
 * fixed-window counter ({@link FixedWindow}). The entity is generic: the limit and window length
 * travel in each command (the edge derives them from configuration).
 *
 * <h2>Passivation</h2>
 * State is in memory only, so the entity must not be passivated while its window (or a recent
 * rejection that diagnostics still report) is live. Sharding's automatic idle passivation is
 * switched off for this entity type ({@link RateLimiterSharding#init}); instead the entity keeps a
 * single timer and, once nothing is live and no message arrived for {@code idleGrace}, asks its
 * shard to passivate it ({@link ClusterSharding.Passivate}), so idle keys cost no memory.
 * The shard then sends {@link Stop}; messages that reach the shard meanwhile are buffered and
 * delivered to a fresh (empty, hence equivalent) incarnation. The only loss is a hit already in
 * this entity's mailbox between its Passivate and the Stop (it is counted, then forgotten): that
 * needs a request arriving after {@code idleGrace} of silence, at the very moment of passivation.
 *
 * <p>Crashes and rebalancing restart a bucket at zero (state is not persisted): accepted, as in
 * the original Durable Object design the worst case is one extra window's worth of hits.
 */
public final class RateLimiter extends AbstractBehavior<RateLimiter.Command> {

  // ---------------------------------------------------------------- protocol

  /** Messages the entity accepts. */
  public sealed interface Command extends CborSerializable permits Check, Lease, Diagnose, Refund, Stop, IdleTick {}

  /**
   * Charge one hit if the bucket allows it; replies {@link Allowed} (charged) or {@link Rejected}
   * (not charged).
   */
  public record Check(int limit, long windowMillis, ActorRef<Decision> replyTo) implements Command {
    public Check {
      FixedWindow.requireValid(limit, windowMillis);
      Objects.requireNonNull(replyTo, "replyTo");
    }

    public Check(int limit, Duration window, ActorRef<Decision> replyTo) {
      this(limit, window.toMillis(), replyTo);
    }
  }

  /**
   * Charge up to {@code want} hits for an edge to hand out locally; replies {@link Leased} with the
   * number granted (at least 1) or {@link Rejected} (nothing charged).
   */
  public record Lease(int limit, long windowMillis, int want, ActorRef<Decision> replyTo) implements Command {
    public Lease {
      FixedWindow.requireValid(limit, windowMillis);
      if (want < 1) throw new IllegalArgumentException("want must be >= 1, was " + want);
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * Read-only: replies {@link Rejected} only if the bucket is full and really rejected an attempt
   * within the last 2 s, else {@link Allowed}. Never charges.
   */
  public record Diagnose(int limit, long windowMillis, ActorRef<Decision> replyTo) implements Command {
    public Diagnose {
      FixedWindow.requireValid(limit, windowMillis);
      Objects.requireNonNull(replyTo, "replyTo");
    }

    public Diagnose(int limit, Duration window, ActorRef<Decision> replyTo) {
      this(limit, window.toMillis(), replyTo);
    }
  }

  /**
   * Give back a hit granted by an earlier {@link Allowed} (pass its {@link Allowed#windowId()}).
   * Applied only if that window is still live. {@code replyTo} may be null (fire and forget).
   */
  public record Refund(long windowId, ActorRef<Refunded> replyTo) implements Command {
    public static Refund of(Allowed allowed) {
      return new Refund(allowed.windowId(), null);
    }
  }

  /** Stop message the shard sends after the entity asked to be passivated. */
  public record Stop() implements Command {}

  /** Internal timer tick: passivate if nothing is live. */
  record IdleTick() implements Command {}

  /** Everything the entity replies. */
  public sealed interface Reply extends CborSerializable permits Decision, Refunded {}

  /** Answer to {@link Check} and {@link Diagnose}. */
  public sealed interface Decision extends Reply permits Allowed, Leased, Rejected {
    int limit();
  }

  /**
   * Allowed. {@code remaining}: slots left in the window now (after the charge, for a check).
   * {@code windowId}: the anchor of the window the hit was charged to, for {@link Refund}
   * ({@link FixedWindow#NO_WINDOW} from a diagnose with no live window). {@code resetAtMillis}:
   * epoch millis when the window ends.
   */
  public record Allowed(int limit, int remaining, long windowId, long resetAtMillis) implements Decision {}

  /** Answer to {@link Lease}: {@code granted} hits (≥ 1) charged to window {@code windowId}. */
  public record Leased(int limit, int granted, int remaining, long windowId, long resetAtMillis) implements Decision {}

  /**
   * Rejected (nothing charged). {@code limit} is the bucket's limit (the
   * {@code x-captun-rate-limit} header), {@code retryAfterSeconds} = max(1, ceil((resetAt-now)/1s)).
   */
  public record Rejected(int limit, long retryAfterSeconds, long resetAtMillis) implements Decision {}

  /** Answer to {@link Refund}: whether a hit was given back. */
  public record Refunded(boolean applied) implements Reply {}

  // ---------------------------------------------------------------- behavior

  /** Default time an entity stays around after its window (and diagnostics horizon) ended. */
  public static final Duration DEFAULT_IDLE_GRACE = Duration.ofSeconds(10);

  private static final Object IDLE_TIMER = "idle";

  /** Sharded entity with the wall clock. */
  public static Behavior<Command> create(
      String key, ActorRef<ClusterSharding.ShardCommand> shard) {
    return create(key, shard, System::currentTimeMillis, DEFAULT_IDLE_GRACE);
  }

  /**
   * @param shard the entity's shard (from {@code EntityContext.getShard()}); null when not run
   *     under sharding, in which case the entity simply stops itself when idle
   * @param clock epoch-millis clock for the window arithmetic (tests pass a fake one)
   * @param idleGrace how long to linger once nothing is live before passivating
   */
  public static Behavior<Command> create(
      String key,
      ActorRef<ClusterSharding.ShardCommand> shard,
      LongSupplier clock,
      Duration idleGrace) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new RateLimiter(ctx, timers, key, shard, clock, idleGrace)));
  }

  private final TimerScheduler<Command> timers;
  private final String key;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final LongSupplier clock;
  private final long idleGraceMillis;
  private final FixedWindow window = new FixedWindow();
  private long lastMessageAtMillis;
  private boolean passivating;

  private RateLimiter(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String key,
      ActorRef<ClusterSharding.ShardCommand> shard,
      LongSupplier clock,
      Duration idleGrace) {
    super(ctx);
    this.timers = timers;
    this.key = key;
    this.shard = shard;
    this.clock = clock;
    this.idleGraceMillis = Math.max(0, idleGrace.toMillis());
    this.lastMessageAtMillis = clock.getAsLong();
    scheduleIdleCheck(lastMessageAtMillis);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Check.class, this::onCheck)
        .onMessage(Lease.class, this::onLease)
        .onMessage(Diagnose.class, this::onDiagnose)
        .onMessage(Refund.class, this::onRefund)
        .onMessage(IdleTick.class, this::onIdleTick)
        .onMessage(Stop.class, m -> Behaviors.stopped())
        .build();
  }

  private Behavior<Command> onCheck(Check m) {
    long now = touch();
    Decision d = window.check(m.limit(), m.windowMillis(), now);
    if (d instanceof Rejected && getContext().getLog().isDebugEnabled()) {
      getContext().getLog().debug("rate limit {} rejected (limit {})", key, m.limit());
    }
    m.replyTo().tell(d);
    return this;
  }

  private Behavior<Command> onLease(Lease m) {
    long now = touch();
    m.replyTo().tell(window.lease(m.limit(), m.windowMillis(), m.want(), now));
    return this;
  }

  private Behavior<Command> onDiagnose(Diagnose m) {
    long now = touch();
    m.replyTo().tell(window.diagnose(m.limit(), m.windowMillis(), now));
    return this;
  }

  private Behavior<Command> onRefund(Refund m) {
    long now = touch();
    boolean applied = window.refund(m.windowId(), now);
    if (m.replyTo() != null) m.replyTo().tell(new Refunded(applied));
    return this;
  }

  private Behavior<Command> onIdleTick(IdleTick m) {
    long now = clock.getAsLong();
    long due = idleDueAt();
    if (now < due) {
      timers.startSingleTimer(IDLE_TIMER, new IdleTick(), Duration.ofMillis(due - now));
      return this;
    }
    if (shard == null) return Behaviors.stopped();
    if (!passivating) {
      passivating = true;
      shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    }
    return this;
  }

  /** Records activity; keeps one idle timer pending (not rescheduled on every message). */
  private long touch() {
    long now = clock.getAsLong();
    lastMessageAtMillis = now;
    passivating = false; // the shard still sends Stop after an earlier Passivate; see class doc
    scheduleIdleCheck(now);
    return now;
  }

  private void scheduleIdleCheck(long now) {
    if (!timers.isTimerActive(IDLE_TIMER)) {
      timers.startSingleTimer(IDLE_TIMER, new IdleTick(), Duration.ofMillis(Math.max(1, idleDueAt() - now)));
    }
  }

  /** Earliest time the entity may go: grace after both the live state and the last message. */
  private long idleDueAt() {
    long liveUntil = window.liveUntilMillis();
    long base = liveUntil == FixedWindow.NO_WINDOW ? lastMessageAtMillis : Math.max(liveUntil, lastMessageAtMillis);
    return base + idleGraceMillis;
  }
}
