package dev.captun.protocol;

import java.util.List;

/**
 * Receives the frames of one message, in order, from {@link FrameReader#read}. Payload-carrying
 * frames pass {@code offset}/{@code length} into the message that was read, so a receiver slices
 * its own buffer (a Pekko {@code ByteString}, a {@code ByteBuffer}) instead of copying. A side throws
 * {@link ProtocolException} for a frame its peer must not send.
 */
public interface FrameHandler {
    void onRequest(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) throws ProtocolException;

    void onResponse(int stream, int status, List<Header> headers, boolean end) throws ProtocolException;

    void onData(int stream, int offset, int length, boolean end) throws ProtocolException;

    void onCredit(int stream, int bytes) throws ProtocolException;

    void onReset(int stream, String reason) throws ProtocolException;

    /** A WebSocket fragment; {@code fin} on the last fragment of a message. */
    void onWsFragment(int stream, boolean text, int offset, int length, boolean fin) throws ProtocolException;

    void onWsClose(int stream, int code, String reason) throws ProtocolException;

    void onReady(Control.Ready ready) throws ProtocolException;

    void onPing(long nonce) throws ProtocolException;

    void onPong(long nonce) throws ProtocolException;

    void onClose(int code, String reason) throws ProtocolException;

    void onDrain(String reason) throws ProtocolException;
}
