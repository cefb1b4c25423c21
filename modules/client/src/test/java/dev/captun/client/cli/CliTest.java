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
import java.util.Map;
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
        CliArgs a = CliArgs.parse(new String[] {"3000", "--name", "demo", "--gateway=http://g:1,http://g:2", "--token", "t", "--quiet"});
        assertEquals("run", a.command());
        assertEquals("3000", a.target());
        assertEquals("demo", a.name());
        assertEquals("http://g:1,http://g:2", a.gateway());
        assertEquals("t", a.token());
        assertTrue(a.quiet());
        CliArgs b = CliArgs.parse(new String[] {"--name", "x", "localhost:80"});
        assertEquals("localhost:80", b.target());
        assertFalse(b.quiet(), "the request log is on by default");
        assertFalse(CliArgs.parse(new String[] {"3000", "--request-logs"}).quiet(), "the old opt-in flag is still accepted");
        assertEquals("version", CliArgs.parse(new String[] {"--version"}).command());
        assertEquals("version", CliArgs.parse(new String[] {"3000", "-V"}).command());
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
    void flagsWinOverTheEnvironmentWhichWinsOverTheConfigFile() {
        ConfigFile.Config file = new ConfigFile.Config("http://file:1", "file-token");
        CliArgs bare = CliArgs.parse(new String[] {"3000"});
        CliArgs flags = CliArgs.parse(new String[] {"3000", "--gateway", "http://flag:1", "--token", "flag-token"});
        Map<String, String> env = Map.of("CAPTUN_GATEWAY", "http://env:1", "CAPTUN_TOKEN", "env-token");

        assertEquals(new Settings("http://flag:1", "--gateway", "flag-token", "--token"), Settings.resolve(flags, env, file));
        assertEquals(new Settings("http://env:1", "CAPTUN_GATEWAY", "env-token", "CAPTUN_TOKEN"), Settings.resolve(bare, env, file));
        assertEquals(new Settings("http://file:1", "config file", "file-token", "config file"), Settings.resolve(bare, Map.of(), file));
        assertEquals(new Settings("http://file:1", "config file", "file-token", "config file"),
                Settings.resolve(bare, Map.of("CAPTUN_GATEWAY", " ", "CAPTUN_TOKEN", ""), file), "blank variables are unset");
        assertEquals(new Settings("http://127.0.0.1:8080", "default", null, "random, this run only"),
                Settings.resolve(bare, Map.of(), ConfigFile.Config.EMPTY));
    }

    @Test
    void configFileFollowsXdgConfigHome() {
        String home = System.getProperty("user.home");
        assertEquals(Path.of("/xdg/conf/captun/config.json"), ConfigFile.defaultPath(Map.of("XDG_CONFIG_HOME", "/xdg/conf")));
        assertEquals(Path.of(home, ".config", "captun", "config.json"), ConfigFile.defaultPath(Map.of()));
        assertEquals(Path.of(home, ".config", "captun", "config.json"), ConfigFile.defaultPath(Map.of("XDG_CONFIG_HOME", "relative/dir")),
                "a relative XDG_CONFIG_HOME is invalid and ignored (XDG base directory spec)");
    }

    @Test
    void configCommandsUseXdgConfigHome() throws IOException {
        Map<String, String> env = Map.of("XDG_CONFIG_HOME", tmp.toString());
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertEquals(0, CaptunCli.run(new String[] {"config", "set", "gateway", "http://xdg:8080"}, env, false,
                new java.io.PrintStream(out, true), System.err));
        assertEquals(new ConfigFile.Config("http://xdg:8080", null), ConfigFile.load(tmp.resolve("captun/config.json")));
        out.reset();
        assertEquals(0, CaptunCli.run(new String[] {"config", "show"}, env, false, new java.io.PrintStream(out, true), System.err));
        assertTrue(out.toString().contains("gateway: http://xdg:8080"), out.toString());
    }

    @Test
    void requestLogLinesHaveTimeMethodPathStatusAndDurationAndColourOnlyWhenAsked() {
        java.time.LocalTime t = java.time.LocalTime.of(14, 3, 7, 500_000_000);
        assertEquals("14:03:07  GET /index.html?q=1  200  3 ms", new Console(false).request(t, "GET", "/index.html?q=1", 200, 3));
        assertEquals("14:03:07  POST /api  \u001b[31m502\u001b[0m  12 ms", new Console(true).request(t, "POST", "/api", 502, 12));
        assertEquals("14:03:07  GET /  \u001b[33m404\u001b[0m  0 ms", new Console(true).request(t, "GET", "/", 404, 0));
        assertEquals("14:03:07  GET /ws  101  900 ms", new Console(true).request(t, "GET", "/ws", 101, 900));
        assertEquals("14:03:07  disconnected (1006)", new Console(false).event(t, "disconnected (1006)"));
        assertFalse(new Console(false).event(t, "x").contains("\u001b"));
    }

    @Test
    void statusBlockNamesUrlTargetGatewayAndTokenSourceButNeverTheToken() {
        Settings s = new Settings("http://g:1", "CAPTUN_GATEWAY", "secret-token", "CAPTUN_TOKEN");
        String block = CaptunCli.statusBlock(new Console(false), "http://g:1/demo", "http://127.0.0.1:3000", "http://g:1", s, false);
        assertTrue(block.contains("Forwarding    http://g:1/demo -> http://127.0.0.1:3000\n"), block);
        assertTrue(block.contains("Health        http://g:1/demo/__captun/health\n"), block);
        assertTrue(block.contains("Gateway       http://g:1 (CAPTUN_GATEWAY)\n"), block);
        assertTrue(block.contains("Token         CAPTUN_TOKEN\n"), block);
        assertTrue(block.contains("Requests (time, method, path, status, duration"), block);
        assertFalse(block.contains("secret-token"), "never print the token");
        assertFalse(CaptunCli.statusBlock(new Console(false), "u", "t", "g", s, true).contains("Requests"), "--quiet");
    }

    @Test
    void versionAndHelp() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertEquals(0, CaptunCli.run(new String[] {"--version"}, Map.of(), false, new java.io.PrintStream(out, true), System.err));
        assertTrue(out.toString().matches("captun \\d+\\.\\d+\\.\\d+\\S* \\(built \\d{4}-\\d\\d-\\d\\dT[^,]+, Java \\d[^)]*\\)\\R"),
                "version from the build: " + out);
        out.reset();
        assertEquals(0, CaptunCli.run(new String[] {"--help"}, Map.of(), false, new java.io.PrintStream(out, true), System.err));
        String help = out.toString();
        for (String s : new String[] {"usage: captun <target>", "--quiet", "--version", "CAPTUN_GATEWAY", "CAPTUN_TOKEN", "XDG_CONFIG_HOME", "examples:",
                "captun 3000 --name demo"}) {
            assertTrue(help.contains(s), "help mentions " + s + ":\n" + help);
        }
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
