package dev.captun.client.cli;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;

/** How the CLI writes its lines: request-log and event formats, ANSI colour only when asked (a TTY). Pure. */
final class Console {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final String RESET = "\u001b[0m";

    private final boolean color;

    Console(boolean color) {
        this.color = color;
    }

    /** {@code 14:03:07  GET /index.html  200  3 ms}. */
    String request(LocalTime at, String method, String path, int status, long millis) {
        String s = Integer.toString(status);
        return TIME.format(at) + "  " + method + " " + path + "  " + paint(s, statusColor(status)) + "  " + millis + " ms";
    }

    /** A state change (disconnect, reconnect, replacement...), time-stamped like the request log. */
    String event(LocalTime at, String text) {
        return TIME.format(at) + "  " + paint(text, "\u001b[1m");
    }

    String bold(String text) {
        return paint(text, "\u001b[1m");
    }

    private String paint(String text, String code) {
        return color && code != null ? code + text + RESET : text;
    }

    private static String statusColor(int status) {
        if (status >= 500) {
            return "\u001b[31m"; // red
        }
        if (status >= 400) {
            return "\u001b[33m"; // yellow
        }
        if (status >= 300) {
            return "\u001b[36m"; // cyan
        }
        return status >= 200 ? "\u001b[32m" : null; // green; 1xx (WebSocket 101) plain
    }
}
