package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Driving {@code bin/captun-cluster} from a test: node JVMs of their own, on free ports. */
final class ClusterScript {
    private ClusterScript() {}

    /** One node as recorded in the run directory's {@code nodes} file. */
    record Node(int index, long pid, int http, int remote, int mgmt) {
        String url() {
            return "http://127.0.0.1:" + http;
        }
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("bin/captun-cluster"))) {
            p = p.getParent();
        }
        assertNotNull(p, "bin/captun-cluster not found above " + Path.of("").toAbsolutePath());
        return p;
    }

    /** Runs a command with extra environment, output to {@code out}; returns its exit code. */
    static int run(Map<String, String> env, Path out, Duration timeout, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    static List<Node> readNodes(Path dir) throws IOException {
        List<Node> nodes = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("nodes"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 5) {
                nodes.add(new Node(Integer.parseInt(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2]),
                        Integer.parseInt(f[3]), Integer.parseInt(f[4])));
            }
        }
        return nodes;
    }

    /** Three base ports (HTTP, remoting, management), each with base..base+2 free on loopback. */
    static int[] freeBases() {
        Random random = new Random();
        int[] bases = new int[3];
        List<Integer> taken = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            while (true) {
                int base = 20000 + random.nextInt(12000); // below the ephemeral range (32768+), where client ports would collide
                boolean ok = taken.stream().noneMatch(t -> Math.abs(t - base) < 3);
                for (int k = 0; k < 3 && ok; k++) {
                    ok = isFree(base + k);
                }
                if (ok) {
                    bases[b] = base;
                    taken.add(base);
                    break;
                }
            }
        }
        return bases;
    }

    static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String body(String url) {
        try {
            return PublicClient.HTTP.send(PublicClient.request(url).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    static String logs(Path dir) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            try {
                List<String> lines = Files.readAllLines(dir.resolve("node-" + i + ".log"));
                sb.append("\n--- node-").append(i).append(".log (last 30 lines) ---\n");
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                // no log for that node
            }
        }
        return sb.toString();
    }

}
