package dev.captun.client.cli;

import java.net.URI;
import java.util.Locale;

/** The CLI's target: {@code 3000}, {@code :3000}, {@code host:port} or an http(s) URL. */
public record TargetSpec(String scheme, String host, int port, String url) {

    public static TargetSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("missing target: give a port (3000), host:port, or a URL");
        }
        String s = spec.strip();
        if (s.contains("://")) {
            URI u;
            try {
                u = URI.create(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid target URL: " + s);
            }
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("target URL must be http or https: " + s);
            }
            if (u.getHost() == null) {
                throw new IllegalArgumentException("target URL has no host: " + s);
            }
            int port = u.getPort() > 0 ? u.getPort() : scheme.equals("https") ? 443 : 80;
            String url = s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
            return new TargetSpec(scheme, u.getHost(), port, url);
        }
        String host = "127.0.0.1";
        String portText = s;
        if (s.startsWith(":")) {
            portText = s.substring(1);
        } else if (s.contains(":")) {
            int i = s.lastIndexOf(':');
            host = s.substring(0, i);
            portText = s.substring(i + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (host.isEmpty()) {
                throw new IllegalArgumentException("invalid target: " + s);
            }
        }
        int port = parsePort(portText, s);
        String authority = host.contains(":") ? "[" + host + "]" : host;
        return new TargetSpec("http", host, port, "http://" + authority + ":" + port);
    }

    private static int parsePort(String text, String spec) {
        try {
            int p = Integer.parseInt(text);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("invalid target \"" + spec + "\": expected a port 1-65535, host:port, or an http(s) URL");
    }
}
