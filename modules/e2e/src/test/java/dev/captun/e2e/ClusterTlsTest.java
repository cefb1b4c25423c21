package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster remoting over Artery {@code tls-tcp} with mutual authentication (CAPTUN_CLUSTER_TLS=1):
 * two real nodes whose stores are generated here with keytool form a cluster and forward across it;
 * a node whose certificate the cluster does not trust never joins.
 */
@Timeout(180)
class ClusterTlsTest {
    private static final String PASSWORD = "test-store-pass";

    @TempDir
    Path dir;

    /** A PKCS12 key store with one self-signed RSA key, and a trust store holding its certificate. */
    record Stores(Path keyStore, Path trustStore) {}

    private Stores generate(String name) throws Exception {
        Path ks = dir.resolve(name + "-key.p12");
        Path cert = dir.resolve(name + ".crt");
        Path ts = dir.resolve(name + "-trust.p12");
        keytool("-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=" + name, "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD, "-noprompt");
        keytool("-exportcert", "-alias", name, "-keystore", ks.toString(), "-storepass", PASSWORD, "-file", cert.toString());
        keytool("-importcert", "-alias", name, "-file", cert.toString(), "-keystore", ts.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-noprompt");
        return new Stores(ks, ts);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool finished");
        assertEquals(0, p.exitValue(), "keytool " + args[0] + ": " + out);
    }

    private static String[] tls(Stores s, String... more) {
        List<String> conf = new java.util.ArrayList<>(List.of(
                "captun.cluster.tls.enabled = \"1\"",
                "captun.cluster.tls.key-store = \"" + s.keyStore() + "\"",
                "captun.cluster.tls.key-store-password = \"" + PASSWORD + "\"",
                "captun.cluster.tls.trust-store = \"" + s.trustStore() + "\"",
                "captun.cluster.tls.trust-store-password = \"" + PASSWORD + "\""));
        conf.addAll(List.of(more));
        return conf.toArray(String[]::new);
    }

    private static String seedOf(GatewayNode node) {
        Address seed = Cluster.get(node.system()).selfMember().address();
        return "captun.seed-nodes = \"" + seed.getHost().orElseThrow() + ":" + seed.getPort().orElseThrow() + "\"";
    }

    private static long up(GatewayNode node) {
        long n = 0;
        for (Member m : Cluster.get(node.system()).state().getMembers()) {
            n += m.status() == MemberStatus.up() ? 1 : 0;
        }
        return n;
    }

    private static void await(long seconds, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            try {
                Thread.sleep(50); // polling interval of a deadline loop, not a synchronisation sleep
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void nodesWithTrustedCertificatesFormAClusterAndForwardAcrossIt() throws Exception {
        Stores cluster = generate("captun-node");
        Stores rogue = generate("rogue");
        try (GatewayNode a = Gateways.start(tls(cluster));
             GatewayNode b = Gateways.start(tls(cluster, seedOf(a)))) {
            assertEquals("tls-tcp", a.system().settings().config().getString("pekko.remote.artery.transport"));
            assertTrue(a.system().settings().config().getBoolean("pekko.remote.artery.ssl.config-ssl-engine.require-mutual-authentication"));
            await(60, "both TLS nodes Up on both", () -> up(a) == 2 && up(b) == 2);

            try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(a)).name("overtls")
                    .handler(req -> TunnelResponse.text(200, "held by a, asked via b")).connect()) {
                RawHttp.Reply r = RawHttp.get(b.port(), "/overtls/", "127.0.0.1");
                assertEquals(200, r.status(), r.head());
                assertEquals("held by a, asked via b", r.body());
            }

            // A node with a certificate the cluster does not trust (and a trust store without the
            // cluster's) cannot join: the TLS handshake fails both ways. Observed for a bounded window.
            try (GatewayNode intruder = Gateways.start(tls(rogue, seedOf(a)))) {
                Address intruderAddress = Cluster.get(intruder.system()).selfMember().address();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
                while (System.nanoTime() < until) {
                    for (Member m : Cluster.get(a.system()).state().getMembers()) {
                        assertNotEquals(intruderAddress, m.address(), "the untrusted node became a member");
                    }
                    assertNotEquals(MemberStatus.up(), Cluster.get(intruder.system()).selfMember().status(), "the untrusted node is Up");
                    Thread.sleep(100);
                }
                assertEquals(2, up(a), "the cluster is unchanged");
            }
        }
    }

    @Test
    void tlsWithoutAKeyStoreRefusesToStart() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gateways.start("captun.cluster.tls.enabled = \"1\"", "captun.cluster.tls.trust-store = \"" + dir.resolve("none") + "\""));
        assertTrue(e.getMessage().contains("CAPTUN_CLUSTER_KEYSTORE"), e.getMessage());
    }
}
