package dev.captun.client;

import dev.captun.protocol.Header;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
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
    private final InputStream body;
    /** The request whose abort state this one shares (itself unless it is a {@link #withBody} copy). */
    private final TunnelRequest root;
    /** Body length when known without reading (a {@link #of} request), else -1. */
    private final long knownLength;
    private final List<Runnable> abortHooks = new ArrayList<>();
    private boolean aborted;

    /** A request from the tunnel; takes over {@code headers} (a fresh list from the frame decoder) instead of copying it. */
    static TunnelRequest owning(int streamId, String method, String path, List<Header> headers, boolean websocket,
            RequestBodyStream body) {
        return new TunnelRequest(streamId, method, path, Collections.unmodifiableList(headers), websocket, body, null, -1);
    }

    private TunnelRequest(int streamId, String method, String path, List<Header> headers, boolean websocket, InputStream body,
            TunnelRequest root, long knownLength) {
        this.streamId = streamId;
        this.method = method;
        this.path = path;
        this.headers = headers == null ? List.of() : headers;
        this.websocket = websocket;
        this.body = body;
        this.root = root == null ? this : root;
        this.knownLength = knownLength;
    }

    /**
     * A request that did not come through the tunnel, with a fixed body (a replay, a test). It
     * carries a {@code content-length} matching {@code body} (any given one is replaced), so the
     * target proxy never has to probe the body; it is never aborted.
     */
    public static TunnelRequest of(String method, String path, List<Header> headers, byte[] body) {
        List<Header> h = new ArrayList<>();
        for (Header x : headers) {
            if (!x.name().equalsIgnoreCase("content-length") && !x.name().equalsIgnoreCase("transfer-encoding")) {
                h.add(x);
            }
        }
        h.add(new Header("content-length", Integer.toString(body.length)));
        return new TunnelRequest(0, method, path, Collections.unmodifiableList(h), false, new ByteArrayInputStream(body.clone()), null, body.length);
    }

    /**
     * A copy of this request that reads its body from {@code newBody} (typically a wrapper around
     * {@link #body()} that records what passes, as the request inspector does). The copy shares this
     * request's abort state and hooks. Note: the SDK's target proxy needs the original stream for a
     * body without {@code content-length}, so do not wrap such a body in target mode.
     */
    public TunnelRequest withBody(InputStream newBody) {
        return new TunnelRequest(streamId, method, path, headers, websocket, newBody, root, knownLength);
    }

    /**
     * Blocks until the first body bytes or the body's end arrived (reads nothing); true when the
     * body is empty. For a body replaced by {@link #withBody}, answers for the original body.
     */
    public boolean awaitEmptyBody() throws IOException {
        if (knownLength >= 0) {
            return knownLength == 0;
        }
        return root.body instanceof RequestBodyStream r ? r.awaitEmpty() : false;
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
    public boolean isAborted() {
        if (root != this) {
            return root.isAborted();
        }
        synchronized (this) {
            return aborted;
        }
    }

    /** Runs {@code hook} when the stream is aborted (at once if it already was). Used by the proxy to cancel the local call. */
    void onAbort(Runnable hook) {
        if (root != this) {
            root.onAbort(hook);
            return;
        }
        synchronized (this) {
            if (!aborted) {
                abortHooks.add(hook);
                return;
            }
        }
        hook.run();
    }

    void abort() {
        if (root != this) {
            root.abort();
            return;
        }
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
