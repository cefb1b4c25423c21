package dev.captun.tunnel;

import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.AdmissionPolicy.Claim;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import dev.captun.tunnel.ownership.OwnerLedger;
import java.time.Duration;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One per tunnel name. Owns admission (who holds the name) and knows the live session's
 * {@code ActorRef}; never sees body bytes. State is in memory: a live session keeps it alive
 * (it re-asserts itself when told — on hand-off by this entity, on cluster membership changes by its
 * node — and slowly periodically, so an entity restarted elsewhere learns it back), and an entity
 * without a session passivates after {@code idleTimeout}.
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

    /**
     * Sharding's stop message for this entity (rebalance, a node leaving, passivation): the entity
     * asks its live session to re-assert at once, so the entity started on the new node learns it
     * back within milliseconds instead of waiting for the session's periodic re-assert.
     */
    public record HandOff() implements Command {}

    private record SessionTerminated(String sessionId) implements Command {}

    private enum IdleTick implements Command { INSTANCE }

    /** The re-learn window after start is over: lookups held back get their answer. */
    private enum RelearnOver implements Command { INSTANCE }

    /**
     * An entity that starts without a session may be a new incarnation (hand-off, crash) whose live
     * session is about to re-assert: a lookup in this first window waits for that instead of
     * answering "no route" (a 503 to the public client) a few milliseconds too early.
     */
    static final Duration RELEARN_WINDOW = Duration.ofSeconds(1);

    /** The owner the ledger remembered has had its chance to come back. */
    private enum GraceOver implements Command { INSTANCE }

    /** The ledger's answer while the entity starts: the remembered owner's digest, or null. */
    private record LedgerLoaded(String ownerDigest) implements Command {}

    /** A majority of replicas did not answer the starting read in time: fall back to this node's replica. */
    private record LedgerMajorityUnavailable() implements Command {}

    private record LedgerWritten() implements Command {}

    public sealed interface ConnectReply extends CborSerializable {}

    public record Admitted(boolean replacedAnother) implements ConnectReply {}

    public record Rejected(int status, String message) implements ConnectReply {}

    public sealed interface LookupReply extends CborSerializable {}

    public record Route(String sessionId, ActorRef<SessionMessage> session) implements LookupReply {}

    public record NoRoute() implements LookupReply {}

    private record Active(String sessionId, Credential credential, ActorRef<SessionMessage> session) {}

    /** Without a replicated owner ledger (trusted policy, and tests of the entity alone). */
    public static Behavior<Command> create(ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new TunnelEntity(ctx, timers, shard, idleTimeout, null, null, Duration.ZERO)));
    }

    /**
     * With the owner ledger (public policy): the entity first reads which owner the cluster remembers
     * for its name (stashing what arrives meanwhile); a remembered owner keeps the name for
     * {@code ownershipGrace} even though no session is registered yet.
     */
    public static Behavior<Command> create(ActorRef<ClusterSharding.ShardCommand> shard, Duration idleTimeout, Duration ownershipGrace) {
        return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, String>>withReplicatorMessageAdapter(ledger ->
                Behaviors.withStash(10_000, stash -> Behaviors.withTimers(timers -> {
                    String name = ctx.getSelf().path().name();
                    // A majority read: during a rebalance or after a crash this node's replica may not
                    // have the owner yet, and admitting another token before the owner re-asserts
                    // would hand the name away (SPEC §4).
                    ledger.askGet(replyTo -> new Replicator.Get<>(OwnerLedger.keyFor(name),
                                    new Replicator.ReadMajority(OwnerLedger.READ_TIMEOUT), replyTo),
                            rsp -> {
                                OwnerLedger.Read read = OwnerLedger.outcome(rsp, name);
                                return read instanceof OwnerLedger.Read.Unavailable ? new LedgerMajorityUnavailable()
                                        : new LedgerLoaded(read instanceof OwnerLedger.Read.Found f ? f.ownerDigest() : null);
                            });
                    return Behaviors.receive(Command.class)
                            .onMessage(LedgerLoaded.class, loaded -> stash.unstashAll(new TunnelEntity(ctx, timers, shard, idleTimeout,
                                    ledger, loaded.ownerDigest(), ownershipGrace)))
                            .onMessage(LedgerMajorityUnavailable.class, u -> {
                                // Better this node's replica than nothing: the write that recorded the owner
                                // was a majority write, so with most of the cluster gone it is often here too.
                                ctx.getLog().warn("tunnel {}: no majority answered the owner-ledger read in {} ms; using this node's replica",
                                        name, OwnerLedger.READ_TIMEOUT.toMillis());
                                ledger.askGet(replyTo -> new Replicator.Get<>(OwnerLedger.keyFor(name), Replicator.readLocal(), replyTo),
                                        rsp -> new LedgerLoaded(OwnerLedger.outcome(rsp, name) instanceof OwnerLedger.Read.Found f
                                                ? f.ownerDigest() : null));
                                return Behaviors.same();
                            })
                            .onAnyMessage(m -> {
                                stash.stash(m);
                                return Behaviors.same();
                            })
                            .build();
                }))));
    }

    private final TimerScheduler<Command> timers;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final Duration idleTimeout;
    private final ReplicatorMessageAdapter<Command, LWWMap<String, String>> ledger;
    private final SelfUniqueAddress self;
    private final Duration ownershipGrace;
    private Active active;
    /** Owner the ledger remembers while no session is registered (after a crash), until the grace ends. */
    private String rememberedOwner;
    /** Passivate was sent once; the shard stops us after the messages already queued. */
    private boolean passivating;
    private final long startedNanos = System.nanoTime();
    private final java.util.List<ActorRef<LookupReply>> heldLookups = new java.util.ArrayList<>();

    private TunnelEntity(ActorContext<Command> ctx, TimerScheduler<Command> timers, ActorRef<ClusterSharding.ShardCommand> shard,
                         Duration idleTimeout, ReplicatorMessageAdapter<Command, LWWMap<String, String>> ledger,
                         String rememberedOwner, Duration ownershipGrace) {
        super(ctx);
        this.timers = timers;
        this.shard = shard;
        this.idleTimeout = idleTimeout;
        this.ledger = ledger;
        this.self = ledger == null ? null : DistributedData.get(ctx.getSystem()).selfUniqueAddress();
        this.rememberedOwner = rememberedOwner;
        this.ownershipGrace = ownershipGrace;
        if (rememberedOwner != null) {
            ctx.getLog().info("tunnel {} restarted; its owner keeps the name for {} s", ctx.getSelf().path().name(), ownershipGrace.toSeconds());
            timers.startSingleTimer(GraceOver.INSTANCE, GraceOver.INSTANCE, ownershipGrace);
        }
        armIdleTimer();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Connect.class, this::onConnect)
                .onMessage(Probe.class, this::onProbe)
                .onMessage(Disconnect.class, m -> onGone(m.sessionId()))
                .onMessage(SessionTerminated.class, this::onTerminated)
                .onMessage(Lookup.class, this::onLookup)
                .onMessage(Reassert.class, this::onReassert)
                .onMessageEquals(IdleTick.INSTANCE, this::onIdle)
                .onMessageEquals(GraceOver.INSTANCE, this::onGraceOver)
                .onMessage(LedgerWritten.class, m -> this)
                .onMessage(HandOff.class, m -> onHandOff())
                .onMessageEquals(RelearnOver.INSTANCE, this::onRelearnOver)
                .build();
    }

    private Behavior<Command> onHandOff() {
        if (active != null) {
            // Sent while the shard is handed off: the session's Reassert is buffered by its region until the new home is known.
            active.session().tell(new SessionControl.ReassertNow());
        }
        return Behaviors.stopped();
    }

    /** The claim against the live session, or against the owner the ledger remembers during its grace. */
    private Claim claimFor(Credential incoming) {
        if (active != null) {
            return AdmissionPolicy.claim(true, active.credential().ownerDigest(), incoming);
        }
        return AdmissionPolicy.claim(rememberedOwner != null, rememberedOwner, incoming);
    }

    private Behavior<Command> onConnect(Connect m) {
        Claim claim = claimFor(m.credential());
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
        Claim claim = claimFor(m.credential());
        if (claim == Claim.CONFLICT) {
            m.replyTo().tell(new Rejected(AdmissionPolicy.CONFLICT.status(), AdmissionPolicy.CONFLICT.message()));
        } else {
            m.replyTo().tell(new Admitted(claim == Claim.REPLACE));
        }
        passivateIfFree();
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
            if (active.credential().exclusive()) {
                updateLedger(null); // the session ended: the name is free (SPEC §4)
            }
            active = null;
            armIdleTimer();
        }
        return this;
    }

    /**
     * The session stopped without a Disconnect reaching us first. If its node is gone (a crash) the
     * owner's client will reconnect elsewhere: with the ledger on, keep the name for it during the
     * grace instead of freeing it for anyone (a client that closed its own socket still frees it at once).
     */
    private Behavior<Command> onTerminated(SessionTerminated m) {
        if (ledger != null && active != null && active.sessionId().equals(m.sessionId()) && active.credential().exclusive()
                && nodeLost(active.session().path().address())) {
            getContext().getLog().info("tunnel {}: its session's node is gone; the owner keeps the name for {} s",
                    getContext().getSelf().path().name(), ownershipGrace.toSeconds());
            rememberedOwner = active.credential().ownerDigest();
            active = null;
            timers.startSingleTimer(GraceOver.INSTANCE, GraceOver.INSTANCE, ownershipGrace);
            return this;
        }
        return onGone(m.sessionId());
    }

    private boolean nodeLost(org.apache.pekko.actor.Address address) {
        if (address.hasLocalScope()) {
            return false;
        }
        for (org.apache.pekko.cluster.Member member : Cluster.get(getContext().getSystem()).state().getMembers()) {
            if (member.address().equals(address) && member.status() == org.apache.pekko.cluster.MemberStatus.up()) {
                return false;
            }
        }
        return true;
    }

    private Behavior<Command> onGraceOver() {
        if (active == null && rememberedOwner != null) {
            getContext().getLog().info("tunnel {}: its remembered owner did not come back; the name is free", getContext().getSelf().path().name());
            rememberedOwner = null;
            updateLedger(null);
            armIdleTimer();
        }
        return this;
    }

    /** Records ({@code ownerDigest}) or forgets (null) this name's owner in the replicated ledger. */
    private void updateLedger(String ownerDigest) {
        if (ledger == null) {
            return;
        }
        String name = getContext().getSelf().path().name();
        // Majority: the entry must outlive the node that wrote it. Fire and forget; admission never waits on it.
        ledger.askUpdate(replyTo -> new Replicator.Update<>(OwnerLedger.keyFor(name), LWWMap.empty(),
                        new Replicator.WriteMajority(Duration.ofSeconds(3)), replyTo,
                        map -> ownerDigest == null ? map.remove(self, name) : map.put(self, name, ownerDigest)),
                rsp -> new LedgerWritten());
    }

    private Behavior<Command> onLookup(Lookup m) {
        long left = RELEARN_WINDOW.toNanos() - (System.nanoTime() - startedNanos);
        if (active == null && left > 0) {
            if (heldLookups.isEmpty()) {
                timers.startSingleTimer(RelearnOver.INSTANCE, RelearnOver.INSTANCE, Duration.ofNanos(left));
            }
            heldLookups.add(m.replyTo());
            return this;
        }
        m.replyTo().tell(active == null ? new NoRoute() : new Route(active.sessionId(), active.session()));
        passivateIfFree();
        return this;
    }

    private Behavior<Command> onRelearnOver() {
        LookupReply reply = active == null ? new NoRoute() : new Route(active.sessionId(), active.session());
        heldLookups.forEach(r -> r.tell(reply));
        heldLookups.clear();
        passivateIfFree(); // nobody re-asserted: a free name leaves no entity behind
        return this;
    }

    private Behavior<Command> onIdle() {
        passivateIfFree();
        return this;
    }

    /**
     * An entity that holds nothing (no session, no remembered owner) stops now rather than after the
     * idle timeout: a probe or a public request for a free name must leave no state behind, or random
     * names would pile up entities (one per name asked about). The shard buffers what arrives for
     * the name meanwhile and starts it afresh.
     */
    private void passivateIfFree() {
        if (active == null && rememberedOwner == null && !passivating) {
            passivating = true;
            shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
        }
    }

    private void register(Active next) {
        boolean newOwner = active == null || !java.util.Objects.equals(active.credential().ownerDigest(), next.credential().ownerDigest());
        active = next;
        if (rememberedOwner != null) {
            rememberedOwner = null;
            timers.cancel(GraceOver.INSTANCE);
        }
        if (next.credential().exclusive() && newOwner) {
            updateLedger(next.credential().ownerDigest());
        }
        // watchWith: a session on a crashed node or one that stopped without saying so still frees the name.
        getContext().watchWith(next.session(), new SessionTerminated(next.sessionId()));
        timers.cancel(IdleTick.INSTANCE);
        if (!heldLookups.isEmpty()) {
            timers.cancel(RelearnOver.INSTANCE);
            onRelearnOver();
        }
    }

    private void armIdleTimer() {
        timers.startSingleTimer(IdleTick.INSTANCE, IdleTick.INSTANCE, idleTimeout);
    }
}
