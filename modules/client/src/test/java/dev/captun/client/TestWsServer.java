package dev.captun.client;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal local WebSocket service on a raw ServerSocket (the JDK has no WebSocket server), standing
 * in for the tunnel target. Per path:
 * <ul>
 *   <li>{@code /refuse}: answers {@code 403} with a text body instead of upgrading;</li>
 *   <li>anything else: upgrades (choosing {@code v2} if offered, else no subprotocol) and echoes text
 *       and binary messages; text {@code close:<code>:<reason>} makes it close with that code;
 *       text {@code frag:<n>} makes it send a text message of n bytes in 1000-byte fragments;
 *       it pings the client once after the handshake and records the client's close code.</li>
 * </ul>
 */
final class TestWsServer implements AutoCloseable {
    final ServerSocket server;
    /** One entry per upgrade request: request line and headers (lower-case names). */
    final LinkedBlockingQueue<Map<String, String>> requests = new LinkedBlockingQueue<>();
    /** Close frames received from the client: "code reason". */
    final LinkedBlockingQueue<String> closes = new LinkedBlockingQueue<>();
    private final Thread acceptor;

    TestWsServer() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s), "test-ws-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    // closed
                }
            }
        }, "test-ws-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String httpUrl() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    String nextClose() throws InterruptedException {
        String c = closes.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
        if (c == null) {
            throw new AssertionError("the local server received no close");
        }
        return c;
    }

    Map<String, String> nextRequest() throws InterruptedException {
        Map<String, String> r = requests.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no request reached the local server");
        }
        return r;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    private void serve(Socket s) {
        try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            String head = RawWs.readHead(in);
            if (head == null) {
                return;
            }
            Map<String, String> headers = RawWs.headers(head);
            requests.add(headers);
            String path = headers.get(":line").split(" ")[1];
            if (path.startsWith("/refuse")) {
                byte[] body = "forbidden here".getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(body);
                out.flush();
                return;
            }
            String accept = RawWs.acceptKey(headers.get("sec-websocket-key"));
            String offered = headers.getOrDefault("sec-websocket-protocol", "");
            boolean v2 = Arrays.stream(offered.split(",")).map(String::trim).anyMatch("v2"::equals);
            out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                    + accept + "\r\n" + (v2 ? "Sec-WebSocket-Protocol: v2\r\n" : "") + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            RawWs.writeFrame(out, true, 0x9, "ping?".getBytes(StandardCharsets.UTF_8));
            ByteArrayOutputStream msg = new ByteArrayOutputStream();
            int msgOpcode = 0;
            while (true) {
                RawWs.Frame frame = RawWs.readFrame(in, true);
                byte[] p = frame.payload();
                int opcode = frame.opcode();
                if (opcode == 0x8) {
                    int code = p.length >= 2 ? ((p[0] & 0xff) << 8) | (p[1] & 0xff) : 1005;
                    String reason = p.length > 2 ? new String(p, 2, p.length - 2, StandardCharsets.UTF_8) : "";
                    closes.add(code + " " + reason);
                    RawWs.writeFrame(out, true, 0x8, Arrays.copyOf(p, Math.min(p.length, 2)));
                    return;
                }
                if (opcode == 0x9) {
                    RawWs.writeFrame(out, true, 0xA, p);
                    continue;
                }
                if (opcode == 0xA) {
                    continue;
                }
                if (opcode != 0) {
                    msgOpcode = opcode;
                }
                msg.write(p);
                if (!frame.fin()) {
                    continue;
                }
                byte[] m = msg.toByteArray();
                msg.reset();
                if (msgOpcode == 0x1) {
                    String t = new String(m, StandardCharsets.UTF_8);
                    if (t.startsWith("close:")) {
                        String[] parts = t.split(":", 3);
                        RawWs.writeFrame(out, true, 0x8, RawWs.closePayload(Integer.parseInt(parts[1]), parts[2]));
                        continue; // read the client's echo, which records its close
                    }
                    if (t.startsWith("frag:")) {
                        byte[] big = "x".repeat(Integer.parseInt(t.substring(5))).getBytes(StandardCharsets.UTF_8);
                        for (int off = 0; off < big.length; off += 1000) {
                            int n = Math.min(1000, big.length - off);
                            RawWs.writeFrame(out, off + n == big.length, off == 0 ? 0x1 : 0x0, Arrays.copyOfRange(big, off, off + n));
                        }
                        continue;
                    }
                }
                RawWs.writeFrame(out, true, msgOpcode, m);
            }
        } catch (Exception e) {
            // connection ended
        }
    }

    static List<String> split(String v) {
        return v == null ? List.of() : Arrays.stream(v.split(",")).map(String::trim).toList();
    }
}
