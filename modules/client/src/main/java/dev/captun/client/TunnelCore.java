package dev.captun.client;

import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transport-independent heart of one tunnel connection: decodes frames, keeps the stream table,
 * does the credit accounting both ways and runs the handler on worker threads. The transport
 * feeds it whole messages ({@link #onText}, {@link #onBinary}) from one thread at a time and
 * gives it an {@link Outbound} that queues frames in order.
 */
final class TunnelCore {
    private static final Logger log = LoggerFactory.getLogger(TunnelCore.class);
    static final String HEALTH_PATH = "/__captun/health";
    private static final byte[] HEALTH_BODY = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);

    /** Where outgoing frames go; must not block and must keep order. */
    interface Outbound {
        void sendText(String text);

        void sendBinary(ByteBuffer frame);
    }

    private final Outbound out;
    private final TunnelHandler handler;
    private final Executor workers;
    private final TunnelListener listener;
    private final ConcurrentHashMap<Integer, Stream> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<Control.Ready> ready = new CompletableFuture<>();
    private volatile int window = Protocol.DEFAULT_WINDOW;
    /** Whether the gateway takes whole small bodies inside the response head (protocol 2). */
    private volatile boolean inlineBodies;
    private volatile boolean closed;
    private volatile long lastSeenNanos = System.nanoTime();
    private volatile Control.Close announcedClose;

    TunnelCore(Outbound out, TunnelHandler handler, Executor workers, TunnelListener listener) {
        this.out = out;
        this.handler = handler;
        this.workers = workers;
        this.listener = listener;
    }

    /** Completes with the gateway's {@code ready}; fails if the connection ends first. */
    CompletableFuture<Control.Ready> ready() {
        return ready;
    }

    int window() {
        return window;
    }

    int openStreams() {
        return streams.size();
    }

    /** The code and reason of a {@code close} control frame from the gateway, or null. */
    Control.Close announcedClose() {
        return announcedClose;
    }

    /** Any sign of life from the peer (also partial messages, WebSocket pings). */
    void touch() {
        lastSeenNanos = System.nanoTime();
    }

    long lastSeenNanos() {
        return lastSeenNanos;
    }

    /** A text message: one control frame, or (protocol 2) several separated by newlines. */
    void onText(String text) throws ProtocolException {
        touch();
        if (text.indexOf(Protocol.BATCH_SEPARATOR) < 0) {
            onControl(ControlCodec.decode(text));
        } else {
            ControlCodec.decodeBatch(text, this::onControl);
        }
    }

    /** Whether frames to the gateway may be batched into one text message (protocol 2). */
    boolean batching() {
        return inlineBodies;
    }

    private void onControl(Control c) throws ProtocolException {
        if (c instanceof Control.Request r) {
            onRequest(r);
        } else if (c instanceof Control.Credit cr) {
            Stream s = streams.get(cr.id());
            if (s != null && cr.bytes() > 0) {
                WsStream ws = s.ws;
                if (ws != null) {
                    ws.grant(cr.bytes());
                } else {
                    s.response.grant(cr.bytes());
                }
            }
        } else if (c instanceof Control.End e) {
            Stream s = streams.get(e.id());
            if (s != null) {
                s.body.end();
            }
        } else if (c instanceof Control.Reset rs) {
            Stream s = streams.get(rs.id());
            if (s != null) {
                log.debug("stream {} reset by gateway: {}", rs.id(), rs.reason());
                s.abort("reset by gateway" + (rs.reason() == null ? "" : ": " + rs.reason()), true);
            }
        } else if (c instanceof Control.WsClose wc) {
            Stream s = streams.get(wc.id());
            WsStream ws = s == null ? null : s.ws;
            if (ws != null) {
                ws.onPeerClose(wc.code(), wc.reason());
            }
        } else if (c instanceof Control.Close cl) {
            // the gateway's real close code (Pekko HTTP can only close with 1000 on the wire)
            announcedClose = cl;
        } else if (c instanceof Control.Drain d) {
            emit(new TunnelEvent.Draining(d.reason() == null ? "" : d.reason())); // CaptunTunnel moves to another gateway
        } else if (c instanceof Control.Ping p) {
            send(new Control.Pong(p.nonce()));
        } else if (c instanceof Control.Ready r) {
            if (r.version() < Protocol.MIN_VERSION || r.version() > Protocol.VERSION) {
                ProtocolException e = new ProtocolException("gateway speaks captun protocol version " + r.version()
                        + ", this client speaks " + Protocol.VERSION);
                ready.completeExceptionally(e);
                throw e;
            }
            if (r.window() > 0) {
                window = r.window();
            }
            inlineBodies = Protocol.inlineBodies(r.version());
            ready.complete(r);
        }
        // pong: sign of life only; response: not for clients
    }

    /** A binary message; the buffer is owned by the core from now on. */
    void onBinary(ByteBuffer message) throws ProtocolException {
        touch();
        DataFrame f = DataFrame.decode(message);
        Stream s = streams.get(f.streamId());
        if (s == null) {
            return; // unknown/finished stream (races with reset)
        }
        if (f.kind() != DataFrame.DATA) {
            WsStream ws = s.ws;
            if (ws != null) {
                ws.onFragment(f);
            }
            return; // WS fragments on a stream we did not accept as a WebSocket: ignored
        }
        if (f.payload().hasRemaining()) {
            s.body.offer(f.payload());
        }
    }

    /** The connection ended: abort every stream, stop sending. */
    void shutdown(String reason) {
        closed = true;
        ready.completeExceptionally(new IllegalStateException("connection ended: " + reason));
        for (Stream s : streams.values()) {
            s.abort(reason, true);
        }
        streams.clear();
    }

    void send(Control c) {
        if (!closed) {
            out.sendText(ControlCodec.encode(c));
        }
    }

    void sendBinary(ByteBuffer frame) {
        if (!closed) {
            out.sendBinary(frame);
        }
    }

    private void onRequest(Control.Request r) throws ProtocolException {
        if (r.id() <= 0) {
            throw new ProtocolException("invalid stream id " + r.id());
        }
        final int id = r.id();
        int w = window;
        RequestBodyStream body = r.body() != null
                ? RequestBodyStream.inline(w, r.body())
                : new RequestBodyStream(w, n -> send(new Control.Credit(id, n)), r.end());
        TunnelRequest req = new TunnelRequest(id, r.method(), r.path() == null ? "/" : r.path(), r.headers(), r.websocket(), body);
        Stream s = new Stream(req, body, new ResponseBodyStream(id, w, this), w);
        if (streams.putIfAbsent(id, s) != null) {
            throw new ProtocolException("stream id " + id + " reused");
        }
        String path = req.path();
        int q = path.indexOf('?');
        if ((q < 0 ? path : path.substring(0, q)).equals(HEALTH_PATH)) {
            // answered inline: tiny, within the initial window
            streams.remove(id);
            body.close();
            List<Header> headers = List.of(new Header("content-type", "application/json"), new Header("cache-control", "no-store"));
            if (!sendWhole(id, 200, headers, HEALTH_BODY)) {
                send(new Control.Response(id, 200, headers, false));
                sendBinary(DataFrame.encode(DataFrame.DATA, false, id, HEALTH_BODY, 0, HEALTH_BODY.length));
                send(new Control.End(id));
            }
            return;
        }
        try {
            workers.execute(() -> run(s));
        } catch (RejectedExecutionException e) {
            streams.remove(id);
            send(new Control.Reset(id, "client shutting down"));
        }
    }

    /**
     * A whole response in one frame when the gateway takes inline bodies and it fits; false when it
     * must go as head + DATA + end instead (nothing sent then).
     */
    private boolean sendWhole(int id, int status, List<Header> headers, byte[] bytes) {
        if (bytes.length == 0) {
            send(new Control.Response(id, status, headers, true));
            return true;
        }
        if (!inlineBodies || bytes.length > Protocol.INLINE_BODY_MAX) {
            return false;
        }
        String frame = ControlCodec.encode(new Control.Response(id, status, headers, true, bytes));
        if (frame.length() > Protocol.MAX_CONTROL_CHARS) {
            return false; // big headers: the body goes as DATA
        }
        if (!closed) {
            out.sendText(frame);
        }
        return true;
    }

    /** A fixed body's length travels as content-length, so the public response is not chunked (and HEAD/range clients see it). */
    private static List<Header> withLength(List<Header> headers, byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return headers;
        }
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("content-length") || h.name().equalsIgnoreCase("transfer-encoding")) {
                return headers;
            }
        }
        List<Header> out = new java.util.ArrayList<>(headers);
        out.add(new Header("content-length", Integer.toString(bytes.length)));
        return out;
    }

    private void run(Stream s) {
        TunnelRequest req = s.request;
        int id = req.streamId();
        long start = System.nanoTime();
        int status = 0;
        boolean headSent = false;
        TunnelResponse resp = null;
        boolean handedOff = false;
        try {
            resp = handler.handle(req);
            if (resp == null) {
                throw new IllegalStateException("handler returned no response");
            }
            if (resp.isWebSocket() != (req.isWebSocket() && resp.status() == 101)) {
                throw new IllegalStateException(req.isWebSocket()
                        ? "accept a WebSocket with TunnelResponse.webSocket(...), not a bare 101"
                        : "TunnelResponse.webSocket(...) answers only WebSocket upgrade requests");
            }
            if (s.isAborted()) {
                return;
            }
            if (resp.isWebSocket()) {
                handedOff = startWebSocket(s, resp, start);
                status = 101;
                return;
            }
            byte[] bytes = resp.bodyBytes();
            boolean noBody = bytes != null && bytes.length == 0;
            status = resp.status();
            if (bytes != null && !s.isAborted() && sendWhole(id, resp.status(), withLength(resp.headers(), bytes), bytes)) {
                headSent = true;
                return;
            }
            send(new Control.Response(id, resp.status(), withLength(resp.headers(), bytes), noBody));
            headSent = true;
            if (noBody) {
                return;
            }
            if (bytes != null) {
                s.response.write(bytes, 0, bytes.length);
            } else {
                resp.writer().writeTo(s.response);
            }
            if (!s.isAborted()) {
                send(new Control.End(id));
            }
        } catch (Throwable e) {
            if (!s.isAborted()) {
                log.debug("stream {} ({} {}) failed", id, req.method(), req.path(), e);
                if (!headSent) {
                    status = 502;
                }
                s.abort("handler failed", false);
                send(new Control.Reset(id, "handler failed: " + e.getClass().getSimpleName()));
            }
            if (e instanceof Error && !(e instanceof StackOverflowError)) {
                throw (Error) e;
            }
        } finally {
            if (handedOff) {
                return; // the WsStream ends the stream and logs it
            }
            streams.remove(id, s);
            s.body.close();
            if (resp != null && resp.resource() != null) {
                try {
                    resp.resource().close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
            if (status == 0) {
                status = s.isAborted() ? 499 : 502;
            }
            emit(new TunnelEvent.Request(req.method(), req.path(), status, (System.nanoTime() - start) / 1_000_000));
        }
    }

    /** Installs the WebSocket bridge, sends the 101, then lets the socket run; false if reset meanwhile. */
    private boolean startWebSocket(Stream s, TunnelResponse resp, long start) {
        TunnelRequest req = s.request;
        int id = req.streamId();
        WsStream ws = new WsStream(this, wsOwner, id, s.window, req, resp.subprotocol(), resp.webSocketSink(), workers);
        synchronized (s) {
            if (s.isAborted()) {
                return false;
            }
            s.ws = ws;
        }
        s.body.close();
        send(new Control.Response(id, 101, resp.headers(), false));
        ws.start();
        return true;
    }

    private final WsStream.Owner wsOwner = new WsStream.Owner() {
        @Override
        public void finished(WsStream ws) {
            Stream s = streams.get(ws.id());
            if (s != null && s.ws == ws) {
                streams.remove(ws.id(), s);
            }
        }

        @Override
        public void closed(WsStream ws) {
            TunnelRequest r = ws.request();
            emit(new TunnelEvent.Request(r.method(), r.path(), 101, (System.nanoTime() - ws.startNanos) / 1_000_000));
        }
    };

    /** The listener is {@code CaptunTunnel::emit}, which already shields the SDK from a throwing user listener. */
    private void emit(TunnelEvent e) {
        if (listener != null) {
            listener.onEvent(e);
        }
    }

    private static final class Stream {
        final TunnelRequest request;
        final RequestBodyStream body;
        final ResponseBodyStream response;
        final int window;
        volatile WsStream ws;
        private volatile boolean aborted;

        Stream(TunnelRequest request, RequestBodyStream body, ResponseBodyStream response, int window) {
            this.request = request;
            this.body = body;
            this.response = response;
            this.window = window;
        }

        boolean isAborted() {
            return aborted;
        }

        void abort(String reason, boolean byPeer) {
            WsStream w;
            synchronized (this) {
                aborted = true;
                w = ws;
            }
            if (w != null) {
                w.abort(WsStream.TUNNEL_DISCONNECTED);
            }
            request.abort(); // first: code woken by the aborts below already sees isAborted()
            body.abort(reason);
            response.abort(reason);
        }
    }
}
