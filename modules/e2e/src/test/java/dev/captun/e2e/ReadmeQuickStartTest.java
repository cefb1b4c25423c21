package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A new user following the README alone, on a fresh copy of the repository (no build outputs):
 * the quick start's commands run in order, each as its own process, exactly as written except
 * that ports 8080 and 3000 become free ones: the node gets {@code CAPTUN_PORT} and the CLI
 * {@code CAPTUN_GATEWAY} for the default 8080, and the node's remoting and management ports are
 * picked free, so the test cannot collide with anything else on the machine. Then "Embed the
 * SDK": the README's install step into a private local repository, a new Maven project with the
 * README's dependency and its example class, compiled by Maven and run against the same node.
 */
@Timeout(900)
class ReadmeQuickStartTest {
    private static final Set<String> NOT_COPIED = Set.of("target", ".git", ".captun-cluster", ".idea");

    @Test
    void quickStartThenSdkInANewProject() throws Exception {
        Path work = Files.createTempDirectory("captun-newuser");
        try {
            newUser(work);
        } finally {
            CliProcessTest.deleteTree(work);
        }
    }

    private void newUser(Path work) throws Exception {
        Path repo = work.resolve("captun-pekko");
        copyTree(Readme.root(), repo);

        List<String> lines = new ArrayList<>();
        for (String l : Readme.block("## Quick start", "sh").split("\n")) {
            if (!Readme.command(l).isEmpty()) {
                lines.add(Readme.command(l));
            }
        }
        assertEquals(6, lines.size(), "quick start: build, node, local service, CLI, two curls: " + lines);
        int gwPort = CliProcessTest.freePort();
        int localPort = CliProcessTest.freePort();
        List<String> cmds = lines.stream()
                .map(c -> c.replace("8080", Integer.toString(gwPort)).replace("3000", Integer.toString(localPort))).toList();
        String gateway = "http://127.0.0.1:" + gwPort;

        // 1. the build, in the foreground
        assertTrue(cmds.get(0).startsWith("./mvnw "), cmds.get(0));
        Path buildLog = work.resolve("build.log");
        assertEquals(0, run(repo, cmds.get(0), buildLog, 600), () -> "build failed:\n" + tail(buildLog));
        try (Stream<Path> s = Files.list(repo.resolve("modules/dist/target"))) {
            List<String> names = s.map(p -> p.getFileName().toString()).toList();
            assertTrue(names.contains("captun-" + System.getProperty("captun.version") + ".tar.gz"), names.toString());
            assertTrue(names.contains("captun-cli-" + System.getProperty("captun.version") + ".jar"), names.toString());
        }

        Path home = Files.createDirectories(work.resolve("home"));
        // 2. the node, 3. a local service, 4. the CLI: each its own process ("terminal")
        assertEquals("bin/captun-node", cmds.get(1));
        ProcessBuilder nodePb = shell(repo, cmds.get(1));
        nodePb.environment().put("CAPTUN_REMOTE_PORT", "0");
        int mgmtPort = CliProcessTest.freePort();
        nodePb.environment().put("CAPTUN_MANAGEMENT_PORT", Integer.toString(mgmtPort));
        nodePb.environment().put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx384m");
        nodePb.environment().put("CAPTUN_PORT", Integer.toString(gwPort)); // the README's 8080, moved to a free port
        try (CliProcessTest.Proc node = new CliProcessTest.Proc(nodePb);
             CliProcessTest.Proc local = new CliProcessTest.Proc(shell(repo, cmds.get(2)))) {
            node.await("captun node ready: tunnels and public requests on " + gateway); // the README's "wait for ready"
            // What a person waits for without noticing: on a loaded machine the cluster and sharding
            // can still be starting when the port is bound, and the CLI does not retry a first connect.
            awaitReady(mgmtPort, node);
            awaitTcp(localPort, local);

            ProcessBuilder cliPb = shell(repo, cmds.get(3));
            cliPb.environment().put("HOME", home.toString());
            cliPb.environment().remove("XDG_CONFIG_HOME");
            cliPb.environment().put("CAPTUN_GATEWAY", gateway); // the CLI's default gateway is 8080, moved like the node
            cliPb.environment().remove("CAPTUN_TOKEN");
            try (CliProcessTest.Proc cli = new CliProcessTest.Proc(cliPb)) {
                assertTrue(cli.await("Forwarding").contains(gateway + "/demo"));

                // 5. and 6. in a fourth terminal
                Path out5 = work.resolve("curl5.out");
                assertEquals(0, run(repo, cmds.get(4) + " 2>/dev/null", out5, 60)); // stdout only, as a terminal shows it
                String listing = Files.readString(out5);
                assertTrue(listing.contains("Directory listing for /") && listing.contains("README.md"),
                        "python's directory listing through the tunnel: " + listing);
                assertTrue(cli.await("GET /").contains(" 200 "), "the CLI logs the request");
                Path out6 = work.resolve("curl6.out");
                assertEquals(0, run(repo, cmds.get(5) + " 2>/dev/null", out6, 60));
                assertEquals("{\"ok\":true}", Files.readString(out6).strip());

                embedTheSdk(work, repo, gateway);
            }
        }
    }

