package dev.captun.protocol;

/** Constants shared by the gateway session and the client SDK. See docs/PROTOCOL.md. */
public final class Protocol {
    private Protocol() {}

    /** Version spoken by this build. Sent by the client as the {@code captun-protocol} query parameter. */
    public static final int VERSION = 3;
    /**
     * Oldest version this build speaks. Version 3 (binary frames, {@link FrameWriter}/{@link FrameReader})
     * replaced the JSON frames of 1 and 2 outright: the gateway refuses those before the upgrade.
     */
    public static final int MIN_VERSION = 3;
    /** Query parameter carrying the client's protocol version on connect. */
    public static final String VERSION_PARAM = "captun-protocol";
    /** Marker subprotocol offered by clients and echoed by the gateway on the 101. */
    public static final String SUBPROTOCOL = "captun";
    /** Prefix of the subprotocol that carries the token (base64url, no padding). */
    public static final String TOKEN_SUBPROTOCOL_PREFIX = "captun-token.";

    /** Largest payload of one binary frame; senders split bigger chunks. */
    public static final int MAX_DATA_PAYLOAD = 64 * 1024;
    /** Largest encoded request or response head (protocol 3): method, path and headers. */
    public static final int MAX_HEAD_BYTES = 64 * 1024;
    /**
     * Largest WebSocket message a peer accepts (protocol 3): frames written while the socket was busy
     * travel as one message, up to this size. Senders start a new message before crossing it.
     */
    public static final int MAX_MESSAGE_BYTES = 256 * 1024;
    /** Largest whole body carried inside a message between gateway nodes; larger ones stream (a stream ref). */
    public static final int INLINE_BODY_MAX = 16 * 1024;


    /** A close reason must fit a WebSocket close frame: at most 123 bytes of UTF-8 (cut at a character). */
    public static String truncateReason(String reason) {
        if (reason == null) {
            return "";
        }
        if (reason.length() <= 30) {
            return reason; // at most 4 bytes a char
        }
        byte[] b = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length <= 123) {
            return reason;
        }
        int end = 123;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // never cut inside a UTF-8 sequence
        }
        return new String(b, 0, end, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Initial per-stream, per-direction credit window in bytes. */
    public static final int DEFAULT_WINDOW = 256 * 1024;
    /** Default heartbeat interval; a peer silent for 3 intervals is dead. */
    public static final int DEFAULT_HEARTBEAT_SECONDS = 15;

    /** Close code: an admitted newer connection replaced this session (SPEC §4). */
    public static final int CLOSE_REPLACED = 4000;
    public static final String CLOSE_REPLACED_REASON = "Replaced by a newer connection";
    /** Close code: the gateway node is shutting down (or the session moved away from a draining node). */
    public static final int CLOSE_GOING_AWAY = 1001;
    /** Close code: the peer broke the protocol (bad frame, credit overrun, unknown stream kind). */
    public static final int CLOSE_PROTOCOL_ERROR = 4002;
    /** Close code: no frame from the peer within three heartbeat intervals. */
    public static final int CLOSE_HEARTBEAT_TIMEOUT = 4003;
    /** Close code on a forwarded public WebSocket whose message exceeded the limit (SPEC §5). */
    public static final int CLOSE_MESSAGE_TOO_LARGE = 4009;
    public static final String CLOSE_MESSAGE_TOO_LARGE_REASON = "Message too large to tunnel";
    /** Largest forwarded public WebSocket message (SPEC §5). */
    public static final int MAX_TUNNELED_WS_MESSAGE = 16 * 1024 * 1024;
}
