package dev.captun.protocol;

/** A peer sent something the protocol does not allow; the session closes with {@link Protocol#CLOSE_PROTOCOL_ERROR}. */
public class ProtocolException extends Exception {
    public ProtocolException(String message) {
        super(message);
    }

    public ProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
