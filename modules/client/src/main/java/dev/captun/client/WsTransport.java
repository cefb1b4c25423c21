package dev.captun.client;

import dev.captun.protocol.Control;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One java.net.http WebSocket to the gateway (protocol 3, binary only): reassembles partial
 * messages for the {@link TunnelCore}, serialises sends through its own queue (java.net.http allows
 * one outstanding send) and joins what queued up meanwhile into one message, runs the heartbeat,
 * and reports the end of the connection once through {@link #closed()}.
 */
final class WsTransport implements WebSocket.Listener, TunnelCore.Outbound {
    private static final Logger log = LoggerFactory.getLogger(WsTransport.class);
    private static final Object CLOSE = new Object();
    /** A WebSocket-level ping (queued like any frame: java.net.http allows one outstanding send). */
    private static final Object PING = new Object();

    /** How the connection ended; {@code code} 1006 = no close frame (error, abort). */
    record CloseInfo(int code, String reason) {}

    private TunnelCore core;
    private final ScheduledExecutorService scheduler;
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean busy = new AtomicBoolean();
    private final CompletableFuture<CloseInfo> closed = new CompletableFuture<>();
    private volatile WebSocket ws;
    private volatile ScheduledFuture<?> heartbeat;
    private byte[] binParts;
    private int binLength;

    WsTransport(ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
    }

    void bind(TunnelCore core) {
        this.core = core;
    }

    CompletableFuture<CloseInfo> closed() {
        return closed;
    }

    // ---- listener (one callback at a time) ----

    @Override
    public void onOpen(WebSocket webSocket) {
        this.ws = webSocket;
        webSocket.request(Long.MAX_VALUE); // memory is bounded by per-stream credit, not by demand
        drain();
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        core.touch();
        if (!closed.isDone()) {
            protocolError(new ProtocolException("text message from the gateway (protocol " + Protocol.VERSION + " is binary only)"));
        }
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        core.touch();
        if (closed.isDone()) {
            return null;
        }
        int n = data.remaining();
        if ((binParts == null ? 0 : binLength) + n > Protocol.MAX_MESSAGE_BYTES) {
            binParts = null;
            protocolError(new ProtocolException("message exceeds " + Protocol.MAX_MESSAGE_BYTES + " bytes"));
            return null;
        }
        if (binParts == null) {
            binLength = 0;
            binParts = new byte[last ? n : Math.min(Protocol.MAX_MESSAGE_BYTES, Math.max(n * 2, 16 * 1024))];
        } else if (binLength + n > binParts.length) {
            binParts = Arrays.copyOf(binParts, Math.min(Protocol.MAX_MESSAGE_BYTES, Math.max(binLength + n, binParts.length * 2)));
        }
        // The one copy java.net.http forces (its buffer is reused once this returns); frames are sliced from here on.
        data.get(binParts, binLength, n);
        binLength += n;
        if (!last) {
            return null;
        }
        ByteBuffer message = ByteBuffer.wrap(binParts, 0, binLength);
        binParts = null; // never reused: the core keeps slices of it
        try {
            core.onMessage(message);
        } catch (ProtocolException e) {
            protocolError(e);
        } catch (RuntimeException e) {
            log.warn("unexpected error handling a message", e);
        }
        return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        core.touch();
        return null; // java.net.http answers with a pong itself
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
        core.touch();
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        terminate(statusCode, reason == null ? "" : reason);
        return null; // java.net.http echoes the close
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        terminate(1006, String.valueOf(error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage()));
    }

    // ---- sending ----

    @Override
    public void sendBinary(ByteBuffer frames) {
        enqueue(frames);
    }

    private void enqueue(Object frame) {
        if (closed.isDone()) {
            return;
        }
        queue.add(frame);
        drain();
    }

    private void drain() {
        WebSocket w = ws;
        if (w == null) {
            return;
        }
        while (busy.compareAndSet(false, true)) {
            while (true) {
                Object f = queue.poll();
                if (f == null) {
                    break;
                }
                if (closed.isDone()) {
                    queue.clear();
                    break;
                }
                CompletableFuture<WebSocket> cf;
                try {
                    if (f == CLOSE) {
                        cf = w.sendClose(WebSocket.NORMAL_CLOSURE, "client closed");
                    } else if (f == PING) {
                        cf = w.sendPing(ByteBuffer.allocate(0));
                    } else {
                        cf = w.sendBinary(batch((ByteBuffer) f), true);
                    }
                } catch (RuntimeException e) {
                    cf = CompletableFuture.failedFuture(e);
                }
                if (!cf.isDone()) {
                    cf.whenComplete((ok, err) -> {
                        if (err != null) {
                            sendFailed(err);
                        }
                        busy.set(false);
                        if (err == null) {
                            drain();
                        }
                    });
                    return;
                }
                if (cf.isCompletedExceptionally()) {
                    busy.set(false);
                    sendFailed(cf.handle((a, b) -> b).join());
                    return;
                }
            }
            busy.set(false);
            if (queue.isEmpty()) {
                return;
            }
        }
    }

    /**
     * Joins the buffers queued right behind {@code first} (written while the previous send was under
     * way) into one message of at most {@link Protocol#MAX_MESSAGE_BYTES}: one send, one message for
     * the gateway to read. Stops at a close or ping marker, so the order is kept.
     */
    private ByteBuffer batch(ByteBuffer first) {
        int total = first.remaining();
        if (!(queue.peek() instanceof ByteBuffer next) || total + next.remaining() > Protocol.MAX_MESSAGE_BYTES) {
            return first;
        }
        List<ByteBuffer> parts = new ArrayList<>();
        parts.add(first);
        while (queue.peek() instanceof ByteBuffer b && total + b.remaining() <= Protocol.MAX_MESSAGE_BYTES) {
            queue.poll(); // single consumer (the drain loop holds `busy`): the peeked element is the one polled
            parts.add(b);
            total += b.remaining();
        }
        byte[] joined = new byte[total];
        int at = 0;
        for (ByteBuffer b : parts) {
            int n = b.remaining();
            b.get(b.position(), joined, at, n);
            at += n;
        }
        return ByteBuffer.wrap(joined);
    }

    private void sendFailed(Throwable err) {
        if (!closed.isDone()) {
            log.debug("tunnel send failed", err);
            abort(1006, "send failed: " + err);
        }
    }

    // ---- lifecycle ----

    /**
     * Liveness, checked once per heartbeat interval. The gateway sends PING every interval and this
     * side answers PONG, so on a healthy tunnel the gateway's frames are the sign of life and nothing
     * extra is sent. Only when the gateway has been silent for {@link #PING_AFTER_INTERVALS} intervals
     * does this side ping (a WebSocket ping, answered by the gateway's WebSocket layer): that draws a
     * RST from a gateway host that lost the connection. Silent for 3 intervals: dead. A gateway that
     * dies with a FIN or RST (a killed process) is reported by java.net.http at once, without a ping.
     * Idle cost on the node matters: with 10,000 tunnels every extra ping interval is thousands of
     * socket wake-ups a second there.
     */
    void startHeartbeat(int seconds) {
        long nanos = TimeUnit.SECONDS.toNanos(seconds);
        int every = Math.max(1, seconds);
        heartbeat = scheduler.scheduleAtFixedRate(() -> {
            long silent = System.nanoTime() - core.lastSeenNanos();
            if (silent > 3 * nanos) {
                log.debug("gateway silent for 3 heartbeat intervals");
                closeWith(Protocol.CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
            } else if (silent > PING_AFTER_INTERVALS * nanos) {
                enqueue(PING);
            }
        }, every, every, TimeUnit.SECONDS);
    }

    /** Gateway silence (in heartbeat intervals) after which this side pings: its PING is overdue. */
    static final double PING_AFTER_INTERVALS = 1.5;

    private void protocolError(ProtocolException e) {
        log.warn("captun protocol error: {}", e.getMessage());
        closeWith(Protocol.CLOSE_PROTOCOL_ERROR, e.getMessage());
    }

    /** Close with {@code code} now (not behind queued frames), then drop the socket. */
    void closeWith(int code, String reason) {
        WebSocket w = ws;
        terminate(code, reason);
        if (w != null) {
            String r = reason == null ? "" : reason.length() > 100 ? reason.substring(0, 100) : reason;
            try {
                w.sendClose(code, r).whenComplete((a, b) -> w.abort());
            } catch (RuntimeException e) {
                w.abort();
            }
            scheduler.schedule(w::abort, 1, TimeUnit.SECONDS);
        }
    }

    /** Normal close (1000) after the frames already queued; gives up and aborts after {@code timeoutMillis}. */
    void closeNormally(long timeoutMillis) {
        WebSocket w = ws;
        if (w == null || closed.isDone()) {
            terminate(1000, "client closed");
            if (w != null) {
                w.abort();
            }
            return;
        }
        queue.add(CLOSE);
        drain();
        try {
            closed.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // no echo in time
        }
        terminate(1000, "client closed");
        w.abort();
    }

    void abort(int code, String reason) {
        WebSocket w = ws;
        terminate(code, reason);
        if (w != null) {
            w.abort();
        }
    }

    private void terminate(int code, String reason) {
        Control.Close announced = core == null ? null : core.announcedClose();
        if (announced != null && (code == WebSocket.NORMAL_CLOSURE || code == 1005 || code == 1006)) {
            // PROTOCOL.md: the code from `close` counts, unless the socket itself carried another than 1000
            code = announced.code();
            reason = announced.reason() == null ? "" : announced.reason();
        }
        if (closed.complete(new CloseInfo(code, reason))) {
            ScheduledFuture<?> h = heartbeat;
            if (h != null) {
                h.cancel(false);
            }
            queue.clear();
            if (core != null) {
                core.shutdown("tunnel connection closed (" + code + (reason.isEmpty() ? "" : " " + reason) + ")");
            }
        }
    }
}
