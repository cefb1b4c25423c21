package dev.captun.edge.forward;

import dev.captun.protocol.Header;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The bench module's way to {@link Translation}'s package-private methods (bench/ledger,
 * dev.captun.bench.ledger.TranslationBench): same package name on the plain classpath, so
 * http-edge keeps them package-private. Delegates only; adds nothing the gateway does not do.
 */
public final class LedgerAccess {
    private LedgerAccess() {}

    public static List<Header> requestHeaders(HttpRequest request, HttpEntity entity, String host, String scheme, boolean websocket,
                                              Supplier<String> clientIp, boolean trustedPeer, UnaryOperator<String> forwardedFor) {
        return Translation.requestHeaders(request, entity, host, scheme, websocket, clientIp, trustedPeer, forwardedFor);
    }

    public static StatusCode publicStatus(int status, boolean websocketAsked) {
        return Translation.publicStatus(status, websocketAsked);
    }

    public static HttpResponse response(StatusCode status, List<Header> tunnelHeaders, String name, boolean folder,
                                        boolean publicPolicy, String tunnelHost, ByteString whole, Source<ByteString, ?> body) {
        return Translation.response(status, tunnelHeaders, name, folder, publicPolicy, tunnelHost, whole, body);
    }
}
