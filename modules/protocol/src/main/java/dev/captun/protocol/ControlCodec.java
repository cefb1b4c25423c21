package dev.captun.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * Encodes and decodes {@link Control} frames. Thread-safe.
 *
 * <p>Decoding is hostile-input safe: anything that is not a well-formed control frame is a
 * {@link ProtocolException} (never another exception), so a peer can only get its own socket closed.
 * Besides JSON syntax and the frame size, that means: nesting deeper than {@link #MAX_NESTING_DEPTH}
 * (a control frame is at most 3 levels deep; the cap bounds parser work and stack), numbers longer
 * than {@link #MAX_NUMBER_LENGTH} digits, a request without a method, and a {@code null} in a header
 * list or as a header's name or value (which would otherwise surface later as a
 * NullPointerException far from the socket). A missing header list still decodes (as {@code null}).
 */
public final class ControlCodec {
    /** Control frames nest 3 levels (frame → headers → header); anything deeper is not ours. */
    public static final int MAX_NESTING_DEPTH = 16;
    public static final int MAX_NUMBER_LENGTH = 32;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxNumberLength(MAX_NUMBER_LENGTH)
                    .maxStringLength(Protocol.MAX_FRAME_BYTES)
                    .build())
            .build())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private ControlCodec() {}

    public static String encode(Control control) {
        try {
            return MAPPER.writeValueAsString(control);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + control.getClass().getSimpleName(), e);
        }
    }

    /** Receives the frames of one text message, in order. */
    @FunctionalInterface
    public interface FrameHandler {
        void on(Control frame) throws ProtocolException;
    }

    /**
     * Decodes a text message that may hold several frames separated by {@code '\n'} (protocol 2:
     * a sender batches the control frames it has queued into one WebSocket message). Compact JSON
     * never contains a raw newline, so the split is exact.
     */
    public static void decodeBatch(String text, FrameHandler handler) throws ProtocolException {
        if (text.length() > Protocol.MAX_FRAME_BYTES) {
            throw new ProtocolException("control message of " + text.length() + " chars exceeds " + Protocol.MAX_FRAME_BYTES);
        }
        int start = 0;
        while (true) {
            int nl = text.indexOf('\n', start);
            if (nl < 0) {
                handler.on(decode(start == 0 ? text : text.substring(start)));
                return;
            }
            handler.on(decode(text.substring(start, nl)));
            start = nl + 1;
        }
    }

    public static Control decode(String text) throws ProtocolException {
        if (text.length() > Protocol.MAX_FRAME_BYTES) {
            throw new ProtocolException("control frame of " + text.length() + " chars exceeds " + Protocol.MAX_FRAME_BYTES);
        }
        Control c;
        try {
            c = MAPPER.readValue(text, Control.class);
        } catch (JsonProcessingException e) {
            throw new ProtocolException("malformed control frame: " + e.getOriginalMessage(), e);
        } catch (RuntimeException e) {
            // Jackson's contract is JsonProcessingException; anything else from it is still the peer's bad input.
            throw new ProtocolException("malformed control frame: " + e, e);
        }
        if (c == null) {
            throw new ProtocolException("empty control frame");
        }
        check(c);
        return c;
    }

    private static void check(Control c) throws ProtocolException {
        if (c instanceof Control.Request r) {
            if (r.method() == null || r.method().isEmpty()) {
                throw new ProtocolException("request " + r.id() + " without a method");
            }
            checkHeaders(r.headers(), "request " + r.id());
        } else if (c instanceof Control.Response r) {
            checkHeaders(r.headers(), "response " + r.id());
        }
    }

    private static void checkHeaders(List<Header> headers, String where) throws ProtocolException {
        if (headers == null) {
            return;
        }
        for (Header h : headers) {
            if (h == null || h.name() == null || h.value() == null) {
                throw new ProtocolException(where + ": a header without a name or value");
            }
        }
    }
}
