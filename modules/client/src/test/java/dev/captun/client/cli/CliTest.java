package dev.captun.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.client.CaptunConnectException;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    @TempDir
    Path tmp;

    @Test
    void targets() {
        assertEquals(new TargetSpec("http", "127.0.0.1", 3000, "http://127.0.0.1:3000"), TargetSpec.parse("3000"));
        assertEquals(new TargetSpec("http", "127.0.0.1", 3000, "http://127.0.0.1:3000"), TargetSpec.parse(":3000"));
        assertEquals(new TargetSpec("http", "localhost", 8081, "http://localhost:8081"), TargetSpec.parse("localhost:8081"));
        assertEquals(new TargetSpec("http", "::1", 80, "http://[::1]:80"), TargetSpec.parse("[::1]:80"));
        assertEquals(new TargetSpec("https", "example.com", 443, "https://example.com"), TargetSpec.parse("https://example.com/"));
        assertEquals(new TargetSpec("http", "h", 9, "http://h:9/app"), TargetSpec.parse("http://h:9/app"));
        assertEquals(80, TargetSpec.parse("http://h").port());
        for (String bad : new String[] {"", "abc", "0", "70000", ":x", "ftp://h", "host:", ":"}) {
            assertThrows(IllegalArgumentException.class, () -> TargetSpec.parse(bad), bad);
        }
    }

    @Test
    void arguments() {
        CliArgs a = CliArgs.parse(new String[] {"3000", "--name", "demo", "--gateway=http://g:1,http://g:2", "--token", "t", "--request-logs"});
        assertEquals("run", a.command());
        assertEquals("3000", a.target());
        assertEquals("demo", a.name());
        assertEquals("http://g:1,http://g:2", a.gateway());
        assertEquals("t", a.token());
        assertTrue(a.requestLogs());
        CliArgs b = CliArgs.parse(new String[] {"--name", "x", "localhost:80"});
        assertEquals("localhost:80", b.target());
        assertFalse(b.requestLogs());
        assertNull(b.token());
        assertEquals("help", CliArgs.parse(new String[] {"--help"}).command());
        CliArgs c = CliArgs.parse(new String[] {"config", "set", "gateway", "http://g"});
        assertEquals("config-set", c.command());
        assertEquals("gateway", c.configKey());
        assertEquals("http://g", c.configValue());
        assertThrows(IllegalArgumentException.class, () -> CliArgs.parse(new String[] {}));
        assertThrows(IllegalArgumentException.class, () -> CliArgs.parse(new String[] {"3000", "--bogus"}));
        assertThrows(IllegalArgumentException.class, () -> CliArgs.parse(new String[] {"3000", "--name"}));
        assertThrows(IllegalArgumentException.class, () -> CliArgs.parse(new String[] {"3000", "4000"}));
        assertThrows(IllegalArgumentException.class, () -> CliArgs.parse(new String[] {"config", "set", "colour", "x"}));
    }

    @Test
    void configFileIsWrittenOwnerOnlyAndReadBack() throws IOException {
        Path f = tmp.resolve("captun").resolve("config.json");
        assertEquals(ConfigFile.Config.EMPTY, ConfigFile.load(f));
        ConfigFile.set(f, "gateway", "http://gw:8080");
        ConfigFile.set(f, "token", "secret");
        assertEquals(new ConfigFile.Config("http://gw:8080", "secret"), ConfigFile.load(f));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.getParent())));
        ConfigFile.set(f, "gateway", "http://other");
        assertEquals(new ConfigFile.Config("http://other", "secret"), ConfigFile.load(f));
    }

    @Test
    void configFileRejectsUnknownKeysByName() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"gateway\":\"http://g\",\"tokn\":\"x\"}");
        IOException e = assertThrows(IOException.class, () -> ConfigFile.load(f));
        assertTrue(e.getMessage().contains("\"tokn\""), e.getMessage());
        Files.writeString(f, "{\"gateway\": 5}");
        assertThrows(IOException.class, () -> ConfigFile.load(f));
        Files.writeString(f, "[1]");
        assertThrows(IOException.class, () -> ConfigFile.load(f));
        Files.writeString(f, "{not json");
        assertThrows(IOException.class, () -> ConfigFile.load(f));
    }

    @Test
    void connectErrorMessages() {
        String conflict = CliMessages.connectError(CaptunConnectException.rejected(409, "Tunnel name is already connected\n"), "demo", "http://g");
        assertTrue(conflict.contains("held by another active client: pick another --name or stop the other tunnel"), conflict);
        assertFalse(conflict.toLowerCase().contains("network"), conflict);
        String auth = CliMessages.connectError(CaptunConnectException.rejected(401, "Unauthorized\n"), "demo", "http://g");
        assertTrue(auth.contains("token"), auth);
        String other = CliMessages.connectError(CaptunConnectException.rejected(400, "Invalid tunnel name\n"), "Demo", "http://g");
        assertTrue(other.contains("400 Invalid tunnel name"), other);
        String net = CliMessages.connectError(CaptunConnectException.connectionFailed(null), null, "http://g");
        assertTrue(net.contains("http://g") && net.contains("network"), net);
    }

    @Test
    void targetMustAcceptTcp() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
            assertTrue(CaptunCli.acceptsTcp("127.0.0.1", port));
        }
        assertFalse(CaptunCli.acceptsTcp("127.0.0.1", port));
    }

    @Test
    void cliExitsNonZeroWhenTheTargetIsDown() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = CaptunCli.run(new String[] {String.valueOf(port)}, new java.io.PrintStream(new java.io.ByteArrayOutputStream()),
                new java.io.PrintStream(err));
        assertEquals(1, code);
        assertTrue(err.toString().contains("nothing is accepting connections"), err.toString());
        assertEquals(2, CaptunCli.run(new String[] {"not-a-target"}, System.out, new java.io.PrintStream(new java.io.ByteArrayOutputStream())));
    }
}
