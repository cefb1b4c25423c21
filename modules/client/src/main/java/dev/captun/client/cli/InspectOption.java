package dev.captun.client.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The request inspector's flags, taken out of the command line before {@link CliArgs} sees the rest:
 * {@code --inspect ADDR} (also {@code --inspect=ADDR}) and {@code --no-inspect}. Default: on, at
 * 127.0.0.1:4040 or the next free port.
 */
record InspectOption(boolean enabled, String address, String[] rest) {

    static InspectOption extract(String[] argv) {
        List<String> rest = new ArrayList<>();
        boolean enabled = true;
        String address = null;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("--no-inspect")) {
                enabled = false;
            } else if (a.equals("--inspect")) {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException("--inspect needs a value (PORT or HOST:PORT)");
                }
                address = argv[++i];
            } else if (a.startsWith("--inspect=")) {
                address = a.substring("--inspect=".length());
            } else {
                rest.add(a);
            }
        }
        if (!enabled && address != null) {
            throw new IllegalArgumentException("--inspect and --no-inspect exclude each other");
        }
        return new InspectOption(enabled, address, rest.toArray(new String[0]));
    }
}
