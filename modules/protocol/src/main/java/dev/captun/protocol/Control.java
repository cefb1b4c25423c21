package dev.captun.protocol;

/**
 * The session-level values a client keeps from protocol 3's READY and CLOSE frames
 * ({@link FrameReader}, {@link FrameWriter}); the other frames are handed over field by field.
 */
public final class Control {
    private Control() {}

    /** Gateway → client, once, after the tunnel entity registered the session. */
    public record Ready(int version, String name, String url, int window, int heartbeatSeconds, String policy) {
        /** Without the admission policy ({@code trusted} or {@code public}). */
        public Ready(int version, String name, String url, int window, int heartbeatSeconds) {
            this(version, name, url, window, heartbeatSeconds, null);
        }
    }

    /**
     * Gateway → client, just before the gateway ends the tunnel WebSocket: the close code and reason
     * that apply (e.g. 4000 replaced). Pekko HTTP's public server API can only close a WebSocket
     * with 1000, so the code travels here; the SDK treats it as the socket's close code.
     */
    public record Close(int code, String reason) {}
}
