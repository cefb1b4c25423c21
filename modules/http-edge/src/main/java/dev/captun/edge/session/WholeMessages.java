package dev.captun.edge.session;

import dev.captun.protocol.Protocol;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.japi.function.Effect;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * The tunnel socket's message layer, in place of Pekko HTTP's ({@code WebSocket.messageAPI}, which
 * materializes a sub-stream per message): between Pekko's frame handling (below) and {@link SessionStage}
 * (above), whole binary messages as ByteStrings. Inbound, frame handling's message parts (continuations
 * already joined in order, control frames already taken out) are joined into one ByteString, a single-part
 * message passed on as it is; outbound, each ByteString becomes one binary frame. A text message or one over
 * {@link Protocol#MAX_MESSAGE_BYTES} is refused without being kept: the session gets {@link #TEXT} or
 * {@link #TOO_LARGE} instead (compared by identity) and closes with 4002 as for any protocol error.
 *
 * <p>What messageAPI does for frame handling is done here too (FrameOutHandler expects it): its
 * bypass events (keep-alive pings, pongs to the client's pings, the peer's close, a close frame handling
 * decided) go back down; the peer's close ends the session's input; the session's end becomes
 * {@code UserHandlerCompleted} (the 1000 close frame, after every message before it); and once a close
 * is under way, {@code Tick}s let FrameOutHandler give up on a peer that never answers it.
 */
final class WholeMessages extends GraphStage<BidiShape<FrameHandler.Output, ByteString, ByteString, Object>> {
    static final ByteString TEXT = ByteString.fromString("a text message (protocol 3 is binary)");
    static final ByteString TOO_LARGE = ByteString.fromString("a message over " + Protocol.MAX_MESSAGE_BYTES + " bytes");

    private final Inlet<FrameHandler.Output> fromFrames = Inlet.create("WholeMessages.fromFrames");
    private final Outlet<ByteString> toSession = Outlet.create("WholeMessages.toSession");
    private final Inlet<ByteString> fromSession = Inlet.create("WholeMessages.fromSession");
    private final Outlet<Object> toFrames = Outlet.create("WholeMessages.toFrames");
    private final BidiShape<FrameHandler.Output, ByteString, ByteString, Object> shape =
            BidiShape.of(fromFrames, toSession, fromSession, toFrames);
    private final FiniteDuration closeTimeout;

    /** @param closeTimeout how often FrameOutHandler checks its close deadline (as messageAPI's tick) */
    WholeMessages(FiniteDuration closeTimeout) {
        this.closeTimeout = closeTimeout;
    }

    @Override
    public BidiShape<FrameHandler.Output, ByteString, ByteString, Object> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new Logic();
    }

    private static final Option<Object> NO_MASK = Option.empty(); // a server's frames are not masked
    private static final Object TICK = WebSocket.Tick$.MODULE$;
    // By its code: javac cannot name the Binary case object nested in Scala's Opcode object.
    private static final org.apache.pekko.http.impl.engine.ws.Protocol.Opcode BINARY =
            org.apache.pekko.http.impl.engine.ws.Protocol.Opcode$.MODULE$.forCode((byte) 0x2);

    private final class Logic extends TimerGraphStageLogic {
        private ByteString assembling; // the parts so far of a message not yet whole
        private boolean discarding; // the rest of a refused message
        private boolean ticking;
        private final Effect pullFrames = this::pullFrames;
        private final Effect pullSession = this::pullSession;

        Logic() {
            super(shape);
            setHandler(fromFrames, new AbstractInHandler() {
                @Override
                public void onPush() {
                    onFrames(grab(fromFrames));
                }

                @Override
                public void onUpstreamFinish() {
                    complete(toSession); // the connection ended without a close frame
                    if (isClosed(fromSession)) {
                        completeStage();
                    }
                }

                @Override
                public void onUpstreamFailure(Throwable e) {
                    failStage(e); // FrameOutHandler answers a WebSocket protocol error with 1002, as under messageAPI
                }
            });
            setHandler(toSession, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    // messages are emitted: nothing waits for this
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    // The session ended: keep reading so the peer's close and pongs still reach frame handling.
                    assembling = null;
                    pullFrames();
                }
            });
            setHandler(fromSession, new AbstractInHandler() {
                @Override
                public void onPush() {
                    emit(toFrames, FrameEvent.fullFrame(BINARY, NO_MASK, grab(fromSession), true, false, false, false), pullSession);
                }

                @Override
                public void onUpstreamFinish() {
                    sessionEnded(FrameHandler.UserHandlerCompleted$.MODULE$);
                }

                @Override
                public void onUpstreamFailure(Throwable e) {
                    sessionEnded(new FrameHandler.UserHandlerErredOut(e));
                }
            });
            setHandler(toFrames, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    // everything going down is emitted
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    completeStage(); // frame handling is done: the socket is closed
                }
            });
        }

        @Override
        public void preStart() {
            pull(fromFrames);
            pull(fromSession);
        }

        private void onFrames(FrameHandler.Output e) {
            if (discarding && e instanceof FrameHandler.MessageDataPart part) {
                discarding = !part.last();
                pullFrames();
            } else if (e instanceof FrameHandler.BinaryMessagePart p) {
                onPart(p.data(), p.last());
            } else if (e instanceof FrameHandler.TextMessagePart t) {
                discarding = !t.last();
                deliver(TEXT);
            } else if (e instanceof FrameHandler.PeerClosed c) {
                assembling = null;
                emit(toFrames, c, pullFrames);
                int code = c.code().isDefined() ? (Integer) c.code().get() : 1005;
                if (c.code().isDefined() && org.apache.pekko.http.impl.engine.ws.Protocol.CloseCodes$.MODULE$.isError(code)) {
                    fail(toSession, new PeerClosedConnectionException(code, c.reason()));
                } else {
                    complete(toSession);
                }
            } else if (e instanceof FrameHandler.ActivelyCloseWithCode c) {
                // Frame handling refused what the client sent (a bad opcode, invalid UTF-8...) and closes the socket.
                assembling = null;
                emit(toFrames, c, pullFrames);
                startTicks();
                fail(toSession, new IllegalStateException("WebSocket protocol error, closing with " + c.code()));
            } else if (e instanceof FrameHandler.BypassEvent) {
                emit(toFrames, e, pullFrames); // a pong to the client's ping, or a keep-alive ping
            } else {
                pullFrames(); // MessageEnd: a message is delivered with its last part
            }
        }

        private void onPart(ByteString data, boolean last) {
            long size = (assembling == null ? 0L : assembling.size()) + data.size();
            if (size > Protocol.MAX_MESSAGE_BYTES) {
                assembling = null;
                discarding = !last;
                deliver(TOO_LARGE);
            } else if (!last) {
                assembling = assembling == null ? data : assembling.concat(data);
                pullFrames();
            } else {
                ByteString whole = assembling == null ? data : assembling.concat(data);
                assembling = null;
                deliver(whole);
            }
        }

        /** To the session, which asks for the next message when it has read this one; the next frames are read meanwhile. */
        private void deliver(ByteString message) {
            if (isClosed(toSession)) {
                pullFrames();
            } else {
                emit(toSession, message, pullFrames);
            }
        }

        private void sessionEnded(Object event) {
            emit(toFrames, event);
            startTicks();
            if (isClosed(fromFrames)) {
                completeStage(); // after the emit: completion follows what is still being emitted
            }
        }

        private void startTicks() {
            if (!ticking) {
                ticking = true;
                scheduleWithFixedDelay("tick", closeTimeout, closeTimeout);
            }
        }

        @Override
        public void onTimer(Object key) {
            if (isAvailable(toFrames)) {
                push(toFrames, TICK);
            }
        }

        private void pullFrames() {
            if (!isClosed(fromFrames) && !hasBeenPulled(fromFrames)) {
                pull(fromFrames);
            }
        }

        private void pullSession() {
            if (!isClosed(fromSession) && !hasBeenPulled(fromSession)) {
                pull(fromSession);
            }
        }
    }
}
