package dev.captun.client.inspect;

import dev.captun.protocol.Header;
import dev.captun.protocol.HopByHop;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** Builds the request a replay sends: the captured one, with the user's edits (pure). */
final class Replay {
    private static final Pattern METHOD = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Pattern HEADER_NAME = METHOD;
    /** Framing is recomputed for the replayed body; Expect was already answered when it was captured. */
    private static final Set<String> DROP = Set.of("content-length", "expect");

    private Replay() {}

    /** What the user changed; a null field keeps the captured value. */
    record Edit(String method, String path, List<Header> headers, byte[] body) {
        static final Edit NONE = new Edit(null, null, null, null);
    }

    /** The request to send (its content-length is set from {@code body} when it is built). */
    record Plan(String method, String path, List<Header> headers, byte[] body) {}

    /** A replay that cannot be made, with the HTTP status the API answers. */
    static final class Refused extends Exception {
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    static Plan plan(Exchange captured, Edit edit) throws Refused {
        if (captured.webSocket) {
            throw new Refused(400, "a WebSocket upgrade cannot be replayed");
        }
        String method = edit.method() == null ? captured.method : edit.method().strip();
        if (!METHOD.matcher(method).matches()) {
            throw new Refused(400, "invalid method: \"" + method + "\"");
        }
        String path = edit.path() == null ? captured.path : edit.path().strip();
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
            throw new Refused(400, "the path must start with / and contain no spaces or control characters: \"" + path + "\"");
        }
        List<Header> headers = edit.headers() == null ? captured.requestHeaders : edit.headers();
        for (Header h : headers) {
            if (h.name() == null || !HEADER_NAME.matcher(h.name()).matches()
                    || h.value() == null || h.value().chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) {
                throw new Refused(400, "invalid header: " + h.name());
            }
        }
        byte[] body = edit.body();
        if (body == null) {
            body = capturedBody(captured);
        }
        return new Plan(method, path, HopByHop.strip(headers, DROP), body);
    }

    private static byte[] capturedBody(Exchange captured) throws Refused {
        BodyCapture b = captured.requestBody;
        if (b == null) {
            if (captured.requestBodyNote != null) {
                throw new Refused(409, "the request body was not recorded (" + captured.requestBodyNote + "): send a body to replay with");
            }
            return new byte[0];
        }
        if (b.isTruncated()) {
            throw new Refused(409, "the request body was cut at the capture cap (" + b.captured() + " of " + b.total()
                    + " bytes): send a body to replay with");
        }
        if (!b.isComplete()) {
            throw new Refused(409, "the request body was not read to its end (" + b.captured()
                    + " bytes seen): send a body to replay with");
        }
        return b.bytes();
    }
}
