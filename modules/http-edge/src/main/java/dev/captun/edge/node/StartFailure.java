package dev.captun.edge.node;

import com.typesafe.config.ConfigException;
import java.net.BindException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one line a node that could not start ends with: what went wrong and which setting to change,
 * instead of a hundred lines of stack trace for a busy port.
 */
final class StartFailure {
    /** How Pekko's TCP names the address it could not bind: {@code [/127.0.0.1:8080]}. */
    private static final Pattern ADDRESS = Pattern.compile("\\[/?([^\\]\\s]*):(\\d+)\\]");

    private StartFailure() {}

    /** @param settingByPort the configured ports (non-zero) and the environment variable that sets each */
    static String describe(Throwable failure, Map<Integer, String> settingByPort) {
        Throwable innermost = failure;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ConfigException c) {
                return "bad setting: " + c.getMessage();
            }
            String m = t.getMessage();
            if (t instanceof BindException || m != null && m.contains("Address already in use")) {
                Matcher a = ADDRESS.matcher(m == null ? "" : m);
                if (a.find()) {
                    int port = Integer.parseInt(a.group(2));
                    String setting = settingByPort.get(port);
                    return "cannot listen on " + a.group(1) + ":" + port + ": address already in use"
                            + (setting == null ? "" : "; set " + setting + " to a free port (0 = any)");
                }
                return "cannot listen: " + m;
            }
            innermost = t;
        }
        String m = innermost.getMessage();
        return "could not start: " + (m == null ? innermost.getClass().getName() : m);
    }
}
