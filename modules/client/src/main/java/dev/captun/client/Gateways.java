package dev.captun.client;

import dev.captun.protocol.Protocol;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Gateway URL handling: the comma-separated list and the connect URL (pure). */
final class Gateways {
    private Gateways() {}

    static List<String> parseList(String spec) {
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (!p.isEmpty()) {
                URI u = URI.create(p);
                String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase();
                if (!List.of("http", "https", "ws", "wss").contains(scheme) || u.getHost() == null) {
                    throw new IllegalArgumentException("gateway must be an http(s) URL: " + p);
                }
                out.add(p);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no gateway URL given");
        }
        return out;
    }

    /**
     * Where to move when gateway {@code current} drains: every other gateway in list order after it,
     * then {@code current} itself (behind one load-balanced URL, another node answers there).
     */
    static int[] moveOrder(int current, int size) {
        int[] order = new int[size];
        for (int k = 1; k <= size; k++) {
            order[k - 1] = (current + k) % size;
        }
        return order;
    }

    /** {@code <gateway>/?captun-connect=1&captun-name=<name>&captun-protocol=<Protocol.VERSION>} with scheme {@code http}/{@code https} or {@code ws}/{@code wss}. */
    static URI connectUri(String gateway, String name, boolean websocket) {
        URI u = URI.create(gateway.strip());
        String scheme = u.getScheme().toLowerCase();
        boolean secure = scheme.equals("https") || scheme.equals("wss");
        String s = websocket ? (secure ? "wss" : "ws") : (secure ? "https" : "http");
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return URI.create(s + "://" + u.getRawAuthority() + path + "/?captun-connect=1&captun-name="
                + URLEncoder.encode(name, StandardCharsets.UTF_8) + "&" + Protocol.VERSION_PARAM + "=" + Protocol.VERSION);
    }
}
