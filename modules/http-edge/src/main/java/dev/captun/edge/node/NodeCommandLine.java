package dev.captun.edge.node;

import dev.captun.edge.metrics.GatewayMetrics;

/**
 * {@code bin/captun-node}'s arguments. The node is configured by conf/application.conf and the
 * environment, so the only arguments are {@code --help} and {@code --version}, which answer and
 * exit; anything else is refused before a node starts (a typo must not start a node on 8080).
 */
final class NodeCommandLine {
    enum Action { RUN, HELP, VERSION, REFUSE }

    /** What to do, and for {@link Action#REFUSE} why. */
    record Parsed(Action action, String error) {}

    private NodeCommandLine() {}

    static Parsed parse(String[] args) {
        if (args.length == 0) {
            return new Parsed(Action.RUN, null);
        }
        if (args.length == 1) {
            switch (args[0]) {
                case "--help", "-h" -> {
                    return new Parsed(Action.HELP, null);
                }
                case "--version", "-V" -> {
                    return new Parsed(Action.VERSION, null);
                }
                default -> {
                    return new Parsed(Action.REFUSE, "unknown argument " + args[0]);
                }
            }
        }
        return new Parsed(Action.REFUSE, "unexpected arguments " + String.join(" ", args));
    }

    static String usage() {
        return String.join("\n",
                "Usage: captun-node [--help | --version]",
                "",
                "Runs one captun gateway node. It is configured by conf/application.conf and these",
                "environment variables (the README lists every setting):",
                "  CAPTUN_PORT             public HTTP port (default 8080; 0 = any free port)",
                "  CAPTUN_HOST             address of the public port (default 127.0.0.1)",
                "  CAPTUN_HOSTNAME         public hostname for subdomain routing (default: folder routing)",
                "  CAPTUN_POLICY           trusted or public (default trusted)",
                "  CAPTUN_TOKEN            shared connect token (trusted policy)",
                "  CAPTUN_REMOTE_PORT      cluster remoting port (default 25520)",
                "  CAPTUN_MANAGEMENT_PORT  management API port (default 7626)",
                "  CAPTUN_SEED_NODES       other nodes to join, comma-separated (default: a cluster of one)",
                "  CAPTUN_CONFIG           another configuration file instead of conf/application.conf",
                "  CAPTUN_JAVA_OPTS        JVM flags (default -Xms256m -Xmx1g)",
                "",
                "Stop it with SIGTERM (Ctrl-C): it drains its tunnels and leaves the cluster.");
    }

    static String version() {
        return "captun-node " + GatewayMetrics.buildVersion() + " (Java " + Runtime.version() + ")";
    }
}
