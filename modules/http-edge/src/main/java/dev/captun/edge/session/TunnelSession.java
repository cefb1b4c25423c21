package dev.captun.edge.session;

import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Forward;
import dev.captun.edge.session.SessionCommands.Gone;
import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.protocol.Protocol;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;

/**
 * A tunnel session's identity in the cluster: the {@code ActorRef} the tunnel entity registers,
 * watches and tells (replaced, re-assert), the node drains, and other nodes forward to. It holds no
 * stream state: everything it receives goes to the session's {@link SessionStage} through the
 * {@link SessionHandle}, and public requests on this node skip it altogether.
 */
public final class TunnelSession extends AbstractBehavior<SessionMessage> {

    /** Fixed facts about the session, chosen by the connect endpoint. */
    public record Setup(String name, String sessionId, Credential credential, String publicUrl,
                        EntityRef<TunnelEntity.Command> entity, int window, int heartbeatSeconds,
                        Duration requestTimeout, int maxInFlight, GatewayMetrics metrics) {}

    /** The stage started: the socket is attached. */
    record Attached() implements SessionMessage {}

    /** The stage stopped; {@code handedOver}: its client moved to another gateway (the actor stays, see below). */
    record Ended(boolean handedOver) implements SessionMessage {}

    /** Admission failed before the socket attached: stop without touching the entity's entry. */
    public enum Abandon implements SessionMessage { INSTANCE }

    private enum Tick implements SessionMessage { ATTACH_TIMEOUT }

    /** The 101 normally follows admission within milliseconds; a client that vanished in between must not hold the name. */
    static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(10);

    public static Behavior<SessionMessage> create(Setup setup, SessionHandle handle, LocalSessions local) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new TunnelSession(ctx, timers, setup, handle, local)));
    }

    private final Setup setup;
    private final SessionHandle handle;
    private final LocalSessions local;
    private final Materializer mat;
    private boolean attached;
    private boolean abandoned;

    private TunnelSession(ActorContext<SessionMessage> ctx, TimerScheduler<SessionMessage> timers, Setup setup,
                          SessionHandle handle, LocalSessions local) {
        super(ctx);
        this.setup = setup;
        this.handle = handle;
        this.local = local;
        this.mat = Materializer.matFromSystem(ctx.getSystem());
        local.put(setup.sessionId(), handle);
        timers.startSingleTimer(Tick.ATTACH_TIMEOUT, Tick.ATTACH_TIMEOUT, ATTACH_TIMEOUT);
    }

    @Override
    public Receive<SessionMessage> createReceive() {
        return newReceiveBuilder()
                .onMessage(Forward.class, this::onRemoteForward)
                .onMessage(Attached.class, m -> {
                    attached = true;
                    return this;
                })
                // A handed-over session stays until the node stops, so an edge still holding its route gets Gone at
                // once (and looks the tunnel up again) instead of a dead letter.
                .onMessage(Ended.class, m -> m.handedOver() ? this : Behaviors.stopped())
                .onMessageEquals(Abandon.INSTANCE, () -> {
                    abandoned = true;
                    return Behaviors.stopped();
                })
                .onMessageEquals(Tick.ATTACH_TIMEOUT, () -> {
                    if (attached) {
                        return this;
                    }
                    getContext().getLog().info("tunnel {} session {} never attached its socket", setup.name(), setup.sessionId());
                    return Behaviors.stopped();
                })
                .onMessage(SessionMessage.class, m -> {
                    handle.control(m); // SessionControl from the entity, SessionLifecycle from the node
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    local.remove(setup.sessionId(), handle);
                    handle.end();
                    if (!attached && !abandoned) {
                        setup.entity().tell(new TunnelEntity.Disconnect(setup.sessionId()));
                    }
                    return this;
                })
                .build();
    }

    /** A public request from another node: the same path as a local one, the reply in its serializable form. */
    private Behavior<SessionMessage> onRemoteForward(Forward f) {
        ActorRef<Reply> to = f.replyTo();
        long exchange = f.exchange();
        handle.forward(f.head(), f.body(), r -> to.tell(remote(r, exchange, mat)));
        return this;
    }

    /** A reply as it can cross the network: local bodies become inline bytes or stream refs. */
    static Reply remote(Reply r, long exchange, Materializer mat) {
        if (r instanceof Failed f) {
            return new Failed(exchange, f.status(), f.message());
        }
        if (r instanceof Gone) {
            return new Gone(exchange);
        }
        Answered a = (Answered) r;
        Body body = a.body();
        ByteString whole = body.strictBytes();
        if (body instanceof Body.Strict && whole.size() <= Protocol.INLINE_BODY_MAX) {
            body = new Body.Inline(whole.toArray());
        } else if (body instanceof Body.Strict) {
            body = new Body.Ref(body.asSource().mapConcat(TunnelSession::rechunk).runWith(StreamRefs.sourceRef(), mat));
        } else if (body instanceof Body.Streamed) {
            // Elements are single frames' payloads (or WebSocket fragments, which must stay whole): no rechunking.
            body = new Body.Ref(body.asSource().runWith(StreamRefs.sourceRef(), mat));
        }
        return new Answered(exchange, a.status(), a.headers(), body);
    }

    /** Stream ref elements stay under Artery's frame size. */
    public static List<ByteString> rechunk(ByteString chunk) {
        int max = Protocol.MAX_DATA_PAYLOAD;
        if (chunk.size() <= max) {
            return List.of(chunk);
        }
        List<ByteString> out = new ArrayList<>();
        for (int i = 0; i < chunk.size(); i += max) {
            out.add(chunk.slice(i, Math.min(chunk.size(), i + max)));
        }
        return out;
    }

    /** The share of a tunnel's in-flight cap one client IP may hold. */
    static int perIpShare(int maxInFlight) {
        return Math.max(1, maxInFlight / 4);
    }

    /** Failure surfaced to the public client when its tunnel stream ends abnormally. */
    public static final class TunnelStreamException extends RuntimeException {
        public TunnelStreamException(String message) {
            super(message, null, false, false);
        }
    }
}
