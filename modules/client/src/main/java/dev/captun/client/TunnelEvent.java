package dev.captun.client;

import java.time.Duration;

/** State changes of a {@link CaptunTunnel} and one event per finished request (for request logs). */
public sealed interface TunnelEvent {

    /** Opening the tunnel WebSocket to {@code gateway}. */
    record Connecting(String gateway) implements TunnelEvent {}

    /** The gateway sent {@code ready}: the tunnel serves at {@code url}. */
    record Connected(String url) implements TunnelEvent {}

    /** The tunnel WebSocket dropped (socket error, close, heartbeat timeout). */
    record Disconnected(String reason) implements TunnelEvent {}

    /** The next reconnect attempt starts after {@code delay}. */
    record Reconnecting(Duration delay) implements TunnelEvent {}

    /**
     * The gateway node holding the tunnel is draining (shutting down): the tunnel connects to another
     * gateway from its list first, then lets the old connection finish its requests and go.
     */
    record Draining(String reason) implements TunnelEvent {}

    /** A newer connection took the name (close code 4000); this tunnel does not reconnect. */
    record Replaced() implements TunnelEvent {}

    /** Reconnecting stopped for good (a 4xx admission rejection, or a protocol version mismatch). */
    record Failed(CaptunConnectException error) implements TunnelEvent {}

    /**
     * One request finished. {@code status} is the status sent to the gateway, 502 when the handler
     * failed before answering, 499 when the gateway reset the stream before the head was sent.
     * An accepted WebSocket is reported once, with 101, when the socket has ended ({@code millis}
     * = its lifetime).
     */
    record Request(String method, String path, int status, long millis) implements TunnelEvent {}
}
