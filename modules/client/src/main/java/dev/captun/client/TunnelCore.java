package dev.captun.client;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transport-independent heart of one tunnel connection (protocol 3): decodes the gateway's
 * messages with {@link FrameReader}, keeps the stream table, routes credit, and hands each new
 * stream to {@link StreamRunner} on the workers. The transport feeds it whole binary messages
 * ({@link #onMessage}) from one thread at a time and gives it an {@link Outbound} that keeps order.
 */
final class TunnelCore implements FrameHandler {
    private static final Logger log = LoggerFactory.getLogger(TunnelCore.class);
    static final String HEALTH_PATH = "/__captun/health";
    /** Set by the SDK on every request it hands on (SPEC: the local service sees the tunnel's URL). */
    static final String TUNNEL_URL_HEADER = "x-captun-tunnel-url";
    private static final byte[] HEALTH_BODY = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
    private static final List<Header> HEALTH_HEADERS = List.of(new Header("content-type", "application/json"),
            new Header("cache-control", "no-store"), new Header("content-length", Integer.toString(HEALTH_BODY.length)));

    /** Where outgoing messages go: each buffer holds whole frames. Must not block and must keep order. */
    interface Outbound {
        void sendBinary(ByteBuffer frames);
    }

    private final Outbound out;
    private final TunnelListener listener;
    private final Executor workers;
    private final StreamRunner runner;
    private final ConcurrentHashMap<Integer, TunnelStream> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<Control.Ready> ready = new CompletableFuture<>();
    private volatile int window = Protocol.DEFAULT_WINDOW;
    /** {@code ready.url}, added to every request; null before {@code ready}. */
    private volatile String tunnelUrl;
    private volatile boolean closed;
    private volatile long lastSeenNanos = System.nanoTime();
    private volatile Control.Close announcedClose;

    // Transport thread only, during onMessage: the message being decoded and the streams it opened.
    private ByteBuffer message;
    private int base;
    private final ArrayList<TunnelStream> opened = new ArrayList<>();

    TunnelCore(Outbound out, TunnelHandler handler, Executor workers, TunnelListener listener) {
        this.out = out;
        this.listener = listener;
        this.workers = workers;
        this.runner = new StreamRunner(this, handler, workers);
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

    /** The code and reason of a CLOSE frame from the gateway, or null. */
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

    /**
     * One binary message from the gateway. The core keeps slices of it (request bodies, WebSocket
     * messages), so the transport must not reuse the buffer. Streams opened by the message start
     * once the whole message is decoded: a small body sent with its head has then already arrived.
     */
    void onMessage(ByteBuffer m) throws ProtocolException {
        touch();
        message = m;
        base = m.position();
        try {
            FrameReader.read(m, this);
        } catch (ProtocolException e) {
            opened.clear(); // the transport closes the connection; shutdown aborts them
            throw e;
        } finally {
            message = null;
        }
        for (int i = 0; i < opened.size(); i++) {
            start(opened.get(i));
        }
        opened.clear();
    }

    /** A payload of the message being decoded, as a slice (no copy). */
    private ByteBuffer slice(int offset, int length) {
        return message.slice(base + offset, length);
    }

    // ---- FrameHandler (transport thread) ----

    @Override
    public void onRequest(int id, String method, String path, List<Header> headers, boolean end, boolean websocket)
            throws ProtocolException {
        String url = tunnelUrl;
        if (url == null) {
            throw new ProtocolException("request before ready");
        }
        String p = path.isEmpty() ? "/" : path;
        int q = p.indexOf('?');
        if ((q < 0 ? p : p.substring(0, q)).equals(HEALTH_PATH)) {
            answerHealth(id);
            return;
        }
        // The gateway no longer sends the tunnel URL per request: the SDK adds it, replacing any other.
        List<Header> h = headers instanceof ArrayList<Header> a ? a : new ArrayList<>(headers);
        h.removeIf(x -> x.name().equalsIgnoreCase(TUNNEL_URL_HEADER));
        h.add(new Header(TUNNEL_URL_HEADER, url));
        int w = window;
        RequestBodyStream body = new RequestBodyStream(w, n -> send(new FrameWriter(32).credit(id, n)), end);
        TunnelRequest req = TunnelRequest.owning(id, method, p, h, websocket, body);
        TunnelStream s = new TunnelStream(req, body, new ResponseBodyStream(id, w, this), w);
        if (streams.putIfAbsent(id, s) != null) {
            throw new ProtocolException("stream id " + id + " reused");
        }
        opened.add(s);
    }

    /** Answered here on the transport thread: tiny, one message, within any sane initial window. */
    private void answerHealth(int id) {
        send(new FrameWriter(128).response(id, 200, HEALTH_HEADERS, false).data(id, HEALTH_BODY, 0, HEALTH_BODY.length, true));
    }

    private void start(TunnelStream s) {
        if (s.isAborted()) {
            streams.remove(s.id(), s); // reset within the same message: nothing to answer
            return;
        }
        try {
            workers.execute(() -> runner.run(s));
        } catch (RejectedExecutionException e) {
            streams.remove(s.id(), s);
            send(new FrameWriter(48).reset(s.id(), "client shutting down"));
        }
    }

    @Override
    public void onResponse(int id, int status, List<Header> headers, boolean end) throws ProtocolException {
        throw new ProtocolException("response frame from the gateway");
    }

    @Override
    public void onData(int id, int offset, int length, boolean end) throws ProtocolException {
        TunnelStream s = streams.get(id);
        if (s == null) {
            return; // unknown/finished stream (races with reset)
        }
        if (length > 0) {
            s.body.offer(slice(offset, length));
        }
        if (end) {
            s.body.end();
        }
    }

    @Override
    public void onCredit(int id, int bytes) {
        TunnelStream s = streams.get(id);
        if (s != null) {
            WsStream ws = s.ws();
            if (ws != null) {
                ws.grant(bytes);
            } else {
                s.response.grant(bytes);
            }
        }
    }

    @Override
    public void onReset(int id, String reason) {
        TunnelStream s = streams.get(id);
        if (s != null) {
            log.debug("stream {} reset by gateway: {}", id, reason);
            s.abort("reset by gateway" + (reason.isEmpty() ? "" : ": " + reason));
        }
    }

    @Override
    public void onWsFragment(int id, boolean text, int offset, int length, boolean fin) throws ProtocolException {
        TunnelStream s = streams.get(id);
        WsStream ws = s == null ? null : s.ws();
        if (ws != null) {
            ws.onFragment(text, slice(offset, length), fin);
        } // on a stream not accepted as a WebSocket: ignored
    }

    @Override
    public void onWsClose(int id, int code, String reason) {
        TunnelStream s = streams.get(id);
        WsStream ws = s == null ? null : s.ws();
        if (ws != null) {
            ws.onPeerClose(code, reason);
        }
    }

    @Override
    public void onReady(Control.Ready r) throws ProtocolException {
        if (ready.isDone()) {
            throw new ProtocolException("second ready");
        }
        if (r.version() < Protocol.MIN_VERSION || r.version() > Protocol.VERSION) {
            ProtocolException e = new ProtocolException("gateway speaks captun protocol version " + r.version()
                    + ", this client speaks " + Protocol.VERSION);
            ready.completeExceptionally(e);
            throw e;
        }
        if (r.window() > 0) {
            window = r.window();
        }
        tunnelUrl = r.url();
        ready.complete(r);
    }

    @Override
    public void onPing(long nonce) {
        send(new FrameWriter(FrameType.HEADER_BYTES + 8).pong(nonce));
    }

    @Override
    public void onPong(long nonce) {
        // sign of life only (touched in onMessage)
    }

    @Override
    public void onClose(int code, String reason) {
        announcedClose = new Control.Close(code, reason); // the real code: Pekko HTTP can only close with 1000 on the wire
    }

    @Override
    public void onDrain(String reason) {
        emit(new TunnelEvent.Draining(reason)); // CaptunTunnel moves to another gateway
    }

    // ---- lifecycle and sending ----

    /** The connection ended: abort every stream, stop sending. */
    void shutdown(String reason) {
        closed = true;
        ready.completeExceptionally(new IllegalStateException("connection ended: " + reason));
        for (TunnelStream s : streams.values()) {
            s.abort(reason);
        }
        streams.clear();
    }

    /** Sends the frames written into {@code w} as one unit; {@code w} must not be used afterwards. */
    void send(FrameWriter w) {
        if (!closed && !w.isEmpty()) {
            out.sendBinary(ByteBuffer.wrap(w.array(), 0, w.size()));
        }
    }

    /** A stream ended (answered, failed, or its WebSocket finished). */
    void remove(TunnelStream s) {
        streams.remove(s.id(), s);
    }

    /** Drops the stream of a finished WebSocket bridge. */
    void removeWs(WsStream ws) {
        TunnelStream s = streams.get(ws.id());
        if (s != null && s.ws() == ws) {
            streams.remove(ws.id(), s);
        }
    }

    /** The listener is {@code CaptunTunnel::emit}, which already shields the SDK from a throwing user listener. */
    void emit(TunnelEvent e) {
        if (listener != null) {
            listener.onEvent(e);
        }
    }
}
