package dev.captun.edge.session;

import dev.captun.edge.drain.NodeSessions;
import dev.captun.edge.drain.SessionLifecycle;
import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Forward;
import dev.captun.edge.session.SessionCommands.Gone;
import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import dev.captun.tunnel.SessionControl;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The gateway side of one tunnel client WebSocket. Multiplexes public requests onto it as
 * streams, applies per-stream credit in both directions, keeps heartbeats, re-asserts its
 * registration with the tunnel entity when told to, and hands over to its client's new connection
 * when the node drains. Outbound frames leave through two paths that the socket merges: {@code control} (small session-level frames, bounded queue) and {@code data} (a MergeHub:
 * each stream's head, body and end run as one back-pressured producer, so their order holds).
 */
public final class TunnelSession extends AbstractBehavior<SessionMessage> {

    /** Fixed facts about the session, chosen by the connect endpoint. */
    public record Setup(String name, String sessionId, Credential credential, String publicUrl,
                        EntityRef<TunnelEntity.Command> entity, int window, int heartbeatSeconds,
                        Duration requestTimeout, int maxInFlight, GatewayMetrics metrics,
                        int protocolVersion) {
        /** The version both ends speak (the client's, which the gateway accepted). */
        public Setup {
            if (protocolVersion < Protocol.MIN_VERSION || protocolVersion > Protocol.VERSION) {
                throw new IllegalArgumentException("protocol version " + protocolVersion);
            }
        }
    }

    /** The socket's outbound side, pre-materialized by {@link SessionSocket}. */
    public record Outbound(BoundedSourceQueue<Message> control, Sink<Message, NotUsed> data, SharedKillSwitch kill) {}

    /** Queued after the last control frame: the socket's outbound side ends when it reaches it. */
    static final Message END = TextMessage.create("");

    // Inbound side of the socket (ActorSink with back-pressure: one frame at a time, acked).
    enum Ack { INSTANCE }

    record InboundInit(ActorRef<Ack> ack) implements SessionMessage {}

    /**
     * Whole inbound WebSocket messages, in order: each a String (control) or a ByteString (binary).
     * Batched while the session is busy, so a burst costs one ack instead of one per frame.
     */
    record Inbound(List<Object> frames, ActorRef<Ack> ack) implements SessionMessage {}

    record InboundDone(Throwable error) implements SessionMessage {}

    /** The public side consumed {@code bytes} of stream {@code id}'s response body. */
    record Consumed(int id, int bytes) implements SessionMessage {}

    /** The public side of stream {@code id}'s response finished (completed or went away). */
    record PublicDone(int id) implements SessionMessage {}


    /** Admission failed before the socket attached: stop without touching the entity's entry. */
    public enum Abandon implements SessionMessage { INSTANCE }

    /** SWEEP runs only while some stream waits for its response head (the 504 deadline). */
    private enum Tick implements SessionMessage { HEARTBEAT, HANDOVER_LINGER, HANDOVER, ATTACH_TIMEOUT, CLOSE_TIMEOUT, SWEEP }

    /**
     * After a drained session is replaced it keeps taking new streams this long (its socket still
     * serves them): the client's new session is admitted before its socket attaches, and a request
     * sent there before that would be refused.
     */
    static final Duration HANDOVER_LINGER = Duration.ofSeconds(2);

    /**
     * Per-stream state: AWAITING_HEAD (the public side waits for the response head; {@code replyTo}
     * and {@code deadline} apply), then STREAMING (a response body flows through {@code responseBody}
     * under {@code window}). A stream whose response came whole is removed at once.
     */
    private static final class Stream {
        final int id;
        final long exchange;
        final boolean websocketRequest;
        final long deadlineNanos;
        String clientIp; // counted in inFlightByIp while the stream lives (public policy)
        boolean websocket; // after a 101: the stream carries WebSocket fragments both ways
        ActorRef<Reply> replyTo; // while AWAITING_HEAD; null once answered
        CreditGate.Handle requestCredit; // a streamed request body (null when none or inline)
        BoundedSourceQueue<ByteString> responseBody; // STREAMING
        ReceiveWindow window;

        Stream(int id, long exchange, boolean websocket, ActorRef<Reply> replyTo, long deadlineNanos) {
            this.id = id;
            this.exchange = exchange;
            this.websocketRequest = websocket;
            this.replyTo = replyTo;
            this.deadlineNanos = deadlineNanos;
        }

        boolean awaitingHead() {
            return replyTo != null;
        }

        void reply(Reply r) {
            ActorRef<Reply> to = replyTo;
            replyTo = null;
            if (to != null) {
                to.tell(r);
            }
        }
    }

    public static Behavior<SessionMessage> create(Setup setup, Outbound outbound) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new TunnelSession(ctx, timers, setup, outbound)));
    }

    private final TimerScheduler<SessionMessage> timers;
    private final Setup setup;
    private final Outbound outbound;
    private final Materializer mat;
    private final Map<Integer, Stream> streams = new HashMap<>();
    /** Open streams per client IP: one IP may hold at most a quarter of the tunnel's in-flight cap. */
    private final Map<String, Integer> inFlightByIp = new HashMap<>();
    private int nextStreamId = 1;
    private int awaitingHeads;
    /** Protocol 2: text messages may carry several control frames. */
    private final boolean batched;
    private boolean sweeping;
    private long lastInboundNanos = System.nanoTime();
    private boolean attached;
    private boolean closing;
    private boolean cleanedUp;
    private boolean draining; // the node is draining: the client was asked to move
    /** Forwards that arrived after admission but before the socket attached: served once it does. */
    private final List<Forward> beforeAttach = new java.util.ArrayList<>();
    private ActorRef<NodeSessions.Command> drainedBy; // told when this session has handed over
    private boolean replacedWhileDraining; // the client's new connection took over: finishing here
    private boolean handingOver; // ... and past the linger: no new streams

    private TunnelSession(ActorContext<SessionMessage> ctx, TimerScheduler<SessionMessage> timers, Setup setup, Outbound outbound) {
        super(ctx);
        this.timers = timers;
        this.setup = setup;
        this.outbound = outbound;
        this.mat = Materializer.matFromSystem(ctx.getSystem());
        this.batched = Protocol.inlineBodies(setup.protocolVersion());
        // The 101 normally follows admission within milliseconds; a client that vanished in between must not hold the name.
        timers.startSingleTimer(Tick.ATTACH_TIMEOUT, Tick.ATTACH_TIMEOUT, Duration.ofSeconds(10));
    }

    @Override
    public Receive<SessionMessage> createReceive() {
        return newReceiveBuilder()
                .onMessage(InboundInit.class, this::onAttached)
                .onMessage(Inbound.class, this::onInbound)
                .onMessage(InboundDone.class, this::onInboundDone)
                .onMessage(Forward.class, this::onForward)
                .onMessage(Consumed.class, this::onConsumed)
                .onMessage(PublicDone.class, this::onPublicDone)
                .onMessage(SessionControl.Replaced.class, m -> onReplaced())
                .onMessage(SessionControl.ReassertNow.class, m -> onReassertNow())
                .onMessage(SessionLifecycle.Drain.class, this::onDrain)
                .onMessage(SessionLifecycle.GraceOver.class, m -> {
                    if (replacedWhileDraining && !closing) {
                        drainedBy.tell(new NodeSessions.Moved(getContext().getSelf())); // its client is elsewhere already
                    }
                    return closeWith(Protocol.CLOSE_GOING_AWAY, "Gateway node shutting down");
                })
                .onMessage(Tick.class, this::onTick)
                .onMessageEquals(Abandon.INSTANCE, () -> {
                    cleanedUp = true; // nothing registered, nothing to clean
                    completeControl();
                    return Behaviors.stopped();
                })
                .onSignal(PostStop.class, s -> {
                    beforeAttach.forEach(f -> f.replyTo().tell(new Gone(f.exchange())));
                    cleanup();
                    return this;
                })
                .build();
    }

    private Behavior<SessionMessage> onAttached(InboundInit m) {
        attached = true;
        setup.metrics().tunnelAttached();
        timers.cancel(Tick.ATTACH_TIMEOUT);
        beforeAttach.forEach(getContext().getSelf()::tell); // behind `ready`, in arrival order
        beforeAttach.clear();
        // Caps apply in public policy only (ConnectEndpoint), so they tell the policy the client is under.
        sendControl(new Control.Ready(setup.protocolVersion(), setup.name(), setup.publicUrl(), setup.window(), setup.heartbeatSeconds(),
                setup.maxInFlight() > 0 ? "public" : "trusted"));
        Duration hb = Duration.ofSeconds(setup.heartbeatSeconds());
        timers.startTimerWithFixedDelay(Tick.HEARTBEAT, Tick.HEARTBEAT, hb);
        getContext().getLog().info("tunnel {} session {} ready at {}", setup.name(), setup.sessionId(), setup.publicUrl());
        m.ack().tell(Ack.INSTANCE);
        return this;
    }

    private Behavior<SessionMessage> onTick(Tick tick) {
        switch (tick) {
            case HEARTBEAT -> {
                long silentMillis = (System.nanoTime() - lastInboundNanos) / 1_000_000;
                if (silentMillis > 3_000L * setup.heartbeatSeconds()) {
                    getContext().getLog().info("tunnel {} session {} heartbeat timeout", setup.name(), setup.sessionId());
                    return closeWith(Protocol.CLOSE_HEARTBEAT_TIMEOUT, "Heartbeat timeout");
                }
                sendControl(new Control.Ping(System.currentTimeMillis()));
            }
            case HANDOVER_LINGER -> {
                handingOver = true;
                timers.startTimerWithFixedDelay(Tick.HANDOVER, Tick.HANDOVER, Duration.ofMillis(100));
            }
            case HANDOVER -> {
                if (streams.isEmpty()) {
                    timers.cancel(Tick.HANDOVER);
                    drainedBy.tell(new NodeSessions.Moved(getContext().getSelf()));
                    return closeWith(Protocol.CLOSE_GOING_AWAY, "Tunnel moved to another gateway");
                }
            }
            case ATTACH_TIMEOUT -> {
                if (!attached) {
                    getContext().getLog().info("tunnel {} session {} never attached its socket", setup.name(), setup.sessionId());
                    return Behaviors.stopped();
                }
            }
            case CLOSE_TIMEOUT -> {
                return replacedWhileDraining ? this : Behaviors.stopped(); // a handed-over session stays until the node stops
            }
            case SWEEP -> sweepDeadlines();
        }
        return this;
    }

    private Behavior<SessionMessage> onInbound(Inbound m) {
        lastInboundNanos = System.nanoTime();
        try {
            for (Object frame : m.frames()) {
                if (closing) {
                    break;
                }
                if (frame instanceof String text) {
                    if (batched) {
                        ControlCodec.decodeBatch(text, c -> {
                            if (!closing) {
                                onControl(c);
                            }
                        });
                    } else {
                        onControl(ControlCodec.decode(text));
                    }
                } else {
                    onData((ByteString) frame);
                }
            }
        } catch (ProtocolException e) {
            getContext().getLog().warn("tunnel {} session {} protocol error: {}", setup.name(), setup.sessionId(), e.getMessage());
            m.ack().tell(Ack.INSTANCE);
            return closeWith(Protocol.CLOSE_PROTOCOL_ERROR, "Protocol error");
        }
        m.ack().tell(Ack.INSTANCE);
        return this;
    }

    private void onControl(Control c) throws ProtocolException {
        if (c instanceof Control.Response r) {
            Stream s = streams.get(r.id());
            if (s == null) {
                return;
            }
            if (!s.awaitingHead()) {
                throw new ProtocolException("second response head for stream " + r.id());
            }
            s.websocket = s.websocketRequest && r.status() == 101;
            List<dev.captun.protocol.Header> headers = r.headers() == null ? List.of() : r.headers();
            if (r.body() != null && !s.websocket) {
                // Protocol 2: the whole body came with the head.
                setup.metrics().bytesFromClient(r.body().length);
                answer(s, new Answered(s.exchange, r.status(), headers, new Body.Inline(r.body())));
                finish(s);
            } else if (r.end() && !s.websocket) {
                answer(s, new Answered(s.exchange, r.status(), headers, Body.EMPTY));
                finish(s);
            } else {
                answer(s, new Answered(s.exchange, r.status(), headers, streamedBody(s)));
            }
        } else if (c instanceof Control.End e) {
            Stream s = streams.get(e.id());
            if (s != null && s.responseBody != null) {
                completeQuietly(s.responseBody);
                finish(s);
            }
        } else if (c instanceof Control.Credit cr) {
            Stream s = streams.get(cr.id());
            if (s != null && s.requestCredit != null && cr.bytes() > 0) {
                s.requestCredit.grant(cr.bytes());
            }
        } else if (c instanceof Control.Reset r) {
            Stream s = streams.get(r.id());
            if (s != null) {
                fail(s, "reset by tunnel client: " + r.reason());
            }
        } else if (c instanceof Control.Ping p) {
            sendControl(new Control.Pong(p.nonce()));
        } else if (c instanceof Control.Pong) {
            // liveness already recorded
        } else if (c instanceof Control.WsClose wc) {
            Stream s = streams.get(wc.id());
            if (s != null && s.websocket && s.responseBody != null) {
                s.responseBody.offer(WsFragments.close(wc.code(), wc.reason()));
                completeQuietly(s.responseBody);
                finish(s);
            }
        } else {
            throw new ProtocolException("unexpected " + c.getClass().getSimpleName() + " frame from the client");
        }
    }

    /** The response body as a source for the public side (a stream ref when that side is on another node). */
    private Body streamedBody(Stream s) {
        ActorRef<Reply> to = s.replyTo;
        // Capacity in elements = window in bytes: a client within its credit can never overflow it.
        var pair = Source.<ByteString>queue(Math.max(16, setup.window())).preMaterialize(mat);
        s.responseBody = pair.first();
        s.window = new ReceiveWindow(setup.window());
        ActorRef<SessionMessage> self = getContext().getSelf();
        int id = s.id;
        boolean ws = s.websocket;
        Source<ByteString, NotUsed> source = pair.second()
                .map(chunk -> {
                    self.tell(new Consumed(id, ws ? WsFragments.weight(chunk) : chunk.size()));
                    return chunk;
                })
                .watchTermination((notUsed, done) -> {
                    done.whenCompleteAsync((d, e) -> self.tell(new PublicDone(id)), Runnable::run);
                    return NotUsed.getInstance();
                });
        return isLocal(to) ? new Body.Streamed(source) : new Body.Ref(source.runWith(StreamRefs.sourceRef(), mat));
    }

    private static boolean isLocal(ActorRef<?> ref) {
        return ref == null || ref.path().address().hasLocalScope();
    }

    private void onData(ByteString frame) throws ProtocolException {
        if (frame.size() < DataFrame.HEADER_BYTES || frame.size() > Protocol.MAX_FRAME_BYTES) {
            throw new ProtocolException("binary frame of " + frame.size() + " bytes");
        }
        int kind = frame.apply(0) & 0x7f;
        int id = ((frame.apply(1) & 0xff) << 24) | ((frame.apply(2) & 0xff) << 16) | ((frame.apply(3) & 0xff) << 8) | (frame.apply(4) & 0xff);
        boolean wsKind = kind == DataFrame.WS_TEXT || kind == DataFrame.WS_BINARY;
        if (kind != DataFrame.DATA && !wsKind) {
            throw new ProtocolException("unknown binary frame kind " + kind);
        }
        Stream s = streams.get(id);
        if (s == null || s.responseBody == null) {
            return; // raced with a reset, or data before a head: ignore
        }
        if (wsKind != s.websocket) {
            throw new ProtocolException((wsKind ? "WebSocket" : "DATA") + " frame on " + (s.websocket ? "a WebSocket" : "an HTTP") + " stream " + id);
        }
        ByteString payload = frame.drop(DataFrame.HEADER_BYTES);
        setup.metrics().bytesFromClient(payload.size());
        if (wsKind) {
            if (!s.window.receive(payload.size())) {
                fail(s, "client exceeded its credit window");
                sendControl(new Control.Reset(s.id, "credit window exceeded"));
            } else if (s.responseBody.offer(WsFragments.fragment(kind == DataFrame.WS_TEXT, (frame.apply(0) & DataFrame.FIN) != 0, payload))
                    != QueueOfferResult.enqueued()) {
                fail(s, "response buffer overflow");
                sendControl(new Control.Reset(s.id, "response buffer overflow"));
            }
            return;
        }
        if (!s.window.receive(payload.size())) {
            fail(s, "client exceeded its credit window");
            sendControl(new Control.Reset(s.id, "credit window exceeded"));
            return;
        }
        if (s.responseBody.offer(payload) != QueueOfferResult.enqueued()) {
            fail(s, "response buffer overflow");
            sendControl(new Control.Reset(s.id, "response buffer overflow"));
        }
    }

    private Behavior<SessionMessage> onConsumed(Consumed m) {
        Stream s = streams.get(m.id());
        if (s == null || s.window == null) {
            return this;
        }
        int grant = s.window.consume(m.bytes());
        if (grant > 0) {
            sendControl(new Control.Credit(s.id, grant));
        }
        return this;
    }

    private Behavior<SessionMessage> onPublicDone(PublicDone m) {
        Stream s = streams.get(m.id());
        if (s != null && s.websocket && !s.awaitingHead()) {
            // The public socket ended; its close reaches the client as ws-close through the data path.
            removeStream(s);
        } else if (s != null) {
            // The public client went away before the tunnel client finished: stop the local side.
            sendControl(new Control.Reset(s.id, "public client disconnected"));
            fail(s, "public client disconnected");
        }
        return this;
    }

    /** The 504 deadline: one sweep a second, and only while some stream awaits its head. */
    private void sweepDeadlines() {
        long now = System.nanoTime();
        for (Stream s : List.copyOf(streams.values())) {
            if (s.awaitingHead() && now - s.deadlineNanos >= 0) {
                answer(s, new Failed(s.exchange, 504, PlainResponses.TIMED_OUT));
                sendControl(new Control.Reset(s.id, "request timed out"));
                fail(s, "timed out");
            }
        }
        if (awaitingHeads == 0) {
            timers.cancel(Tick.SWEEP);
            sweeping = false;
        }
    }

    private void headAwaited() {
        awaitingHeads++;
        if (!sweeping) {
            sweeping = true;
            timers.startTimerWithFixedDelay(Tick.SWEEP, Tick.SWEEP, Duration.ofSeconds(1));
        }
    }

    /** Ends a stream's AWAITING_HEAD state with {@code r} (no-op when it was already answered). */
    private void answer(Stream s, Reply r) {
        if (s.awaitingHead()) {
            awaitingHeads--;
            s.reply(r);
        }
    }

    private Behavior<SessionMessage> onForward(Forward f) {
        SessionCommands.RequestHead rh = f.head();
        if (!attached && !closing && beforeAttach.size() < 1024) {
            // Admitted, socket not attached yet (a client's new connection, routed to as soon as the entity admits it).
            beforeAttach.add(f);
            return this;
        }
        if (closing || handingOver || !attached) {
            f.replyTo().tell(new Gone(f.exchange()));
            return this;
        }
        if (setup.maxInFlight() > 0 && streams.size() >= setup.maxInFlight()) {
            f.replyTo().tell(new Failed(f.exchange(), 503, PlainResponses.TOO_MANY_IN_FLIGHT));
            return this;
        }
        String ip = setup.maxInFlight() > 0 ? rh.clientIp() : null;
        if (ip != null && inFlightByIp.getOrDefault(ip, 0) >= perIpShare(setup.maxInFlight())) {
            // One client must not hold every slot of somebody's tunnel (and with it the tunnel) at 503.
            f.replyTo().tell(new Failed(f.exchange(), 503, PlainResponses.TOO_MANY_IN_FLIGHT_FROM_IP));
            return this;
        }
        Body body = f.body();
        boolean inline = body instanceof Body.Inline && Protocol.inlineBodies(setup.protocolVersion());
        byte[] inlineBytes = inline ? ((Body.Inline) body).bytes() : null;
        boolean hasBody = rh.websocket() || !body.hasNoBytes();
        List<dev.captun.protocol.Header> headers = new java.util.ArrayList<>(rh.headers().size() + 1);
        headers.addAll(rh.headers());
        headers.add(new dev.captun.protocol.Header("x-captun-tunnel-url", setup.publicUrl())); // the URL this tunnel was given
        var head = new Control.Request(nextStreamId, rh.method(), rh.path(), headers, !hasBody || inline, rh.websocket(),
                inline && inlineBytes.length > 0 ? inlineBytes : null);
        String encodedHead = ControlCodec.encode(head);
        if (encodedHead.length() > Protocol.MAX_CONTROL_CHARS && inline) {
            // Headers and inline body together do not fit one frame: send the body as DATA instead.
            inline = false;
            head = new Control.Request(nextStreamId, rh.method(), rh.path(), headers, false, rh.websocket());
            encodedHead = ControlCodec.encode(head);
        }
        if (encodedHead.length() > Protocol.MAX_CONTROL_CHARS) {
            // The protocol cannot carry this head; refusing it here keeps the tunnel and its other streams intact.
            drain(body);
            f.replyTo().tell(new Failed(f.exchange(), 431, PlainResponses.HEAD_TOO_LARGE));
            return this;
        }
        int id = nextStreamId++;
        Stream s = new Stream(id, f.exchange(), rh.websocket(), f.replyTo(), System.nanoTime() + setup.requestTimeout().toNanos());
        streams.put(id, s);
        if (ip != null) {
            s.clientIp = ip;
            inFlightByIp.merge(ip, 1, Integer::sum);
        }
        headAwaited();
        Message headFrame = TextMessage.create(encodedHead);
        if (rh.websocket()) {
            // Public→client WebSocket fragments: whole elements under credit, a close becomes ws-close.
            s.requestCredit = Source.single(headFrame).concatMat(body.asSource()
                            .takeWhile(e -> WsFragments.type(e) != WsFragments.CLOSE, true) // the public socket's last word
                            .viaMat(new CreditGate(setup.window(), WsFragments::weight), Keep.right())
                            .map(e -> {
                                setup.metrics().bytesToClient(WsFragments.weight(e));
                                return wsFrame(id, e);
                            })
                            .recoverWithRetries(1, Throwable.class, () -> Source.single(
                                    TextMessage.create(ControlCodec.encode(new Control.WsClose(id, 1011, "public socket failed"))))),
                    Keep.right()).to(outbound.data()).run(mat);
        } else if (inline || !hasBody) {
            // One frame, nothing follows on the data path: the control queue keeps it in order, no stream is run.
            offerControl(headFrame);
            if (inline) {
                setup.metrics().bytesToClient(inlineBytes.length);
            }
        } else if (body instanceof Body.Inline small) {
            // A protocol-1 client: the small body as DATA + end right behind the head, all on the control queue.
            offerControl(headFrame);
            setup.metrics().bytesToClient(small.bytes().length);
            offerControl(BinaryMessage.create(ByteString.fromArrayUnsafe(DataFrame.header(DataFrame.DATA, false, id))
                    .concat(ByteString.fromArrayUnsafe(small.bytes()))));
            offerControl(TextMessage.create(ControlCodec.encode(new Control.End(id))));
        } else {
            ByteString dataHeader = ByteString.fromArrayUnsafe(DataFrame.header(DataFrame.DATA, false, id));
            Message end = TextMessage.create(ControlCodec.encode(new Control.End(id)));
            Message reset = TextMessage.create(ControlCodec.encode(new Control.Reset(id, "public request body failed")));
            Source<Message, CreditGate.Handle> bodyFrames = body.asSource()
                    .viaMat(new CreditGate(setup.window(), Protocol.MAX_DATA_PAYLOAD), Keep.right())
                    .filter(chunk -> !chunk.isEmpty())
                    .<Message>map(chunk -> {
                        setup.metrics().bytesToClient(chunk.size());
                        return BinaryMessage.create(dataHeader.concat(chunk));
                    })
                    .concat(Source.single(end))
                    // A producer failure would fail the whole MergeHub (the tunnel): turn it into a reset of this stream.
                    .recoverWithRetries(1, Throwable.class, () -> Source.single(reset));
            // The head travels with its body on the data path: one producer keeps head, body and end in order.
            s.requestCredit = Source.single(headFrame).concatMat(bodyFrames, Keep.right()).to(outbound.data()).run(mat);
        }
        return this;
    }

    /**
     * Completing a queue whose public side already cancelled throws; that race (a public client
     * leaving as the body ends) must never take the session, and with it the tunnel, down.
     */
    private static void completeQuietly(BoundedSourceQueue<ByteString> queue) {
        try {
            queue.complete();
        } catch (IllegalStateException alreadyDone) {
            // cancelled by the public side: nothing to complete
        }
    }

    /** A body that will never be sent still has to be consumed (or its producer cancelled). */
    private void drain(Body body) {
        Source<ByteString, ?> src = body instanceof Body.Inline ? null : body.asSource();
        if (src != null) {
            src.runWith(Sink.cancelled(), mat);
        }
    }

    private static Message wsFrame(int id, ByteString e) {
        byte type = WsFragments.type(e);
        if (type == WsFragments.CLOSE) {
            return TextMessage.create(ControlCodec.encode(new Control.WsClose(id, WsFragments.closeCode(e), WsFragments.closeReason(e))));
        }
        int kind = type == WsFragments.TEXT ? DataFrame.WS_TEXT : DataFrame.WS_BINARY;
        return BinaryMessage.create(ByteString.fromArrayUnsafe(DataFrame.header(kind, WsFragments.fin(e), id)).concat(WsFragments.payload(e)));
    }

    /** The stream is over from the tunnel client's side (response complete): forget it. */
    private void finish(Stream s) {
        removeStream(s);
        // A WebSocket's public side ends by itself once its close has gone out; cancelling it here would
        // race a plain 1000 ahead of the close code the public client must see.
        if (s.requestCredit != null && !s.websocket) {
            s.requestCredit.cancel(); // the handler is done; stop uploading
        }
    }

    /** The share of a tunnel's in-flight cap one client IP may hold. */
    static int perIpShare(int maxInFlight) {
        return Math.max(1, maxInFlight / 4);
    }

    private void removeStream(Stream s) {
        if (streams.remove(s.id) != null && s.clientIp != null) {
            inFlightByIp.computeIfPresent(s.clientIp, (k, n) -> n <= 1 ? null : n - 1);
        }
    }

    private void fail(Stream s, String why) {
        answer(s, new Failed(s.exchange, 502, PlainResponses.FETCH_FAILED));
        removeStream(s);
        if (s.responseBody != null) {
            try {
                s.responseBody.fail(new TunnelStreamException(why));
            } catch (IllegalStateException alreadyDone) {
                // the public side already went away (cancelled) or the body completed: nothing to fail
            }
        }
        if (s.requestCredit != null && !s.websocket) {
            s.requestCredit.cancel();
        }
    }

    // ---- re-assert and drain (docs/CLUSTER.md: graceful drain) ----

    /** Told by the node (membership change, slow sweep) or by the entity as it is handed off. */
    private Behavior<SessionMessage> onReassertNow() {
        if (!closing && !replacedWhileDraining) {
            setup.entity().tell(new TunnelEntity.Reassert(setup.sessionId(), setup.credential(), getContext().getSelf()));
        }
        return this;
    }

    private Behavior<SessionMessage> onDrain(SessionLifecycle.Drain m) {
        if (!draining && !closing) {
            draining = true;
            drainedBy = m.replyTo();
            if (Protocol.drainFrames(setup.protocolVersion())) {
                sendControl(new Control.Drain(m.reason()));
            }
        }
        return this;
    }

    /**
     * Outside a drain a replacement ends this session at once (4000: the client does not reconnect).
     * While draining it is the client's own make-before-break move: after {@link #HANDOVER_LINGER}
     * take no new streams (they get {@code Gone} and are looked up again), let those in flight finish,
     * then end with 1001.
     */
    private Behavior<SessionMessage> onReplaced() {
        if (!draining) {
            return closeWith(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON);
        }
        if (!replacedWhileDraining && !closing) {
            replacedWhileDraining = true;
            getContext().getLog().info("tunnel {} session {} moved to a new connection; finishing here", setup.name(), setup.sessionId());
            timers.startSingleTimer(Tick.HANDOVER_LINGER, Tick.HANDOVER_LINGER, HANDOVER_LINGER);
        }
        return this;
    }

    private Behavior<SessionMessage> onInboundDone(InboundDone m) {
        if (replacedWhileDraining && closing) {
            // Handed over: it stays until the node stops, answering late forwards Gone at once, so an edge
            // still holding its route looks the tunnel up again instead of waiting on a stopped actor.
            return this;
        }
        if (!closing) {
            getContext().getLog().info("tunnel {} session {} closed by client{}", setup.name(), setup.sessionId(),
                    m.error() == null ? "" : " (" + m.error().getMessage() + ")");
        }
        return Behaviors.stopped();
    }

    /** Tell the client why, end the socket, and wait briefly for its side to close. */
    private Behavior<SessionMessage> closeWith(int code, String reason) {
        if (closing) {
            return this;
        }
        closing = true;
        getContext().getLog().info("tunnel {} session {} closing: {} {}", setup.name(), setup.sessionId(), code, reason);
        sendControl(new Control.Close(code, reason));
        cleanup();
        timers.startSingleTimer(Tick.CLOSE_TIMEOUT, Tick.CLOSE_TIMEOUT, Duration.ofSeconds(5));
        return this;
    }

    private void cleanup() {
        if (cleanedUp) {
            return;
        }
        cleanedUp = true;
        if (attached) {
            setup.metrics().tunnelDetached();
        }
        for (Stream s : List.copyOf(streams.values())) {
            fail(s, "tunnel client disconnected");
        }
        completeControl();
        setup.entity().tell(new TunnelEntity.Disconnect(setup.sessionId()));
        timers.cancel(Tick.HEARTBEAT);
        timers.cancel(Tick.HANDOVER);
        timers.cancel(Tick.HANDOVER_LINGER);
    }

    private void sendControl(Control c) {
        if (cleanedUp && !(c instanceof Control.Close)) {
            return;
        }
        offerControl(TextMessage.create(ControlCodec.encode(c)));
    }

    private void offerControl(Message m) {
        QueueOfferResult r;
        try {
            r = outbound.control().offer(m);
        } catch (IllegalStateException socketAlreadyDone) {
            return; // the socket's outbound side already ended
        }
        if (r != QueueOfferResult.enqueued() && !closing) {
            // The client stopped reading control frames entirely: it is dead or hostile.
            getContext().getLog().warn("tunnel {} session {} control queue full; closing", setup.name(), setup.sessionId());
            getContext().getSelf().tell(new InboundDone(new IllegalStateException("control queue full")));
        }
    }

    private void completeControl() {
        try {
            if (outbound.control().offer(END) != QueueOfferResult.enqueued()) {
                outbound.kill().shutdown();
            }
        } catch (IllegalStateException alreadyDone) {
            outbound.kill().shutdown(); // the socket ended first; nothing left to flush
        }
    }

    /** Failure surfaced to the public client when its tunnel stream ends abnormally. */
    public static final class TunnelStreamException extends RuntimeException {
        public TunnelStreamException(String message) {
            super(message, null, false, false);
        }
    }
}
