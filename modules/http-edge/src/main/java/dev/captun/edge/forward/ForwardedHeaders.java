package dev.captun.edge.forward;

import dev.captun.edge.ratelimit.ClientIp;
import java.net.InetAddress;
import java.util.Locale;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/** Who the public client is and how it reached us, believing forwarding headers only from trusted proxies. */
public final class ForwardedHeaders {
    private final ClientIp clientIp;

    public ForwardedHeaders(ClientIp clientIp) {
        this.clientIp = clientIp;
    }

    public static InetAddress peer(HttpRequest request) {
        return request.getAttribute(AttributeKeys.remoteAddress)
                .flatMap(a -> a.getAddress())
                .orElse(InetAddress.getLoopbackAddress());
    }

    /** The client IP used for rate limits. */
    public String clientIp(HttpRequest request) {
        return clientIp.resolve(peer(request), name -> header(request, name));
    }

    /** {@code x-forwarded-for} toward the local service (appended only behind a trusted proxy). */
    public String forwardedFor(HttpRequest request, String incomingXff) {
        return clientIp.forwardedFor(peer(request), incomingXff);
    }

    public boolean isTrustedProxy(InetAddress peer) {
        return clientIp.isTrustedProxy(peer);
    }

    /** {@code http} or {@code https} as the public client used it. */
    public String scheme(HttpRequest request) {
        if (clientIp.isTrustedProxy(peer(request))) {
            String proto = header(request, "x-forwarded-proto");
            if (proto != null) {
                String first = proto.split(",")[0].trim().toLowerCase(Locale.ROOT);
                if (first.equals("https") || first.equals("http")) {
                    return first;
                }
            }
        }
        // A WebSocket request's URI scheme is ws/wss; the public URL is the HTTP one.
        String scheme = request.getUri().getScheme();
        return scheme.equals("https") || scheme.equals("wss") ? "https" : "http";
    }

    /**
     * A header's value for client-IP resolution: every line of it, joined with {@code ", "} in the
     * order received (RFC 9110 §5.3). A trusted proxy may append its own {@code x-forwarded-for} line
     * after the client's; reading only the first line would let the client pick its own key. For the
     * single-value headers several lines join into a value that is no address, so they are ignored.
     */
    static String header(HttpRequest request, String name) {
        String joined = null;
        for (HttpHeader h : request.getHeaders()) {
            if (h.is(name)) {
                joined = joined == null ? h.value() : joined + ", " + h.value();
            }
        }
        return joined;
    }
}
