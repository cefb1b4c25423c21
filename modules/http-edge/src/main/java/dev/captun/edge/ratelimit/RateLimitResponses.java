package dev.captun.edge.ratelimit;

import java.util.List;

/**
 * The gateway's own rate-limit answers (SPEC §4, §6), as plain values for the HTTP layer to wire
 * into a response: {@code text/plain; charset=utf-8}, {@code cache-control: no-store}, body = the
 * message plus {@code "\n"}.
 */
public final class RateLimitResponses {
    private RateLimitResponses() {}

    public static final String CONTENT_TYPE = "text/plain; charset=utf-8";
    public static final String UNAVAILABLE_MESSAGE = "Rate limiter unavailable";

    public static final String RETRY_AFTER = "retry-after";
    public static final String RATE_LIMIT_HEADER = "x-captun-rate-limit";
    public static final String CACHE_CONTROL = "cache-control";

    /** One response header (lower-case name). */
    public record Header(String name, String value) {}

    /** Status, body (already ending in "\n") and headers; content type is {@link #CONTENT_TYPE}. */
    public record Response(int status, String body, List<Header> headers) {
        public Response {
            headers = List.copyOf(headers);
        }

        public String contentType() {
            return CONTENT_TYPE;
        }

        /** The value of the first header named {@code name} (case-insensitive), or null. */
        public String header(String name) {
            for (Header h : headers) {
                if (h.name().equalsIgnoreCase(name)) {
                    return h.value();
                }
            }
            return null;
        }
    }

    /**
     * 429 for a bucket that rejected: body {@code Rate limit exceeded. Try again in <N>s.\n},
     * headers {@code retry-after: <N>}, {@code x-captun-rate-limit: <limit>}, {@code cache-control: no-store}.
     * {@code retryAfterSeconds} below 1 is sent as 1.
     */
    public static Response limited(long retryAfterSeconds, int limit) {
        long n = Math.max(1, retryAfterSeconds);
        return new Response(429, limitedMessage(n) + "\n", List.of(
                new Header(RETRY_AFTER, Long.toString(n)),
                new Header(RATE_LIMIT_HEADER, Integer.toString(limit)),
                new Header(CACHE_CONTROL, "no-store")));
    }

    /** The 429 message without the trailing newline. */
    public static String limitedMessage(long retryAfterSeconds) {
        return "Rate limit exceeded. Try again in " + Math.max(1, retryAfterSeconds) + "s.";
    }

    /** 503 {@code Rate limiter unavailable}: the limiter did not answer in time and limits are not disabled. */
    public static Response unavailable() {
        return new Response(503, UNAVAILABLE_MESSAGE + "\n", List.of(new Header(CACHE_CONTROL, "no-store")));
    }
}
