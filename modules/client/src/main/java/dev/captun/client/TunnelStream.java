package dev.captun.client;

/**
 * One stream of a tunnel connection (a public request, or a public WebSocket once accepted): its
 * request, both bodies and its abort state. No I/O of its own; {@link TunnelCore} routes frames to
 * it and {@link StreamRunner} answers it.
 */
final class TunnelStream {
    final TunnelRequest request;
    final RequestBodyStream body;
    final ResponseBodyStream response;
    final int window;
    private volatile WsStream ws;
    private volatile boolean aborted;

    TunnelStream(TunnelRequest request, RequestBodyStream body, ResponseBodyStream response, int window) {
        this.request = request;
        this.body = body;
        this.response = response;
        this.window = window;
    }

    int id() {
        return request.streamId();
    }

    /** The WebSocket bridge after the 101, else null. */
    WsStream ws() {
        return ws;
    }

    /** Installs the WebSocket bridge; false when the stream was aborted first (nothing installed). */
    synchronized boolean attach(WsStream w) {
        if (aborted) {
            return false;
        }
        ws = w;
        return true;
    }

    boolean isAborted() {
        return aborted;
    }

    void abort(String reason) {
        WsStream w;
        synchronized (this) {
            aborted = true;
            w = ws;
        }
        if (w != null) {
            w.abort(WsStream.TUNNEL_DISCONNECTED);
        }
        request.abort(); // first: code woken by the aborts below already sees isAborted()
        body.abort(reason);
        response.abort(reason);
    }
}
