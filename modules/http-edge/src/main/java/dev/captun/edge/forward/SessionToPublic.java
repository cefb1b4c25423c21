package dev.captun.edge.forward;

import dev.captun.edge.session.WsFragments;
import dev.captun.protocol.Protocol;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.BiConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * The session → public client direction of one public WebSocket: fragments from the session
 * become public messages without the edge ever holding a whole message (docs/SECURITY.md).
 *
 * <ul>
 *   <li>A message that is one fragment with FIN becomes a Strict message (no sub-stream per small message).
 *   <li>A longer message is emitted at its first fragment as a Streamed message whose data source
 *       takes each following fragment from the session only when Pekko's writer asks for more, so a
 *       public client that does not read stops the session's stream (and its credit) after one fragment here.
 *   <li>The fragment held here counts against the node-wide {@link ByteBudget} until it is handed on;
 *       a socket that would pass the budget is closed {@code 1013} (and the session told).
 *   <li>Closes: the session's close code goes to the public client, 4009 for a message over 16 MiB
 *       (counted across its fragments, both ends closed), 1000 when the session's side ends, 1001 when it fails.
 * </ul>
 *
 * <p>Every end decides a close through {@code closePublic} (the first decided wins) and then ends the
 * output in-band, so the close follows every frame handed on before it: completed between messages, or
 * failed while a message is streaming, so a message cut short is never finished as if it were whole.
 * After that the session's side is drained until it ends. Emits Pekko's Scala model classes, which the
 * internal message layer takes.
 */
final class SessionToPublic extends GraphStage<FlowShape<ByteString, Message>> {
    /** Close code and reason when the node-wide WebSocket buffer budget is spent. */
    static final int CLOSE_TRY_AGAIN = 1013;
    static final String CLOSE_TRY_AGAIN_REASON = "Gateway WebSocket buffers full";

    private final Inlet<ByteString> in = Inlet.create("SessionToPublic.in");
    private final Outlet<Message> out = Outlet.create("SessionToPublic.out");
    private final FlowShape<ByteString, Message> shape = FlowShape.of(in, out);
    private final BiConsumer<Integer, String> closePublic;
    private final Sink<ByteString, NotUsed> toSession;
    private final ByteBudget budget;

    /**
     * @param closePublic decides the public socket's close code (the first decided wins), sent when the output ends; must not block
     * @param toSession where a close this side decides (4009, 1013) is told to the session
     */
    SessionToPublic(BiConsumer<Integer, String> closePublic, Sink<ByteString, NotUsed> toSession, ByteBudget budget) {
        this.closePublic = closePublic;
        this.toSession = toSession;
        this.budget = budget;
    }

