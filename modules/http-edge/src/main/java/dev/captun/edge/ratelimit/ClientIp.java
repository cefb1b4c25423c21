package dev.captun.edge.ratelimit;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Client IP resolution (SPEC §5, §6). The client IP is the TCP peer address; forwarding headers
 * are believed only when the peer is inside one of the configured trusted-proxy CIDRs
 * ({@code captun.trusted-proxies} / {@code CAPTUN_TRUSTED_PROXIES}: comma-separated IPv4/IPv6 CIDRs
 * or plain addresses; empty by default, so not even loopback is trusted). Spoofed headers from an
 * untrusted peer are ignored, so they cannot dodge a limit.
 *
 * <p>From a trusted peer, headers are consulted in this order, first usable wins:
 * {@code x-forwarded-for}, {@code forwarded} (the {@code for=} parameters), {@code cf-connecting-ip},
 * {@code x-real-ip}. For the two chain headers the right-most address that is not itself a trusted
 * proxy is the client (entries left of it were written by the client and may be forged); if every
 * entry is a trusted proxy, the left-most is used. An unparseable entry at that position makes the
 * header unusable and the next one is tried; with nothing usable the peer address is the client.
 * The trusted proxy must therefore append to {@code x-forwarded-for} (nginx
 * {@code $proxy_add_x_forwarded_for}, HAProxy {@code forwardfor}, Cloudflare and cloud load
 * balancers do) or set the single-value headers itself.
 *
 * <p>Addresses are returned in canonical text form (IPv4 dotted quad; IPv6 compressed per RFC 5952,
 * no zone; IPv4-mapped IPv6 as IPv4), so one client always maps to one rate-limit key. Header values
 * are parsed strictly as literals: no DNS lookups ever happen.
 *
 * <p>Immutable and thread-safe.
 */
public final class ClientIp {

    /** Header names (lower case) in the order they are consulted. */
    public static final List<String> FORWARDING_HEADERS =
            List.of("x-forwarded-for", "forwarded", "cf-connecting-ip", "x-real-ip");

    private final List<Cidr> trusted;

    private ClientIp(List<Cidr> trusted) {
        this.trusted = List.copyOf(trusted);
    }

    /** Trusts nobody: the client IP is always the peer. */
    public static ClientIp none() {
        return new ClientIp(List.of());
    }

    /**
     * Parses a comma-separated trusted-proxy list ({@code null}/blank = none).
     *
     * @throws IllegalArgumentException naming the bad entry, for anything that is not an IP literal
     *     or CIDR with a valid prefix length (fail fast at start-up)
     */
    public static ClientIp parse(String cidrList) {
        List<Cidr> cidrs = new ArrayList<>();
        if (cidrList != null) {
            for (String raw : cidrList.split(",")) {
                String entry = raw.trim();
                if (!entry.isEmpty()) {
                    cidrs.add(Cidr.parse(entry));
                }
            }
        }
        return new ClientIp(cidrs);
    }

    /** True if trusted proxies are configured at all. */
    public boolean trustsAnyProxy() {
        return !trusted.isEmpty();
    }

