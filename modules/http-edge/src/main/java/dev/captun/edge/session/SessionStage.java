package dev.captun.edge.session;

import dev.captun.edge.drain.NodeSessions;
import dev.captun.edge.drain.SessionLifecycle;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Gone;
import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import dev.captun.tunnel.SessionControl;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane of one tunnel socket (docs/PROTOCOL.md): fused into the socket's own graph, it
 * owns the stream table, both credit windows, batching and the binary codec. Public requests come
 * in through the {@link SessionHandle} (one async callback, no actor); answers complete the
 * caller's reply directly; response bodies that came whole in one message become strict public
 * responses. Lifecycle decisions (registration, replacement, drain) stay with the session's actor
 * and the tunnel entity, which reach this stage through the same handle.
 */
public final class SessionStage extends GraphStage<FlowShape<ByteString, ByteString>> {
    private static final Logger log = LoggerFactory.getLogger(TunnelSession.class);

    /** A client that lets this much pile up unread (small frames only: uploads stopped long before) is dead or hostile. */
    static final long OUTBOX_LIMIT = 16L << 20;
    /** After a drained session is replaced it keeps taking new streams this long: its client's new socket may still be attaching. */
    static final Duration HANDOVER_LINGER = Duration.ofSeconds(2);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private enum Timer { HEARTBEAT, SWEEP, LINGER, HANDOVER, CLOSE }

    private final Inlet<ByteString> in = Inlet.create("SessionStage.in");
    private final Outlet<ByteString> out = Outlet.create("SessionStage.out");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
    private final TunnelSession.Setup setup;
    private final SessionHandle handle;
    private final ActorRef<SessionMessage> self;

    SessionStage(TunnelSession.Setup setup, SessionHandle handle, ActorRef<SessionMessage> self) {
        this.setup = setup;
        this.handle = handle;
        this.self = self;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new Logic();
    }

    /** A body that will never be sent still has to be consumed (or its producer cancelled). */
    static void discard(Body body, Materializer mat) {
        if (body instanceof Body.Streamed || body instanceof Body.Ref) {
            body.asSource().runWith(Sink.cancelled(), mat);
        }
    }

    /**
     * What the stage's parts ({@link Uploads}) ask of its logic: GraphStageLogic's own API may only be
     * used from inside it. Called on the stage's thread only.
     */
    interface Port {
        /** Hands the socket what it can take now; every part calls it after writing frames. */
        void flush();

        /** Runs {@code source} into a new sub-sink of the stage as {@code s}'s upload (fused: no async boundary). */
        void runUpload(TunnelStream s, Source<ByteString, ?> source, InHandler handler);

        Materializer materializer();
    }

    private record Consumed(int id, int bytes) {}

    private final class Logic extends TimerGraphStageLogic implements FrameHandler, Port {
        private final StreamTable table = new StreamTable(setup.maxInFlight());
        private final Outbox outbox = new Outbox();
        private final List<TunnelStream> headsInMessage = new ArrayList<>(4);
        private final int window = setup.window();
        private final Uploads uploads = new Uploads(this, table, outbox, setup);
        private boolean sweeping;
        private long lastInboundNanos = System.nanoTime();
        private ByteString reading; // the message being decoded: payloads are slices of it
        private boolean closing;
        private boolean cleanedUp;
        private boolean draining;
        private ActorRef<NodeSessions.Command> drainedBy;
        private boolean replacedWhileDraining;
        private boolean handingOver;

        private final AsyncCallback<Done> wake = createAsyncCallback(d -> onWake());
        private final AsyncCallback<Consumed> consumed = createAsyncCallback(this::onConsumed);
        private final AsyncCallback<Integer> publicDone = createAsyncCallback(this::onPublicDone);

