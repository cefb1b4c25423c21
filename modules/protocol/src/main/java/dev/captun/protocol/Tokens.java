package dev.captun.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Token transport in the WebSocket subprotocol list (SPEC §3): {@code captun-token.<base64url, no padding>}. */
public final class Tokens {
    private Tokens() {}

    public static String toSubprotocol(String token) {
        return Protocol.TOKEN_SUBPROTOCOL_PREFIX
                + Base64.getUrlEncoder().withoutPadding().encodeToString(token.getBytes(StandardCharsets.UTF_8));
    }

    /** The token carried by a subprotocol, or null when it is not a well-formed token subprotocol. */
    public static String fromSubprotocol(String subprotocol) {
        if (subprotocol == null || !subprotocol.startsWith(Protocol.TOKEN_SUBPROTOCOL_PREFIX)) {
            return null;
        }
        String encoded = subprotocol.substring(Protocol.TOKEN_SUBPROTOCOL_PREFIX.length());
        if (encoded.isEmpty() || encoded.contains("=")) {
            return null;
        }
        try {
            byte[] raw = Base64.getUrlDecoder().decode(encoded);
            var decoder = StandardCharsets.UTF_8.newDecoder();
            return decoder.decode(java.nio.ByteBuffer.wrap(raw)).toString();
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }
}
