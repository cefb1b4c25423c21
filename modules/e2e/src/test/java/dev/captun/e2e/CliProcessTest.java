package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's promise, as processes: {@code bin/captun-node}, then {@code bin/captun <port> --name demo
 * --gateway …}, and {@code curl <gateway>/demo/} returns what the local service serves.
 */
@Timeout(300) // four JVMs start in turn; on a loaded 2-core box each takes tens of seconds
class CliProcessTest {

    /** A started process whose output lines are collected. */
    static final class Proc implements AutoCloseable {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final List<String> all = java.util.Collections.synchronizedList(new ArrayList<>());

        Proc(ProcessBuilder pb) throws IOException {
            process = pb.redirectErrorStream(true).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(line);
                        all.add(line);
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        String await(String contains) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null && line.contains(contains)) {
                    return line;
                }
            }
            throw new AssertionError("no output line containing '" + contains + "'; got: " + all);
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy(); // SIGTERM: both scripts exec java, which shuts down cleanly
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("bin/captun-node"))) {
            p = p.getParent();
        }
        assertNotNull(p, "bin/captun-node not found");
        return p;
    }

    /** Removes a test's scratch directory (build copies and unpacked tarballs are large). */
    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void nodeAndCliServeALocalPortThenExplainAConflict() throws Exception {
        Path root = repoRoot();
        Path home = Files.createTempDirectory("captun-home");
        int port = freePort();
        String gateway = "http://127.0.0.1:" + port;
        ProcessBuilder nodePb = new ProcessBuilder(root.resolve("bin/captun-node").toString());
        nodePb.environment().put("CAPTUN_PORT", Integer.toString(port));
        nodePb.environment().put("CAPTUN_REMOTE_PORT", "0");
        nodePb.environment().put("CAPTUN_MANAGEMENT_PORT", "0");
        nodePb.environment().put("CAPTUN_POLICY", "public");
        try (LocalServer local = new LocalServer().on("/", ex -> LocalServer.reply(ex, 200, "text/plain",
                     ("local says " + ex.getRequestURI()).getBytes(StandardCharsets.UTF_8)));
             Proc node = new Proc(nodePb)) {
            node.await("captun gateway listening on " + gateway);
            String target = Integer.toString(java.net.URI.create(local.url()).getPort());
            ProcessBuilder cliPb = new ProcessBuilder(root.resolve("bin/captun").toString(), target,
                    "--name", "demo", "--gateway", gateway, "--request-logs");
            cliPb.environment().put("HOME", home.toString());
            cliPb.environment().remove("XDG_CONFIG_HOME");
            try (Proc cli = new Proc(cliPb)) {
                assertTrue(cli.await("Forwarding").contains(gateway + "/demo"));
                assertTrue(cli.await("Policy").contains("public (names owned by tokens, rate limits)"), "the status block names the gateway's policy");
                HttpResponse<String> r = PublicClient.get(gateway + "/demo/");
                assertEquals(200, r.statusCode());
                assertEquals("local says /", r.body());
                assertTrue(cli.await("GET /").matches("\\d\\d:\\d\\d:\\d\\d  GET /  200  \\d+ ms"), "one request-log line per request");

                // A second CLI (another random token) for the same name gets the plain 409 explanation.
                ProcessBuilder secondPb = new ProcessBuilder(root.resolve("bin/captun").toString(), target,
                        "--name", "demo", "--gateway", gateway);
                secondPb.environment().put("HOME", home.toString());
                try (Proc second = new Proc(secondPb)) {
                    assertTrue(second.await("is held by another active client").contains("pick another --name or stop the other tunnel"));
                    assertTrue(second.process.waitFor(60, TimeUnit.SECONDS));
                    assertNotEquals(0, second.process.exitValue());
                }
                assertEquals("local says /still", PublicClient.get(gateway + "/demo/still").body(), "the first tunnel keeps serving");
            }

            // A local service that goes away: the public client is told which tunnel could not reach what, and the CLI logs it.
            try (ServerSocket gone = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
                int gonePort = gone.getLocalPort();
                ProcessBuilder gonePb = new ProcessBuilder(root.resolve("bin/captun").toString(), Integer.toString(gonePort), "--name", "gone", "--gateway", gateway);
                gonePb.environment().put("HOME", home.toString());
                gonePb.environment().remove("XDG_CONFIG_HOME");
                try (Proc cli = new Proc(gonePb)) {
                    assertTrue(cli.await("Forwarding").contains(gateway + "/gone"), "it accepted TCP when the CLI started");
                    gone.close();
                    HttpResponse<String> down = PublicClient.get(gateway + "/gone/after");
                    assertEquals(502, down.statusCode());
                    assertEquals("text/plain; charset=utf-8", down.headers().firstValue("content-type").orElse("").toLowerCase(java.util.Locale.ROOT));
                    assertEquals("Tunnel \"gone\" could not reach its local service at http://127.0.0.1:" + gonePort + ": Connection refused\n",
                            down.body());
                    assertTrue(cli.await("unreachable for GET /after").contains("local service http://127.0.0.1:" + gonePort));
                    assertTrue(cli.await("GET /after").matches("\\d\\d:\\d\\d:\\d\\d  GET /after  502  \\d+ ms"));
                }
            }
        }
    }
}