        Logic() {
            super(shape);
            setHandler(in, new AbstractInHandler() {
                @Override
                public void onPush() {
                    onMessage(grab(in));
                }

                @Override
                public void onUpstreamFinish() {
                    if (!closing) {
                        log.info("tunnel {} session {} closed by client", setup.name(), setup.sessionId());
                    }
                    completeStage();
                }

                @Override
                public void onUpstreamFailure(Throwable e) {
                    if (!closing) {
                        log.info("tunnel {} session {} closed by client ({})", setup.name(), setup.sessionId(), e.getMessage());
                    }
                    completeStage();
                }
            });
            setHandler(out, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    flush();
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    completeStage();
                }
            });
        }

        @Override
        public void preStart() {
            setup.metrics().tunnelAttached();
            // Caps apply in public policy only (ConnectEndpoint), so they tell the policy the client is under.
            outbox.write(w -> w.ready(new Control.Ready(Protocol.VERSION, setup.name(), setup.publicUrl(), window,
                    setup.heartbeatSeconds(), setup.maxInFlight() > 0 ? "public" : "trusted")));
            Duration hb = Duration.ofSeconds(setup.heartbeatSeconds());
            scheduleWithFixedDelay(Timer.HEARTBEAT, hb, hb);
            log.info("tunnel {} session {} ready at {}", setup.name(), setup.sessionId(), setup.publicUrl());
            self.tell(new TunnelSession.Attached());
            handle.bind(wake);
            pull(in);
        }

        @Override
        public void postStop() {
            cleanup();
            handle.end();
            self.tell(new TunnelSession.Ended(replacedWhileDraining && closing));
        }

        // ---- the socket ----

        @Override
        public void flush() {
            if (isAvailable(out)) {
                ByteString m = outbox.next();
                if (m != null) {
                    push(out, m);
                } else if (closing) {
                    completeStage(); // the close frame went out
                    return;
                }
            }
            uploads.resume();
            if (outbox.queuedBytes() > OUTBOX_LIMIT && !closing) {
                log.warn("tunnel {} session {}: client stopped reading; closing", setup.name(), setup.sessionId());
                completeStage();
            }
        }

        /** One whole binary message from {@link WholeMessages}, or its mark for one it refused. */
        private void onMessage(ByteString m) {
            lastInboundNanos = System.nanoTime();
            if (m == WholeMessages.TEXT || m == WholeMessages.TOO_LARGE) {
                protocolError(m.utf8String());
                return;
            }
            read(m);
        }

        private void read(ByteString message) {
            reading = message;
            try {
                FrameReader.read(message.asByteBuffer(), this);
                settleHeads();
            } catch (ProtocolException e) {
                protocolError(e.getMessage());
            } finally {
                reading = null;
                headsInMessage.clear();
            }
            flush();
            if (!closing && !isClosed(in) && !hasBeenPulled(in)) {
                pull(in);
            }
        }

        private void protocolError(String why) {
            log.warn("tunnel {} session {} protocol error: {}", setup.name(), setup.sessionId(), why);
            closeWith(Protocol.CLOSE_PROTOCOL_ERROR, "Protocol error");
        }

        // ---- frames from the tunnel client ----

        @Override
        public void onResponse(int id, int status, List<Header> headers, boolean end) throws ProtocolException {
            TunnelStream s = table.get(id);
            if (s == null) {
                return; // raced with a reset
            }
            if (s.phase != TunnelStream.Phase.AWAITING_HEAD) {
                throw new ProtocolException("second response head for stream " + id);
            }
            s.window = new ReceiveWindow(window);
            if (s.websocketRequest && status == 101) {
                s.phase = TunnelStream.Phase.WEBSOCKET;
                table.answer(s, new Answered(0, 101, headers, new Body.Streamed(startDownload(s))));
            } else if (end) {
                table.answer(s, new Answered(0, status, headers, Body.EMPTY));
                table.finish(s);
            } else {
                // Wait for the rest of this message: a body that ends in it makes one strict response.
                s.phase = TunnelStream.Phase.HEAD_IN_MESSAGE;
                s.status = status;
                s.headers = headers;
                headsInMessage.add(s);
            }
        }

        @Override
        public void onData(int id, int offset, int length, boolean end) throws ProtocolException {
            TunnelStream s = table.get(id);
            if (s == null || s.phase == TunnelStream.Phase.AWAITING_HEAD) {
                return; // raced with a reset, or data before a head: ignored
            }
            if (s.phase == TunnelStream.Phase.WEBSOCKET) {
                throw new ProtocolException("DATA frame on WebSocket stream " + id);
            }
            if (!s.window.receive(length)) {
                overrun(s);
                return;
            }
            setup.metrics().bytesFromClient(length);
            ByteString payload = reading.slice(offset, offset + length);
            if (s.phase == TunnelStream.Phase.HEAD_IN_MESSAGE) {
                s.collected = s.collected.concat(payload);
                s.bodyEnded = end;
                return;
            }
            if (!payload.isEmpty() && s.download.offer(payload) != QueueOfferResult.enqueued()) {
                overflow(s);
                return;
            }
            if (end) {
                s.completeDownload();
                table.finish(s);
            }
        }

        @Override
        public void onWsFragment(int id, boolean text, int offset, int length, boolean fin) throws ProtocolException {
            TunnelStream s = table.get(id);
            if (s == null || s.phase == TunnelStream.Phase.AWAITING_HEAD) {
                return;
            }
            if (s.phase != TunnelStream.Phase.WEBSOCKET) {
                throw new ProtocolException("WebSocket frame on HTTP stream " + id);
            }
            if (!s.window.receive(length)) {
                overrun(s);
                return;
            }
            setup.metrics().bytesFromClient(length);
            if (s.download.offer(WsFragments.fragment(text, fin, reading.slice(offset, offset + length))) != QueueOfferResult.enqueued()) {
                overflow(s);
            }
        }

        @Override
        public void onWsClose(int id, int code, String reason) {
            TunnelStream s = table.get(id);
            if (s != null && s.phase == TunnelStream.Phase.WEBSOCKET) {
                s.download.offer(WsFragments.close(code, reason));
                s.completeDownload();
                table.finish(s);
            }
        }

        @Override
        public void onCredit(int id, int bytes) {
            TunnelStream s = table.get(id);
            if (s != null) {
                s.sendCredit += bytes;
                uploads.send(s);
            }
        }

        @Override
        public void onReset(int id, String reason) {
            TunnelStream s = table.get(id);
            if (s != null) {
                table.fail(s, "reset by tunnel client: " + reason);
            }
        }

        @Override
        public void onPing(long nonce) {
            outbox.write(w -> w.pong(nonce));
        }

        @Override
        public void onPong(long nonce) {
            // liveness already recorded
        }

        @Override
        public void onRequest(int id, String method, String path, List<Header> headers, boolean end, boolean websocket)
                throws ProtocolException {
            throw new ProtocolException("request frame from the client");
        }

        @Override
        public void onReady(Control.Ready ready) throws ProtocolException {
            throw new ProtocolException("ready frame from the client");
        }

        @Override
        public void onClose(int code, String reason) throws ProtocolException {
            throw new ProtocolException("close frame from the client");
        }

        @Override
        public void onDrain(String reason) throws ProtocolException {
            throw new ProtocolException("drain frame from the client");
        }

        /** Heads whose body was being collected from the message just read: whole → strict, else streamed. */
        private void settleHeads() {
            for (TunnelStream s : headsInMessage) {
                if (s.phase != TunnelStream.Phase.HEAD_IN_MESSAGE) {
                    continue; // failed meanwhile
                }
                if (s.bodyEnded) {
                    table.answer(s, new Answered(0, s.status, s.headers, new Body.Strict(s.collected)));
                    table.finish(s);
                } else {
                    s.phase = TunnelStream.Phase.STREAMING;
                    Source<ByteString, NotUsed> body = startDownload(s);
                    if (!s.collected.isEmpty()) {
                        s.download.offer(s.collected);
                    }
                    s.collected = ByteString.emptyByteString();
                    table.answer(s, new Answered(0, s.status, s.headers, new Body.Streamed(body)));
                }
            }
        }

        /** The response body (or WebSocket fragments) as a source for the public side, under this stream's window. */
        private Source<ByteString, NotUsed> startDownload(TunnelStream s) {
            // Capacity in elements = window in bytes: a client within its credit can never overflow it.
            var pair = Source.<ByteString>queue(Math.max(16, window)).preMaterialize(materializer());
            s.download = pair.first();
            int id = s.id;
            boolean ws = s.phase == TunnelStream.Phase.WEBSOCKET;
            return pair.second()
                    .map(chunk -> {
                        consumed.invoke(new Consumed(id, ws ? WsFragments.weight(chunk) : chunk.size()));
                        return chunk;
                    })
                    .watchTermination((nu, done) -> {
                        done.whenCompleteAsync((d, e) -> publicDone.invoke(id), Runnable::run);
                        return NotUsed.getInstance();
                    });
        }

        private void onConsumed(Consumed c) {
            TunnelStream s = table.get(c.id());
            if (s != null && s.window != null) {
                int grant = s.window.consume(c.bytes());
                if (grant > 0) {
                    outbox.write(w -> w.credit(s.id, grant));
                    flush();
                }
            }
        }

        private void onPublicDone(int id) {
            TunnelStream s = table.get(id);
            if (s != null && s.phase == TunnelStream.Phase.WEBSOCKET) {
                return; // the public socket ended; its close element reaches the client through the upload, and ends the stream
            }
            if (s != null) {
                reset(s.id, "public client disconnected"); // stop the local side
                table.fail(s, "public client disconnected");
            }
            flush();
        }

        private void overrun(TunnelStream s) {
            table.fail(s, "client exceeded its credit window");
            reset(s.id, "credit window exceeded");
        }

        private void overflow(TunnelStream s) {
            table.fail(s, "response buffer overflow");
            reset(s.id, "response buffer overflow");
        }

        // ---- public requests ----

        private void onWake() {
            handle.draining();
            for (Object item; (item = handle.poll()) != null; ) {
                if (item instanceof SessionHandle.Forwarded f) {
                    onForward(f);
                } else {
                    onLifecycle((SessionMessage) item);
                }
            }
            flush();
        }

        private void onForward(SessionHandle.Forwarded f) {
            if (closing || handingOver) {
                f.reply().accept(new Gone(0));
                discard(f.body(), materializer());
                return;
            }
            if (uploads.open(f) && !sweeping) {
                sweeping = true;
                scheduleWithFixedDelay(Timer.SWEEP, Duration.ofSeconds(1), Duration.ofSeconds(1));
            }
        }

        @Override
        public void runUpload(TunnelStream s, Source<ByteString, ?> source, InHandler handler) {
            SubSinkInlet<ByteString> sub = new SubSinkInlet<>("upload-" + s.id);
            s.upload = sub;
            sub.setHandler(handler);
            source.runWith(sub.sink(), subFusingMaterializer());
        }

        // ---- frames that end a stream ----

        private void reset(int id, String reason) {
            outbox.write(w -> w.reset(id, reason));
        }

        // ---- timers and lifecycle ----

        @Override
        public void onTimer(Object key) {
            switch ((Timer) key) {
                case HEARTBEAT -> {
                    if (System.nanoTime() - lastInboundNanos > 3_000_000_000L * setup.heartbeatSeconds()) {
                        log.info("tunnel {} session {} heartbeat timeout", setup.name(), setup.sessionId());
                        closeWith(Protocol.CLOSE_HEARTBEAT_TIMEOUT, "Heartbeat timeout");
                    } else {
                        outbox.write(w -> w.ping(System.currentTimeMillis()));
                    }
                }
                case SWEEP -> sweepDeadlines();
                case LINGER -> {
                    handingOver = true;
                    scheduleWithFixedDelay(Timer.HANDOVER, Duration.ofMillis(100), Duration.ofMillis(100));
                }
                case HANDOVER -> {
                    if (table.isEmpty()) {
                        cancelTimer(Timer.HANDOVER);
                        drainedBy.tell(new NodeSessions.Moved(self));
                        closeWith(Protocol.CLOSE_GOING_AWAY, "Tunnel moved to another gateway");
                    }
                }
                case CLOSE -> completeStage(); // the client never read its close frame
            }
            flush();
        }

        /** The 504 deadline: one sweep a second, and only while some stream awaits its head. */
        private void sweepDeadlines() {
            for (TunnelStream s : table.overdue(System.nanoTime())) {
                table.answer(s, new Failed(0, 504, PlainResponses.TIMED_OUT));
                reset(s.id, "request timed out");
                table.fail(s, "timed out");
            }
            if (table.awaitingAnswers() == 0) {
                cancelTimer(Timer.SWEEP);
                sweeping = false;
            }
        }

        private void onLifecycle(SessionMessage m) {
            if (m instanceof SessionControl.Replaced) {
                onReplaced();
            } else if (m instanceof SessionControl.ReassertNow) {
                if (!closing && !replacedWhileDraining) {
                    setup.entity().tell(new TunnelEntity.Reassert(setup.sessionId(), setup.credential(), self));
                }
            } else if (m instanceof SessionLifecycle.Drain d) {
                if (!draining && !closing) {
                    draining = true;
                    drainedBy = d.replyTo();
                    outbox.write(w -> w.drain(d.reason()));
                }
            } else if (m instanceof SessionLifecycle.GraceOver) {
                if (replacedWhileDraining && !closing) {
                    drainedBy.tell(new NodeSessions.Moved(self)); // its client is elsewhere already
                }
                closeWith(Protocol.CLOSE_GOING_AWAY, "Gateway node shutting down");
            }
        }

        /**
         * Outside a drain a replacement ends this session at once (4000: the client does not reconnect).
         * While draining it is the client's own make-before-break move: after {@link #HANDOVER_LINGER}
         * take no new streams (they get {@code Gone} and are looked up again), let those in flight finish,
         * then end with 1001.
         */
        private void onReplaced() {
            if (!draining) {
                closeWith(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON);
            } else if (!replacedWhileDraining && !closing) {
                replacedWhileDraining = true;
                log.info("tunnel {} session {} moved to a new connection; finishing here", setup.name(), setup.sessionId());
                scheduleOnce(Timer.LINGER, HANDOVER_LINGER);
            }
        }

        /** Tell the client why, end the socket once that frame is out (or after a timeout). */
        private void closeWith(int code, String reason) {
            if (closing) {
                return;
            }
            log.info("tunnel {} session {} closing: {} {}", setup.name(), setup.sessionId(), code, reason);
            cleanup();
            closing = true;
            outbox.write(w -> w.close(code, reason));
            scheduleOnce(Timer.CLOSE, CLOSE_TIMEOUT);
            flush();
        }

        private void cleanup() {
            if (cleanedUp) {
                return;
            }
            cleanedUp = true;
            setup.metrics().tunnelDetached();
            for (TunnelStream s : table.all()) {
                table.fail(s, "tunnel client disconnected");
            }
            setup.entity().tell(new TunnelEntity.Disconnect(setup.sessionId()));
            cancelTimer(Timer.HEARTBEAT);
            cancelTimer(Timer.SWEEP);
            cancelTimer(Timer.LINGER);
            cancelTimer(Timer.HANDOVER);
        }
    }
}
