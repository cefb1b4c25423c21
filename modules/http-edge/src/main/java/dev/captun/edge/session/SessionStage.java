package dev.captun.edge.session;

import dev.captun.edge.drain.NodeSessions;
import dev.captun.edge.drain.SessionLifecycle;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Gone;
import dev.captun.protocol.Control;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import dev.captun.tunnel.SessionControl;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import java.time.Duration;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.japi.function.Procedure;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.stream.stage.OutHandler;
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
 *
 * <p>The logic keeps the socket, the timers and the session's end; its parts, on its thread with no
 * boundary between them, are {@link StreamTable}, {@link ClientFrames} (what the client sends) and
 * {@link Uploads} (public requests toward the client).
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

    private final class Logic extends TimerGraphStageLogic implements InHandler, OutHandler, StagePort {
        private final StreamTable table = new StreamTable(setup.maxInFlight());
        private final Outbox outbox = new Outbox();
        private final Uploads uploads = new Uploads(this, table, outbox, setup);
        private final ClientFrames frames = new ClientFrames(this, table, outbox, uploads, setup);
        private boolean sweeping;
        private long lastInboundNanos = System.nanoTime();
        private boolean closing;
        private boolean cleanedUp;
        private boolean draining;
        private ActorRef<NodeSessions.Command> drainedBy;
        private boolean replacedWhileDraining;
        private boolean handingOver;

        private final AsyncCallback<Done> wake = createAsyncCallback(d -> onWake());

        Logic() {
            super(shape);
            setHandlers(in, out, this);
        }

        @Override
        public void preStart() {
            setup.metrics().tunnelAttached();
            // Caps apply in public policy only (ConnectEndpoint), so they tell the policy the client is under.
            outbox.write(w -> w.ready(new Control.Ready(Protocol.VERSION, setup.name(), setup.publicUrl(), setup.window(),
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

        /** One whole binary message from {@link WholeMessages}, or its mark for one it refused. */
        @Override
        public void onPush() {
            ByteString m = grab(in);
            lastInboundNanos = System.nanoTime();
            if (m == WholeMessages.TEXT || m == WholeMessages.TOO_LARGE) {
                protocolError(m.utf8String());
                return;
            }
            try {
                frames.read(m);
            } catch (ProtocolException e) {
                protocolError(e.getMessage());
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

        @Override
        public void onPull() {
            flush();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
            completeStage();
        }

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
                SessionHandle.discard(f.body(), materializer());
                return;
            }
            if (uploads.open(f) && !sweeping) {
                sweeping = true;
                scheduleWithFixedDelay(Timer.SWEEP, Duration.ofSeconds(1), Duration.ofSeconds(1));
            }
        }

        // ---- what the parts ask of the logic (StagePort) ----

        @Override
        public void runUpload(TunnelStream s, Source<ByteString, ?> source, InHandler handler) {
            SubSinkInlet<ByteString> sub = new SubSinkInlet<>("upload-" + s.id);
            s.upload = sub;
            sub.setHandler(handler);
            source.runWith(sub.sink(), subFusingMaterializer());
        }

        @Override
        public <T> AsyncCallback<T> callback(Procedure<T> handler) {
            return createAsyncCallback(handler);
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
                outbox.write(w -> w.reset(s.id, "request timed out"));
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