    /** README "Embed the SDK", in a new Maven project next to the checkout. */
    private void embedTheSdk(Path work, Path repo, String gateway) throws Exception {
        Path m2 = work.resolve("m2");
        // Installs go to a private local repository; the user's one is only read (Maven 3.9's tail).
        String repos = " -Dmaven.repo.local=" + m2 + " -Dmaven.repo.local.tail=" + Path.of(System.getProperty("user.home"), ".m2", "repository");
        String install = Readme.command(Readme.block("## Embed the SDK", "sh").strip());
        Path installLog = work.resolve("install.log");
        assertEquals(0, run(repo, install + repos, installLog, 600), () -> "SDK install failed:\n" + tail(installLog));
        Path installed = m2.resolve("dev/captun/captun-client/" + System.getProperty("captun.version"));
        try (Stream<Path> s = Files.list(installed)) {
            List<String> names = s.map(p -> p.getFileName().toString()).toList();
            assertTrue(names.stream().anyMatch(n -> n.endsWith("-sources.jar")), names.toString());
            assertTrue(names.stream().anyMatch(n -> n.endsWith("-javadoc.jar")), names.toString());
        }
        assertFalse(Files.exists(m2.resolve("dev/captun/captun-e2e")), "e2e is never installed");

        Path app = Files.createDirectories(work.resolve("my-app/src/main/java")).getParent().getParent().getParent();
        String dependency = Readme.block("## Embed the SDK", "xml").strip();
        Files.writeString(app.resolve("pom.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>com.example</groupId>
                  <artifactId>my-app</artifactId>
                  <version>1.0</version>
                  <properties>
                    <maven.compiler.release>17</maven.compiler.release>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                  </properties>
                  <dependencies>
                """ + dependency + """

                  </dependencies>
                </project>
                """);
        Files.writeString(app.resolve("src/main/java/Hello.java"), Readme.block("<!-- sdk-example", "java"));
        Path compileLog = work.resolve("compile.log");
        String compile = repo.resolve("mvnw") + " -B -ntp -f " + app.resolve("pom.xml") + repos
                + " compile org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.outputFile=cp.txt";
        assertEquals(0, run(app, compile, compileLog, 300), () -> "the new project did not build:\n" + tail(compileLog));
        String cp = app.resolve("target/classes") + ":" + Files.readString(app.resolve("cp.txt")).strip();
        assertFalse(cp.contains("pekko"), "the SDK brings no Pekko: " + cp);

        ProcessBuilder pb = new ProcessBuilder("java", "-cp", cp, "Hello").directory(app.toFile());
        pb.environment().put("CAPTUN_GATEWAY", gateway);
        try (CliProcessTest.Proc hello = new CliProcessTest.Proc(pb)) {
            String line = hello.await("serving at ");
            String url = line.substring(line.indexOf("serving at ") + "serving at ".length()).strip();
            assertEquals(gateway + "/hello", url);
            HttpResponse<String> r = PublicClient.get(url + "/my-app");
            assertEquals(200, r.statusCode());
            assertEquals("hello from /my-app", r.body());
        }
    }

    private static ProcessBuilder shell(Path dir, String command) {
        return new ProcessBuilder("bash", "-c", "exec " + command).directory(dir.toFile());
    }

    /** Runs {@code command} in {@code dir} to completion (output to {@code log}); returns its exit code. */
    private static int run(Path dir, String command, Path log, int timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", command).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("'" + command + "' did not finish within " + timeoutSeconds + " s:\n" + tail(log));
        }
        return p.exitValue();
    }

    private static String tail(Path log) {
        try {
            List<String> l = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", l.subList(Math.max(0, l.size() - 60), l.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static void awaitReady(int mgmtPort, CliProcessTest.Proc node) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            try {
                if (PublicClient.get("http://127.0.0.1:" + mgmtPort + "/ready").statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not bound yet
            }
            assertTrue(node.process.isAlive(), () -> "the node exited: " + node.all);
            Thread.sleep(200); // polling readiness, bounded by the deadline
        }
        fail("node not ready: " + node.all);
    }

    private static void awaitTcp(int port, CliProcessTest.Proc owner) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                assertTrue(owner.process.isAlive(), () -> "the local service exited: " + owner.all);
                Thread.sleep(100); // polling a port that is not open yet, bounded by the deadline
            }
        }
        fail("nothing listens on " + port + ": " + owner.all);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path rel = from.relativize(p);
                boolean skip = false;
                for (Path part : rel) {
                    if (NOT_COPIED.contains(part.toString())) {
                        skip = true;
                        break;
                    }
                }
                if (skip) {
                    continue;
                }
                Path dest = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
