package dev.captun.e2e;

import com.typesafe.config.ConfigFactory;
import dev.captun.edge.node.GatewayNode;

/** Starts real gateway nodes on free ports, from the shipped conf/application.conf plus overrides. */
final class Gateways {
    private Gateways() {}

    static GatewayNode start(String... overrides) {
        String base = """
                captun.port = 0
                captun.management.port = 0
                pekko.remote.artery.canonical.port = 0
                pekko.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                # A closing test node drains too: no wait for load balancers, and a short grace.
                captun.drain-unready-seconds = 0
                captun.drain-grace-seconds = 3
                """;
        String conf = base + String.join("\n", overrides);
        ConfigFactory.invalidateCaches();
        return GatewayNode.start(ConfigFactory.parseString(conf).withFallback(ConfigFactory.load()).resolve());
    }

    static String url(GatewayNode node) {
        return "http://127.0.0.1:" + node.port();
    }
}
