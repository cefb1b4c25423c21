package dev.captun.client;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * The response body of one stream: every write becomes DATA frames at once (≤ 64 KiB each), never
 * more than the stream's credit outstanding; blocks while credit is exhausted.
 */
final class ResponseBodyStream extends OutputStream {
    private static final byte[] EMPTY = new byte[0];

    private final int streamId;
    private final TunnelCore core;
    private long credit;
    private String abortReason;
    private boolean closed;

    ResponseBodyStream(int streamId, int window, TunnelCore core) {
        this.streamId = streamId;
        this.credit = window;
        this.core = core;
    }

    synchronized void grant(int bytes) {
        credit += bytes;
        notifyAll();
    }

    synchronized void abort(String reason) {
        if (abortReason == null) {
            abortReason = reason;
        }
        notifyAll();
    }

    private synchronized int acquire(int max) throws IOException {
        while (credit <= 0 && abortReason == null) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for credit");
            }
        }
        if (abortReason != null) {
            throw new IOException("stream reset: " + abortReason);
        }
        int n = (int) Math.min(credit, max);
        credit -= n;
        return n;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        synchronized (this) {
            if (closed) {
                throw new IOException("response body closed");
            }
        }
        while (len > 0) {
            int n = acquire(Math.min(len, Protocol.MAX_DATA_PAYLOAD));
            core.send(new FrameWriter(FrameType.HEADER_BYTES + n).data(streamId, b, off, n, false));
            off += n;
            len -= n;
        }
    }

    /**
     * A whole known body after its encoded RESPONSE head ({@code head}, not END): the first part
     * joins the head in one message, the last DATA frame carries END. {@code b} is not empty.
     */
    void writeFixed(FrameWriter head, byte[] b) throws IOException {
        FrameWriter w = head;
        int off = 0;
        while (true) {
            int n = acquire(Math.min(b.length - off, Protocol.MAX_DATA_PAYLOAD));
            boolean last = off + n == b.length;
            core.send(w.data(streamId, b, off, n, last));
            off += n;
            if (last) {
                return;
            }
            w = new FrameWriter(FrameType.HEADER_BYTES + Math.min(b.length - off, Protocol.MAX_DATA_PAYLOAD));
        }
    }

    /** After a streamed body: DATA with END and no payload. */
    void end() {
        core.send(new FrameWriter(FrameType.HEADER_BYTES).data(streamId, EMPTY, 0, 0, true));
    }

    @Override
    public synchronized void close() {
        closed = true; // the SDK sends the END when the writer returns
    }
}
