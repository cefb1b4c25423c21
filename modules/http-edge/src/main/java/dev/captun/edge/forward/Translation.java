package dev.captun.edge.forward;

import static dev.captun.edge.routing.PlainResponses.of;

import dev.captun.edge.routing.HeaderRules;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.protocol.Header;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The pure half of forwarding (SPEC §5): a public request's headers as the tunnel client sees
 * them, and a tunnel client's response head as the public client gets it. No actors, no streams
 * run here; {@link PublicForwarder} decides where things go.
 */
final class Translation {
    private Translation() {}

    /** Headers Pekko HTTP synthesizes or models outside the header list, or that the gateway sets itself. */
    private static final Set<String> NOT_FORWARDED = Set.of(
            "raw-request-uri", "timeout-access", "remote-address", "tls-session-info", "upgradetowebsocket",
            "content-type", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
            "x-captun-tunnel-url");

    /**
     * Client identity claims the local service must not take from a public client: only the gateway
     * says who the client is (x-forwarded-for), or a trusted proxy whose claim the gateway resolved.
     */
    private static final Set<String> IDENTITY = Set.of("x-real-ip", "forwarded", "cf-connecting-ip", "true-client-ip");

    /** WebSocket handshake headers are regenerated on the local side, never copied (SPEC §5). */
    private static final Set<String> HANDSHAKE = Set.of(
            "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept");

    /**
     * The request headers toward the tunnel client.
     *
     * @param clientIp the resolved client (the peer, or what a trusted proxy said)
     * @param trustedPeer whether the TCP peer is a trusted proxy (its x-real-ip survives, rewritten to the resolved client)
     * @param forwardedFor the x-forwarded-for value to send
     */
    static List<Header> requestHeaders(HttpRequest request, HttpEntity entity, String host, String scheme, boolean websocket,
                                       java.util.function.Supplier<String> clientIp, boolean trustedPeer,
                                       java.util.function.UnaryOperator<String> forwardedFor) {
        List<Header> in = new ArrayList<>();
        String incomingXff = null;
        boolean realIp = false;
        for (HttpHeader h : request.getHeaders()) {
            String n = h.lowercaseName();
            if (n.equals("x-forwarded-for")) {
                incomingXff = incomingXff == null ? h.value() : incomingXff + ", " + h.value();
            } else if (IDENTITY.contains(n)) {
                realIp |= n.equals("x-real-ip");
            } else if (!NOT_FORWARDED.contains(n) && !(websocket && HANDSHAKE.contains(n))) {
                in.add(new Header(h.name(), h.value()));
            }
        }
        List<Header> out = HeaderRules.stripHopByHop(in);
        if (!entity.getContentType().equals(ContentTypes.NO_CONTENT_TYPE)) {
            out.add(new Header("content-type", entity.getContentType().toString()));
        }
        if (entity.getContentLengthOption().isPresent() && !entity.isKnownEmpty()) {
            out.add(new Header("content-length", Long.toString(entity.getContentLengthOption().getAsLong())));
        }
        out.add(new Header("x-forwarded-for", forwardedFor.apply(incomingXff)));
        out.add(new Header("x-forwarded-proto", scheme));
        if (host != null) {
            out.add(new Header("x-forwarded-host", host));
        }
        if (realIp && trustedPeer) {
            out.add(new Header("x-real-ip", clientIp.get()));
        }
        return out;
    }

