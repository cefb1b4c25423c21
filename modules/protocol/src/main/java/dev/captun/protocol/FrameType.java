package dev.captun.protocol;

/**
 * Protocol 3 frame types and flags (docs/PROTOCOL.md, "Frames"). Every frame is
 * {@code [type:1][flags:1][stream:4][length:4][payload:length]}, big-endian; a WebSocket message
 * holds one or more frames back to back.
 */
public final class FrameType {
    private FrameType() {}

    public static final int HEADER_BYTES = 10;

    // Stream frames (stream id > 0).
    /** Gateway → client: a new stream's request head. */
    public static final byte REQUEST = 0x01;
    /** Client → gateway: the response head. */
    public static final byte RESPONSE = 0x02;
    /** Body bytes of an HTTP stream; {@link #END} marks the last (possibly empty) part. */
    public static final byte DATA = 0x03;
    /** The receiver consumed this many bytes; the sender may send that many more. */
    public static final byte CREDIT = 0x04;
    /** Abandon the stream, with a reason. */
    public static final byte RESET = 0x05;
    /** A fragment of a forwarded WebSocket text message; {@link #END} marks the message's last fragment. */
    public static final byte WS_TEXT = 0x06;
    /** A fragment of a forwarded WebSocket binary message; {@link #END} marks the message's last fragment. */
    public static final byte WS_BINARY = 0x07;
    /** Close a forwarded WebSocket with a code and reason. */
    public static final byte WS_CLOSE = 0x08;

    // Session frames (stream id 0).
    public static final byte READY = 0x10;
    public static final byte PING = 0x11;
    public static final byte PONG = 0x12;
    public static final byte CLOSE = 0x13;
    public static final byte DRAIN = 0x14;

    /** REQUEST/RESPONSE: no body follows. DATA: the body ends with this frame. WS_*: last fragment of a message. */
    public static final int END = 0x01;
    /** REQUEST: a public WebSocket upgrade. */
    public static final int WEBSOCKET = 0x02;

    public static String name(int type) {
        return switch (type) {
            case REQUEST -> "request";
            case RESPONSE -> "response";
            case DATA -> "data";
            case CREDIT -> "credit";
            case RESET -> "reset";
            case WS_TEXT -> "ws-text";
            case WS_BINARY -> "ws-binary";
            case WS_CLOSE -> "ws-close";
            case READY -> "ready";
            case PING -> "ping";
            case PONG -> "pong";
            case CLOSE -> "close";
            case DRAIN -> "drain";
            default -> "type 0x" + Integer.toHexString(type & 0xff);
        };
    }
}
