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
