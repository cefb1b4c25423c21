package dev.captun.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Hop-by-hop header stripping (SPEC §5): both ends of the tunnel apply it, the gateway toward the
 * tunnel and back, the SDK toward the local service and back.
 */
public final class HopByHop {
    /** Always hop-by-hop, whatever {@code Connection} says. */
    public static final Set<String> ALWAYS = Set.of("connection", "proxy-connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade");

    private HopByHop() {}

    public static List<Header> strip(List<Header> headers) {
        return strip(headers, Set.of());
    }

    /**
     * {@code headers} without hop-by-hop fields, the fields named by {@code Connection}, and {@code extra}
     * (lower-case names). A field without a name or value (a peer's broken frame) is dropped too.
     */
    public static List<Header> strip(List<Header> headers, Set<String> extra) {
        // The tokens Connection names join the fixed set and the extras; most messages have none, and then
        // nothing is allocated but the result.
        List<String> named = null;
        for (Header h : headers) {
            if (h != null && h.name() != null && h.name().equalsIgnoreCase("connection") && h.value() != null) {
                for (String token : h.value().split(",")) {
                    String t = token.strip().toLowerCase(Locale.ROOT);
                    if (!t.isEmpty()) {
                        (named == null ? named = new ArrayList<>(2) : named).add(t);
                    }
                }
            }
        }
        List<Header> out = new ArrayList<>(headers.size() + 3);
        for (Header h : headers) {
            if (h != null && h.name() != null && h.value() != null) {
                String n = h.name().toLowerCase(Locale.ROOT); // the same String when already lower-case
                if (!ALWAYS.contains(n) && !extra.contains(n) && (named == null || !named.contains(n))) {
                    out.add(h);
                }
            }
        }
        return out;
    }
}
