package dev.captun.edge.session;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameError;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * The server side of WebSocket masking (RFC 6455 5.3), in place of Pekko HTTP's {@code Masking} layer:
 * the same events, the same protocol error, but the XOR runs 8 bytes at a time. Pekko's
 * {@code FrameEventParser.mask} goes byte by byte, and on a tunnel download (every response body is a
 * masked client frame) it was 30% of the node's CPU.
 *
 * <p>Inbound, as Pekko's {@code Masking.Unmasking}: a masked {@code FrameStart} is unmasked with its key from
 * offset 0 and handed on without a mask; the {@code FrameData} parts of the same frame continue at the key's
 * rotation; an unmasked {@code FrameStart} becomes {@code FrameError(ProtocolException("Frame wasn't masked"))}
 * (frame handling closes with 1002) and everything after it is dropped; a {@code FrameData} with no frame
 * started fails the stage. Outbound, server frames are never masked: identity.
 */
public final class Unmask extends GraphStage<FlowShape<FrameEvent, FrameEventOrError>> {

    /** The layer, shaped as {@code WebSocket.masking(true, ..)}: net in, app out, app in, net out. */
    public static BidiFlow<FrameEvent, FrameEventOrError, FrameEvent, FrameEvent, NotUsed> serverSide() {
        return BidiFlow.fromFlows(Flow.fromGraph(new Unmask()), Flow.<FrameEvent>create());
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /**
     * XORs {@code bytes} in place with {@code key} (big-endian: its high byte goes on {@code bytes[0]}) and
     * returns the key for the byte after the last one, as {@code FrameEventParser.mask} does.
     */
    static int xor(byte[] bytes, int key) {
        int n = bytes.length;
        long key8 = ((long) key << 32) | (key & 0xFFFFFFFFL);
        int whole = n & ~7;
        for (int i = 0; i < whole; i += 8) {
            LONGS.set(bytes, i, (long) LONGS.get(bytes, i) ^ key8);
        }
        for (int i = whole; i < n; i++) {
            bytes[i] ^= (byte) (key >>> (24 - 8 * (i & 3)));
        }
        return Integer.rotateLeft(key, (n & 3) * 8);
    }

    private final Inlet<FrameEvent> in = Inlet.create("Unmask.in");
    private final Outlet<FrameEventOrError> out = Outlet.create("Unmask.out");
    private final FlowShape<FrameEvent, FrameEventOrError> shape = FlowShape.of(in, out);

    @Override
    public FlowShape<FrameEvent, FrameEventOrError> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new GraphStageLogic(shape) {
            /** The key for the next byte of the current frame's payload. */
            private int key;

            private final InHandler starts = new AbstractInHandler() {
                @Override
                public void onPush() {
                    FrameEvent event = grab(in);
                    if (!(event instanceof FrameStart start)) {
                        fail(out, new IllegalStateException("unexpected FrameData (need FrameStart first)"));
                        return;
                    }
                    FrameHeader header = start.header();
                    Option<Object> mask = header.mask();
                    if (mask.isEmpty()) {
                        setHandler(in, dropping);
                        push(out, new FrameError(new ProtocolException("Frame wasn't masked")));
                        return;
                    }
                    byte[] data = start.data().toArray();
                    key = xor(data, (Integer) mask.get());
                    if (!start.lastPart()) setHandler(in, parts);
                    FrameHeader plain = new FrameHeader(header.opcode(), Option.empty(), header.length(),
                            header.fin(), header.rsv1(), header.rsv2(), header.rsv3());
                    push(out, new FrameStart(plain, ByteString.fromArrayUnsafe(data)));
                }
            };

            private final InHandler parts = new AbstractInHandler() {
                @Override
                public void onPush() {
                    FrameEvent part = grab(in);
                    if (part.lastPart()) setHandler(in, starts);
                    byte[] data = part.data().toArray();
                    key = xor(data, key);
                    push(out, part.withData(ByteString.fromArrayUnsafe(data)));
                }
            };

            /** After a protocol error, as Pekko's: whatever else comes is dropped. */
            private final InHandler dropping = new AbstractInHandler() {
                @Override
                public void onPush() {
                    grab(in);
                    pull(in);
                }
            };

            {
                setHandler(in, starts);
                setHandler(out, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(in);
                    }
                });
            }
        };
    }

    @Override
    public String toString() {
        return "Unmask";
    }
}
