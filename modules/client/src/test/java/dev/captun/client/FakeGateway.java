package dev.captun.client;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A minimal raw-socket WebSocket server standing in for the gateway (no library needed). */
final class FakeGateway implements AutoCloseable {
    final ServerSocket server;
    final LinkedBlockingQueue<Conn> connections = new LinkedBlockingQueue<>();
    private final Thread acceptor;

    FakeGateway() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Conn c = new Conn(s);
                    c.handshake();
                    connections.add(c);
                } catch (IOException e) {
                    // closed
                }
            }
        }, "fake-gateway");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    Conn accept() throws InterruptedException {
        Conn c = connections.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
        if (c == null) {
            throw new AssertionError("no tunnel connection within " + Wire.WAIT_SECONDS + " s");
        }
        return c;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /** A received message: text or binary, or a close with its code. */
    record Msg(boolean text, byte[] data, int closeCode) {
        String string() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    static final class Conn {
        final Socket socket;
        final DataInputStream in;
        final OutputStream out;
        String requestLine;
        final Map<String, String> headers = new LinkedHashMap<>();

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        void handshake() throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("eof in handshake");
                }
                head.write(b);
            }
            String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            requestLine = lines[0];
            for (int i = 1; i < lines.length; i++) {
                int c = lines[i].indexOf(':');
                if (c > 0) {
                    headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
                }
            }
            String accept;
            try {
                accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(
                        (headers.get("sec-websocket-key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1)));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IOException(e);
            }
            out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Protocol: captun\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        synchronized void sendText(String s) throws IOException {
            frame(0x1, s.getBytes(StandardCharsets.UTF_8));
        }

        synchronized void sendBinary(byte[] b) throws IOException {
            frame(0x2, b);
        }

        /** Sends {@code b} as a fragmented binary message (first frame + continuations). */
        synchronized void sendBinaryFragmented(byte[] b, int pieceSize) throws IOException {
            for (int off = 0; off < b.length; off += pieceSize) {
                int n = Math.min(pieceSize, b.length - off);
                boolean fin = off + n >= b.length;
                int opcode = off == 0 ? 0x2 : 0x0;
                rawFrame(fin, opcode, java.util.Arrays.copyOfRange(b, off, off + n));
            }
        }

        synchronized void sendClose(int code, String reason) throws IOException {
            byte[] r = reason.getBytes(StandardCharsets.UTF_8);
            byte[] p = new byte[2 + r.length];
            p[0] = (byte) (code >> 8);
            p[1] = (byte) code;
            System.arraycopy(r, 0, p, 2, r.length);
            frame(0x8, p);
        }

        private void frame(int opcode, byte[] payload) throws IOException {
            rawFrame(true, opcode, payload);
        }

        private void rawFrame(boolean fin, int opcode, byte[] payload) throws IOException {
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
            out.write(f.toByteArray());
            out.flush();
        }

        /** Next data or close message (pings/pongs skipped, fragments joined). */
        Msg read() throws IOException {
            ByteArrayOutputStream msg = new ByteArrayOutputStream();
            boolean text = false;
            while (true) {
                int b0 = in.readUnsignedByte();
                int b1 = in.readUnsignedByte();
                long len = b1 & 0x7f;
                if (len == 126) {
                    len = in.readUnsignedShort();
                } else if (len == 127) {
                    len = in.readLong();
                }
                byte[] mask = new byte[4];
                if ((b1 & 0x80) != 0) {
                    in.readFully(mask);
                }
                byte[] p = new byte[(int) len];
                in.readFully(p);
                for (int i = 0; i < p.length; i++) {
                    p[i] ^= mask[i % 4];
                }
                int opcode = b0 & 0x0f;
                if (opcode == 0x8) {
                    int code = p.length >= 2 ? ((p[0] & 0xff) << 8) | (p[1] & 0xff) : 1005;
                    return new Msg(false, p, code);
                }
                if (opcode == 0x9 || opcode == 0xA) {
                    continue;
                }
                if (opcode == 0x1) {
                    text = true;
                }
                msg.write(p);
                if ((b0 & 0x80) != 0) {
                    return new Msg(text, msg.toByteArray(), 0);
                }
            }
        }

        /** Vanish like a killed process: a plain FIN, no close frame, no RST. */
        void vanish() throws IOException {
            socket.close();
        }

        void kill() throws IOException {
            socket.setSoLinger(true, 0); // RST: an abrupt drop the client notices at once
            socket.close();
        }
    }
}
