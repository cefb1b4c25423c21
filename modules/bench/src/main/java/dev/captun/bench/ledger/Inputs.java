package dev.captun.bench.ledger;

import dev.captun.edge.forward.LedgerAccess;
import dev.captun.protocol.Header;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/**
 * The one small exchange every ledger benchmark measures a stage of, so their figures add up: a
 * browser's GET (11 headers, as Chromium sends them for a same-origin fetch) answered with 13 bytes
 * and 4 headers (what nginx says about a small static file, minus hop-by-hop ones).
 */
final class Inputs {
    private Inputs() {}

    static final String METHOD = "GET";
    static final String PATH = "/api/items?page=2";
    static final String HOST = "bench.localhost:8080";
    static final String CLIENT_IP = "203.0.113.7";

    /** The public request's headers as the browser sent them (name, value). */
    static final List<Header> BROWSER = List.of(
            new Header("Host", HOST),
            new Header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            new Header("Accept", "application/json, text/plain, */*"),
            new Header("Accept-Language", "en-GB,en;q=0.9,de;q=0.8"),
            new Header("Accept-Encoding", "gzip, deflate, br, zstd"),
            new Header("Connection", "keep-alive"),
            new Header("Referer", "http://bench.localhost:8080/items"),
            new Header("Cookie", "session=3f9a1c2e7b5d4a8f9e0c1b2a3d4e5f60; theme=dark"),
            new Header("Sec-Fetch-Dest", "empty"),
            new Header("Sec-Fetch-Mode", "cors"),
            new Header("Sec-Fetch-Site", "same-origin"));

    /** The public request as Pekko's server parser hands it over: Host, User-Agent, Accept… as modelled headers. */
    static final HttpRequest PUBLIC_REQUEST = publicRequest();

    /** The same request's headers as the tunnel client gets them (hop-by-hop dropped, x-forwarded-* added). */
    static final List<Header> TUNNEL_REQUEST = List.copyOf(requestHeaders(PUBLIC_REQUEST));

    /** The local service's answer: its 13 bytes and 4 headers. */
    static final int STATUS = 200;
    static final byte[] BODY = "hello, world\n".getBytes(StandardCharsets.US_ASCII);
    static final List<Header> RESPONSE = List.of(
            new Header("Content-Type", "text/plain"),
            new Header("Content-Length", Integer.toString(BODY.length)),
            new Header("Date", "Sun, 07 Dec 2025 02:14:49 GMT"),
            new Header("ETag", "\"6934e2a9-d\""));

    private static HttpRequest publicRequest() {
        List<HttpHeader> headers = new ArrayList<>();
        for (Header h : BROWSER) {
            headers.add(HttpHeader.parse(h.name(), h.value()));
        }
        return HttpRequest.GET("http://" + HOST + PATH).addHeaders(headers);
    }

    /**
     * The gateway's translation, trusted policy, untrusted peer (the common case): x-forwarded-for is
     * just the peer, here a constant, so client-IP resolution (ClientIp) is not part of any figure.
     * The codec and the stage benchmarks encode its result, so all three see the same head.
     */
    static List<Header> requestHeaders(HttpRequest request) {
        // Non-capturing lambdas: one instance each, nothing allocated per call.
        Supplier<String> client = () -> CLIENT_IP;
        UnaryOperator<String> xff = incoming -> CLIENT_IP;
        return LedgerAccess.requestHeaders(request, request.entity(), HOST, "http", false, client, false, xff);
    }
}
