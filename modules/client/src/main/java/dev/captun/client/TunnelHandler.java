package dev.captun.client;

/**
 * Answers one public HTTP request. Runs on a worker thread (never on the WebSocket thread), so it
 * may block. Throwing makes the SDK reset the stream, and the gateway answers the public client
 * {@code 502 Tunnel fetch failed} (or aborts the response if its head was already sent).
 *
 * <p>A public WebSocket upgrade arrives as a request with {@link TunnelRequest#isWebSocket()} true
 * (offered subprotocols in {@link TunnelRequest#webSocketProtocols()}): accept it by returning
 * {@link TunnelResponse#webSocket(String, TunnelWebSocket.Listener)}, or refuse it by returning any
 * ordinary response, which becomes the answer to the public handshake.
 */
@FunctionalInterface
public interface TunnelHandler {
    TunnelResponse handle(TunnelRequest request) throws Exception;
}
