package dev.captun.edge.node;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped conf/application.conf: the public bind never drags cluster remoting or management along. */
class ClusterTransportTest {
    @TempDir
    Path dir;

    /** The shipped file with overrides, resolved as the node resolves it (env vars absent). */
    private static Config shipped(String overrides) {
        return ClusterTransport.apply(ConfigFactory.parseString(overrides)
                .withFallback(ConfigFactory.parseResourcesAnySyntax("application.conf"))
                .withFallback(ConfigFactory.defaultReference()).resolve());
    }

    @Test
    void aPublicBindOnEveryInterfaceLeavesRemotingAndManagementOnLoopback() {
        Config c = shipped("captun.host = \"0.0.0.0\"");
        assertEquals("0.0.0.0", c.getString("captun.host"));
        assertEquals("127.0.0.1", c.getString("pekko.remote.artery.canonical.hostname"));
        assertEquals("127.0.0.1", c.getString("captun.management.host"));
        assertEquals("127.0.0.1", c.getString("pekko.management.http.hostname"));
        assertEquals("tcp", c.getString("pekko.remote.artery.transport"));
    }

    @Test
    void clusterAndManagementAddressesAreTheirOwnSettings() {
        Config c = shipped("captun.cluster.host = \"10.1.2.3\"\ncaptun.management.host = \"10.1.2.4\"");
        assertEquals("10.1.2.3", c.getString("pekko.remote.artery.canonical.hostname"));
        assertEquals("10.1.2.4", c.getString("pekko.management.http.hostname"));
        assertEquals("127.0.0.1", c.getString("captun.host"));
    }

    @Test
    void tlsTurnsOnTlsTcpWithMutualAuthentication() throws Exception {
        Path ks = Files.writeString(dir.resolve("ks.p12"), "x");
        Path ts = Files.writeString(dir.resolve("ts.p12"), "x");
        Config c = shipped("captun.cluster.tls { enabled = \"1\", key-store = \"" + ks + "\", key-store-password = kp, trust-store = \""
                + ts + "\", trust-store-password = tp }");
        assertEquals("tls-tcp", c.getString("pekko.remote.artery.transport"));
        String ssl = "pekko.remote.artery.ssl.config-ssl-engine.";
        assertEquals(ks.toString(), c.getString(ssl + "key-store"));
        assertEquals("kp", c.getString(ssl + "key-store-password"));
        assertEquals("kp", c.getString(ssl + "key-password"));
        assertEquals(ts.toString(), c.getString(ssl + "trust-store"));
        assertEquals("tp", c.getString(ssl + "trust-store-password"));
        assertTrue(c.getBoolean(ssl + "require-mutual-authentication"));
        assertTrue(ClusterTransport.tls(c));
    }

    @Test
    void tlsWithoutItsStoresFailsFastNamingTheVariable() throws Exception {
        IllegalArgumentException noKey = assertThrows(IllegalArgumentException.class,
                () -> shipped("captun.cluster.tls.enabled = \"1\""));
        assertTrue(noKey.getMessage().contains("CAPTUN_CLUSTER_KEYSTORE"), noKey.getMessage());
        Path ks = Files.writeString(dir.resolve("ks.p12"), "x");
        IllegalArgumentException noTrust = assertThrows(IllegalArgumentException.class,
                () -> shipped("captun.cluster.tls { enabled = \"1\", key-store = \"" + ks + "\", trust-store = \"" + dir.resolve("missing.p12") + "\" }"));
        assertTrue(noTrust.getMessage().contains("CAPTUN_CLUSTER_TRUSTSTORE"), noTrust.getMessage());
    }

    @Test
    void tlsIsOffUnlessSwitchedOn() {
        for (String v : new String[] {"\"\"", "0", "off", "no"}) {
            assertFalse(ClusterTransport.tls(shipped("captun.cluster.tls.enabled = " + v)), v);
        }
    }
}
