package dev.captun.client;

import dev.captun.protocol.Header;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What a {@link TunnelHandler} answers: a status, headers, and a body that is either fixed bytes or
 * a streaming {@link BodyWriter}. Immutable; {@link #header} returns a copy.
 */
public final class TunnelResponse {

    /**
     * Writes a streaming body. Every {@code write} is sent to the gateway promptly (no buffering:
     * wrap the stream yourself to batch small writes); a write blocks while this stream's credit is
     * exhausted and throws {@code IOException} once the stream was reset.
     */
    @FunctionalInterface
    public interface BodyWriter {
        void writeTo(OutputStream out) throws Exception;
    }

    private static final byte[] EMPTY = new byte[0];

    private final int status;
    private final List<Header> headers;
    private final byte[] bytes;
    private final BodyWriter writer;
    private final AutoCloseable resource;
    private final Function<Executor, WsStream.Sink> webSocket;
    /** The user's listener behind {@link #webSocket} in handler mode (so an observer can wrap the socket it is given), else null. */
    private final TunnelWebSocket.Listener listener;

    private TunnelResponse(int status, List<Header> headers, byte[] bytes, BodyWriter writer, AutoCloseable resource) {
        this(status, headers, bytes, writer, resource, null, null);
    }

    private TunnelResponse(int status, List<Header> headers, byte[] bytes, BodyWriter writer, AutoCloseable resource,
            Function<Executor, WsStream.Sink> webSocket, TunnelWebSocket.Listener listener) {
        if (status < 100 || status > 999) {
            throw new IllegalArgumentException("invalid status " + status);
        }
        this.status = status;
        this.headers = List.copyOf(headers);
        this.bytes = bytes;
        this.writer = writer;
        this.resource = resource;
        this.webSocket = webSocket;
        this.listener = listener;
    }

    /** UTF-8 text with {@code content-type: text/plain; charset=utf-8}. */
    public static TunnelResponse text(int status, String body) {
        return new TunnelResponse(status, List.of(new Header("content-type", "text/plain; charset=utf-8")),
                body.getBytes(StandardCharsets.UTF_8), null, null);
    }

    /** A JSON document with {@code content-type: application/json}. */
    public static TunnelResponse json(int status, String json) {
        return new TunnelResponse(status, List.of(new Header("content-type", "application/json")),
                json.getBytes(StandardCharsets.UTF_8), null, null);
    }

    /** Raw bytes, no headers. The array is copied (later changes to it do not show). */
    public static TunnelResponse bytes(int status, byte[] body) {
        return new TunnelResponse(status, List.of(), body.clone(), null, null);
    }

    /** Raw bytes the SDK itself just read (the target proxy): taken over without the defensive copy. */
    static TunnelResponse owning(int status, byte[] body) {
        return new TunnelResponse(status, List.of(), Objects.requireNonNull(body), null, null);
    }

    /** No body. */
    public static TunnelResponse empty(int status) {
        return new TunnelResponse(status, List.of(), EMPTY, null, null);
    }

    /** A body produced by {@code writer} while it runs (e.g. Server-Sent Events, large downloads). */
    public static TunnelResponse streaming(int status, BodyWriter writer) {
        return new TunnelResponse(status, List.of(), null, Objects.requireNonNull(writer), null);
    }

    /**
     * Accepts a public WebSocket upgrade ({@link TunnelRequest#isWebSocket()}): the SDK answers
     * {@code 101}, naming {@code subprotocol} in {@code sec-websocket-protocol} when it is not null
     * (it should be one of {@link TunnelRequest#webSocketProtocols()}), then drives
     * {@code listener} (see {@link TunnelWebSocket.Listener}). To refuse an upgrade, return any
     * ordinary response instead (e.g. {@code text(403, "no")}): the public handshake fails with it.
     */
    public static TunnelResponse webSocket(String subprotocol, TunnelWebSocket.Listener listener) {
        Objects.requireNonNull(listener, "listener");
        return webSocketResponse(subprotocol, ListenerSink.of(listener), listener);
    }

    static TunnelResponse webSocketSink(String subprotocol, Function<Executor, WsStream.Sink> sink) {
        return webSocketResponse(subprotocol, sink, null);
    }

    private static TunnelResponse webSocketResponse(String subprotocol, Function<Executor, WsStream.Sink> sink,
            TunnelWebSocket.Listener listener) {
        List<Header> h = subprotocol == null || subprotocol.isEmpty() ? List.of()
                : List.of(new Header("sec-websocket-protocol", subprotocol));
        return new TunnelResponse(101, h, EMPTY, null, null, sink, listener);
    }

    /** True for an accepted WebSocket ({@link #webSocket}). */
    public boolean isWebSocket() {
        return webSocket != null;
    }

    Function<Executor, WsStream.Sink> webSocketSink() {
        return webSocket;
    }

    /** The subprotocol this response names in {@code sec-websocket-protocol}, or null. */
    String subprotocol() {
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("sec-websocket-protocol")) {
                return h.value();
            }
        }
        return null;
    }

    /** A copy with one more header field (repeats are kept). */
    public TunnelResponse header(String name, String value) {
        List<Header> h = new ArrayList<>(headers);
        h.add(new Header(name, value));
        return new TunnelResponse(status, h, bytes, writer, resource, webSocket, listener);
    }

    /** A copy with these header fields replacing all others. */
    public TunnelResponse headers(List<Header> newHeaders) {
        return new TunnelResponse(status, newHeaders, bytes, writer, resource, webSocket, listener);
    }

    public int status() {
        return status;
    }

    public List<Header> headers() {
        return headers;
    }

    /** True when the body comes from a {@link BodyWriter}. */
    public boolean isStreaming() {
        return writer != null;
    }

    /** The fixed body (a copy), or null for a streaming response. */
    public byte[] body() {
        return bytes == null ? null : bytes.clone();
    }

    /** A read-only view of the fixed body (no copy), or null for a streaming response. */
    public ByteBuffer bodyView() {
        return bytes == null ? null : ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    /**
     * A copy whose streaming body is produced by {@code wrap.apply(writer)} instead (e.g. a writer that
     * records what the original writes, as the request inspector does). Fixed bodies and WebSockets are
     * returned unchanged.
     */
    public TunnelResponse wrapWriter(UnaryOperator<BodyWriter> wrap) {
        if (writer == null) {
            return this;
        }
        return new TunnelResponse(status, headers, bytes, Objects.requireNonNull(wrap.apply(writer)), resource, webSocket, listener);
    }

    /**
     * Consumes this response outside the tunnel (a replay): writes its body to {@code out} (running
     * the writer of a streaming one), then releases what it holds (the proxy's local connection).
     */
    public void writeBody(OutputStream out) throws Exception {
        try {
            if (bytes != null) {
                out.write(bytes);
            } else {
                writer.writeTo(out);
            }
        } finally {
            if (resource != null) {
                resource.close();
            }
        }
    }

    /**
     * A copy of an accepted WebSocket ({@link #isWebSocket()}) whose messages, both ways, and close are
     * also reported to {@code observer}; other responses are returned unchanged. Messages the local
     * service sends in target mode and those a handler's listener sends are both seen.
     */
    public TunnelResponse withWebSocketObserver(TunnelWebSocket.Observer observer) {
        Objects.requireNonNull(observer);
        if (webSocket == null) {
            return this;
        }
        if (listener != null) {
            TunnelWebSocket.Listener observed = ObservedSocket.listener(listener, observer);
            return new TunnelResponse(status, headers, bytes, writer, resource, ListenerSink.of(observed), observed);
        }
        Function<Executor, WsStream.Sink> inner = webSocket;
        return new TunnelResponse(status, headers, bytes, writer, resource,
                workers -> new ObservingSink(inner.apply(workers), observer), null);
    }

    /** Target mode: sees what the public client sends and the close; the local side is seen by {@link LocalWebSocket}. */
    private static final class ObservingSink implements WsStream.Sink {
        private final WsStream.Sink inner;
        private final TunnelWebSocket.Observer observer;

        ObservingSink(WsStream.Sink inner, TunnelWebSocket.Observer observer) {
            this.inner = inner;
            this.observer = observer;
            if (inner instanceof LocalWebSocket local) {
                local.observe(observer);
            }
        }

        @Override
        public CompletionStage<?> open(WsStream socket) {
            return inner.open(socket);
        }

        @Override
        public CompletionStage<?> text(String message) {
            observer.onText(true, message);
            return inner.text(message);
        }

        @Override
        public CompletionStage<?> binary(ByteBuffer message) {
            observer.onBinary(true, message.asReadOnlyBuffer());
            return inner.binary(message);
        }

        @Override
        public CompletionStage<?> close(int code, String reason, boolean abrupt) {
            observer.onClose(code, reason);
            return inner.close(code, reason, abrupt);
        }

        @Override
        public void abortNow() {
            inner.abortNow();
        }
    }

    byte[] bodyBytes() {
        return bytes;
    }

    BodyWriter writer() {
        return writer;
    }

    /** Released by the SDK when the response is finished or discarded (the proxy's local response). */
    TunnelResponse withResource(AutoCloseable r) {
        return new TunnelResponse(status, headers, bytes, writer, r, webSocket, listener);
    }

    AutoCloseable resource() {
        return resource;
    }
}
