package dev.captun.client;

/**
 * Answers one public HTTP request. Runs on a worker thread (never on the WebSocket thread), so it
 * may block. Throwing makes the SDK reset the stream, and the gateway answers the public client
 * {@code 502 Tunnel fetch failed} (or aborts the response if its head was already sent).
 */
@FunctionalInterface
public interface TunnelHandler {
    TunnelResponse handle(TunnelRequest request) throws Exception;
}
