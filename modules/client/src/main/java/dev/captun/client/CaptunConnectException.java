package dev.captun.client;

/**
 * A connect that the gateway refused or that could not reach it. {@link #status()} and
 * {@link #body()} are the gateway's answer to the diagnostic probe (SPEC §3); status 0 means no
 * answer ("WebSocket connection failed").
 */
public class CaptunConnectException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String body;

    public CaptunConnectException(int status, String body, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.body = body == null ? "" : body;
    }

    /** The gateway's rejection: message = body without its trailing newline. */
    public static CaptunConnectException rejected(int status, String body) {
        String trimmed = body == null ? "" : body.strip();
        return new CaptunConnectException(status, body, trimmed.isEmpty() ? "HTTP " + status : trimmed, null);
    }

    public static CaptunConnectException connectionFailed(Throwable cause) {
        return new CaptunConnectException(0, "", "WebSocket connection failed", cause);
    }

    /** HTTP status of the rejection, or 0 when the gateway did not answer. */
    public int status() {
        return status;
    }

    /** Raw body of the rejection (with the gateway's trailing newline), or "". */
    public String body() {
        return body;
    }

    /** A 4xx admission rejection other than 408/429: retrying with the same name and token cannot help. */
    public boolean isPermanent() {
        return status >= 400 && status < 500 && status != 408 && status != 429;
    }
}
