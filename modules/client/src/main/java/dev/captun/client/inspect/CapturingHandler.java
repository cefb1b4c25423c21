package dev.captun.client.inspect;

import dev.captun.client.TunnelHandler;
import dev.captun.client.TunnelRequest;
import dev.captun.client.TunnelResponse;
import dev.captun.client.TunnelWebSocket;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The decorator that records: wraps the request body and the response writer in tees that copy at
 * most the cap, observes an accepted WebSocket, and notes the timing. The bodies still stream as
 * before; the only added cost per request is the entry and the copies up to the cap.
 */
final class CapturingHandler implements TunnelHandler {
    private final TunnelHandler inner;
    private final CaptureRing ring;
    private final int cap;
    private final boolean wrapUnknownLength;

    /**
     * @param wrapUnknownLength false for the SDK's target proxy, which needs the original stream of a
     *     body without content-length (such bodies pass unrecorded, with a note)
     */
    CapturingHandler(TunnelHandler inner, CaptureRing ring, int cap, boolean wrapUnknownLength) {
        this.inner = inner;
        this.ring = ring;
        this.cap = cap;
        this.wrapUnknownLength = wrapUnknownLength;
    }

    @Override
    public TunnelResponse handle(TunnelRequest request) throws Exception {
        return handle(request, 0, id -> {});
    }

    /** Handles {@code request}, recording it as a replay of {@code replayOf} when that is not 0; tells the new id at once. */
    TunnelResponse handle(TunnelRequest request, long replayOf, java.util.function.LongConsumer recorded) throws Exception {
        Exchange e = record(request, replayOf);
        recorded.accept(e.id);
        TunnelRequest req = e.requestBody == null ? request
                : request.withBody(new TeeInput(request.body(), e.requestBody, contentLength(request.header("content-length"))));
        TunnelResponse resp;
        try {
            resp = inner.handle(req);
        } catch (Exception | Error t) {
            e.failed("handler failed: " + t);
            throw t;
        }
        if (resp == null) {
            e.failed("handler returned no response");
            return null;
        }
        if (resp.isWebSocket()) {
            WsLog log = new WsLog(cap);
            e.webSocketOpened(log);
            return resp.withWebSocketObserver(new Observer(e, log));
        }
        ByteBuffer fixed = resp.bodyView();
        if (fixed != null) {
            // an immutable fixed body: keep its first bytes; timing ends when the handler answered
            e.responded(resp.status(), resp.headers(), BodyCapture.of(fixed, cap));
            e.finished();
            return resp;
        }
        BodyCapture body = new BodyCapture(cap, contentLength(header(resp, "content-length")));
        e.responded(resp.status(), resp.headers(), body);
        return resp.wrapWriter(w -> out -> {
            try {
                w.writeTo(new TeeOutput(out, body));
                body.complete();
                e.finished();
            } catch (Exception | Error t) {
                e.failed("response body failed: " + t);
                throw t;
            }
        });
    }

    private Exchange record(TunnelRequest request, long replayOf) throws IOException {
        BodyCapture body = null;
        String note = null;
        if (!request.isWebSocket()) {
            long length = contentLength(request.header("content-length"));
            if (length > 0) {
                body = new BodyCapture(cap, length);
            } else if (length < 0 && !request.awaitEmptyBody()) {
                if (wrapUnknownLength) {
                    body = new BodyCapture(cap);
                } else {
                    note = "streamed without content-length: not recorded in target mode";
                }
            }
        }
        Exchange e = new Exchange(ring.nextId(), replayOf, request.method(), request.path(), request.headers(),
                request.isWebSocket(), body, note, request::isAborted, ring::changed);
        ring.add(e);
        return e;
    }

    private static String header(TunnelResponse r, String name) {
        for (dev.captun.protocol.Header h : r.headers()) {
            if (h.name().equalsIgnoreCase(name)) {
                return h.value();
            }
        }
        return null;
    }

    static long contentLength(String v) {
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException ex) {
            return -1;
        }
    }

    /** UTF-8 length of {@code s} without encoding it. */
    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /**
     * Copies what the handler reads, up to the cap; marks the body complete at its end, or once
     * content-length bytes were read (a reader of a known length, like the proxy's, never asks for
     * the end).
     */
    private static final class TeeInput extends FilterInputStream {
        private final BodyCapture capture;
        private final long length;

        TeeInput(InputStream in, BodyCapture capture, long length) {
            super(in);
            this.capture = capture;
            this.length = length;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                capture.complete();
            } else {
                capture.append(b);
                completeAtLength();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n < 0) {
                capture.complete();
            } else {
                capture.append(b, off, n);
                completeAtLength();
            }
            return n;
        }

        private void completeAtLength() {
            if (length >= 0 && capture.total() >= length) {
                capture.complete();
            }
        }

        @Override
        public long skip(long n) throws IOException {
            // skipped bytes must still be seen to be recorded
            byte[] buf = new byte[(int) Math.min(n, 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /** Copies what the writer writes, up to the cap, without changing how it reaches the tunnel. */
    private static final class TeeOutput extends FilterOutputStream {
        private final BodyCapture capture;

        TeeOutput(OutputStream out, BodyCapture capture) {
            super(out);
            this.capture = capture;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            capture.append(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len); // one write stays one write (each becomes frames at once)
            capture.append(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Records a WebSocket's messages and close into its exchange. */
    private static final class Observer implements TunnelWebSocket.Observer {
        private final Exchange exchange;
        private final WsLog log;

        Observer(Exchange exchange, WsLog log) {
            this.exchange = exchange;
            this.log = log;
        }

        @Override
        public void onText(boolean fromPublic, String message) {
            // no more than cap characters are encoded: a 16 MiB message costs no 16 MiB copy
            String kept = message.length() > log.cap() ? message.substring(0, log.cap()) : message;
            byte[] b = kept.getBytes(StandardCharsets.UTF_8);
            int size = kept == message ? b.length : utf8Length(message);
            log.add(fromPublic, true, b, size);
            exchange.webSocketMessage();
        }

        @Override
        public void onBinary(boolean fromPublic, ByteBuffer message) {
            int size = message.remaining();
            byte[] b = new byte[Math.min(size, log.cap())];
            message.duplicate().get(b);
            log.add(fromPublic, false, b, size);
            exchange.webSocketMessage();
        }

        @Override
        public void onClose(int code, String reason) {
            exchange.webSocketClosed(code, reason);
        }
    }
}
