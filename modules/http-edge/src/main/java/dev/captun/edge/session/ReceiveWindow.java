package dev.captun.edge.session;

/**
 * The receiving side of one stream's credit window (docs/PROTOCOL.md, "Flow control"): counts
 * bytes received from the tunnel client and bytes handed on, refuses more than one window
 * outstanding, and batches grants (a quarter window, or everything received so far). Pure: the
 * session actor owns one per streaming response and turns its answers into frames.
 */
final class ReceiveWindow {
    private final int window;
    private long received;
    private long consumed;
    private long ungranted;

    ReceiveWindow(int window) {
        this.window = window;
    }

    /** Records {@code bytes} arriving; false when the sender exceeded the credit it was given. */
    boolean receive(int bytes) {
        received += bytes;
        return received - consumed <= window;
    }

    /**
     * Records {@code bytes} handed on; returns the credit to grant now (0 = keep batching).
     * Grants once a quarter window is free, or when everything received has been consumed, so a
     * sender that is waiting for credit is never left stalled.
     */
    int consume(int bytes) {
        consumed += bytes;
        ungranted += bytes;
        if (ungranted >= window / 4 || consumed == received) {
            int grant = (int) ungranted;
            ungranted = 0;
            return grant;
        }
        return 0;
    }

    long outstanding() {
        return received - consumed;
    }
}
