package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** bin/captun-node as a user runs it: --help and --version answer without starting a node; a busy port ends it with one line. */
@Timeout(180)
class NodeProcessTest {

    private record Run(int exit, List<String> lines) {
        String last() {
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }

    private static Run run(List<String> args, String... env) throws IOException, InterruptedException {
        Path root = CliProcessTest.repoRoot();
        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/captun-node").toString());
        pb.command().addAll(args);
        for (int i = 0; i < env.length; i += 2) {
            pb.environment().put(env[i], env[i + 1]);
        }
        pb.environment().put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx256m");
        Process p = pb.redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes(); // the process ends by itself in every case here
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "captun-node did not end");
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void versionAndHelpAnswerAndExit() throws Exception {
        Run version = run(List.of("--version"));
        assertEquals(0, version.exit());
        assertEquals(1, version.lines().size(), "one line: " + version.lines());
        assertTrue(version.last().matches("captun-node \\d+\\.\\d+\\.\\d+.* \\(Java .*\\)"), version.last());

        Run help = run(List.of("--help"));
        assertEquals(0, help.exit());
        assertEquals("Usage: captun-node [--help | --version]", help.lines().get(0));
        assertTrue(help.lines().stream().anyMatch(l -> l.contains("CAPTUN_PORT")), "names the settings: " + help.lines());

        Run typo = run(List.of("--port", "9000"));
        assertEquals(2, typo.exit());
        assertEquals(List.of("captun-node: unexpected arguments --port 9000 (captun-node --help)"), typo.lines());
    }

    @Test
    void aBusyPublicPortEndsTheNodeWithTheSettingToChange() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = busy.getLocalPort();
            Run r = run(List.of(), "CAPTUN_HOST", "127.0.0.1", "CAPTUN_PORT", Integer.toString(port),
                    "CAPTUN_REMOTE_PORT", "0", "CAPTUN_MANAGEMENT_PORT", "0");
            assertEquals(1, r.exit());
            assertEquals("captun-node: cannot listen on 127.0.0.1:" + port
                    + ": address already in use; set CAPTUN_PORT to a free port (0 = any)", r.last());
        }
    }
}
