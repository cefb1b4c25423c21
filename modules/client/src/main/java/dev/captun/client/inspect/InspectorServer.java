package dev.captun.client.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.captun.protocol.Header;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inspector's page and JSON API on the JDK's built-in HTTP server:
 * <pre>
 * GET    /                          the page (index.html, inspector.js, inspector.css from the jar)
 * GET    /api/requests              {capacity, cap, version, requests: [summary, newest first]}
 * DELETE /api/requests              clear (204)
 * GET    /api/requests/{id}         one exchange in full (404 when gone)
 * POST   /api/requests/{id}/replay  replay, optionally edited: {method, path, headers: [[n, v]…], body | bodyBase64} → 202 {id}
 * GET    /api/events                Server-Sent Events: "data: &lt;version&gt;" whenever anything changed
 * </pre>
 * The page is bound to loopback by default; the Host check refuses DNS-rebinding pages and the
 * Origin check refuses other sites' pages that try to replay or clear through the user's browser.
 */
final class InspectorServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InspectorServer.class);
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html",
            "/index.html", "index.html",
            "/inspector.js", "inspector.js",
            "/inspector.css", "inspector.css");
    private static final long KEEP_ALIVE_MILLIS = 15_000;
    /**
     * At most one event per 250 ms per open page: under load every request would otherwise wake the
     * stream (and the page would re-read the list) several times, costing the tunnel throughput.
     */
    private static final long MIN_EVENT_INTERVAL_MILLIS = 250;

    private final Inspector inspector;
    private final HttpServer server;
    private final ExecutorService pool;
    private final URI url;
    private final boolean loopback;
    private volatile boolean closed;

    private InspectorServer(Inspector inspector, HttpServer server, ExecutorService pool) {
        this.inspector = inspector;
        this.server = server;
        this.pool = pool;
        InetSocketAddress a = server.getAddress();
        InetAddress ip = a.getAddress();
        this.loopback = ip.isLoopbackAddress();
        String host = ip.isAnyLocalAddress() ? "127.0.0.1"
                : ip instanceof java.net.Inet6Address ? "[" + ip.getHostAddress() + "]" : ip.getHostAddress();
        this.url = URI.create("http://" + host + ":" + a.getPort());
    }

    /** Binds {@code host:port}, else the next ports up to {@code attempts} in all. */
    static InspectorServer bind(Inspector inspector, String host, int port, int attempts) throws IOException {
        InetAddress ip = InetAddress.getByName(host);
        BindException last = null;
        for (int i = 0; i < attempts && port + i <= 65535; i++) {
            HttpServer s;
            try {
                s = HttpServer.create(new InetSocketAddress(ip, port == 0 ? 0 : port + i), 64);
            } catch (BindException e) {
                last = e;
                if (port == 0) {
                    break;
                }
                continue;
            }
            AtomicInteger n = new AtomicInteger();
            // a thread per open page (its event stream) plus the API calls: a cached pool of daemons
            ExecutorService pool = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "captun-inspector-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            InspectorServer server = new InspectorServer(inspector, s, pool);
            s.createContext("/", server::serve);
            s.setExecutor(pool);
            s.start();
            return server;
        }
        String range = attempts > 1 ? host + ":" + port + "-" + Math.min(65535, port + attempts - 1) : host + ":" + port;
        BindException e = new BindException("cannot serve the inspector on " + range + ": address in use");
        if (last != null) {
            e.initCause(last);
        }
        throw e;
    }

    URI url() {
        return url;
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        closed = true;
        inspector.ring().changed(); // wakes the event streams so they end
        server.stop(0);
        pool.shutdownNow();
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            if (!hostAllowed(ex)) {
                send(ex, 421, "text/plain; charset=utf-8", "unknown Host: open the inspector at " + url + "\n");
                return;
            }
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getPath();
            if (!method.equals("GET") && !method.equals("HEAD") && !originAllowed(ex)) {
                send(ex, 403, "text/plain; charset=utf-8", "cross-origin request refused\n");
                return;
            }
            String asset = ASSETS.get(path);
            if (asset != null) {
                if (!method.equals("GET") && !method.equals("HEAD")) {
                    methodNotAllowed(ex, "GET");
                    return;
                }
                asset(ex, asset);
            } else if (path.equals("/api/requests")) {
                switch (method) {
                    case "GET" -> json(ex, 200, list());
                    case "DELETE" -> {
                        inspector.ring().clear();
                        ex.sendResponseHeaders(204, -1);
                    }
                    default -> methodNotAllowed(ex, "GET, DELETE");
                }
            } else if (path.equals("/api/events")) {
                if (!method.equals("GET")) {
                    methodNotAllowed(ex, "GET");
                    return;
                }
                events(ex);
            } else if (path.startsWith("/api/requests/")) {
                exchangeRoute(ex, method, path.substring("/api/requests/".length()));
            } else {
                error(ex, 404, "not found");
            }
        } catch (IOException e) {
            log.debug("inspector request failed", e);
        } catch (RuntimeException e) {
            log.warn("inspector request failed", e);
            try {
                error(ex, 500, "internal error: " + e);
            } catch (IOException ignored) {
                // the response was already started
            }
        }
    }

    private void exchangeRoute(HttpExchange ex, String method, String rest) throws IOException {
        boolean replay = rest.endsWith("/replay");
        String idText = replay ? rest.substring(0, rest.length() - "/replay".length()) : rest;
        long id;
        try {
            id = Long.parseLong(idText);
        } catch (NumberFormatException e) {
            error(ex, 404, "not found");
            return;
        }
        if (!replay) {
            if (!method.equals("GET")) {
                methodNotAllowed(ex, "GET");
                return;
            }
            Exchange e = inspector.ring().get(id);
            if (e == null) {
                error(ex, 404, "no request " + id + " (cleared, or pushed out of the last " + inspector.ring().capacity() + ")");
                return;
            }
            json(ex, 200, InspectorJson.detail(e, inspector.bodyCap()));
            return;
        }
        if (!method.equals("POST")) {
            methodNotAllowed(ex, "POST");
            return;
        }
        Replay.Edit edit;
        try {
            edit = parseEdit(ex.getRequestBody().readAllBytes());
        } catch (IllegalArgumentException e) {
            error(ex, 400, e.getMessage());
            return;
        }
        try {
            long newId = inspector.replay(id, edit);
            ObjectNode o = InspectorJson.MAPPER.createObjectNode();
            o.put("id", newId);
            o.put("replayOf", id);
            json(ex, 202, o);
        } catch (Replay.Refused r) {
            error(ex, r.status, r.getMessage());
        }
    }

    /** The replay edit from the request body (empty body = replay as captured). */
    static Replay.Edit parseEdit(byte[] body) {
        if (body.length == 0) {
            return Replay.Edit.NONE;
        }
        JsonNode n;
        try {
            n = InspectorJson.MAPPER.readTree(body);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("the replay body must be JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("the replay body must be JSON");
        }
        if (n == null || n.isNull() || n.isMissingNode()) {
            return Replay.Edit.NONE;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("the replay body must be a JSON object");
        }
        String method = text(n, "method");
        String path = text(n, "path");
        List<Header> headers = null;
        JsonNode hs = n.get("headers");
        if (hs != null && !hs.isNull()) {
            if (!hs.isArray()) {
                throw new IllegalArgumentException("headers must be an array of [name, value] pairs");
            }
            headers = new ArrayList<>();
            for (JsonNode h : (ArrayNode) hs) {
                if (h.isArray() && h.size() == 2 && h.get(0).isTextual() && h.get(1).isTextual()) {
                    headers.add(new Header(h.get(0).asText(), h.get(1).asText()));
                } else if (h.isObject() && h.path("name").isTextual() && h.path("value").isTextual()) {
                    headers.add(new Header(h.get("name").asText(), h.get("value").asText()));
                } else {
                    throw new IllegalArgumentException("headers must be an array of [name, value] pairs");
                }
            }
        }
        byte[] bytes = null;
        String text = text(n, "body");
        String b64 = text(n, "bodyBase64");
        if (text != null && b64 != null) {
            throw new IllegalArgumentException("give body or bodyBase64, not both");
        }
        if (text != null) {
            bytes = text.getBytes(StandardCharsets.UTF_8);
        } else if (b64 != null) {
            try {
                bytes = Base64.getDecoder().decode(b64);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bodyBase64 is not base64");
            }
        }
        return new Replay.Edit(method, path, headers, bytes);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException(field + " must be a string");
        }
        return v.asText();
    }

    private ObjectNode list() {
        ObjectNode o = InspectorJson.MAPPER.createObjectNode();
        CaptureRing ring = inspector.ring();
        o.put("version", ring.version()); // before the list: a change after it is never missed
        o.put("capacity", ring.capacity());
        o.put("cap", inspector.bodyCap());
        ArrayNode a = o.putArray("requests");
        for (Exchange e : ring.list()) {
            a.add(InspectorJson.summary(e));
        }
        return o;
    }

    /** An event (the version) when something changed, at most one per 250 ms; a comment every 15 s keeps it open. */
    private void events(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("content-type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("cache-control", "no-store");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        CaptureRing ring = inspector.ring();
        long seen = ring.version();
        out.write(("retry: 1000\ndata: " + seen + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        try {
            while (!closed) {
                long v = ring.awaitChange(seen, KEEP_ALIVE_MILLIS);
                if (closed) {
                    break;
                }
                out.write((v == seen ? ":\n\n" : "data: " + v + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (v != seen) {
                    Thread.sleep(MIN_EVENT_INTERVAL_MILLIS); // changes meanwhile go out together in the next event
                }
                seen = v;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean hostAllowed(HttpExchange ex) {
        if (!loopback) {
            return true; // bound to a network on purpose: the user chose who may reach it
        }
        String host = ex.getRequestHeaders().getFirst("host");
        if (host == null) {
            return true;
        }
        String h = host.toLowerCase(Locale.ROOT);
        int port = server.getAddress().getPort();
        return h.equals("127.0.0.1:" + port) || h.equals("localhost:" + port) || h.equals("[::1]:" + port)
                || h.equals(url.getAuthority());
    }

    private boolean originAllowed(HttpExchange ex) {
        String origin = ex.getRequestHeaders().getFirst("origin");
        String host = ex.getRequestHeaders().getFirst("host");
        return origin == null || (host != null && origin.equalsIgnoreCase("http://" + host));
    }

    private void asset(HttpExchange ex, String name) throws IOException {
        byte[] body;
        try (InputStream in = InspectorServer.class.getResourceAsStream(name)) {
            if (in == null) {
                error(ex, 500, "asset " + name + " missing from the jar");
                return;
            }
            body = in.readAllBytes();
        }
        String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
        ex.getResponseHeaders().set("content-security-policy",
                "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'");
        ex.getResponseHeaders().set("cache-control", "no-cache");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("content-type", type);
            ex.sendResponseHeaders(200, -1);
            return;
        }
        send(ex, 200, type, body);
    }

    private static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        ex.getResponseHeaders().set("cache-control", "no-store");
        send(ex, status, "application/json", InspectorJson.MAPPER.writeValueAsBytes(body));
    }

    private static void error(HttpExchange ex, int status, String message) throws IOException {
        ObjectNode o = InspectorJson.MAPPER.createObjectNode();
        o.put("error", message);
        json(ex, status, o);
    }

    private static void methodNotAllowed(HttpExchange ex, String allow) throws IOException {
        ex.getResponseHeaders().set("allow", allow);
        error(ex, 405, "method not allowed (allow: " + allow + ")");
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        send(ex, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("content-type", type);
        ex.getResponseHeaders().set("x-content-type-options", "nosniff");
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            ex.getResponseBody().write(body);
        }
    }
}
