package dev.captun.client;

import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One forwarded WebSocket after its 101 (both handler and target mode): the I/O around its two
 * halves. {@link WsInbound} turns fragments into messages, handed here one at a time to a
 * {@link Sink}, and says when to grant credit; {@link WsOutbound} turns queued messages into
 * fragments under the stream's send credit. A single {@code ws-close} either way, a {@code reset},
 * or the tunnel's end finishes the stream; the sink then gets {@link Sink#close} last.
 *
 * <p>Locking: one monitor ({@code this}) guards both halves and the lifecycle; frames go to the
 * core (non-blocking, ordered) under it, so fragments and {@code ws-close} leave in order. Sink and
 * user code never run under it.
 */
final class WsStream implements TunnelWebSocket {
    private static final Logger log = LoggerFactory.getLogger(WsStream.class);
    static final String TUNNEL_DISCONNECTED = "Tunnel client disconnected";
    static final String HANDLER_FAILED = "Handler failed";

    /** Where whole inbound messages go; each call starts after the previous stage completed. */
    interface Sink {
        CompletionStage<?> open(WsStream socket);

        CompletionStage<?> text(String message);

        CompletionStage<?> binary(ByteBuffer message);

        /** Last call. {@code abrupt}: reset or tunnel drop (no close handshake). */
        CompletionStage<?> close(int code, String reason, boolean abrupt);

        /** Immediately, from any thread, on reset or tunnel drop (before the sequenced {@link #close}). */
        default void abortNow() {}
    }

    private final TunnelCore core;
    private final int id;
    private final TunnelRequest request;
    private final String subprotocol;
    private final Sink sink;
    private final long startNanos = System.nanoTime();
    private final WsInbound in;
    private final WsOutbound out;
    private boolean closing;  // close() called or the local side closed: no more sends
    private boolean finished; // the stream is over on the tunnel

    WsStream(TunnelCore core, int id, int window, TunnelRequest request, String subprotocol,
            Function<Executor, Sink> sinkFactory, Executor workers) {
        this.core = core;
        this.id = id;
        this.request = request;
        this.subprotocol = subprotocol;
        this.sink = sinkFactory.apply(workers);
        this.in = new WsInbound(id, window);
        this.out = new WsOutbound(id, window);
    }

    int id() {
        return id;
    }

    /** After the 101 was sent: deliver onOpen, then whatever arrived meanwhile. */
    void start() {
        synchronized (this) {
            in.start();
        }
        deliverLoop();
    }

    // ---- TunnelWebSocket ----

