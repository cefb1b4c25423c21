package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The distribution as a user gets it: {@code captun-VERSION.tar.gz} unpacked into an empty
 * directory, its {@code bin/captun-node} and {@code bin/captun} run with a {@code mvn} on the PATH
 * that fails loudly, and a real request through the public URL reaches a real local HTTP server.
 * The runnable CLI jar ({@code java -jar captun-cli-VERSION.jar}) serves a second tunnel.
 */
@Timeout(240)
class DistributionTest {

    static Path tarball() {
        Path p = Path.of(System.getProperty("captun.dist.tarball", "../dist/target/missing.tar.gz"));
        assertTrue(Files.isRegularFile(p), "build the distribution first (./mvnw -B package -pl modules/dist -am): " + p);
        return p;
    }

    static Path cliJar() {
        Path p = Path.of(System.getProperty("captun.dist.clijar", "../dist/target/missing.jar"));
        assertTrue(Files.isRegularFile(p), "CLI jar not built: " + p);
        return p;
    }

    /** A PATH whose first entry has a {@code mvn} and {@code mvnw} that record being called and fail. */
    static String pathWithoutMaven(Path dir, Path marker) throws Exception {
        Files.createDirectories(dir);
        for (String name : new String[] {"mvn", "mvnw"}) {
            Path f = dir.resolve(name);
            Files.writeString(f, "#!/bin/sh\necho called >> '" + marker + "'\nexit 99\n");
            f.toFile().setExecutable(true);
        }
        return dir + ":" + System.getenv("PATH");
    }

    /** The first line a short command prints (it must exit 0 within a minute). */
    static String output(String path, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PATH", path);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void unpackedTarballRunsANodeAndATunnelWithoutMaven() throws Exception {
        Path work = Files.createTempDirectory("captun-dist");
        try {
            runFrom(work);
        } finally {
            CliProcessTest.deleteTree(work);
        }
    }

    private void runFrom(Path work) throws Exception {
        Process tar = new ProcessBuilder("tar", "xzf", tarball().toString(), "-C", work.toString()).inheritIO().start();
        assertTrue(tar.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, tar.exitValue());
        Path home;
        try (var dirs = Files.list(work)) {
            home = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        assertTrue(home.getFileName().toString().startsWith("captun-"), home.toString());
        for (String s : new String[] {"bin/captun-node", "bin/captun", "bin/captun-cluster"}) {
            assertTrue(Files.isExecutable(home.resolve(s)), s + " must be executable");
        }
        assertTrue(Files.isRegularFile(home.resolve("conf/application.conf")));
        assertTrue(Files.isRegularFile(home.resolve("conf/logback.xml")));
        assertTrue(Files.isRegularFile(home.resolve("LICENSE")));
        try (var jars = Files.list(home.resolve("lib"))) {
            assertTrue(jars.anyMatch(j -> j.getFileName().toString().startsWith("captun-http-edge-")), "lib/ holds the node's jars");
        }
        assertFalse(Files.exists(home.resolve("modules")), "no sources in the distribution");

        Path marker = work.resolve("maven-was-called");
        String path = pathWithoutMaven(work.resolve("fake-bin"), marker);
        String version = "captun " + System.getProperty("captun.version") + " (built ";
        assertTrue(output(path, home.resolve("bin/captun").toString(), "--version").startsWith(version));
        assertTrue(output(path, "java", "-jar", cliJar().toString(), "--version").startsWith(version));
        int port = CliProcessTest.freePort();
        String gateway = "http://127.0.0.1:" + port;
        ProcessBuilder nodePb = new ProcessBuilder(home.resolve("bin/captun-node").toString());
        nodePb.environment().put("PATH", path);
        nodePb.environment().put("CAPTUN_PORT", Integer.toString(port));
        nodePb.environment().put("CAPTUN_REMOTE_PORT", "0");
        nodePb.environment().put("CAPTUN_MANAGEMENT_PORT", "0");
        nodePb.environment().put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx384m");
        try (LocalServer local = new LocalServer().on("/", ex -> LocalServer.reply(ex, 200, "text/plain",
                     ("from the local service: " + ex.getRequestURI()).getBytes(StandardCharsets.UTF_8)));
             CliProcessTest.Proc node = new CliProcessTest.Proc(nodePb)) {
            node.await("captun gateway listening on " + gateway);
            String target = Integer.toString(URI.create(local.url()).getPort());

            ProcessBuilder cliPb = new ProcessBuilder(home.resolve("bin/captun").toString(), target, "--name", "dist", "--gateway", gateway);
            cliPb.environment().put("PATH", path);
            cliPb.environment().put("HOME", work.toString());
            cliPb.environment().remove("XDG_CONFIG_HOME");
            try (CliProcessTest.Proc cli = new CliProcessTest.Proc(cliPb)) {
                assertTrue(cli.await("Forwarding").contains(gateway + "/dist"));
                HttpResponse<String> r = PublicClient.get(gateway + "/dist/hello?x=1");
                assertEquals(200, r.statusCode());
                assertEquals("from the local service: /hello?x=1", r.body());
            }

            ProcessBuilder jarPb = new ProcessBuilder("java", "-jar", cliJar().toString(), target, "--name", "jar", "--gateway", gateway);
            jarPb.environment().put("HOME", work.toString());
            jarPb.environment().remove("XDG_CONFIG_HOME");
            try (CliProcessTest.Proc cli = new CliProcessTest.Proc(jarPb)) {
                assertTrue(cli.await("Forwarding").contains(gateway + "/jar"));
                HttpResponse<String> r = PublicClient.get(gateway + "/jar/");
                assertEquals(200, r.statusCode());
                assertEquals("from the local service: /", r.body());
            }
        }
        assertFalse(Files.exists(marker), "the distribution's scripts must not call Maven");
    }
}
