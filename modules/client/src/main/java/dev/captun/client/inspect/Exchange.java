package dev.captun.client.inspect;

import dev.captun.protocol.Header;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One captured request and its response (or WebSocket). Written by the thread serving the request,
 * read by the inspector's page: the fields that change are volatile, the bodies are
 * {@link BodyCapture}s, so neither side takes a lock.
 */
final class Exchange {
    enum State { PENDING, DONE, FAILED, ABORTED, OPEN, CLOSED }

    final long id;
    /** The id of the exchange this one replays, or 0. */
    final long replayOf;
    final long startedAtMillis;
    final long startNanos;
    final String method;
    final String path;
    final List<Header> requestHeaders;
    final boolean webSocket;
    /** Null when the request has no body. */
    final BodyCapture requestBody;
    /** Why the request body is not recorded, or null. */
    final String requestBodyNote;
    /** Asks the live request; dropped once the exchange ended, so the ring does not keep requests alive. */
    private volatile BooleanSupplier aborted;
    private final Runnable changed;

    private volatile State state = State.PENDING;
    private volatile int status;
    private volatile List<Header> responseHeaders = List.of();
    private volatile BodyCapture responseBody;
    private volatile long endNanos;
    private volatile String error;
    private volatile WsLog messages;
    private volatile int closeCode;
    private volatile String closeReason;

    Exchange(long id, long replayOf, String method, String path, List<Header> requestHeaders, boolean webSocket,
            BodyCapture requestBody, String requestBodyNote, BooleanSupplier aborted, Runnable changed) {
        this.id = id;
        this.replayOf = replayOf;
        this.startedAtMillis = System.currentTimeMillis();
        this.startNanos = System.nanoTime();
        this.method = method;
        this.path = path;
        this.requestHeaders = List.copyOf(requestHeaders);
        this.webSocket = webSocket;
        this.requestBody = requestBody;
        this.requestBodyNote = requestBodyNote;
        this.aborted = aborted;
        this.changed = changed;
    }

    /** The handler answered: status and headers; {@code body} fills while the body is written. */
    void responded(int status, List<Header> headers, BodyCapture body) {
        this.status = status;
        this.responseHeaders = List.copyOf(headers);
        this.responseBody = body;
        changed.run();
    }

    void finished() {
        end(State.DONE, null);
    }

    void failed(String why) {
        end(State.FAILED, why);
    }

    void webSocketOpened(WsLog log) {
        this.messages = log;
        this.status = 101;
        this.state = State.OPEN;
        changed.run();
    }

    void webSocketMessage() {
        changed.run();
    }

    void webSocketClosed(int code, String reason) {
        this.closeCode = code;
        this.closeReason = reason;
        end(State.CLOSED, null);
    }

    private void end(State s, String why) {
        if (endNanos != 0) {
            return;
        }
        this.error = why;
        this.endNanos = System.nanoTime();
        this.state = s;
        this.aborted = null;
        changed.run();
    }

    /**
     * PENDING (or OPEN) turns into ABORTED once the tunnel reset the stream (the public client left)
     * before it finished: a response never written, or a socket reset before it started, ends no other way.
     */
    State state() {
        State s = state;
        BooleanSupplier a = aborted;
        return (s == State.PENDING || s == State.OPEN) && a != null && a.getAsBoolean() ? State.ABORTED : s;
    }

    int status() {
        return status;
    }

    List<Header> responseHeaders() {
        return responseHeaders;
    }

    BodyCapture responseBody() {
        return responseBody;
    }

    String error() {
        return error;
    }

    WsLog messages() {
        return messages;
    }

    int closeCode() {
        return closeCode;
    }

    String closeReason() {
        return closeReason;
    }

    /** Milliseconds from the request's arrival to the end of the response (or now, while it runs). */
    double durationMillis() {
        long end = endNanos;
        return ((end == 0 ? System.nanoTime() : end) - startNanos) / 1e6;
    }

    boolean isEnded() {
        return endNanos != 0;
    }
}
