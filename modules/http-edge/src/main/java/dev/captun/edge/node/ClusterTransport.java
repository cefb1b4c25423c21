package dev.captun.edge.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code captun.cluster.*} → {@code pekko.remote.artery.*}: the address remoting binds to and
 * advertises, and TLS with mutual authentication ({@code tls-tcp}) when
 * {@code captun.cluster.tls.enabled = "1"} ({@code CAPTUN_CLUSTER_TLS}). Pure: config in, config out.
 */
public final class ClusterTransport {
    private ClusterTransport() {}

    private static final String SSL = "pekko.remote.artery.ssl.config-ssl-engine.";

    /** Whether {@code value} turns a switch on ({@code 1}, {@code true}, {@code on}, {@code yes}). */
    static boolean on(String value) {
        return List.of("1", "true", "on", "yes").contains(value == null ? "" : value.trim().toLowerCase(Locale.ROOT));
    }

    /**
     * The node's config with the cluster transport applied.
     *
     * @throws IllegalArgumentException when TLS is on and a store is missing, naming the variable to set
     */
    public static Config apply(Config config) {
        if (!config.hasPath("captun.cluster")) {
            return config;
        }
        Config c = config.getConfig("captun.cluster");
        Config overrides = ConfigFactory.empty()
                .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(c.getString("host")));
        if (on(c.getString("tls.enabled"))) {
            String keyStore = requiredFile(c.getString("tls.key-store"), "CAPTUN_CLUSTER_KEYSTORE");
            String trustStore = requiredFile(c.getString("tls.trust-store"), "CAPTUN_CLUSTER_TRUSTSTORE");
            String keyPassword = c.getString("tls.key-store-password");
            overrides = overrides
                    .withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
                    .withValue(SSL + "key-store", ConfigValueFactory.fromAnyRef(keyStore))
                    .withValue(SSL + "key-store-password", ConfigValueFactory.fromAnyRef(keyPassword))
                    .withValue(SSL + "key-password", ConfigValueFactory.fromAnyRef(keyPassword))
                    .withValue(SSL + "trust-store", ConfigValueFactory.fromAnyRef(trustStore))
                    .withValue(SSL + "trust-store-password", ConfigValueFactory.fromAnyRef(c.getString("tls.trust-store-password")))
                    // Both ends present a certificate the other's trust store must trust.
                    .withValue(SSL + "require-mutual-authentication", ConfigValueFactory.fromAnyRef(true));
        }
        return overrides.withFallback(config);
    }

    /** Whether the transport in {@code effective} is TLS (for the start-up log line). */
    public static boolean tls(Config effective) {
        return effective.getString("pekko.remote.artery.transport").equals("tls-tcp");
    }

    private static String requiredFile(String path, String variable) {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("cluster TLS is on (CAPTUN_CLUSTER_TLS=1) but " + variable + " is not set");
        }
        if (!Files.isReadable(Path.of(path))) {
            throw new IllegalArgumentException("cluster TLS: " + variable + " = " + path + " is not a readable file");
        }
        return path;
    }
}
