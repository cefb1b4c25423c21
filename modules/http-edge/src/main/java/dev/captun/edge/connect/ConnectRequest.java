package dev.captun.edge.connect;

import dev.captun.protocol.Protocol;
import dev.captun.protocol.Tokens;

/** Reads a connect request's token (SPEC §3, in lookup order) and protocol version. Pure. */
public final class ConnectRequest {
    private ConnectRequest() {}

    /**
     * @param offeredSubprotocols the client's Sec-WebSocket-Protocol values, in order
     * @param headerToken {@code x-captun-connect-token}, or null
     * @param queryToken legacy {@code captun-token} query parameter, or null
     * @return the token, or null when none was presented
     */
    public static String token(Iterable<String> offeredSubprotocols, String headerToken, String queryToken) {
        boolean marker = false;
        String fromSubprotocol = null;
        for (String p : offeredSubprotocols) {
            String offered = p.trim();
            if (offered.equals(Protocol.SUBPROTOCOL)) {
                marker = true;
            } else if (fromSubprotocol == null) {
                fromSubprotocol = Tokens.fromSubprotocol(offered); // a malformed one is skipped
            }
        }
        if (marker && fromSubprotocol != null) {
            return fromSubprotocol;
        }
        if (headerToken != null) {
            return headerToken;
        }
        return queryToken;
    }

    /** Splits raw {@code Sec-WebSocket-Protocol} header values into the offered list. */
    public static java.util.List<String> splitProtocols(Iterable<String> headerValues) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String v : headerValues) {
            for (String p : v.split(",")) {
                if (!p.isBlank()) {
                    out.add(p.trim());
                }
            }
        }
        return out;
    }

    /** Whether this gateway speaks the version a client asked for ({@code null} = absent = 1). */
    public static boolean supportsVersion(String versionParam) {
        return version(versionParam) > 0;
    }

    /** The protocol version a session speaks with this client ({@code null} = absent = 1), or -1 when unsupported. */
    public static int version(String versionParam) {
        if (versionParam == null) {
            return Protocol.MIN_VERSION <= 1 ? 1 : -1; // an old client that names no version speaks 1
        }
        for (int v = Protocol.MIN_VERSION; v <= Protocol.VERSION; v++) {
            if (versionParam.equals(Integer.toString(v))) {
                return v;
            }
        }
        return -1;
    }
}
