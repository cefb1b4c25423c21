package dev.captun.client.cli;

import java.util.List;

/** Parsed command line. {@code command} is "run", "config-set", "config-show" or "help". */
public record CliArgs(String command, String target, String name, String gateway, String token, boolean requestLogs,
        String configKey, String configValue) {

    public static final String USAGE = String.join("\n",
            "usage: captun <target> [--name N] [--gateway URL] [--token T] [--request-logs] [--inspect ADDR | --no-inspect]",
            "       captun config set gateway URL | captun config set token T",
            "       captun config show",
            "",
            "  <target>        3000, :3000, host:port, or http(s)://host:port",
            "  --name N        tunnel name (random if absent)",
            "  --gateway URL   gateway URL, or a comma-separated list (default http://127.0.0.1:8080)",
            "  --token T       tunnel token (random per run if absent)",
            "  --request-logs  print one line per request",
            "  --inspect ADDR  serve the request inspector on ADDR (PORT or HOST:PORT; default 127.0.0.1:4040 or the next free port)",
            "  --no-inspect    do not record requests or serve the inspector",
            "",
            "config file: ~/.config/captun/config.json {\"gateway\": ..., \"token\": ...}; flags win");

    public static CliArgs parse(String[] argv) {
        List<String> args = List.of(argv);
        if (args.isEmpty()) {
            throw new IllegalArgumentException("missing target\n" + USAGE);
        }
        if (args.get(0).equals("-h") || args.get(0).equals("--help") || args.get(0).equals("help")) {
            return new CliArgs("help", null, null, null, null, false, null, null);
        }
        if (args.get(0).equals("config")) {
            if (args.size() == 2 && args.get(1).equals("show")) {
                return new CliArgs("config-show", null, null, null, null, false, null, null);
            }
            if (args.size() == 4 && args.get(1).equals("set")) {
                String key = args.get(2);
                if (!ConfigFile.KEYS.contains(key)) {
                    throw new IllegalArgumentException("unknown config key \"" + key + "\" (known: gateway, token)");
                }
                return new CliArgs("config-set", null, null, null, null, false, key, args.get(3));
            }
            throw new IllegalArgumentException("usage: captun config set <gateway|token> <value> | captun config show");
        }
        String target = null;
        String name = null;
        String gateway = null;
        String token = null;
        boolean logs = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String flag = a;
            String inline = null;
            if (a.startsWith("--") && a.contains("=")) {
                flag = a.substring(0, a.indexOf('='));
                inline = a.substring(a.indexOf('=') + 1);
            }
            switch (flag) {
                case "--name", "--gateway", "--token" -> {
                    String v = inline;
                    if (v == null) {
                        if (i + 1 >= args.size()) {
                            throw new IllegalArgumentException(flag + " needs a value");
                        }
                        v = args.get(++i);
                    }
                    if (flag.equals("--name")) {
                        name = v;
                    } else if (flag.equals("--gateway")) {
                        gateway = v;
                    } else {
                        token = v;
                    }
                }
                case "--request-logs" -> logs = true;
                case "-h", "--help" -> {
                    return new CliArgs("help", null, null, null, null, false, null, null);
                }
                default -> {
                    if (a.startsWith("--") || (a.startsWith("-") && a.length() > 1 && !Character.isDigit(a.charAt(1)))) {
                        throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
                    }
                    if (target != null) {
                        throw new IllegalArgumentException("more than one target: " + target + " and " + a);
                    }
                    target = a;
                }
            }
        }
        if (target == null) {
            throw new IllegalArgumentException("missing target\n" + USAGE);
        }
        return new CliArgs("run", target, name, gateway, token, logs, null, null);
    }
}
