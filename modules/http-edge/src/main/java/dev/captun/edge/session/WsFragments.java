package dev.captun.edge.session;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * How a forwarded WebSocket travels inside the edge (between the public socket and the session,
 * possibly across nodes as a stream ref): one element per fragment {@code [type][fin][payload]}
 * with type {@code T} (text) or {@code B} (binary), payload at most 64 KiB; or a close
 * {@code [C][0][code:2][reason utf-8]}. The session turns fragments 1:1 into WS_TEXT/WS_BINARY
 * tunnel frames and closes into {@code ws-close}.
 */
public final class WsFragments {
    private WsFragments() {}

    public static final byte TEXT = 'T';
    public static final byte BINARY = 'B';
    public static final byte CLOSE = 'C';
    public static final int HEADER = 2;

    public static ByteString fragment(boolean text, boolean fin, ByteString payload) {
        return ByteString.fromArrayUnsafe(new byte[] {text ? TEXT : BINARY, (byte) (fin ? 1 : 0)}).concat(payload);
    }

    public static ByteString close(int code, String reason) {
        byte[] r = reason == null ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[4 + r.length];
        out[0] = CLOSE;
        out[2] = (byte) (code >>> 8);
        out[3] = (byte) code;
        System.arraycopy(r, 0, out, 4, r.length);
        return ByteString.fromArrayUnsafe(out);
    }

    public static byte type(ByteString e) {
        return e.apply(0);
    }

    public static boolean fin(ByteString e) {
        return e.apply(1) != 0;
    }

    public static ByteString payload(ByteString e) {
        return e.drop(HEADER);
    }

    public static int closeCode(ByteString e) {
        return ((e.apply(2) & 0xff) << 8) | (e.apply(3) & 0xff);
    }

    public static String closeReason(ByteString e) {
        return e.drop(4).utf8String();
    }

    /** Credit weight of an element: its payload bytes (a close weighs nothing). */
    public static int weight(ByteString e) {
        return type(e) == CLOSE ? 0 : e.size() - HEADER;
    }
}
