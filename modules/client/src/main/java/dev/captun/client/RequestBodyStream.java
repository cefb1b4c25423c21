package dev.captun.client;

import dev.captun.protocol.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.function.IntConsumer;

/**
 * The request body of one stream as DATA frames arrive. Holds at most one window (the gateway may
 * not send more than it was granted); reading returns credit in batches (≥ window/4, or everything
 * held consumed) through {@code grant}.
 */
final class RequestBodyStream extends InputStream {
    private final int window;
    private final IntConsumer grant;
    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    private long outstanding; // received and not yet granted back
    private long held;        // received and not yet read
    private long consumed;    // read and not yet granted back
    private boolean ended;
    private boolean readFrom;
    private boolean closed;
    private String abortReason;

    RequestBodyStream(int window, IntConsumer grant, boolean ended) {
        this.window = window;
        this.grant = grant;
        this.ended = ended;
    }

    /**
     * The whole body when it has ended and arrived in at most one DATA payload, nothing read yet (a
     * small body travels as one DATA END right after its head); else null. A view, no copy.
     */
    synchronized ByteBuffer wholeBody() {
        if (!ended || closed || abortReason != null || readFrom || chunks.size() > 1) {
            return null;
        }
        ByteBuffer c = chunks.peek();
        return c == null ? ByteBuffer.allocate(0) : c.duplicate();
    }

    /** A DATA payload from the gateway (a slice of its message); owned by this stream from now on. */
    void offer(ByteBuffer payload) throws ProtocolException {
        int n = payload.remaining();
        synchronized (this) {
            if (ended || abortReason != null) {
                return; // late frame racing with end/reset
            }
            outstanding += n;
            if (outstanding > window) {
                throw new ProtocolException("gateway sent " + outstanding + " bytes on a stream with a window of " + window);
            }
            if (closed) {
                return;
            }
            held += n;
            chunks.add(payload);
            notifyAll();
        }
    }

    synchronized void end() {
        ended = true;
        notifyAll();
    }

    synchronized void abort(String reason) {
        if (abortReason == null) {
            abortReason = reason;
        }
        chunks.clear();
        notifyAll();
    }

    /** Blocks until data or the end is available; true when the body turned out to be empty. */
    synchronized boolean awaitEmpty() throws IOException {
        waitForData();
        return chunks.isEmpty();
    }

    private void waitForData() throws IOException {
        boolean interrupted = false;
        while (chunks.isEmpty() && !ended && abortReason == null && !closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading the request body");
        }
        if (abortReason != null) {
            throw new IOException("stream reset: " + abortReason);
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        int n;
        int toGrant = 0;
        synchronized (this) {
            if (closed) {
                throw new IOException("request body closed");
            }
            waitForData();
            if (chunks.isEmpty()) {
                return -1;
            }
            readFrom = true;
            n = 0;
            while (n < len && !chunks.isEmpty()) {
                ByteBuffer c = chunks.peek();
                int k = Math.min(len - n, c.remaining());
                c.get(b, off + n, k);
                n += k;
                if (!c.hasRemaining()) {
                    chunks.poll();
                }
            }
            held -= n;
            consumed += n;
            if (!ended && (consumed >= window / 4 || held == 0)) {
                toGrant = (int) consumed;
                outstanding -= consumed;
                consumed = 0;
            }
        }
        if (toGrant > 0) {
            grant.accept(toGrant);
        }
        return n;
    }

    @Override
    public synchronized int available() {
        return (int) Math.min(Integer.MAX_VALUE, held);
    }

    @Override
    public synchronized void close() {
        closed = true;
        chunks.clear();
        held = 0;
        notifyAll();
    }
}
