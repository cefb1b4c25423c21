package dev.captun.client.cli;

import java.util.List;

/** Parsed command line. {@code command} is "run", "config-set", "config-show", "help" or "version". */
public record CliArgs(String command, String target, String name, String gateway, String token, boolean quiet,
        String configKey, String configValue) {

    public static final String USAGE = String.join("\n",
            "usage: captun <target> [--name N] [--gateway URL[,URL...]] [--token T] [--quiet]",
            "                     [--inspect ADDR | --no-inspect]",
            "       captun config set gateway URL | captun config set token T | captun config show",
            "       captun --version | captun --help",
            "",
            "Makes a local HTTP service reachable at a public URL through a captun gateway.",
            "",
            "  <target>        3000, :3000, host:port, or http(s)://host:port[/base]",
            "  --name N        tunnel name: lower-case letters, digits, dashes (random if absent)",
            "  --gateway URL   gateway URL, or a comma-separated list tried in turn",
            "                  (default: $CAPTUN_GATEWAY, then the config file, then http://127.0.0.1:8080)",
            "  --token T       token that owns the name (default: $CAPTUN_TOKEN, then the config file,",
            "                  then a random one per run)",
            "  --quiet         no request log (one line per request otherwise)",
            "  --inspect ADDR  serve the request inspector on ADDR (PORT or HOST:PORT;",
            "                  default 127.0.0.1:4040 or the next free port)",
            "  --no-inspect    do not record requests or serve the inspector",
            "  --version       print the version and exit",
            "",
            "examples:",
            "  captun 3000                                   tunnel http://127.0.0.1:3000 under a random name",
            "  captun 3000 --name demo                       ... as http://<gateway>/demo (or demo.<gateway host>)",
            "  captun localhost:8081 --gateway https://tunnels.example.com --token s3cret",
            "  CAPTUN_GATEWAY=http://g1:8080,http://g2:8080 captun 3000   try two gateway nodes in turn",
            "  captun config set gateway https://tunnels.example.com      remember a default gateway",
            "",
            "config file: $XDG_CONFIG_HOME/captun/config.json when XDG_CONFIG_HOME is set, else",
            "~/.config/captun/config.json: {\"gateway\": ..., \"token\": ...}, mode 0600.",
            "Flags win over the environment, which wins over the config file.");

    public static CliArgs parse(String[] argv) {
        List<String> args = List.of(argv);
        if (args.isEmpty()) {
            throw new IllegalArgumentException("missing target\n" + USAGE);
        }
        if (args.get(0).equals("-h") || args.get(0).equals("--help") || args.get(0).equals("help")) {
            return simple("help");
        }
        if (args.get(0).equals("--version") || args.get(0).equals("-V") || args.get(0).equals("version")) {
            return simple("version");
        }
        if (args.get(0).equals("config")) {
            if (args.size() == 2 && args.get(1).equals("show")) {
                return simple("config-show");
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
        boolean quiet = false;
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
                case "--quiet", "-q" -> quiet = true;
                // The request log is on by default now; the old opt-in flag is still accepted.
                case "--request-logs" -> { }
                case "-h", "--help" -> {
                    return simple("help");
                }
                case "--version", "-V" -> {
                    return simple("version");
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
        return new CliArgs("run", target, name, gateway, token, quiet, null, null);
    }

    private static CliArgs simple(String command) {
        return new CliArgs(command, null, null, null, null, false, null, null);
    }
}
