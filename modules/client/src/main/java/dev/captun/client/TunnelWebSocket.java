package dev.captun.client;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A public WebSocket accepted by a {@link TunnelHandler} (see
 * {@link TunnelResponse#webSocket(String, Listener)}), forwarded through the tunnel.
 *
 * <pre>{@code
 * TunnelHandler h = req -> req.isWebSocket()
 *         ? TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {
 *               public void onText(TunnelWebSocket ws, String message) {
 *                   ws.sendText("echo: " + message);
 *               }
 *           })
 *         : TunnelResponse.text(200, "hello");
 * }</pre>
 *
 * <h2>Sending</h2>
 * {@link #sendText} and {@link #sendBinary} never block: the message is queued and sent in order
 * (messages are never lost or reordered) as fragments of at most 64 KiB under the stream's
 * flow-control credit. The returned future completes once the whole message has been handed to
 * the tunnel, and fails with an {@link java.io.IOException} if the socket ended first. The queue
 * is not bounded: a producer faster than the public client should wait for the futures (doing so
 * inside a listener callback is fine). A message over 16 MiB
 * ({@link dev.captun.protocol.Protocol#MAX_TUNNELED_WS_MESSAGE}) is never sent: its future fails
 * with {@link IllegalArgumentException} and the socket is closed with
 * {@code 4009 Message too large to tunnel}, as the protocol requires.
 *
 * <p>All methods are thread-safe.
 */
public interface TunnelWebSocket {

    /** Queues a text message; see the class comment for the future's meaning. */
    CompletableFuture<Void> sendText(String message);

    /** Queues a binary message (the buffer's remaining bytes are copied at once). */
    CompletableFuture<Void> sendBinary(ByteBuffer message);

    /** Queues a binary message (the array is copied at once). */
    default CompletableFuture<Void> sendBinary(byte[] message) {
        return sendBinary(ByteBuffer.wrap(message));
    }

    /**
     * Closes the socket after the messages already queued: the public client sees {@code code} and
     * {@code reason} (truncated to 123 UTF-8 bytes). {@code code} must be 1000–4999 and not one of
     * the reserved 1004, 1005, 1006, 1015. Later sends fail. Then
     * {@link Listener#onClose} is called with the same code and reason. The future completes when
     * the close has been handed to the tunnel. Closing twice does nothing.
     */
    CompletableFuture<Void> close(int code, String reason);

    /** The subprotocol chosen when accepting, or null. */
    String subprotocol();

    /** The public upgrade request (method, path, headers) that opened this socket. */
    TunnelRequest request();

    /** True until the socket has been closed by either side, reset, or the tunnel dropped. */
    boolean isOpen();

    /**
     * Receives the events of one accepted socket. Calls are sequential per socket (never two at
     * once, each one after the previous returned) on an SDK worker thread, never on the tunnel
     * WebSocket's own thread, so they may block. Messages arrive whole (fragments are collected, up
     * to 16 MiB); a message's flow-control credit is returned to the gateway once its callback
     * returned, so a slow listener slows down only its own public client.
     *
     * <p>If {@code onOpen}, {@code onText} or {@code onBinary} throws, the socket is closed with
     * {@code 1011 Handler failed}.
     */
    interface Listener {
        /** The 101 was sent; the socket may be used. Called first, once. */
        default void onOpen(TunnelWebSocket socket) throws Exception {}

        /** A whole text message from the public client. */
        default void onText(TunnelWebSocket socket, String message) throws Exception {}

        /** A whole binary message from the public client (the buffer belongs to the listener). */
        default void onBinary(TunnelWebSocket socket, ByteBuffer message) throws Exception {}

        /**
         * Called last, exactly once, when the socket ended: the public client's close code and
         * reason ({@code 1000} when it sent none); the code passed to {@link #close}; {@code 4009
         * Message too large to tunnel}; {@code 1011 Handler failed}; or {@code 1001} when the
         * gateway reset the stream or the tunnel dropped ({@code Tunnel client disconnected}).
         * Messages received before a close are delivered before it; after a reset or tunnel drop,
         * undelivered messages are discarded.
         */
        default void onClose(TunnelWebSocket socket, int code, String reason) {}
    }

    /**
     * Sees the messages of one forwarded WebSocket without taking part (the request inspector; see
     * {@link TunnelResponse#withWebSocketObserver}). Called on SDK threads, in each direction's
     * order, before the message is handed on: must be quick, must not block and must not throw.
     */
    interface Observer {
        /** A whole text message; {@code fromPublic}: sent by the public client, else toward it. */
        void onText(boolean fromPublic, String message);

        /** A whole binary message (a read-only view: copy what you keep). */
        void onBinary(boolean fromPublic, ByteBuffer message);

        /** The socket ended with this code and reason (see {@link Listener#onClose}). */
        void onClose(int code, String reason);
    }
}