    /** The public status for a tunnel client's status, or null when it may not be passed on (→ 502). */
    static StatusCode publicStatus(int status, boolean websocketAsked) {
        if (status == 101) {
            return websocketAsked ? StatusCodes.SWITCHING_PROTOCOLS : null; // 101 only completes an upgrade the client asked for
        }
        if (status < 200 || status > 999) {
            return null;
        }
        try {
            return StatusCodes.get(status);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * The public response for a head from the tunnel client (not a 101).
     *
     * @param whole the whole body, or null when it streams from {@code body} (null too: no body)
     */
    static HttpResponse response(StatusCode status, List<Header> tunnelHeaders, String name, boolean folder, boolean publicPolicy,
                                 String tunnelHost, ByteString whole, Source<ByteString, ?> body) {
        List<Header> headers = HeaderRules.rewriteResponse(tunnelHeaders, name, folder, publicPolicy, tunnelHost);
        ContentType contentType = ContentTypes.APPLICATION_OCTET_STREAM;
        boolean hasContentType = false;
        Long contentLength = null;
        List<HttpHeader> out = new ArrayList<>(headers.size());
        for (Header h : headers) {
            if (h.name() == null || h.value() == null) {
                continue; // a broken header from the tunnel client is dropped, never a failed response
            }
            String n = h.name().toLowerCase(Locale.ROOT);
            if (n.equals("content-type")) {
                ContentType parsed = Parsed.contentType(h.value());
                if (parsed != null) {
                    contentType = parsed;
                    hasContentType = true;
                } // unparseable: keep the octet-stream default rather than fail the response
            } else if (n.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(h.value().trim());
                } catch (NumberFormatException e) {
                    // ignore a broken length: the body is streamed chunked instead
                }
            } else if (n.equals("date") || n.equals("server")) {
                // Pekko renders Date and Server only from their model classes (raw ones are dropped with a
                // warning per response).
                HttpHeader parsed = Parsed.header(n, h.value());
                if (parsed != null) {
                    out.add(parsed);
                } // unparseable: Pekko adds its own
            } else {
                try {
                    out.add(RawHeader.create(h.name(), h.value()));
                } catch (RuntimeException illegal) {
                    // a name Pekko cannot render: dropped
                }
            }
        }
        HttpResponse response = HttpResponse.create().withStatus(status).addHeaders(out);
        int code = status.intValue();
        boolean bodiless = code == 204 || code == 304;
        if (bodiless || whole == null && body == null || whole != null && whole.isEmpty()) {
            return response.withEntity(hasContentType ? HttpEntities.create(contentType, new byte[0]) : HttpEntities.EMPTY);
        }
        if (whole != null) {
            return response.withEntity(HttpEntities.create(contentType, whole)); // strict: its own length
        }
        if (contentLength != null && contentLength >= 0) {
            return response.withEntity(HttpEntities.create(contentType, contentLength, body));
        }
        return response.withEntity(HttpEntities.createChunked(contentType, body));
    }

    static HttpResponse fetchFailed() {
        return of(502, PlainResponses.FETCH_FAILED);
    }

    /**
     * Pekko's header parser is the costliest step of a small response (tens of µs for a Date). A
     * service sends a handful of distinct Content-Types, and one Date per second: parse each once.
     * Bounded: the maps are cleared when they grow past {@link #MAX}, so hostile variety costs a
     * parse per response, as it did without the cache, and no memory.
     */
    static final class Parsed {
        private static final int MAX = 256;
        private static final java.util.concurrent.ConcurrentHashMap<String, java.util.Optional<ContentType>> TYPES =
                new java.util.concurrent.ConcurrentHashMap<>();
        private static final java.util.concurrent.ConcurrentHashMap<String, java.util.Optional<HttpHeader>> HEADERS =
                new java.util.concurrent.ConcurrentHashMap<>();

        static ContentType contentType(String value) {
            java.util.Optional<ContentType> t = TYPES.get(value);
            if (t == null) {
                try {
                    t = java.util.Optional.of(ContentTypes.parse(value));
                } catch (RuntimeException e) {
                    t = java.util.Optional.empty();
                }
                put(TYPES, value, t);
            }
            return t.orElse(null);
        }

        /** {@code lowerName} is date or server: Pekko renders them only from their model classes. */
        static HttpHeader header(String lowerName, String value) {
            String key = lowerName + '\n' + value;
            java.util.Optional<HttpHeader> h = HEADERS.get(key);
            if (h == null) {
                try {
                    h = java.util.Optional.of(HttpHeader.parse(lowerName, value));
                } catch (RuntimeException e) {
                    h = java.util.Optional.empty();
                }
                put(HEADERS, key, h);
            }
            return h.orElse(null);
        }

        private static <V> void put(java.util.concurrent.ConcurrentHashMap<String, V> map, String key, V value) {
            if (map.size() >= MAX) {
                map.clear();
            }
            map.put(key, value);
        }
    }
}