    @Override
    public CompletableFuture<Void> sendText(String message) {
        return enqueue(true, message.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public CompletableFuture<Void> sendBinary(ByteBuffer message) {
        byte[] b = new byte[message.remaining()];
        message.duplicate().get(b);
        return enqueue(false, b);
    }

    @Override
    public CompletableFuture<Void> close(int code, String reason) {
        if (code < 1000 || code > 4999 || code == 1004 || code == 1005 || code == 1006 || code == 1015) {
            throw new IllegalArgumentException("invalid WebSocket close code " + code);
        }
        return closeAfterQueued(code, reason);
    }

    @Override
    public String subprotocol() {
        return subprotocol;
    }

    @Override
    public TunnelRequest request() {
        return request;
    }

    @Override
    public synchronized boolean isOpen() {
        return !closing && !finished;
    }

    @Override
    public String toString() {
        return "TunnelWebSocket[stream " + id + " " + request.path() + "]";
    }

    // ---- outbound ----

    private CompletableFuture<Void> enqueue(boolean text, byte[] data) {
        if (data.length > Protocol.MAX_TUNNELED_WS_MESSAGE) {
            closeWithError(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
            return CompletableFuture.failedFuture(new IllegalArgumentException("message of " + data.length
                    + " bytes exceeds " + Protocol.MAX_TUNNELED_WS_MESSAGE));
        }
        WsOutbound.Out o = new WsOutbound.Out(text, data);
        List<Runnable> after;
        synchronized (this) {
            if (closing || finished) {
                return CompletableFuture.failedFuture(new IOException("WebSocket closed"));
            }
            out.add(o);
            after = pump();
        }
        runAll(after);
        return o.done;
    }

    /** Sends {@code ws-close} after the queued messages, then finishes; for close() and a local close. */
    CompletableFuture<Void> closeAfterQueued(int code, String reason) {
        WsOutbound.Out marker = new WsOutbound.Out(new WsInbound.CloseEv(code, dev.captun.protocol.Protocol.truncateReason(reason), false));
        List<Runnable> after;
        synchronized (this) {
            if (closing || finished) {
                return CompletableFuture.completedFuture(null);
            }
            closing = true;
            out.add(marker);
            after = pump();
        }
        runAll(after);
        return marker.done;
    }

    /** Sends {@code ws-close} now (queued messages dropped) and finishes: 4009, 1011. */
    void closeWithError(int code, String reason) {
        synchronized (this) {
            if (finished) {
                return;
            }
            closing = true;
            core.send(new FrameWriter(64).wsClose(id, code, reason));
        }
        finish(code, reason, false);
    }

    /** Sends {@code reset} and finishes abruptly (the local socket failed). */
    void resetByUs(String reason) {
        synchronized (this) {
            if (finished) {
                return;
            }
            closing = true;
            core.send(new FrameWriter(64).reset(id, reason));
        }
        finish(1011, reason, true);
    }

    /** Credit from the gateway. */
    void grant(int bytes) {
        List<Runnable> after;
        synchronized (this) {
            out.grant(bytes);
            after = pump();
        }
        runAll(after);
    }

    /** Under the lock: sends what credit allows; returns completions to run after unlocking. */
    private List<Runnable> pump() {
        if (finished) {
            return List.of();
        }
        List<FrameWriter> messages = new ArrayList<>(2);
        List<WsOutbound.Out> sent = new ArrayList<>();
        WsOutbound.Out close = out.pump(messages, sent);
        for (FrameWriter m : messages) {
            core.send(m);
        }
        List<Runnable> after = new ArrayList<>(sent.size() + 2);
        for (WsOutbound.Out o : sent) {
            after.add(() -> o.done.complete(null));
        }
        if (close != null) {
            after.add(() -> close.done.complete(null));
            after.add(() -> finish(close.close.code(), close.close.reason(), false));
        }
        return after;
    }

    // ---- inbound (transport thread) ----

    /** A WS_TEXT/WS_BINARY fragment; {@code p} is a slice of the tunnel message. */
    void onFragment(boolean text, ByteBuffer p, boolean fin) throws ProtocolException {
        WsInbound.Fragment f;
        synchronized (this) {
            if (finished) {
                return;
            }
            f = in.fragment(text, p, fin);
            if (f == WsInbound.Fragment.BUFFERED) {
                sendCredit();
            }
        }
        if (f == WsInbound.Fragment.TOO_LARGE) {
            log.debug("stream {}: inbound WebSocket message over {} bytes", id, Protocol.MAX_TUNNELED_WS_MESSAGE);
            closeWithError(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
        } else if (f == WsInbound.Fragment.COMPLETE) {
            deliverLoop();
        }
    }

    /** {@code ws-close} from the gateway: deliver what is queued, then close the local side. */
    void onPeerClose(int code, String reason) {
        finish(code, reason == null ? "" : reason, false);
    }

    /** {@code reset} from the gateway, or the tunnel dropped. */
    void abort(String reason) {
        finish(1001, reason, true);
    }

    /** Under the lock: the credit {@link WsInbound} grants now, if any. */
    private void sendCredit() {
        int g = finished ? 0 : in.takeCredit();
        if (g > 0) {
            core.send(new FrameWriter(32).credit(id, g));
        }
    }

    // ---- lifecycle ----

    private void finish(int code, String reason, boolean abrupt) {
        List<WsOutbound.Out> dropped;
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            closing = true;
            dropped = out.takeAll();
            in.end(new WsInbound.CloseEv(code, reason == null ? "" : reason, abrupt));
        }
        core.removeWs(this);
        for (WsOutbound.Out o : dropped) {
            o.done.completeExceptionally(new IOException("WebSocket closed (" + code + " " + reason + ")"));
        }
        if (abrupt) {
            try {
                sink.abortNow();
            } catch (RuntimeException e) {
                log.debug("abort failed", e);
            }
        }
        deliverLoop();
    }

    /** Delivers queued events one at a time; loops instead of recursing when stages complete at once. */
    private void deliverLoop() {
        while (true) {
            Object ev;
            synchronized (this) {
                ev = in.nextEvent();
            }
            if (ev == null) {
                return;
            }
            CompletableFuture<?> cf;
            try {
                CompletionStage<?> st = ev == WsInbound.OPEN ? sink.open(this)
                        : ev instanceof WsInbound.Msg m ? (m.text() ? sink.text(m.string()) : sink.binary(m.data()))
                        : ev instanceof WsInbound.CloseEv c ? sink.close(c.code(), c.reason(), c.abrupt()) : null;
                cf = st == null ? CompletableFuture.completedFuture(null) : st.toCompletableFuture();
            } catch (Throwable t) {
                cf = CompletableFuture.failedFuture(t);
            }
            if (!cf.isDone()) {
                CompletableFuture<?> pending = cf;
                cf.whenComplete((r, e) -> {
                    if (delivered(ev, pending)) {
                        deliverLoop();
                    }
                });
                return;
            }
            if (!delivered(ev, cf)) {
                return;
            }
        }
    }

    /** After one event; false when it was the close (nothing follows). */
    private boolean delivered(Object ev, CompletableFuture<?> cf) {
        Throwable err = cf.isCompletedExceptionally() ? cf.handle((a, b) -> b).join() : null;
        synchronized (this) {
            in.delivered(ev);
            sendCredit();
        }
        if (ev instanceof WsInbound.CloseEv) {
            if (err != null) {
                log.debug("stream {}: WebSocket onClose failed", id, err);
            }
            long millis = (System.nanoTime() - startNanos) / 1_000_000;
            core.emit(new TunnelEvent.Request(request.method(), request.path(), 101, millis));
            return false;
        }
        if (err != null) {
            log.debug("stream {}: WebSocket delivery failed", id, err);
            closeWithError(1011, HANDLER_FAILED);
        }
        return true;
    }

    private static void runAll(List<Runnable> rs) {
        for (Runnable r : rs) {
            r.run();
        }
    }
}
