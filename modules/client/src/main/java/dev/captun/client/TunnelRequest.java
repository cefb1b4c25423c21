package dev.captun.client;

import dev.captun.protocol.Header;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * One public request arriving through the tunnel. {@link #body()} streams the request body as the
 * gateway sends it (reading it grants flow-control credit back); it throws an {@code IOException}
 * once the gateway resets the stream.
 */
public final class TunnelRequest {
    private final int streamId;
    private final String method;
    private final String path;
    private final List<Header> headers;
    private final boolean websocket;
    private final RequestBodyStream body;
    private final List<Runnable> abortHooks = new ArrayList<>();
    private boolean aborted;

    TunnelRequest(int streamId, String method, String path, List<Header> headers, boolean websocket, RequestBodyStream body) {
        this.streamId = streamId;
        this.method = method;
        this.path = path;
        this.headers = headers == null ? List.of() : List.copyOf(headers);
        this.websocket = websocket;
        this.body = body;
    }

    /** Stream id on the tunnel (unique per connection). */
    public int streamId() {
        return streamId;
    }

    public String method() {
        return method;
    }

    /** Path including the query string, as the public client sent it. */
    public String path() {
        return path;
    }

    /** Header fields in order, repeats kept. */
    public List<Header> headers() {
        return headers;
    }

    /** First value of the header {@code name} (case-insensitive), or null. */
    public String header(String name) {
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase(name)) {
                return h.value();
            }
        }
        return null;
    }

    /** True for a public WebSocket upgrade request. */
    public boolean isWebSocket() {
        return websocket;
    }

    /**
     * The subprotocols the public client offered for a WebSocket upgrade (its
     * {@code sec-websocket-protocol} values, comma-separated lists split, in order); empty if none.
     */
    public List<String> webSocketProtocols() {
        List<String> out = new ArrayList<>();
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("sec-websocket-protocol") && h.value() != null) {
                for (String p : h.value().split(",")) {
                    String t = p.strip();
                    if (!t.isEmpty()) {
                        out.add(t);
                    }
                }
            }
        }
        return List.copyOf(out);
    }

    /** The request body; empty when the request has none. */
    public InputStream body() {
        return body;
    }

    /** True once the gateway reset this stream (public client gone) or the tunnel dropped. */
    public synchronized boolean isAborted() {
        return aborted;
    }

    /** Runs {@code hook} when the stream is aborted (at once if it already was). Used by the proxy to cancel the local call. */
    void onAbort(Runnable hook) {
        synchronized (this) {
            if (!aborted) {
                abortHooks.add(hook);
                return;
            }
        }
        hook.run();
    }

    void abort() {
        List<Runnable> hooks;
        synchronized (this) {
            if (aborted) {
                return;
            }
            aborted = true;
            hooks = new ArrayList<>(abortHooks);
            abortHooks.clear();
        }
        for (Runnable r : hooks) {
            try {
                r.run();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
    }
}
