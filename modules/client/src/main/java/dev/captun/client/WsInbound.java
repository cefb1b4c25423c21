package dev.captun.client;

import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The receiving half of a forwarded WebSocket: collects WS_TEXT/WS_BINARY fragments into whole
 * messages (≤ 16 MiB), queues them (after the open, before the close) for delivery one at a time,
 * and decides when to grant credit per PROTOCOL.md: the bytes of a non-FIN fragment once buffered,
 * those of a FIN fragment once its message was delivered, batched (a quarter window, or everything
 * held consumed). No locks and no I/O: {@link WsStream} guards it, delivers and sends the credit.
 */
final class WsInbound {
    /** A whole message: a slice of the tunnel message it arrived in (one fragment), or the collected fragments. */
    record Msg(boolean text, ByteBuffer data, int finBytes) {
        /** A text message's content (decoded from the message's bytes in place). */
        String string() {
            return data.hasArray() ? new String(data.array(), data.arrayOffset() + data.position(), data.remaining(), StandardCharsets.UTF_8)
                    : StandardCharsets.UTF_8.decode(data.duplicate()).toString();
        }
    }

    /** The last event: the stream closed ({@code abrupt}: reset or tunnel drop). */
    record CloseEv(int code, String reason, boolean abrupt) {}

    /** The first event: the socket is open. */
    static final Object OPEN = new Object();

    enum Fragment { BUFFERED, COMPLETE, TOO_LARGE }

    private final int id;
    private final int window;
    private byte[] collecting; // fragments of a message so far (null: none)
    private int collectingLength;
    private boolean collectingText;
    private long ungranted; // received, not yet granted back
    private long grantable; // may be granted now
    private long deferred;  // non-FIN bytes buffered while a message waited for delivery
    private final ArrayDeque<Object> events = new ArrayDeque<>();
    private boolean delivering;
    private boolean started;

    WsInbound(int id, int window) {
        this.id = id;
        this.window = window;
        events.add(OPEN);
    }

    /**
     * A fragment; {@code p} is a slice of the tunnel message, queued without a copy when it is a
     * whole message. Throws when the gateway sent more than the window it was granted.
     */
    Fragment fragment(boolean text, ByteBuffer p, boolean fin) throws ProtocolException {
        int n = p.remaining();
        ungranted += n;
        if (ungranted > window) {
            throw new ProtocolException("gateway sent " + ungranted + " WebSocket bytes on stream " + id + " with a window of " + window);
        }
        if (collecting == null && fin) {
            events.add(new Msg(text, p, n));
            return Fragment.COMPLETE;
        }
        if ((collecting == null ? 0L : collectingLength) + n > Protocol.MAX_TUNNELED_WS_MESSAGE) {
            collecting = null;
            return Fragment.TOO_LARGE;
        }
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
            return Fragment.COMPLETE;
        }
        if (idle()) {
            grantable += n;
        } else {
            deferred += n; // granted once the messages before it were delivered
        }
        return Fragment.BUFFERED;
    }

    private boolean idle() {
        return !delivering && events.isEmpty();
    }

    /** Credit to grant now (counted as granted), or 0: a quarter window is grantable, or everything held was consumed. */
    int takeCredit() {
        if (grantable <= 0) {
            return 0;
        }
        if (grantable >= window / 4 || (idle() && collecting == null) || grantable == ungranted) {
            int g = (int) grantable;
            ungranted -= g;
            grantable = 0;
            return g;
        }
        return 0;
    }

    /** After the 101 was sent: events may be delivered from now on. */
    void start() {
        started = true;
    }

    /** The next event to deliver and marks it under way; null when not started, one is under way, or none waits. */
    Object nextEvent() {
        if (!started || delivering || events.isEmpty()) {
            return null;
        }
        delivering = true;
        return events.poll();
    }

    /** The event under way was delivered: its FIN bytes become grantable, and deferred ones once nothing waits. */
    void delivered(Object ev) {
        delivering = false;
        if (ev instanceof Msg m) {
            grantable += m.finBytes();
        }
        if (events.isEmpty()) {
            grantable += deferred;
            deferred = 0;
        }
    }

    /** The stream ended: stop collecting, drop undelivered messages when abrupt, queue the close last. */
    void end(CloseEv close) {
        collecting = null;
        if (close.abrupt()) {
            events.removeIf(e -> e instanceof Msg);
        }
        events.add(close);
    }
}
