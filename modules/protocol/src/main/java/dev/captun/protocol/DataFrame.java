package dev.captun.protocol;

import java.nio.ByteBuffer;

/**
 * A binary frame: {@code [kind:1][streamId:4, big-endian][payload]}.
 *
 * <p>Kinds: {@link #DATA} carries body bytes of an HTTP stream; {@link #WS_TEXT} and
 * {@link #WS_BINARY} carry a fragment of a forwarded WebSocket message, with {@link #FIN} set on
 * the last fragment. The payload is never copied on decode: it is a slice of the input.
 */
public record DataFrame(int kind, boolean fin, int streamId, ByteBuffer payload) {
    public static final int HEADER_BYTES = 5;
    public static final int DATA = 0x01;
    public static final int WS_TEXT = 0x02;
    public static final int WS_BINARY = 0x03;
    public static final int FIN = 0x80;

    /** The 5 header bytes for a frame; callers append the payload (lets the edge avoid a copy). */
    public static byte[] header(int kind, boolean fin, int streamId) {
        byte[] h = new byte[HEADER_BYTES];
        h[0] = (byte) (kind | (fin ? FIN : 0));
        h[1] = (byte) (streamId >>> 24);
        h[2] = (byte) (streamId >>> 16);
        h[3] = (byte) (streamId >>> 8);
        h[4] = (byte) streamId;
        return h;
    }

    /** Encodes a whole frame into one buffer (the SDK's path). */
    public static ByteBuffer encode(int kind, boolean fin, int streamId, byte[] payload, int offset, int length) {
        if (length > Protocol.MAX_DATA_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + length + " bytes exceeds " + Protocol.MAX_DATA_PAYLOAD);
        }
        ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + length);
        buf.put(header(kind, fin, streamId)).put(payload, offset, length).flip();
        return buf;
    }

    /** Decodes a frame; the payload is a read-only view of {@code frame}. */
    public static DataFrame decode(ByteBuffer frame) throws ProtocolException {
        int size = frame.remaining();
        if (size < HEADER_BYTES) {
            throw new ProtocolException("binary frame of " + size + " bytes is shorter than its header");
        }
        if (size > Protocol.MAX_FRAME_BYTES) {
            throw new ProtocolException("binary frame of " + size + " bytes exceeds " + Protocol.MAX_FRAME_BYTES);
        }
        int pos = frame.position();
        int first = frame.get(pos) & 0xff;
        int kind = first & 0x7f;
        if (kind != DATA && kind != WS_TEXT && kind != WS_BINARY) {
            throw new ProtocolException("unknown binary frame kind " + kind);
        }
        int id = frame.getInt(pos + 1);
        ByteBuffer payload = frame.duplicate();
        payload.position(pos + HEADER_BYTES);
        return new DataFrame(kind, (first & FIN) != 0, id, payload.slice().asReadOnlyBuffer());
    }

    public byte[] payloadBytes() {
        byte[] out = new byte[payload.remaining()];
        payload.duplicate().get(out);
        return out;
    }
}
