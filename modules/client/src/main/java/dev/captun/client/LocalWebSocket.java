package dev.captun.client;

import dev.captun.protocol.Header;
import dev.captun.protocol.HopByHop;
import dev.captun.protocol.Protocol;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Target proxy mode for a public WebSocket: a java.net.http WebSocket to the local service, bridged
 * to the tunnel stream. Local → tunnel: each whole local message (collected up to 16 MiB) goes to
 * {@link WsStream#sendText}/{@link WsStream#sendBinary}, and the next one is requested from the
 * local socket only when it has been handed to the tunnel (back-pressure). Tunnel → local: one
 * outstanding send at a time (the {@link WsStream} sequences deliveries).
 *
 * <p>Close codes toward the local socket: java.net.http can only send 1000 and 3000–4999, so other
 * codes (1001 going away, 1011…) are sent as 1000 with the reason kept.
 */
final class LocalWebSocket implements WebSocket.Listener, WsStream.Sink {
    private static final Logger log = LoggerFactory.getLogger(LocalWebSocket.class);
    /** Not passed to the local handshake: hop-by-hop (HopByHop.ALWAYS is added), or set by java.net.http itself. */
    static final Set<String> DROP = Set.of("host", "content-length", "expect");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    private static final long CLOSE_GRACE_SECONDS = 5;

    private volatile WebSocket local;
    private volatile WsStream tunnel;
    private volatile boolean localClosed; // the local side sent its close or failed
    private volatile boolean closeSent;   // we sent a close to the local side
    private volatile String earlyFailure; // local error before the tunnel socket opened
    private volatile TunnelWebSocket.Observer observer; // the request inspector, when on
    // local → tunnel assembly (java.net.http calls the listener one at a time)
    private StringBuilder text;
    private ByteArrayOutputStream binary;

    private LocalWebSocket() {}

    /** Opens the local socket; the 101, a relayed refusal, or throws (→ reset, gateway answers 502). */
    static TunnelResponse open(HttpClient client, URI uri, TunnelRequest req) throws Exception {
        WebSocket.Builder b = client.newWebSocketBuilder().connectTimeout(HANDSHAKE_TIMEOUT);
        List<String> offered = new ArrayList<>();
        for (String p : req.webSocketProtocols()) {
            if (TOKEN.matcher(p).matches()) {
                offered.add(p);
            }
        }
        if (!offered.isEmpty()) {
            b.subprotocols(offered.get(0), offered.subList(1, offered.size()).toArray(new String[0]));
        }
        for (Header h : HopByHop.strip(req.headers(), DROP)) {
            if (!h.name().toLowerCase(Locale.ROOT).startsWith("sec-websocket-")) {
                try {
                    b.header(h.name(), h.value());
                } catch (IllegalArgumentException e) {
                    log.debug("header {} not passed to the local WebSocket: {}", h.name(), e.getMessage());
                }
            }
        }
        LocalWebSocket bridge = new LocalWebSocket();
        CompletableFuture<WebSocket> cf = b.buildAsync(uri, bridge);
        req.onAbort(() -> cf.thenAccept(WebSocket::abort));
        WebSocket ws;
        try {
            ws = cf.get(HANDSHAKE_TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            while (c != null && !(c instanceof WebSocketHandshakeException) && c.getCause() != null && c.getCause() != c) {
                c = c.getCause();
            }
            if (c instanceof WebSocketHandshakeException h) {
                return refusal(h.getResponse());
            }
            throw e;
        }
        bridge.local = ws;
        String chosen = ws.getSubprotocol();
        return TunnelResponse.webSocketSink(chosen == null || chosen.isEmpty() ? null : chosen, workers -> bridge)
                .withResource(ws::abort);
    }

    /** The local service refused the upgrade: relay its status, content-type and body. */
    private static TunnelResponse refusal(HttpResponse<?> r) {
        Object body = r.body();
        byte[] bytes = body instanceof byte[] b ? b
                : body instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : new byte[0];
        int status = r.statusCode() == 101 || r.statusCode() < 200 ? 502 : r.statusCode();
        TunnelResponse resp = bytes.length == 0 ? TunnelResponse.empty(status) : TunnelResponse.owning(status, bytes);
        Optional<String> ct = r.headers().firstValue("content-type");
        if (ct.isPresent()) {
            resp = resp.header("content-type", ct.get());
        }
        return resp;
    }

    /** Reports the local service's messages to {@code o} (the public client's are seen by the wrapping sink). */
    void observe(TunnelWebSocket.Observer o) {
        observer = o;
    }

    // ---- tunnel → local (Sink; sequenced by the WsStream) ----

    @Override
    public CompletionStage<?> open(WsStream socket) {
        tunnel = socket;
        String failed = earlyFailure;
        if (failed != null) {
            socket.resetByUs(failed);
        } else {
            local.request(1); // only now: nothing local may reach the tunnel before the 101
        }
        return null;
    }

    @Override
    public CompletionStage<?> text(String message) {
        return local.sendText(message, true);
    }

    @Override
    public CompletionStage<?> binary(ByteBuffer message) {
        return local.sendBinary(message, true);
    }

    @Override
    public CompletionStage<?> close(int code, String reason, boolean abrupt) {
        WebSocket ws = local;
        if (abrupt) {
            ws.abort();
            return null;
        }
        if (!localClosed && !closeSent) {
            closeSent = true;
            int c = code == 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
            CompletableFuture<WebSocket> sent;
            try {
                sent = ws.sendClose(c, dev.captun.protocol.Protocol.truncateReason(reason));
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            sent.whenComplete((w, e) -> {
                if (e != null) {
                    ws.abort();
                }
            });
        }
        // the local service should answer the close; drop the connection if it does not
        CompletableFuture.delayedExecutor(CLOSE_GRACE_SECONDS, TimeUnit.SECONDS).execute(() -> {
            if (!ws.isInputClosed()) {
                ws.abort();
            }
        });
        return null;
    }

    @Override
    public void abortNow() {
        WebSocket ws = local;
        if (ws != null) {
            ws.abort();
        }
    }

    // ---- local → tunnel (java.net.http listener) ----

    @Override
    public void onOpen(WebSocket webSocket) {
        local = webSocket; // no request(1) yet: see open(WsStream)
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        WsStream t = tunnel;
        if (closeSent || t == null) {
            return null;
        }
        if (text == null) {
            text = new StringBuilder();
        }
        text.append(data);
        if (text.length() > Protocol.MAX_TUNNELED_WS_MESSAGE) { // UTF-8 bytes ≥ chars
            tooLarge(webSocket, t);
            return null;
        }
        if (!last) {
            webSocket.request(1);
            return null;
        }
        String m = text.toString();
        text = null;
        if (m.length() * 3L > Protocol.MAX_TUNNELED_WS_MESSAGE
                && m.getBytes(StandardCharsets.UTF_8).length > Protocol.MAX_TUNNELED_WS_MESSAGE) {
            tooLarge(webSocket, t);
            return null;
        }
        TunnelWebSocket.Observer o = observer;
        if (o != null) {
            o.onText(false, m);
        }
        forward(webSocket, t.sendText(m));
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        WsStream t = tunnel;
        if (closeSent || t == null) {
            return null;
        }
        if (binary == null) {
            binary = new ByteArrayOutputStream();
        }
        if ((long) binary.size() + data.remaining() > Protocol.MAX_TUNNELED_WS_MESSAGE) {
            tooLarge(webSocket, t);
            return null;
        }
        byte[] b = new byte[data.remaining()];
        data.get(b);
        binary.writeBytes(b);
        if (!last) {
            webSocket.request(1);
            return null;
        }
        byte[] m = binary.toByteArray();
        binary = null;
        TunnelWebSocket.Observer o = observer;
        if (o != null) {
            o.onBinary(false, ByteBuffer.wrap(m).asReadOnlyBuffer());
        }
        forward(webSocket, t.sendBinary(m));
        return null;
    }

    private void forward(WebSocket webSocket, CompletableFuture<Void> sent) {
        sent.whenComplete((v, e) -> {
            if (e == null) {
                webSocket.request(1); // the next local message only once this one is in the tunnel
            }
        });
    }

    private void tooLarge(WebSocket webSocket, WsStream t) {
        text = null;
        binary = null;
        closeSent = true;
        webSocket.sendClose(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON)
                .whenComplete((w, e) -> {
                    if (e != null) {
                        webSocket.abort();
                    }
                });
        webSocket.request(1); // read on until the local close echo
        t.closeWithError(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        webSocket.request(1); // java.net.http answers with a pong itself
        return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        localClosed = true;
        WsStream t = tunnel;
        if (t != null) {
            // 1005 = the local service sent no code; PROTOCOL.md reports that as 1000
            t.closeAfterQueued(statusCode == 1005 || statusCode == 1006 ? 1000 : statusCode, reason == null ? "" : reason);
        }
        return null; // java.net.http echoes the close
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        localClosed = true;
        String why = "local WebSocket failed: " + (error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage());
        log.debug(why, error);
        WsStream t = tunnel;
        if (t != null) {
            t.resetByUs(why);
        } else {
            earlyFailure = why;
        }
    }
}
