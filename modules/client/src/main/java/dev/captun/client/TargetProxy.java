package dev.captun.client;

import dev.captun.protocol.Header;
import dev.captun.protocol.HopByHop;
import dev.captun.protocol.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.Timeout;

/**
 * Target proxy mode: forwards each request to a local HTTP(S) service with Apache HttpClient 5
 * classic (pooled, blocking, on the SDK's worker threads), streaming both bodies. No redirects, no
 * decompression, no cookies, no retries; hop-by-hop headers stripped both ways; Host = the target.
 */
final class TargetProxy implements TunnelHandler, AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TargetProxy.class);
    /** Not forwarded: hop-by-hop, framing (HttpClient sets it from the entity), and Expect (the gateway already answered it). */
    private static final Set<String> REQUEST_DROP = Set.of("host", "content-length", "expect");
    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH");

    private final String scheme;
    private final String authority;
    private final String basePath;
    private final CloseableHttpClient client;
    private final java.util.function.Supplier<String> tunnelName;
    private volatile java.net.http.HttpClient wsClient;

    TargetProxy(URI target) {
        this(target, () -> "");
    }

    /** {@code tunnelName} names the tunnel in the 502 a public client gets when the target is down. */
    TargetProxy(URI target, java.util.function.Supplier<String> tunnelName) {
        this.tunnelName = tunnelName;
        String s = target.getScheme() == null ? "" : target.getScheme().toLowerCase(Locale.ROOT);
        if (!s.equals("http") && !s.equals("https") || target.getHost() == null) {
            throw new IllegalArgumentException("target must be an http(s) URL with a host: " + target);
        }
        this.scheme = s;
        this.authority = target.getRawAuthority();
        String p = target.getRawPath() == null ? "" : target.getRawPath();
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        this.basePath = p;
        this.client = HttpClients.custom()
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setMaxConnPerRoute(256)
                        .setMaxConnTotal(512)
                        .setDefaultConnectionConfig(ConnectionConfig.custom()
                                .setConnectTimeout(Timeout.ofSeconds(10))
                                .setSocketTimeout(Timeout.DISABLED)
                                .build())
                        .build())
                .setDefaultRequestConfig(RequestConfig.custom()
                        .setRedirectsEnabled(false)
                        .setConnectionRequestTimeout(Timeout.ofSeconds(30))
                        .setResponseTimeout(Timeout.DISABLED)
                        .build())
                .disableRedirectHandling()
                .disableContentCompression()
                .disableCookieManagement()
                .disableAutomaticRetries()
                .disableAuthCaching()
                .evictIdleConnections(Timeout.of(30, TimeUnit.SECONDS))
                .build();
    }

    @Override
    public TunnelResponse handle(TunnelRequest req) throws Exception {
        if (req.isWebSocket()) {
            return LocalWebSocket.open(wsClient(), webSocketUri(req.path()), req);
        }
        HttpUriRequestBase out = new HttpUriRequestBase(req.method(), targetUri(req.path()));
        for (Header h : HopByHop.strip(req.headers(), REQUEST_DROP)) {
            out.addHeader(h.name(), h.value());
        }
        out.setHeader("Host", authority);
        out.setEntity(requestEntity(req));
        req.onAbort(out::cancel);
        ClassicHttpResponse resp;
        try {
            resp = client.executeOpen(null, out, null);
        } catch (java.net.ConnectException | java.net.UnknownHostException | org.apache.hc.client5.http.ConnectTimeoutException e) {
            return targetUnreachable(req, e);
        }
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        AutoCloseable release = () -> {
            if (!done.get()) {
                out.cancel(); // drops the connection instead of draining an unfinished body
            }
            resp.close();
        };
        try {
            List<Header> headers = new ArrayList<>();
            for (org.apache.hc.core5.http.Header h : resp.getHeaders()) {
                headers.add(new Header(h.getName(), h.getValue()));
            }
            headers = HopByHop.strip(headers, Set.of());
            HttpEntity entity = resp.getEntity();
            TunnelResponse r;
            if (entity == null) {
                done.set(true);
                r = TunnelResponse.empty(resp.getCode()).headers(headers);
            } else if (entity.getContentLength() >= 0 && entity.getContentLength() <= Protocol.MAX_DATA_PAYLOAD) {
                // Small and of known length: read it here so it travels in one message with the head.
                byte[] bytes = entity.getContent().readAllBytes();
                done.set(true);
                r = TunnelResponse.owning(resp.getCode(), bytes).headers(headers);
            } else {
                r = TunnelResponse.streaming(resp.getCode(), os -> {
                    byte[] buf = new byte[64 * 1024];
                    // no try-with-resources: closing an unfinished body would drain it (think SSE);
                    // on failure `release` cancels the exchange instead
                    InputStream in = entity.getContent();
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        if (n > 0) {
                            os.write(buf, 0, n);
                        }
                    }
                    done.set(true);
                    in.close();
                }).headers(headers);
            }
            return r.withResource(release);
        } catch (RuntimeException e) {
            out.cancel();
            resp.close();
            throw e;
        }
    }

    /** SPEC §5 "Local service down": a 502 that says which tunnel could not reach which target, and why. */
    private TunnelResponse targetUnreachable(TunnelRequest req, java.io.IOException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int i = m.lastIndexOf("failed: ");
        String error = e instanceof org.apache.hc.client5.http.ConnectTimeoutException ? "connect timed out"
                : e instanceof java.net.UnknownHostException ? "unknown host " + m
                : i >= 0 ? m.substring(i + "failed: ".length()) : m;
        String target = scheme + "://" + authority + basePath;
        log.warn("tunnel \"{}\": local service {} unreachable for {} {}: {}", tunnelName.get(), target, req.method(), req.path(), error);
        return TunnelResponse.text(502, "Tunnel \"" + tunnelName.get() + "\" could not reach its local service at " + target + ": " + error + "\n")
                .header("cache-control", "no-store");
    }

    private HttpEntity requestEntity(TunnelRequest req) throws IOException {
        String cl = req.header("content-length");
        long length = -1;
        if (cl != null) {
            try {
                length = Long.parseLong(cl.strip());
            } catch (NumberFormatException e) {
                length = -1;
            }
        }
        boolean bodyMethod = BODY_METHODS.contains(req.method().toUpperCase(Locale.ROOT));
        // A small body arrives with its head (DATA END in the same message): sent from the message's bytes, not
        // streamed. A wrapped body (the inspector's tee) is streamed as usual.
        ByteBuffer whole = req.body() instanceof RequestBodyStream rbs ? rbs.wholeBody() : null;
        if (whole != null && whole.hasArray()) {
            return !whole.hasRemaining() && !bodyMethod ? null
                    : new ByteArrayEntity(whole.array(), whole.arrayOffset() + whole.position(), whole.remaining(), null);
        }
        if (length == 0 || (length < 0 && req.awaitEmptyBody())) {
            return bodyMethod ? new ByteArrayEntity(new byte[0], null) : null;
        }
        return new InputStreamEntity(req.body(), length, null);
    }

    private java.net.http.HttpClient wsClient() {
        java.net.http.HttpClient c = wsClient;
        if (c == null) {
            synchronized (this) {
                c = wsClient;
                if (c == null) {
                    c = java.net.http.HttpClient.newBuilder()
                            .connectTimeout(LocalWebSocket.HANDSHAKE_TIMEOUT)
                            .followRedirects(java.net.http.HttpClient.Redirect.NEVER)
                            .build();
                    wsClient = c;
                }
            }
        }
        return c;
    }

    /** The local WebSocket URL: {@code ws://} for an http target, {@code wss://} for https; same path and query. */
    URI webSocketUri(String path) throws URISyntaxException {
        URI u = targetUri(path);
        return new URI((scheme.equals("https") ? "wss" : "ws") + u.toString().substring(scheme.length()));
    }

    URI targetUri(String path) throws URISyntaxException {
        String p = path == null || path.isEmpty() ? "/" : path;
        if (!p.startsWith("/")) {
            p = "/" + p;
        }
        String full = scheme + "://" + authority + basePath + p;
        try {
            return new URI(full);
        } catch (URISyntaxException e) {
            return new URI(escapeIllegal(full));
        }
    }

    /** Percent-encodes characters a lenient gateway may let through but java.net.URI rejects. */
    static String escapeIllegal(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c > 0x20 && c < 0x7f && "\"<>\\^`{|}".indexOf(c) < 0) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        client.close(CloseMode.IMMEDIATE);
    }
}
