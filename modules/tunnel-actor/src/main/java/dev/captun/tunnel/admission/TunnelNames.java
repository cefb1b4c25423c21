package dev.captun.tunnel.admission;

import java.util.regex.Pattern;

/** Tunnel names are lower-case DNS labels (SPEC §2). */
public final class TunnelNames {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    private TunnelNames() {}

    public static boolean isValid(String name) {
        return name != null && LABEL.matcher(name).matches();
    }
}
