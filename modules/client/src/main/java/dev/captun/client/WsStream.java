package dev.captun.client;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One forwarded WebSocket after its 101 (both handler and target mode). Inbound: collects
 * WS_TEXT/WS_BINARY fragments into whole messages (≤ 16 MiB) and hands them one at a time to a
 * {@link Sink}, granting credit per PROTOCOL.md (non-FIN bytes when buffered, FIN bytes once the
 * message was delivered). Outbound: queues messages and sends them as fragments ≤ 64 KiB under
 * the stream's send credit. A single {@code ws-close} either way, a {@code reset}, or the tunnel's
 * end finishes the stream; the sink then gets {@link Sink#close} last.
 *
 * <p>Locking: one monitor ({@code this}) guards all state; frames go to the core (non-blocking,
 * ordered) under it, so fragments and {@code ws-close} leave in order. Sink and user code never
 * run under it.
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

    /** Called by the core: a stream finished (remove it) / its sink got the close (log it). */
    interface Owner {
        void finished(WsStream s);

        void closed(WsStream s);
    }

    /** A whole inbound message: a slice of the tunnel message it arrived in, or the collected fragments. */
    private record Msg(boolean text, ByteBuffer data, int finBytes) {}

    private record CloseEv(int code, String reason, boolean abrupt) {}

    private static final Object OPEN = new Object();

    private static final class Out {
        final boolean text;
        final byte[] data;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final CloseEv close; // non-null: the ws-close marker
        int offset;

        Out(boolean text, byte[] data, CloseEv close) {
            this.text = text;
            this.data = data;
            this.close = close;
        }
    }

    private final TunnelCore core;
    private final Owner owner;
    private final int id;
    private final int window;
    private final TunnelRequest request;
    private final String subprotocol;
    private final Sink sink;
    final long startNanos = System.nanoTime();

    // inbound
    private byte[] collecting; // fragments of a message so far (null: none)
    private int collectingLength;
    private boolean collectingText;
    private long ungranted; // received, not yet granted back
    private long grantable; // may be granted now
    private long deferred;  // non-FIN bytes buffered while a message waited for delivery
    private final ArrayDeque<Object> events = new ArrayDeque<>();
    private boolean delivering;
    private boolean started;

    // outbound
    private final ArrayDeque<Out> outQueue = new ArrayDeque<>();
    private long credit;

    // lifecycle
    private boolean closing;  // close() called or the local side closed: no more sends
    private boolean finished; // the stream is over on the tunnel

    WsStream(TunnelCore core, Owner owner, int id, int window, TunnelRequest request, String subprotocol,
            Function<Executor, Sink> sinkFactory, Executor workers) {
        this.core = core;
        this.owner = owner;
        this.id = id;
        this.window = window;
        this.credit = window;
        this.request = request;
        this.subprotocol = subprotocol;
        this.sink = sinkFactory.apply(workers);
        events.add(OPEN);
    }

    int id() {
        return id;
    }

    /** After the 101 was sent: deliver onOpen, then whatever arrived meanwhile. */
    void start() {
        synchronized (this) {
            started = true;
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
        Out o = new Out(text, data, null);
        List<Runnable> after;
        synchronized (this) {
            if (closing || finished) {
                return CompletableFuture.failedFuture(new IOException("WebSocket closed"));
            }
            outQueue.add(o);
            after = pump();
        }
        runAll(after);
        return o.done;
    }

    /** Sends {@code ws-close} after the queued messages, then finishes; for close() and a local close. */
    CompletableFuture<Void> closeAfterQueued(int code, String reason) {
        Out marker = new Out(false, null, new CloseEv(code, truncate(reason), false));
        List<Runnable> after;
        synchronized (this) {
            if (closing || finished) {
                return CompletableFuture.completedFuture(null);
            }
            closing = true;
            outQueue.add(marker);
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
            credit += bytes;
            after = pump();
        }
        runAll(after);
    }

    /**
     * Under the lock: sends what credit allows, the fragments of one call joined into messages of up
     * to {@link Protocol#MAX_MESSAGE_BYTES}; returns completions to run after unlocking.
     */
    private List<Runnable> pump() {
        List<Runnable> after = new ArrayList<>();
        FrameWriter w = null;
        while (!finished && !outQueue.isEmpty()) {
            Out o = outQueue.peek();
            if (o.close != null) {
                outQueue.poll();
                w = w == null ? new FrameWriter(64) : w;
                w.wsClose(id, o.close.code(), o.close.reason());
                after.add(() -> o.done.complete(null));
                after.add(() -> finish(o.close.code(), o.close.reason(), false));
                break;
            }
            int remaining = o.data.length - o.offset;
            if (remaining > 0 && credit <= 0) {
                break;
            }
            int n = (int) Math.min(Math.min(remaining, Protocol.MAX_DATA_PAYLOAD), credit);
            if (w != null && w.size() + FrameType.HEADER_BYTES + n > Protocol.MAX_MESSAGE_BYTES) {
                core.send(w);
                w = null;
            }
            if (w == null) {
                w = new FrameWriter(Math.min(FrameType.HEADER_BYTES + (int) Math.min(remaining, credit), Protocol.MAX_MESSAGE_BYTES));
            }
            boolean fin = o.offset + n == o.data.length;
            w.wsFragment(id, o.text, o.data, o.offset, n, fin);
            credit -= n;
            o.offset += n;
            if (fin) {
                outQueue.poll();
                after.add(() -> o.done.complete(null));
            }
        }
        if (w != null) {
            core.send(w);
        }
        return after;
    }

    // ---- inbound (transport thread) ----

    /** A WS_TEXT/WS_BINARY fragment; {@code p} is a slice of the tunnel message, kept without a copy when it is a whole message. */
    void onFragment(boolean text, ByteBuffer p, boolean fin) throws ProtocolException {
        int n = p.remaining();
        boolean tooLarge = false;
        boolean complete = false;
        synchronized (this) {
            if (finished) {
                return;
            }
            ungranted += n;
            if (ungranted > window) {
                throw new ProtocolException("gateway sent " + ungranted + " WebSocket bytes on stream " + id
                        + " with a window of " + window);
            }
            if (collecting == null && fin) {
                events.add(new Msg(text, p, n)); // a message in one fragment: no copy
                complete = true;
            } else if ((collecting == null ? 0L : collectingLength) + n > Protocol.MAX_TUNNELED_WS_MESSAGE) {
                collecting = null;
                tooLarge = true;
            } else {
                if (collecting == null) {
                    collecting = new byte[Math.max(n * 2, 1024)];
                    collectingLength = 0;
                    collectingText = text;
                } else if (collectingLength + n > collecting.length) {
                    collecting = Arrays.copyOf(collecting, (int) Math.min(Protocol.MAX_TUNNELED_WS_MESSAGE,
                            Math.max((long) collectingLength + n, collecting.length * 2L)));
                }
                p.get(p.position(), collecting, collectingLength, n);
                collectingLength += n;
                if (fin) {
                    events.add(new Msg(collectingText, ByteBuffer.wrap(collecting, 0, collectingLength), n));
                    collecting = null;
                    complete = true;
                } else {
                    if (idle()) {
                        grantable += n;
                    } else {
                        deferred += n;
                    }
                    flushCredit();
                }
            }
        }
        if (tooLarge) {
            log.debug("stream {}: inbound WebSocket message over {} bytes", id, Protocol.MAX_TUNNELED_WS_MESSAGE);
            closeWithError(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
        } else if (complete) {
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

    private boolean idle() {
        return !delivering && events.isEmpty();
    }

    /** Under the lock: sends a credit when a quarter window is grantable, or everything held was consumed. */
    private void flushCredit() {
        if (finished || grantable <= 0) {
            return;
        }
        if (grantable >= window / 4 || (idle() && collecting == null) || grantable == ungranted) {
            int g = (int) grantable;
            ungranted -= g;
            grantable = 0;
            core.send(new FrameWriter(32).credit(id, g));
        }
    }

    // ---- lifecycle ----

    private void finish(int code, String reason, boolean abrupt) {
        List<Out> dropped;
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            closing = true;
            collecting = null;
            dropped = new ArrayList<>(outQueue);
            outQueue.clear();
            if (abrupt) {
                events.removeIf(e -> e instanceof Msg);
            }
            events.add(new CloseEv(code, reason == null ? "" : reason, abrupt));
        }
        owner.finished(this);
        for (Out o : dropped) {
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
                if (!started || delivering || events.isEmpty()) {
                    return;
                }
                delivering = true;
                ev = events.poll();
            }
            CompletableFuture<?> cf;
            try {
                CompletionStage<?> st = ev == OPEN ? sink.open(this)
                        : ev instanceof Msg m ? (m.text() ? sink.text(utf8(m.data())) : sink.binary(m.data()))
                        : sink.close(((CloseEv) ev).code(), ((CloseEv) ev).reason(), ((CloseEv) ev).abrupt());
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
            delivering = false;
            if (ev instanceof Msg m) {
                grantable += m.finBytes();
            }
            if (events.isEmpty()) {
                grantable += deferred;
                deferred = 0;
            }
            flushCredit();
        }
        if (ev instanceof CloseEv) {
            if (err != null) {
                log.debug("stream {}: WebSocket onClose failed", id, err);
            }
            owner.closed(this);
            return false;
        }
        if (err != null) {
            log.debug("stream {}: WebSocket delivery failed", id, err);
            closeWithError(1011, HANDLER_FAILED);
        }
        return true;
    }

    private static String utf8(ByteBuffer b) {
        return b.hasArray() ? new String(b.array(), b.arrayOffset() + b.position(), b.remaining(), StandardCharsets.UTF_8)
                : StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    private static void runAll(List<Runnable> rs) {
        for (Runnable r : rs) {
            r.run();
        }
    }

    /** A close reason fits 123 UTF-8 bytes. */
    static String truncate(String reason) {
        if (reason == null) {
            return "";
        }
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        if (b.length <= 123) {
            return reason;
        }
        int end = 123;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // do not cut a UTF-8 sequence
        }
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    // ---- handler mode ----

    /** Runs a user {@link Listener} on the workers, one callback after the other. */
    static Function<Executor, Sink> listenerSink(Listener listener) {
        return workers -> new Sink() {
            private WsStream ws;

            @Override
            public CompletionStage<?> open(WsStream socket) {
                ws = socket;
                return CompletableFuture.runAsync(() -> call(() -> listener.onOpen(ws)), workers);
            }

            @Override
            public CompletionStage<?> text(String message) {
                return CompletableFuture.runAsync(() -> call(() -> listener.onText(ws, message)), workers);
            }

            @Override
            public CompletionStage<?> binary(ByteBuffer message) {
                return CompletableFuture.runAsync(() -> call(() -> listener.onBinary(ws, message)), workers);
            }

            @Override
            public CompletionStage<?> close(int code, String reason, boolean abrupt) {
                return CompletableFuture.runAsync(() -> listener.onClose(ws, code, reason), workers);
            }
        };
    }

    private interface Callback {
        void run() throws Exception;
    }

    private static void call(Callback c) {
        try {
            c.run();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new java.util.concurrent.CompletionException(e);
        }
    }
}
