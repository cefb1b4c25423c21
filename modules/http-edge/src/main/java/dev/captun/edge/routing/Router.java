package dev.captun.edge.routing;

import dev.captun.tunnel.admission.TunnelNames;
import java.util.Locale;

/**
 * Maps a public request to a tunnel name and the path the tunnel sees (SPEC §2). Pure.
 * Folder routing: {@code /<name>/<rest>} → {@code /<rest>}, the name taken literally (no percent-decoding). Subdomain routing: the last label
 * before {@code .<hostname>} names the tunnel and the path is forwarded unchanged.
 */
public final class Router {

    /** A routed request: {@code path} is the raw target (path and query) the tunnel sees. */
    public record Routed(String name, String path) {}

    private final String hostname;

    /** @param hostname public hostname for subdomain routing; empty for folder routing */
    public Router(String hostname) {
        this.hostname = hostname == null ? "" : hostname.toLowerCase(Locale.ROOT);
    }

    public boolean folderRouting() {
        return hostname.isEmpty();
    }

    /** @return the route, or null when the request names no valid tunnel (→ 404 Missing tunnel name). */
    public Routed route(String hostHeader, String rawTarget) {
        return folderRouting() ? byFolder(rawTarget) : bySubdomain(hostHeader, rawTarget);
    }

    private Routed byFolder(String rawTarget) {
        if (rawTarget == null || !rawTarget.startsWith("/")) {
            return null;
        }
        int q = rawTarget.indexOf('?');
        String path = q < 0 ? rawTarget : rawTarget.substring(0, q);
        String query = q < 0 ? "" : rawTarget.substring(q);
        int slash = path.indexOf('/', 1);
        String segment = slash < 0 ? path.substring(1) : path.substring(1, slash);
        String rest = slash < 0 ? "/" : path.substring(slash);
        // The name segment is taken literally, never percent-decoded: a valid name has no character
        // that needs escaping, so "/%64emo/" is not a second spelling of "/demo/" (which a front proxy's
        // path rules, the Location/Set-Cookie rewrites under "/demo/" and caches would all miss).
        // Anything with an escape is "not a valid name" → 404 Missing tunnel name (docs/DECISIONS.md).
        return TunnelNames.isValid(segment) ? new Routed(segment, rest + query) : null;
    }

    private Routed bySubdomain(String hostHeader, String rawTarget) {
        if (hostHeader == null) {
            return null;
        }
        String host = stripPort(hostHeader.trim().toLowerCase(Locale.ROOT));
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        String suffix = "." + hostname;
        if (!host.endsWith(suffix) || host.length() == suffix.length()) {
            return null; // exact label boundary: "eviltunnels.example.com" is not under "tunnels.example.com"
        }
        String labels = host.substring(0, host.length() - suffix.length());
        String name = labels.substring(labels.lastIndexOf('.') + 1);
        String path = rawTarget == null || rawTarget.isEmpty() ? "/" : rawTarget;
        return TunnelNames.isValid(name) ? new Routed(name, path) : null;
    }

    static String stripPort(String host) {
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host : host.substring(0, end + 1);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }

    /** The tunnel's public host in subdomain routing (no port). */
    public String tunnelHost(String name) {
        return name + "." + hostname;
    }

    /**
     * The public URL of tunnel {@code name} as seen by a client that reached the gateway with
     * {@code scheme} and {@code hostHeader}.
     */
    public String publicUrl(String scheme, String hostHeader, String name) {
        String host = hostHeader == null || hostHeader.isBlank() ? "localhost" : hostHeader.trim().toLowerCase(Locale.ROOT);
        if (folderRouting()) {
            return scheme + "://" + host + "/" + name;
        }
        String bare = stripPort(host);
        String port = host.substring(bare.length());
        return scheme + "://" + name + "." + hostname + port;
    }
}