    /** Whether {@code address} is inside a trusted-proxy CIDR. */
    public boolean isTrustedProxy(InetAddress address) {
        byte[] bytes = normalize(address).getAddress();
        for (Cidr c : trusted) {
            if (c.contains(bytes)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The client IP for rate limiting and logs.
     *
     * @param peer the TCP peer address
     * @param header header lookup by lower-case name, returning the value or null; when a header
     *     occurs several times the lookup should return the values joined with ", " in order
     */
    public String resolve(InetAddress peer, Function<String, String> header) {
        return format(resolveAddress(peer, header));
    }

    /** As {@link #resolve}, as an address. */
    public InetAddress resolveAddress(InetAddress peer, Function<String, String> header) {
        InetAddress p = normalize(peer);
        if (!isTrustedProxy(p)) {
            return p;
        }
        InetAddress fromXff = fromChain(splitXff(header.apply("x-forwarded-for")));
        if (fromXff != null) {
            return fromXff;
        }
        InetAddress fromForwarded = fromChain(splitForwarded(header.apply("forwarded")));
        if (fromForwarded != null) {
            return fromForwarded;
        }
        for (String single : List.of("cf-connecting-ip", "x-real-ip")) {
            String v = header.apply(single);
            if (v != null) {
                InetAddress a = parseHostPort(v.trim());
                if (a != null) {
                    return a;
                }
            }
        }
        return p;
    }

    /**
     * The {@code x-forwarded-for} value to send to the local service: the incoming chain with the
     * peer appended when the peer is a trusted proxy, otherwise just the peer (a client-supplied
     * chain is replaced, never passed on).
     */
    public String forwardedFor(InetAddress peer, String incomingXff) {
        InetAddress p = normalize(peer);
        String self = format(p);
        if (isTrustedProxy(p) && incomingXff != null && !incomingXff.isBlank()) {
            return incomingXff.trim() + ", " + self;
        }
        return self;
    }

    /**
     * As {@link #forwardedFor(InetAddress, String)}, and when a trusted peer sent no
     * {@code x-forwarded-for} but identified the client in another forwarding header, the chain
     * starts with that client: {@code "<client>, <peer>"}.
     */
    public String forwardedForHeaders(InetAddress peer, Function<String, String> header) {
        String xff = header.apply("x-forwarded-for");
        InetAddress p = normalize(peer);
        if (isTrustedProxy(p) && (xff == null || xff.isBlank())) {
            InetAddress client = resolveAddress(p, header);
            if (!client.equals(p)) {
                return format(client) + ", " + format(p);
            }
        }
        return forwardedFor(p, xff);
    }

    // ------------------------------------------------------------------ chains

    /** Right-most entry that is not a trusted proxy; left-most if all are trusted; null if unusable. */
    private InetAddress fromChain(List<String> entries) {
        if (entries.isEmpty()) {
            return null;
        }
        InetAddress leftmostTrusted = null;
        for (int i = entries.size() - 1; i >= 0; i--) {
            InetAddress a = parseHostPort(entries.get(i));
            if (a == null) {
                return null; // garbage where the client address should be: this header is unusable
            }
            if (!isTrustedProxy(a)) {
                return a;
            }
            leftmostTrusted = a;
        }
        return leftmostTrusted;
    }

    private static List<String> splitXff(String value) {
        List<String> out = new ArrayList<>();
        if (value != null) {
            for (String part : value.split(",")) {
                String p = part.trim();
                if (!p.isEmpty()) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    /** The {@code for=} values of an RFC 7239 {@code Forwarded} header, in order. */
    private static List<String> splitForwarded(String value) {
        List<String> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        for (String element : value.split(",")) {
            String forValue = null;
            for (String pair : element.split(";")) {
                String p = pair.trim();
                int eq = p.indexOf('=');
                if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("for")) {
                    forValue = p.substring(eq + 1).trim();
                }
            }
            if (element.isBlank()) {
                continue;
            }
            // An element without for= is an unknown hop: keep a placeholder so it blocks the walk.
            out.add(forValue == null ? "unknown" : forValue);
        }
        return out;
    }

    // ------------------------------------------------------------------ parsing

    /**
     * Parses an address as it appears in forwarding headers: optional quotes,
     * {@code 1.2.3.4}, {@code 1.2.3.4:port}, {@code ::1}, {@code [::1]}, {@code [::1]:port}.
     * Returns null for anything else (names, "unknown", obfuscated identifiers). Never resolves DNS.
     */
    static InetAddress parseHostPort(String s) {
        if (s == null) {
            return null;
        }
        String v = s.trim();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1).trim();
        }
        if (v.startsWith("[")) {
            int close = v.indexOf(']');
            if (close < 0) {
                return null;
            }
            String rest = v.substring(close + 1);
            if (!rest.isEmpty() && !rest.matches(":[0-9]{1,5}")) {
                return null;
            }
            return parseIpv6(v.substring(1, close));
        }
        int colons = (int) v.chars().filter(c -> c == ':').count();
        if (colons == 0) {
            return parseIpv4(v);
        }
        if (colons == 1) {
            int c = v.indexOf(':');
            return v.substring(c + 1).matches("[0-9]{1,5}") ? parseIpv4(v.substring(0, c)) : null;
        }
        return parseIpv6(v);
    }

    /** Strict IP literal (IPv4 dotted quad or IPv6), no brackets or ports; null if invalid. */
    static InetAddress parseLiteral(String s) {
        if (s == null) {
            return null;
        }
        String v = s.trim();
        return v.indexOf(':') >= 0 ? parseIpv6(v) : parseIpv4(v);
    }

    private static InetAddress parseIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (p.length() > 1 && p.charAt(0) == '0')) { // leading zeros are ambiguous (octal)
                return null;
            }
            int n = Integer.parseInt(p);
            if (n > 255) {
                return null;
            }
            b[i] = (byte) n;
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static InetAddress parseIpv6(String s) {
        String v = s;
        int zone = v.indexOf('%');
        if (zone >= 0) {
            v = v.substring(0, zone); // zone ids are local to the sender: drop them
        }
        if (v.isEmpty() || v.indexOf(':') < 0 || !v.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
            return null;
        }
        try {
            // Bracketed, the JDK treats the string as an IPv6 literal only: no DNS lookup.
            return normalize(InetAddress.getByName("[" + v + "]"));
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Drops IPv6 scope ids; IPv4-mapped IPv6 becomes IPv4. */
    static InetAddress normalize(InetAddress a) {
        try {
            if (a instanceof Inet6Address) {
                byte[] b = a.getAddress();
                boolean mapped = true;
                for (int i = 0; i < 10; i++) {
                    mapped &= b[i] == 0;
                }
                mapped &= (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
                if (mapped) {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                }
                if (((Inet6Address) a).getScopeId() != 0 || ((Inet6Address) a).getScopedInterface() != null) {
                    return InetAddress.getByAddress(b);
                }
            }
            return a;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6 without zone. */
    public static String format(InetAddress address) {
        InetAddress a = normalize(address);
        if (a instanceof Inet4Address) {
            return a.getHostAddress();
        }
        byte[] b = a.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // Longest run (>= 2) of zero groups, first one on ties.
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (groups[i] == 0) {
                int j = i;
                while (j < 8 && groups[j] == 0) {
                    j++;
                }
                if (j - i > bestLen && j - i >= 2) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    // ------------------------------------------------------------------ CIDR

    /** One trusted-proxy block. */
    record Cidr(byte[] network, int prefix) {

        static Cidr parse(String entry) {
            int slash = entry.indexOf('/');
            String addr = slash < 0 ? entry : entry.substring(0, slash).trim();
            String bracketless = addr.startsWith("[") && addr.endsWith("]") ? addr.substring(1, addr.length() - 1) : addr;
            InetAddress a = parseLiteral(bracketless);
            if (a == null) {
                throw new IllegalArgumentException("Invalid trusted-proxies entry '" + entry
                        + "': expected an IPv4/IPv6 address or CIDR such as 10.0.0.0/8 or fd00::/8");
            }
            byte[] bytes = a.getAddress();
            int max = bytes.length * 8;
            int prefix = max;
            if (slash >= 0) {
                String p = entry.substring(slash + 1).trim();
                if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > max) {
                    throw new IllegalArgumentException("Invalid trusted-proxies entry '" + entry
                            + "': prefix length must be 0-" + max);
                }
                prefix = Integer.parseInt(p);
            }
            return new Cidr(mask(bytes, prefix), prefix);
        }

        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            return java.util.Arrays.equals(mask(address, prefix), network);
        }

        private static byte[] mask(byte[] bytes, int prefix) {
            byte[] out = bytes.clone();
            for (int i = 0; i < out.length; i++) {
                int bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
                out[i] = (byte) (out[i] & (0xff << (8 - bitsHere)));
            }
            return out;
        }
    }
}
