package dev.captun.edge.routing;

import dev.captun.protocol.Header;
import dev.captun.protocol.HopByHop;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Header rules of a path-prefix reverse proxy (SPEC §2, §5). Pure. */
public final class HeaderRules {
    private HeaderRules() {}

    /** Removes hop-by-hop headers, including every header that {@code Connection} names. */
    public static List<Header> stripHopByHop(List<Header> headers) {
        return HopByHop.strip(headers);
    }

    /**
     * Response headers as the public client should see them.
     *
     * @param folder folder routing: absolute-path {@code Location} and cookie {@code Path} go under {@code /<name>}
     * @param publicPolicy drop cookies whose {@code Domain} is not the tunnel host or below it (any Domain in folder routing)
     * @param tunnelHost the tunnel's public host (subdomain routing), without port
     */
    public static List<Header> rewriteResponse(List<Header> headers, String name, boolean folder, boolean publicPolicy, String tunnelHost) {
        List<Header> out = new ArrayList<>(headers.size());
        for (Header h : stripHopByHop(headers)) {
            String n = h.name().toLowerCase(Locale.ROOT);
            if (folder && (n.equals("location") || n.equals("content-location"))) {
                out.add(new Header(h.name(), prefixLocation(h.value(), name)));
            } else if (n.equals("set-cookie")) {
                String v = rewriteSetCookie(h.value(), name, folder, publicPolicy, tunnelHost);
                if (v != null) {
                    out.add(new Header(h.name(), v));
                }
            } else {
                out.add(h);
            }
        }
        return out;
    }

    static String prefixLocation(String location, String name) {
        if (location.startsWith("/") && !location.startsWith("//")) {
            return "/" + name + location;
        }
        return location;
    }

    /** @return the rewritten cookie, or null to drop it */
    static String rewriteSetCookie(String cookie, String name, boolean folder, boolean publicPolicy, String tunnelHost) {
        String[] parts = cookie.split(";");
        StringBuilder out = new StringBuilder(parts[0].trim());
        boolean hasPath = false;
        for (int i = 1; i < parts.length; i++) {
            String attr = parts[i].trim();
            if (attr.isEmpty()) {
                continue;
            }
            int eq = attr.indexOf('=');
            String key = (eq < 0 ? attr : attr.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : attr.substring(eq + 1).trim();
            if (key.equals("domain") && publicPolicy && (folder || !domainCovers(tunnelHost, value))) {
                return null;
            }
            if (key.equals("path") && folder) {
                hasPath = true;
                String p = value.startsWith("/") ? value : "/";
                attr = "Path=/" + name + (p.equals("/") ? "/" : p);
            }
            out.append("; ").append(attr);
        }
        if (folder && !hasPath) {
            out.append("; Path=/").append(name).append('/');
        }
        return out.toString();
    }

    /** Whether a cookie {@code Domain} is the tunnel host or a host below it. */
    static boolean domainCovers(String tunnelHost, String domain) {
        if (tunnelHost == null || tunnelHost.isEmpty()) {
            return false;
        }
        String d = domain.toLowerCase(Locale.ROOT);
        while (d.startsWith(".")) {
            d = d.substring(1);
        }
        String host = tunnelHost.toLowerCase(Locale.ROOT);
        return d.equals(host) || d.endsWith("." + host);
    }
}
