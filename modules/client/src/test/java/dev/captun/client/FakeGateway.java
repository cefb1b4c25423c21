package dev.captun.client;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
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
        /** Frames of a message read but not yet returned by {@link #nextFrame}. */
        private final ArrayDeque<Object> pending = new ArrayDeque<>();

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        void handshake() throws IOException {
            String head = RawWs.readHead(in);
            if (head == null) {
                throw new IOException("eof in handshake");
            }
            headers.putAll(RawWs.headers(head));
            requestLine = headers.remove(":line");
            out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + RawWs.acceptKey(headers.get("sec-websocket-key"))
                    + "\r\nSec-WebSocket-Protocol: captun\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        synchronized void sendText(String s) throws IOException {
            RawWs.writeFrame(out, true, 0x1, s.getBytes(StandardCharsets.UTF_8));
        }

        synchronized void sendBinary(byte[] b) throws IOException {
            RawWs.writeFrame(out, true, 0x2, b);
        }

        /** Sends {@code b} as a fragmented binary message (first frame + continuations). */
        synchronized void sendBinaryFragmented(byte[] b, int pieceSize) throws IOException {
            for (int off = 0; off < b.length; off += pieceSize) {
                int n = Math.min(pieceSize, b.length - off);
                RawWs.writeFrame(out, off + n >= b.length, off == 0 ? 0x2 : 0x0, java.util.Arrays.copyOfRange(b, off, off + n));
            }
        }

        /** One binary message: the frames written into {@code w}. */
        void send(FrameWriter w) throws IOException {
            sendBinary(w.toByteArray());
        }

        /** READY for this client's protocol version. */
        void ready(String url) throws IOException {
            ready(url, 15);
        }

        /** READY announcing a heartbeat interval of {@code heartbeatSeconds}. */
        void ready(String url, int heartbeatSeconds) throws IOException {
            send(new FrameWriter().ready(new Control.Ready(Protocol.VERSION, "demo", url, Protocol.DEFAULT_WINDOW,
                    heartbeatSeconds, "trusted")));
        }

        /** The client's next WebSocket frame as sent (pings and pongs included, nothing answered). */
        RawWs.Frame nextRawFrame() throws IOException {
            return RawWs.readFrame(in, false);
        }

        /**
         * The client's next frame ({@link WireFrame}; a message's frames one by one) or, at the end,
         * the close as a {@link Msg}. A text message from the client fails the test.
         */
        Object nextFrame() throws IOException, ProtocolException {
            while (pending.isEmpty()) {
                Msg m = read();
                if (m.closeCode() != 0) {
                    return m;
                }
                if (m.text()) {
                    throw new AssertionError("the client sent a text message: " + m.string());
                }
                pending.addAll(WireFrame.decode(m.data()));
            }
            return pending.poll();
        }

        synchronized void sendClose(int code, String reason) throws IOException {
            RawWs.writeFrame(out, true, 0x8, RawWs.closePayload(code, reason));
        }

        /** Next data or close message (pings/pongs skipped, fragments joined). */
        Msg read() throws IOException {
            ByteArrayOutputStream msg = new ByteArrayOutputStream();
            boolean text = false;
            while (true) {
                RawWs.Frame f = RawWs.readFrame(in, false);
                byte[] p = f.payload();
                if (f.opcode() == 0x8) {
                    int code = p.length >= 2 ? ((p[0] & 0xff) << 8) | (p[1] & 0xff) : 1005;
                    return new Msg(false, p, code);
                }
                if (f.opcode() == 0x9 || f.opcode() == 0xA) {
                    continue;
                }
                if (f.opcode() == 0x1) {
                    text = true;
                }
                msg.write(p);
                if (f.fin()) {
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
