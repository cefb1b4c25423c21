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
@Timeout(180)
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
            try (Proc cli = new Proc(cliPb)) {
                assertTrue(cli.await("Forwarding").contains(gateway + "/demo"));
                HttpResponse<String> r = PublicClient.get(gateway + "/demo/");
                assertEquals(200, r.statusCode());
                assertEquals("local says /", r.body());
                assertTrue(cli.await("GET /").startsWith("200 GET / "), "one request-log line per request");

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
        }
    }
}