    @Override
    public FlowShape<ByteString, Message> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new Logic();
    }

    private final class Logic extends GraphStageLogic {
        /** The streamed message being sent; null between messages. */
        private SubSourceOutlet<Object> sub;
        /** Its decoder when it is text (a character may straddle fragments). */
        private Utf8Stream utf8;
        /** The fragment's payload taken from the session and not yet handed to {@code sub}. */
        private ByteString pending;
        private boolean pendingFin;
        /** Bytes taken from the budget for what this stage holds (a payload on its way or {@code pending}). */
        private long held;
        /** Bytes of the current message so far, for the 16 MiB limit. */
        private long messageBytes;
        /** A close was decided (either side): the rest of the session's side is drained and dropped. */
        private boolean closed;

        Logic() {
            super(shape);
            setHandler(in, new AbstractInHandler() {
                @Override
                public void onPush() {
                    onFragment(grab(in));
                }

                @Override
                public void onUpstreamFinish() {
                    // The session's side ended without a close: end the public socket normally.
                    closeOnce(1000, "");
                }

                @Override
                public void onUpstreamFailure(Throwable e) {
                    closeOnce(1001, "Tunnel client disconnected"); // or the public side went first (it decided already)
                }
            });
            setHandler(out, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    if (sub == null) {
                        pullSession();
                    }
                }
                // Cancellation (default) only comes when the connection is gone: nobody reads what follows.
            });
        }

        private void pullSession() {
            if (!hasBeenPulled(in) && !isClosed(in)) {
                pull(in);
            }
        }

        private void onFragment(ByteString e) {
            if (closed) {
                pullSession(); // drain: the session's side ends after a close (or when the public side ends)
                return;
            }
            byte type = WsFragments.type(e);
            if (type == WsFragments.CLOSE) {
                closeOnce(WsFragments.closeCode(e), WsFragments.closeReason(e));
                return;
            }
            ByteString payload = WsFragments.payload(e);
            boolean fin = WsFragments.fin(e);
            if (messageBytes + payload.size() > PublicSocket.MAX_MESSAGE) {
                // The client should never send this; close both ends rather than pass on a message without bound.
                closeBoth(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
                return;
            }
            if (!budget.tryAcquire(payload.size())) {
                // Sockets that do not read must not add up to the node's heap: this one goes, the node stays.
                closeBoth(CLOSE_TRY_AGAIN, CLOSE_TRY_AGAIN_REASON);
                return;
            }
            held = payload.size();
            messageBytes += payload.size();
            if (sub == null) {
                // out was pulled: the session is only pulled between messages when out is.
                boolean text = type == WsFragments.TEXT;
                if (fin) {
                    messageBytes = 0;
                    release(); // handed on as it is: Pekko's writer holds one frame of at most 64 KiB
                    push(out, text
                            ? new org.apache.pekko.http.scaladsl.model.ws.TextMessage.Strict(payload.utf8String())
                            : new org.apache.pekko.http.scaladsl.model.ws.BinaryMessage.Strict(payload));
                    return;
                }
                sub = new SubSourceOutlet<>("SessionToPublic.message");
                sub.setHandler(new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        if (pending != null) {
                            handOn();
                        } else {
                            pullSession(); // the writer wants more: only now is the next fragment taken
                        }
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        // Pekko's writer let go of the message: the socket is going.
                        sub = null;
                        pending = null;
                        release();
                        cancelStage(cause);
                    }
                });
                utf8 = text ? new Utf8Stream() : null;
                push(out, text
                        ? new org.apache.pekko.http.scaladsl.model.ws.TextMessage.Streamed(scalaSource(sub))
                        : new org.apache.pekko.http.scaladsl.model.ws.BinaryMessage.Streamed(scalaSource(sub)));
            }
            pending = payload;
            pendingFin = fin;
            if (sub.isAvailable()) {
                handOn();
            }
        }

        /** Hands {@code pending} to the streamed message (which asked for it) and ends it at FIN. */
        private void handOn() {
            Object element = utf8 != null ? utf8.decode(pending, pendingFin) : pending;
            pending = null;
            release();
            sub.push(element);
            if (pendingFin) {
                sub.complete();
                sub = null;
                utf8 = null;
                messageBytes = 0;
                if (isAvailable(out)) {
                    pullSession();
                }
            }
        }

        private void release() {
            budget.release(held);
            held = 0;
        }

        private void closeOnce(int code, String reason) {
            if (closed) {
                return;
            }
            closed = true;
            pending = null;
            release();
            closePublic.accept(code, reason);
            if (sub != null) {
                sub.fail(new MessageCut());
                sub = null;
            }
            complete(out);
            pullSession();
        }

        private void closeBoth(int code, String reason) {
            closeOnce(code, reason);
            Source.single(WsFragments.close(code, reason)).runWith(toSession, materializer());
        }

        @Override
        public void postStop() {
            release(); // any end: the held fragment goes back to the budget
        }
    }

    /** Ends a streamed message that a close cut short (Pekko's writer then sends the close instead of its end). */
    static final class MessageCut extends RuntimeException {
        MessageCut() {
            super("WebSocket message cut short by a close", null, false, false);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T> org.apache.pekko.stream.scaladsl.Source<T, NotUsed> scalaSource(GraphStageLogic.SubSourceOutlet<Object> sub) {
        return org.apache.pekko.stream.scaladsl.Source.fromGraph((Graph<SourceShape<T>, NotUsed>) (Graph) sub.source());
    }

    /**
     * UTF-8 decoding across fragment boundaries: the bytes of a character cut at the end of one fragment
     * are kept (at most 3) and decoded with the next. Malformed input becomes U+FFFD, as
     * {@link ByteString#utf8String()} does for a Strict message.
     */
    static final class Utf8Stream {
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        private ByteString carry = ByteString.emptyByteString();

        String decode(ByteString bytes, boolean last) {
            ByteBuffer input = carry.isEmpty() ? bytes.asByteBuffer() : carry.concat(bytes).asByteBuffer();
            // UTF-8 yields at most one char per byte (a 4-byte character is 2 chars; a replacement 1 per bad byte).
            CharBuffer output = CharBuffer.allocate(input.remaining() + 1);
            decoder.decode(input, output, last);
            if (last) {
                decoder.flush(output);
            }
            carry = input.hasRemaining() ? ByteString.fromByteBuffer(input) : ByteString.emptyByteString();
            output.flip();
            return output.toString();
        }
    }
}
