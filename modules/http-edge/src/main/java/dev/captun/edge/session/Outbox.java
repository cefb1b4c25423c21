package dev.captun.edge.session;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.util.ArrayDeque;
import org.apache.pekko.util.ByteString;

/**
 * Frames waiting for the tunnel socket. Frames written while the socket is busy join one message
 * (protocol 3 batches), up to {@link Protocol#MAX_MESSAGE_BYTES}; small frames are encoded into
 * one array, payloads over {@link #COPY_MAX} bytes are appended as they are (no copy). Pure: the
 * stage asks for the next message when the socket pulls.
 */
final class Outbox {
    /** Payloads up to this size are copied next to their header; larger ones are linked in. */
    static final int COPY_MAX = 4096;
    /** A message is sealed once it could not take one more frame of the largest size. */
    private static final int SEAL_AT = Protocol.MAX_MESSAGE_BYTES - Protocol.MAX_HEAD_BYTES - 2 * FrameType.HEADER_BYTES;

    private final FrameWriter w = new FrameWriter(1024);
    private final ArrayDeque<ByteString> sealed = new ArrayDeque<>();
    private ByteString linked = ByteString.emptyByteString(); // the current message's parts before w's bytes
    private long queued; // bytes in sealed messages and the current one
    private int mark; // the writer's size when the current small frame began

    /** The writer for one small frame; call {@link #end} (or {@link #abort}) after writing it. */
    FrameWriter begin() {
        if (linked.size() + w.size() > SEAL_AT) {
            seal();
        }
        mark = w.size();
        return w;
    }

    /** One small frame, written whole (the common case: {@link #begin}/{@link #end} are for a frame that may be taken back). */
    void write(java.util.function.Consumer<FrameWriter> frame) {
        frame.accept(begin());
        end();
    }

    /** Bytes the frame begun last has so far. */
    int frameBytes() {
        return w.size() - mark;
    }

    void end() {
        queued += w.size() - mark;
    }

    /** Drops the frame begun last (a head that turned out too large to send). */
    void abort() {
        w.truncate(mark);
    }

    /** A DATA or WebSocket fragment frame with its payload (at most 64 KiB). */
    void payload(byte type, int stream, ByteString data, boolean end) {
        FrameWriter fw = begin();
        int n = data.size();
        fw.payloadHeader(type, stream, n, end);
        if (n <= COPY_MAX) {
            fw.append(data.toArrayUnsafe(), 0, n);
            end();
            return;
        }
        linked = linked.concat(cut()).concat(data);
        queued += FrameType.HEADER_BYTES + n;
    }

    boolean isEmpty() {
        return queued == 0;
    }

    long queuedBytes() {
        return queued;
    }

    /** The next message for the socket, or null when nothing waits. */
    ByteString next() {
        ByteString m = sealed.poll();
        if (m == null) {
            if (linked.isEmpty() && w.isEmpty()) {
                return null;
            }
            m = linked.concat(cut());
            linked = ByteString.emptyByteString();
        }
        queued -= m.size();
        return m;
    }

    private void seal() {
        sealed.add(linked.concat(cut()));
        linked = ByteString.emptyByteString();
    }

    /** The writer's bytes as a ByteString (copied when small: cheaper than a fresh array each time). */
    private ByteString cut() {
        if (w.isEmpty()) {
            return ByteString.emptyByteString();
        }
        int n = w.size();
        if (n <= 8192) {
            ByteString b = ByteString.fromArray(w.array(), 0, n);
            w.reset();
            return b;
        }
        return ByteString.fromArrayUnsafe(w.takeArrayAndReset(1024), 0, n);
    }
}
