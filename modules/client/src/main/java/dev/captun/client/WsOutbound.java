package dev.captun.client;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The sending half of a forwarded WebSocket: queued messages leave as WS_TEXT/WS_BINARY fragments
 * of at most 64 KiB, never more than the stream's send credit outstanding, and a close marker
 * becomes WS_CLOSE after them. No locks and no I/O: {@link WsStream} guards it and sends the frames
 * {@link #pump} writes.
 */
final class WsOutbound {
    /** One queued message, or (with {@code close} set) the ws-close that follows the messages. */
    static final class Out {
        final boolean text;
        final byte[] data;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final WsInbound.CloseEv close;
        int offset;

        Out(boolean text, byte[] data) {
            this.text = text;
            this.data = data;
            this.close = null;
        }

        Out(WsInbound.CloseEv close) {
            this.text = false;
            this.data = null;
            this.close = close;
        }
    }

    private final int id;
    private final ArrayDeque<Out> queue = new ArrayDeque<>();
    private long credit;

    WsOutbound(int id, int window) {
        this.id = id;
        this.credit = window;
    }

    void add(Out o) {
        queue.add(o);
    }

    void grant(int bytes) {
        credit += bytes;
    }

    /** Everything still queued, removed (the stream finished: their futures fail). */
    List<Out> takeAll() {
        List<Out> out = new ArrayList<>(queue);
        queue.clear();
        return out;
    }

    /**
     * Writes what credit allows into {@code messages}, the fragments of one call joined into messages of
     * up to {@link Protocol#MAX_MESSAGE_BYTES}, and adds the messages fully written to {@code sent}.
     * Returns the close marker when it was written (nothing follows it), else null.
     */
    Out pump(List<FrameWriter> messages, List<Out> sent) {
        FrameWriter w = null;
        while (!queue.isEmpty()) {
            Out o = queue.peek();
            if (o.close != null) {
                queue.poll();
                w = w == null ? new FrameWriter(64) : w;
                w.wsClose(id, o.close.code(), o.close.reason());
                messages.add(w);
                return o;
            }
            int remaining = o.data.length - o.offset;
            if (remaining > 0 && credit <= 0) {
                break;
            }
            int n = (int) Math.min(Math.min(remaining, Protocol.MAX_DATA_PAYLOAD), credit);
            if (w != null && w.size() + FrameType.HEADER_BYTES + n > Protocol.MAX_MESSAGE_BYTES) {
                messages.add(w);
                w = null;
            }
            if (w == null) {
                w = new FrameWriter((int) Math.min(FrameType.HEADER_BYTES + Math.min(remaining, credit), Protocol.MAX_MESSAGE_BYTES));
            }
            boolean fin = o.offset + n == o.data.length;
            w.wsFragment(id, o.text, o.data, o.offset, n, fin);
            credit -= n;
            o.offset += n;
            if (fin) {
                queue.poll();
                sent.add(o);
            }
        }
        if (w != null) {
            messages.add(w);
        }
        return null;
    }
}
