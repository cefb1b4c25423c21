package dev.captun.client;

import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Protocol;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * The response body of one stream: every write becomes DATA frames at once (≤ 64 KiB each), never
 * more than the stream's credit outstanding; blocks while credit is exhausted.
 */
final class ResponseBodyStream extends OutputStream {
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
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        synchronized (this) {
            if (closed) {
                throw new IOException("response body closed");
            }
        }
        while (len > 0) {
            int n = acquire(Math.min(len, Protocol.MAX_DATA_PAYLOAD));
            core.sendBinary(DataFrame.encode(DataFrame.DATA, false, streamId, b, off, n));
            off += n;
            len -= n;
        }
    }

    @Override
    public synchronized void close() {
        closed = true; // the SDK sends `end` when the writer returns
    }
}
