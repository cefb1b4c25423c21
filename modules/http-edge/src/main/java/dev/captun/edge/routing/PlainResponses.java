package dev.captun.edge.routing;

import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Every answer the gateway writes itself (SPEC §4): text/plain; charset=utf-8, no-store, body = message + "\n".
 */
public final class PlainResponses {
    private PlainResponses() {}

    public static final String MISSING_NAME = "Missing tunnel name";
    public static final String INVALID_NAME = "Invalid tunnel name";
    public static final String RESERVED_NAME = "Reserved Captun tunnel name";
    public static final String EXPECTED_UPGRADE = "Expected WebSocket upgrade";
    public static final String UNSUPPORTED_VERSION = "Unsupported captun protocol version";
    public static final String NO_CLIENT = "No tunnel client connected";
    public static final String FETCH_FAILED = "Tunnel fetch failed";
    public static final String TIMED_OUT = "Tunnel request timed out";
    /** A connect to a node that is draining (shutting down): the client tries another gateway. */
    public static final String DRAINING = "Gateway node is shutting down";
    public static final String REGISTRY_UNAVAILABLE = "Tunnel registry unavailable";
    public static final String TOO_MANY_TUNNELS = "Too many active tunnels from this IP";
    public static final String TOO_MANY_IN_FLIGHT = "Tunnel has too many requests in flight";
    public static final String TOO_MANY_IN_FLIGHT_FROM_IP = "Too many requests in flight from this IP to this tunnel";
    public static final String INTERNAL_ERROR = "Internal gateway error";
    /** A request head too large for one tunnel frame (431). */
    public static final String HEAD_TOO_LARGE = "Request header fields too large to tunnel";
    public static final String TOO_MANY_CONNECTIONS = "Too many open connections from this IP";

    public static HttpResponse of(int status, String message) {
        return HttpResponse.create()
                .withStatus(StatusCodes.get(status))
                .addHeader(RawHeader.create("cache-control", "no-store"))
                .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, message + "\n"));
    }

    /** 204 for a diagnostic probe that a connect would pass. */
    public static HttpResponse noContent() {
        return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)
                .addHeader(RawHeader.create("cache-control", "no-store"));
    }
}
