package dev.captun.client.inspect;

import java.util.Arrays;

/**
 * The first {@code cap} bytes of one body as it streams, plus its total size. One writer (the thread
 * moving the body), any number of readers: the buffer is replaced before the published length grows,
 * so a reader that reads {@link #captured()} first always finds that many bytes in {@link #buf}.
 * Nothing beyond the cap is copied or kept.
 */
final class BodyCapture {
    private final int cap;
    private volatile byte[] buf = new byte[0];
    private volatile int length;
    private volatile long total;
    private volatile boolean complete;

    BodyCapture(int cap) {
        this.cap = cap;
    }

    /** With room for {@code expected} bytes (a content-length) up front, so a known-size body is copied once. */
    BodyCapture(int cap, long expected) {
        this.cap = cap;
        if (expected > 0) {
            this.buf = new byte[(int) Math.min(cap, expected)];
        }
    }

    /** A capture of a fixed body (read-only view, not consumed): its first {@code cap} bytes and its size. */
    static BodyCapture of(java.nio.ByteBuffer body, int cap) {
        BodyCapture c = new BodyCapture(cap);
        int n = Math.min(body.remaining(), cap);
        byte[] b = new byte[n];
        body.duplicate().get(b);
        c.buf = b;
        c.length = n;
        c.total = body.remaining();
        c.complete = true;
        return c;
    }

    void append(byte[] b, int off, int n) {
        if (n <= 0) {
            return;
        }
        int len = length;
        int keep = Math.min(n, cap - len);
        if (keep > 0) {
            byte[] cur = buf;
            if (len + keep > cur.length) {
                // grow geometrically, never past the cap: a 64 KiB write does not reallocate per byte
                cur = Arrays.copyOf(cur, Math.min(cap, Math.max(len + keep, Math.max(256, cur.length * 2))));
                buf = cur;
            }
            System.arraycopy(b, off, cur, len, keep);
            length = len + keep;
        }
        total += n;
    }

    void append(int b) {
        append(new byte[] {(byte) b}, 0, 1);
    }

    /** The body ended (its last byte was seen). */
    void complete() {
        complete = true;
    }

    int cap() {
        return cap;
    }

    int captured() {
        return length;
    }

    long total() {
        return total;
    }

    boolean isComplete() {
        return complete;
    }

    /** True when bytes were seen past the cap. */
    boolean isTruncated() {
        return total > length;
    }

    /** A copy of the captured bytes. */
    byte[] bytes() {
        int n = length; // read before buf: see the class comment
        return Arrays.copyOf(buf, n);
    }
}
