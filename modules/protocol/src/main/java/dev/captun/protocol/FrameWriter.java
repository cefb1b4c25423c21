package dev.captun.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes protocol 3 frames into one growing byte array: frames written back to back form one
 * WebSocket message (a batch). Not thread-safe; a sender keeps one per connection (or per turn) and
 * {@link #reset}s it after handing the bytes on. Layouts: docs/PROTOCOL.md, "Frames".
 */
public final class FrameWriter {
    private byte[] buf;
    private int size;

    public FrameWriter() {
        this(256);
    }

    public FrameWriter(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** The backing array; valid up to {@link #size()} until the next write or {@link #reset}. */
    public byte[] array() {
        return buf;
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    public ByteBuffer toByteBuffer() {
        return ByteBuffer.wrap(toByteArray());
    }

    public void reset() {
        size = 0;
    }

    /** Drops what was written after {@code size} (a frame the sender decided not to send after all). */
    public void truncate(int size) {
        if (size < 0 || size > this.size) {
            throw new IllegalArgumentException("truncate to " + size + " of " + this.size);
        }
        this.size = size;
    }

    /** Raw bytes, e.g. the payload right after a {@link #payloadHeader}. */
    public FrameWriter append(byte[] b, int offset, int length) {
        bytes(b, offset, length);
        return this;
    }

    /** Hands the bytes written so far over (no copy) and starts a new array; for senders that pass the array on. */
    public byte[] takeArrayAndReset(int nextCapacity) {
        byte[] out = buf;
        buf = new byte[Math.max(16, nextCapacity)];
        size = 0;
        return out;
    }

    // ---- stream frames ----

    public FrameWriter request(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) {
        int start = begin(FrameType.REQUEST, (end ? FrameType.END : 0) | (websocket ? FrameType.WEBSOCKET : 0), stream);
        string(method);
        string(path);
        headers(headers);
        return finish(start);
    }

    public FrameWriter response(int stream, int status, List<Header> headers, boolean end) {
        int start = begin(FrameType.RESPONSE, end ? FrameType.END : 0, stream);
        u16(status);
        headers(headers);
        return finish(start);
    }

    /** A DATA frame with its payload copied in. */
    public FrameWriter data(int stream, byte[] payload, int offset, int length, boolean end) {
        checkPayload(length);
        header(FrameType.DATA, end ? FrameType.END : 0, stream, length);
        bytes(payload, offset, length);
        return this;
    }

    /** Only the 10 header bytes of a DATA (or WS_*) frame; the caller sends the payload right after (no copy). */
    public FrameWriter payloadHeader(byte type, int stream, int length, boolean end) {
        checkPayload(length);
        header(type, end ? FrameType.END : 0, stream, length);
        return this;
    }

    public FrameWriter wsFragment(int stream, boolean text, byte[] payload, int offset, int length, boolean fin) {
        checkPayload(length);
        header(text ? FrameType.WS_TEXT : FrameType.WS_BINARY, fin ? FrameType.END : 0, stream, length);
        bytes(payload, offset, length);
        return this;
    }

    public FrameWriter credit(int stream, int bytes) {
        header(FrameType.CREDIT, 0, stream, 4);
        u32(bytes);
        return this;
    }

    public FrameWriter reset(int stream, String reason) {
        return text(FrameType.RESET, stream, reason);
    }

    public FrameWriter wsClose(int stream, int code, String reason) {
        int start = begin(FrameType.WS_CLOSE, 0, stream);
        u16(code);
        utf8(Protocol.truncateReason(reason));
        return finish(start);
    }

    // ---- session frames ----

    public FrameWriter ready(Control.Ready r) {
        int start = begin(FrameType.READY, 0, 0);
        varint(r.version());
        u32(r.window());
        u16(r.heartbeatSeconds());
        string(r.name());
        string(r.url());
        string(r.policy() == null ? "" : r.policy());
        return finish(start);
    }

    public FrameWriter ping(long nonce) {
        header(FrameType.PING, 0, 0, 8);
        u64(nonce);
        return this;
    }

    public FrameWriter pong(long nonce) {
        header(FrameType.PONG, 0, 0, 8);
        u64(nonce);
        return this;
    }

    public FrameWriter close(int code, String reason) {
        int start = begin(FrameType.CLOSE, 0, 0);
        u16(code);
        utf8(Protocol.truncateReason(reason));
        return finish(start);
    }

    public FrameWriter drain(String reason) {
        return text(FrameType.DRAIN, 0, reason);
    }

    // ---- encoding ----

    private FrameWriter text(byte type, int stream, String text) {
        int start = begin(type, 0, stream);
        utf8(text);
        return finish(start);
    }

    private static void checkPayload(int length) {
        if (length < 0 || length > Protocol.MAX_DATA_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + length + " bytes exceeds " + Protocol.MAX_DATA_PAYLOAD);
        }
    }

    private void header(byte type, int flags, int stream, int length) {
        ensure(FrameType.HEADER_BYTES);
        buf[size] = type;
        buf[size + 1] = (byte) flags;
        putInt(size + 2, stream);
        putInt(size + 6, length);
        size += FrameType.HEADER_BYTES;
    }

    /** Writes a header with the length left open; {@link #finish} fills it in. */
    private int begin(byte type, int flags, int stream) {
        int start = size;
        header(type, flags, stream, 0);
        return start;
    }

    private FrameWriter finish(int start) {
        putInt(start + 6, size - start - FrameType.HEADER_BYTES);
        return this;
    }

    private void headers(List<Header> headers) {
        varint(headers.size());
        for (Header h : headers) {
            string(h.name());
            string(h.value());
        }
    }

    private void string(String s) {
        if (s == null) {
            s = "";
        }
        int n = s.length();
        // ASCII fast path: header names and most values encode one byte per char.
        ensure(5 + n);
        int lenAt = size;
        if (n < 128) {
            int p = lenAt + 1;
            boolean ascii = true;
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                if (c >= 0x80) {
                    ascii = false;
                    break;
                }
                buf[p++] = (byte) c;
            }
            if (ascii) {
                buf[lenAt] = (byte) n;
                size = p;
                return;
            }
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        varint(b.length);
        bytes(b, 0, b.length);
    }

    private void utf8(String s) {
        if (s != null && !s.isEmpty()) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            bytes(b, 0, b.length);
        }
    }

    private void varint(int v) {
        ensure(5);
        while ((v & ~0x7f) != 0) {
            buf[size++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        buf[size++] = (byte) v;
    }

    private void u16(int v) {
        ensure(2);
        buf[size++] = (byte) (v >>> 8);
        buf[size++] = (byte) v;
    }

    private void u32(int v) {
        ensure(4);
        putInt(size, v);
        size += 4;
    }

    private void u64(long v) {
        u32((int) (v >>> 32));
        u32((int) v);
    }

    private void bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    private void putInt(int at, int v) {
        buf[at] = (byte) (v >>> 24);
        buf[at + 1] = (byte) (v >>> 16);
        buf[at + 2] = (byte) (v >>> 8);
        buf[at + 3] = (byte) v;
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(size + more, buf.length * 2));
        }
    }
}
