package dev.captun.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Encodes and decodes {@link Control} frames. Thread-safe. */
public final class ControlCodec {
    private static final ObjectMapper MAPPER = new ObjectMapper()
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
        try {
            Control c = MAPPER.readValue(text, Control.class);
            if (c == null) {
                throw new ProtocolException("empty control frame");
            }
            return c;
        } catch (JsonProcessingException e) {
            throw new ProtocolException("malformed control frame: " + e.getOriginalMessage(), e);
        }
    }
}
