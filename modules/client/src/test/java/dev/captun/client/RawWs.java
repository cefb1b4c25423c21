package dev.captun.client;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** RFC 6455 server-side pieces shared by the tests' raw-socket WebSocket servers (the JDK has none). */
final class RawWs {
    private RawWs() {}

    /** One frame as read: payload already unmasked. */
    record Frame(boolean fin, int opcode, byte[] payload) {}

    /** The HTTP head up to the blank line, or null if the peer closed first. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** Headers by lower-case name (repeats joined with ", "), plus the request line under {@code ":line"}. */
    static Map<String, String> headers(String head) {
        String[] lines = head.split("\r\n");
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":line", lines[0]);
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.merge(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim(),
                        (a, b) -> a + ", " + b);
            }
        }
        return headers;
    }

    /** {@code Sec-WebSocket-Accept} for a client's {@code Sec-WebSocket-Key}. */
    static String acceptKey(String key) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is part of every JDK", e);
        }
    }

    /** Writes one unmasked (server) frame atomically. */
    static void writeFrame(OutputStream out, boolean fin, int opcode, byte[] payload) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write((fin ? 0x80 : 0) | opcode);
        if (payload.length < 126) {
            f.write(payload.length);
        } else if (payload.length < 65536) {
            f.write(126);
            f.write(payload.length >> 8);
            f.write(payload.length);
        } else {
            f.write(127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) payload.length >> (8 * i)));
            }
        }
        f.write(payload);
        synchronized (out) {
            out.write(f.toByteArray());
            out.flush();
        }
    }

    /** Reads one frame; a client's frames must be masked when {@code requireMask}. */
    static Frame readFrame(DataInputStream in, boolean requireMask) throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        boolean masked = (b1 & 0x80) != 0;
        if (requireMask && !masked) {
            throw new IOException("client frame not masked");
        }
        long len = b1 & 0x7f;
        if (len == 126) {
            len = in.readUnsignedShort();
        } else if (len == 127) {
            len = in.readLong();
        }
        byte[] mask = new byte[4];
        if (masked) {
            in.readFully(mask);
        }
        byte[] p = new byte[(int) len];
        in.readFully(p);
        for (int i = 0; i < p.length; i++) {
            p[i] ^= mask[i % 4];
        }
        return new Frame((b0 & 0x80) != 0, b0 & 0x0f, p);
    }

    /** A close frame's payload: code then UTF-8 reason. */
    static byte[] closePayload(int code, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[2 + r.length];
        p[0] = (byte) (code >> 8);
        p[1] = (byte) code;
        System.arraycopy(r, 0, p, 2, r.length);
        return p;
    }
}
