package dev.captun.bench;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal blocking HTTP/1.1 keep-alive client on one raw socket: write a pre-encoded request,
 * read one response (status line, headers, a content-length body). No pipelining, no chunked
 * bodies (the edge answers its own 503/429 with a strict entity). Not thread-safe: one per thread.
 */
final class KeepAliveConnection implements Closeable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[16 * 1024];
    private int pos;
    private int lim;
    private final byte[] body = new byte[4096];
    private int bodyLength;
    private boolean serverCloses;

    KeepAliveConnection(int port) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        socket.setSoTimeout(30_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Sends {@code request} and reads the whole response; returns its status code. */
    int exchange(byte[] request) throws IOException {
        out.write(request);
        out.flush();
        String statusLine = readLine();
        if (statusLine == null) {
            throw new IOException("connection closed by the server");
        }
        int sp = statusLine.indexOf(' ');
        if (!statusLine.startsWith("HTTP/1.1 ") || sp < 0 || statusLine.length() < sp + 4) {
            throw new IOException("bad status line: " + statusLine);
        }
        int status = Integer.parseInt(statusLine.substring(sp + 1, sp + 4));
        int contentLength = -1;
        serverCloses = false;
        String line;
        while ((line = readLine()) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (name.equalsIgnoreCase("content-length")) {
                contentLength = Integer.parseInt(value);
            } else if (name.equalsIgnoreCase("connection") && value.equalsIgnoreCase("close")) {
                serverCloses = true;
            } else if (name.equalsIgnoreCase("transfer-encoding")) {
                throw new IOException("unexpected transfer-encoding: " + value);
            }
        }
        if (line == null) {
            throw new IOException("connection closed inside the response head");
        }
        if (contentLength < 0) {
            throw new IOException("response without content-length (status " + status + ")");
        }
        bodyLength = 0;
        int remaining = contentLength;
        while (remaining > 0) {
            if (pos == lim && !fill()) {
                throw new IOException("connection closed inside the body");
            }
            int n = Math.min(remaining, lim - pos);
            int keep = Math.min(n, body.length - bodyLength);
            System.arraycopy(buf, pos, body, bodyLength, keep);
            bodyLength += keep;
            pos += n;
            remaining -= n;
        }
        return status;
    }

    /** Whether the last response body starts with {@code prefix} (ASCII). */
    boolean bodyStartsWith(byte[] prefix) {
        if (bodyLength < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (body[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    String bodyText() {
        return new String(body, 0, bodyLength, StandardCharsets.UTF_8).trim();
    }

    /** The last response said {@code connection: close}. */
    boolean serverCloses() {
        return serverCloses;
    }

    private boolean fill() throws IOException {
        int n = in.read(buf, 0, buf.length);
        if (n <= 0) {
            return false;
        }
        pos = 0;
        lim = n;
        return true;
    }

    /** One CRLF-terminated line (ISO-8859-1), without the terminator; null at end of stream. */
    private String readLine() throws IOException {
        StringBuilder sb = null;
        while (true) {
            if (pos == lim && !fill()) {
                return null;
            }
            int start = pos;
            while (pos < lim && buf[pos] != '\n') {
                pos++;
            }
            if (pos < lim) { // found '\n'
                int end = pos;
                pos++;
                if (sb == null) {
                    int e = end > start && buf[end - 1] == '\r' ? end - 1 : end;
                    return new String(buf, start, e - start, StandardCharsets.ISO_8859_1);
                }
                sb.append(new String(buf, start, end - start, StandardCharsets.ISO_8859_1));
                int len = sb.length();
                if (len > 0 && sb.charAt(len - 1) == '\r') {
                    sb.setLength(len - 1);
                }
                return sb.toString();
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(new String(buf, start, lim - start, StandardCharsets.ISO_8859_1));
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
