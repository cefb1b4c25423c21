package dev.captun.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes one protocol 3 message (one or more frames back to back) and hands each frame to a
 * {@link FrameHandler} in order. Whatever the bytes, it either calls the handler with well-formed
 * values or throws {@link ProtocolException}; it never copies a payload (offsets are relative to
 * the buffer's position when {@link #read} is called) and never reads outside the message.
 */
public final class FrameReader {
    private FrameReader() {}

    /** Reads every frame of {@code message} (from its position to its limit; the buffer is not moved). */
    public static void read(ByteBuffer message, FrameHandler h) throws ProtocolException {
        int base = message.position();
        int end = message.limit();
        int total = end - base;
        if (total > Protocol.MAX_MESSAGE_BYTES) {
            throw new ProtocolException("message of " + total + " bytes exceeds " + Protocol.MAX_MESSAGE_BYTES);
        }
        if (total == 0) {
            throw new ProtocolException("empty message");
        }
        int p = base;
        while (p < end) {
            if (end - p < FrameType.HEADER_BYTES) {
                throw new ProtocolException("truncated frame header");
            }
            byte type = message.get(p);
            int flags = message.get(p + 1) & 0xff;
            int stream = message.getInt(p + 2);
            int length = message.getInt(p + 6);
            int from = p + FrameType.HEADER_BYTES;
            if (length < 0 || length > end - from) {
                throw new ProtocolException(FrameType.name(type) + " frame of " + length + " bytes runs past its message");
            }
            frame(message, base, type, flags, stream, from, length, h);
            p = from + length;
        }
    }

    private static void frame(ByteBuffer m, int base, byte type, int flags, int stream, int from, int length, FrameHandler h)
            throws ProtocolException {
        boolean session = type >= FrameType.READY;
        if (session ? stream != 0 : stream <= 0) {
            throw new ProtocolException(FrameType.name(type) + " frame on stream " + stream);
        }
        boolean end = (flags & FrameType.END) != 0;
        Cursor c = new Cursor(m, from, from + length);
        switch (type) {
            case FrameType.REQUEST -> {
                checkHead(length);
                String method = c.string();
                String path = c.string();
                List<Header> headers = c.headers();
                c.done();
                h.onRequest(stream, method, path, headers, end, (flags & FrameType.WEBSOCKET) != 0);
            }
            case FrameType.RESPONSE -> {
                checkHead(length);
                int status = c.u16();
                List<Header> headers = c.headers();
                c.done();
                if (status < 100 || status > 999) {
                    throw new ProtocolException("response status " + status);
                }
                h.onResponse(stream, status, headers, end);
            }
            case FrameType.DATA -> {
                checkPayload(type, length);
                h.onData(stream, from - base, length, end);
            }
            case FrameType.WS_TEXT, FrameType.WS_BINARY -> {
                checkPayload(type, length);
                h.onWsFragment(stream, type == FrameType.WS_TEXT, from - base, length, end);
            }
            case FrameType.CREDIT -> {
                int bytes = c.u32();
                c.done();
                if (bytes <= 0) {
                    throw new ProtocolException("credit of " + bytes + " bytes");
                }
                h.onCredit(stream, bytes);
            }
            case FrameType.RESET -> h.onReset(stream, c.rest());
            case FrameType.WS_CLOSE -> {
                int code = c.u16();
                h.onWsClose(stream, code, c.rest());
            }
            case FrameType.READY -> {
                int version = c.varint();
                int window = c.u32();
                int heartbeat = c.u16();
                String name = c.string();
                String url = c.string();
                String policy = c.string();
                c.done();
                h.onReady(new Control.Ready(version, name, url, window, heartbeat, policy.isEmpty() ? null : policy));
            }
            case FrameType.PING -> {
                long nonce = c.u64();
                c.done();
                h.onPing(nonce);
            }
            case FrameType.PONG -> {
                long nonce = c.u64();
                c.done();
                h.onPong(nonce);
            }
            case FrameType.CLOSE -> {
                int code = c.u16();
                h.onClose(code, c.rest());
            }
            case FrameType.DRAIN -> h.onDrain(c.rest());
            default -> throw new ProtocolException("unknown frame " + FrameType.name(type));
        }
    }

    private static void checkHead(int length) throws ProtocolException {
        if (length > Protocol.MAX_HEAD_BYTES) {
            throw new ProtocolException("head of " + length + " bytes exceeds " + Protocol.MAX_HEAD_BYTES);
        }
    }

    private static void checkPayload(byte type, int length) throws ProtocolException {
        if (length > Protocol.MAX_DATA_PAYLOAD) {
            throw new ProtocolException(FrameType.name(type) + " payload of " + length + " bytes exceeds " + Protocol.MAX_DATA_PAYLOAD);
        }
    }

    /** Reads fields of one frame's payload, never past its end. */
    private static final class Cursor {
        private final ByteBuffer m;
        private int p;
        private final int end;

        Cursor(ByteBuffer m, int from, int end) {
            this.m = m;
            this.p = from;
            this.end = end;
        }

        private void need(int n) throws ProtocolException {
            if (end - p < n) {
                throw new ProtocolException("frame payload too short");
            }
        }

        int u16() throws ProtocolException {
            need(2);
            int v = ((m.get(p) & 0xff) << 8) | (m.get(p + 1) & 0xff);
            p += 2;
            return v;
        }

        int u32() throws ProtocolException {
            need(4);
            int v = m.getInt(p);
            p += 4;
            return v;
        }

        long u64() throws ProtocolException {
            need(8);
            long v = m.getLong(p);
            p += 8;
            return v;
        }

        int varint() throws ProtocolException {
            int v = 0;
            for (int shift = 0; shift < 32; shift += 7) {
                need(1);
                int b = m.get(p++) & 0xff;
                v |= (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    if (v < 0) {
                        throw new ProtocolException("negative length");
                    }
                    return v;
                }
            }
            throw new ProtocolException("varint longer than 5 bytes");
        }

        String string() throws ProtocolException {
            int n = varint();
            need(n);
            String s = decode(p, n);
            p += n;
            return s;
        }

        List<Header> headers() throws ProtocolException {
            int n = varint();
            // Each header takes at least two bytes: a count beyond that is a lie, not a reason to allocate.
            if (n > (end - p) / 2) {
                throw new ProtocolException("header count " + n + " exceeds the frame");
            }
            List<Header> out = new ArrayList<>(n + 2);
            for (int i = 0; i < n; i++) {
                out.add(new Header(string(), string()));
            }
            return out;
        }

        String rest() {
            String s = decode(p, end - p);
            p = end;
            return s;
        }

        void done() throws ProtocolException {
            if (p != end) {
                throw new ProtocolException((end - p) + " stray bytes after the frame's fields");
            }
        }

        private String decode(int at, int n) {
            if (n == 0) {
                return "";
            }
            if (m.hasArray()) {
                return new String(m.array(), m.arrayOffset() + at, n, StandardCharsets.UTF_8);
            }
            byte[] b = new byte[n];
            m.get(at, b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
