package dev.captun.client;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Handler mode for {@link TunnelResponse#withWebSocketObserver}: the user's listener is given this
 * socket instead of the real one, so what it sends is reported too; what it receives and the close
 * are reported by the wrapping listener.
 */
final class ObservedSocket implements TunnelWebSocket {
    private final TunnelWebSocket socket;
    private final Observer observer;

    private ObservedSocket(TunnelWebSocket socket, Observer observer) {
        this.socket = socket;
        this.observer = observer;
    }

    /** A listener for one socket (a response's copy is made per request) that wraps the socket it is given. */
    static Listener listener(Listener user, Observer observer) {
        return new Listener() {
            private ObservedSocket wrapped; // callbacks are sequential per socket

            private ObservedSocket wrap(TunnelWebSocket s) {
                if (wrapped == null || wrapped.socket != s) {
                    wrapped = new ObservedSocket(s, observer);
                }
                return wrapped;
            }

            @Override
            public void onOpen(TunnelWebSocket socket) throws Exception {
                user.onOpen(wrap(socket));
            }

            @Override
            public void onText(TunnelWebSocket socket, String message) throws Exception {
                observer.onText(true, message);
                user.onText(wrap(socket), message);
            }

            @Override
            public void onBinary(TunnelWebSocket socket, ByteBuffer message) throws Exception {
                observer.onBinary(true, message.asReadOnlyBuffer());
                user.onBinary(wrap(socket), message);
            }

            @Override
            public void onClose(TunnelWebSocket socket, int code, String reason) {
                observer.onClose(code, reason);
                user.onClose(wrap(socket), code, reason);
            }
        };
    }

    @Override
    public CompletableFuture<Void> sendText(String message) {
        if (socket.isOpen()) {
            observer.onText(false, message);
        }
        return socket.sendText(message);
    }

    @Override
    public CompletableFuture<Void> sendBinary(ByteBuffer message) {
        if (socket.isOpen()) {
            observer.onBinary(false, message.asReadOnlyBuffer());
        }
        return socket.sendBinary(message);
    }

    @Override
    public CompletableFuture<Void> close(int code, String reason) {
        return socket.close(code, reason);
    }

    @Override
    public String subprotocol() {
        return socket.subprotocol();
    }

    @Override
    public TunnelRequest request() {
        return socket.request();
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public String toString() {
        return socket.toString();
    }
}
