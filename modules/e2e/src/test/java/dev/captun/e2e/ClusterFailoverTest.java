package dev.captun.e2e;

import static dev.captun.e2e.ClusterScript.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.e2e.ClusterScript.Node;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Script level: {@code bin/captun-cluster 3} starts three real node JVMs on free ports; SDK tunnels
 * (gateway list of all nodes, three of them held by node 0) carry steady traffic sent to the
 * surviving nodes; node 0 — the seed and oldest node, so it also hosts both shard coordinators: the
 * worst case — is killed with SIGKILL. Every tunnel must serve again through the surviving nodes
 * within {@link #BOUND}; the measured recovery time of each tunnel is printed.
 */
@Timeout(300)
class ClusterFailoverTest {
    /**
     * Issue 13's target is 10 s (measured and printed by this test: ~7-10 s here). A test asserts a
     * generous bound instead, so a starved CI box cannot turn a timing figure into a red build.
     */
    private static final Duration BOUND = Duration.ofSeconds(20);
    /**
     * The bound assumes the failure detector flags the dead node within this (heartbeats every 1 s,
     * 2 s acceptable pause). On a starved box heartbeats arrive late and detection comes later; that
     * delay shifts the whole recovery chain, so it is added to the bound (and reported).
     */
    private static final Duration NOMINAL_DETECTION = Duration.ofSeconds(4);
    /** How long the test watches for recovery at all. */
    private static final Duration WATCH = Duration.ofSeconds(60);
    private static final Duration STABLE = Duration.ofSeconds(3);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** Outcomes of one tunnel's steady traffic (times in System.nanoTime). */
    static final class Stats {
        private long failures;
        private long lastFailureEnd;
        private long firstSuccessAfterFailureEnd;
        private long lastSuccessEnd;
        private boolean lastOk = true;
        private String lastError;
        private final List<long[]> done = new ArrayList<>(); // {begin, end, ok}

        synchronized void record(long begin, long end, String error) {
            done.add(new long[] {begin, end, error == null ? 1 : 0});
            lastOk = error == null;
            if (error != null) {
                failures++;
                lastFailureEnd = end;
                firstSuccessAfterFailureEnd = 0;
                lastError = error;
            } else {
                lastSuccessEnd = end;
                if (firstSuccessAfterFailureEnd == 0) {
                    firstSuccessAfterFailureEnd = end;
                }
            }
        }

        synchronized long failures() {
            return failures;
        }

        synchronized String lastError() {
            return lastError;
        }

        synchronized boolean lastOk() {
            return lastOk;
        }

        /** How long this tunnel has been answering without a failure (0 if its last request failed). */
        synchronized long stableSince(long kill, long now) {
            if (!lastOk) {
                return 0;
            }
            // Only requests that began after the kill count: one stuck since before it (a body cut off
            // mid-stream, which ends only when the dead node is removed) must not look like "no failures".
            long firstSuccessBegunAfterKill = done.stream().filter(d -> d[0] >= kill && d[2] == 1)
                    .mapToLong(d -> d[1]).min().orElse(0);
            if (firstSuccessBegunAfterKill == 0) {
                return 0;
            }
            return now - Math.max(firstSuccessBegunAfterKill, failures == 0 ? kill : firstSuccessAfterFailureEnd);
        }

        /** -1 if not recovered; 0 if it never failed; else kill → first success after the last failure. */
        synchronized long recoveredAfterMs(long kill) {
            if (failures == 0) {
                return 0;
            }
            return lastOk ? (firstSuccessAfterFailureEnd - kill) / 1_000_000 : -1;
        }

        synchronized long requestsAfter(long kill) {
            return done.stream().filter(d -> d[1] >= kill).count();
        }

        synchronized long slowestSuccessAfterMs(long kill) {
            return done.stream().filter(d -> d[1] >= kill && d[2] == 1).mapToLong(d -> (d[1] - d[0]) / 1_000_000).max().orElse(0);
        }
    }

    @Test
    void everyTunnelServesAgainAfterANodeIsKilled() throws Exception {
        Path root = repoRoot();
        Path script = root.resolve("bin/captun-cluster");
        Path dir = Files.createTempDirectory("captun-cluster-test");
        int[] bases = freeBases();
        Map<String, String> env = Map.of(
                "CAPTUN_CLUSTER_DIR", dir.toString(),
                "CAPTUN_CLUSTER_BASE_PORT", String.valueOf(bases[0]),
                "CAPTUN_CLUSTER_BASE_REMOTE_PORT", String.valueOf(bases[1]),
                "CAPTUN_CLUSTER_BASE_MANAGEMENT_PORT", String.valueOf(bases[2]),
                "CAPTUN_CLUSTER_READY_TIMEOUT", "150",
                "CAPTUN_CLUSTER_STOP_TIMEOUT", "20",
                "CAPTUN_POLICY", "trusted",
                "CAPTUN_TOKEN", "",
                "CAPTUN_SEED_NODES", "");
        List<CaptunTunnel> tunnels = new ArrayList<>();
        List<Thread> senders = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            long t0 = System.nanoTime();
            int rc = run(env, dir.resolve("start.out"), Duration.ofSeconds(200), "bash", script.toString(), "3");
            String startOut = Files.readString(dir.resolve("start.out"));
            assertEquals(0, rc, "bin/captun-cluster 3 failed:\n" + startOut + logs(dir));
            System.out.printf("ClusterFailoverTest: bin/captun-cluster 3 ready in %d ms%n", ms(t0));
            List<Node> nodes = readNodes(dir);
            assertEquals(3, nodes.size());
            Node victim = nodes.get(0);
            List<Node> survivors = nodes.subList(1, 3);

            // Six tunnels; each lists all nodes, starting with its home node (0, 0, 0, 1, 1, 2).
            int[] homes = {0, 0, 0, 1, 1, 2};
            for (int i = 0; i < homes.length; i++) {
                String name = "fo" + i;
                List<String> list = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    list.add(nodes.get((homes[i] + k) % 3).url());
                }
                tunnels.add(CaptunTunnel.builder().gateway(String.join(",", list)).name(name)
                        .handler(req -> TunnelResponse.text(200, "ok " + name)).connect()); // SDK default backoff
            }
            // Steady state: every tunnel answers through every surviving node.
            for (CaptunTunnel t : tunnels) {
                for (Node n : survivors) {
                    HttpResponse<String> r = PublicClient.get(n.url() + "/" + t.name() + "/warm");
                    assertEquals(200, r.statusCode(), t.name() + " via node " + n.index() + ": " + r.body());
                    assertEquals("ok " + t.name(), r.body());
                }
            }

            // Steady traffic: one sender per tunnel, every 100 ms, alternating between the survivors.
            List<Stats> stats = new ArrayList<>();
            for (int i = 0; i < tunnels.size(); i++) {
                String name = tunnels.get(i).name();
                Stats st = new Stats();
                stats.add(st);
                Thread s = new Thread(() -> {
                    int k = 0;
                    while (!stop.get()) {
                        Node via = survivors.get(k++ % survivors.size());
                        long begin = System.nanoTime();
                        String err = null;
                        try {
                            HttpResponse<String> r = PublicClient.HTTP.send(
                                    PublicClient.request(via.url() + "/" + name + "/tick").timeout(REQUEST_TIMEOUT).GET().build(),
                                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                            if (r.statusCode() != 200 || !r.body().equals("ok " + name)) {
                                err = r.statusCode() + " " + r.body().trim();
                            }
                        } catch (IOException e) {
                            err = e.getClass().getSimpleName() + ": " + e.getMessage();
                        } catch (InterruptedException e) {
                            return;
                        }
                        st.record(begin, System.nanoTime(), err == null ? null : err + " (via node " + via.index() + ")");
                        try {
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "traffic-" + name);
                s.setDaemon(true);
                senders.add(s);
                s.start();
            }
            Thread.sleep(1500);
            for (int i = 0; i < tunnels.size(); i++) {
                assertEquals(0, stats.get(i).failures(), "failures before the kill on " + tunnels.get(i).name() + ": " + stats.get(i).lastError());
            }

            // SIGKILL node 0, then watch the cluster from node 1 and the traffic until every tunnel is stable.
            long kill = System.nanoTime();
            assertEquals(0, run(Map.of(), dir.resolve("kill.out"), Duration.ofSeconds(10), "kill", "-9", String.valueOf(victim.pid())));
            long unreachableAt = 0;
            long removedAt = 0;
            long deadline = kill + WATCH.toNanos() + STABLE.toNanos();
            while (System.nanoTime() < deadline) {
                String members = body("http://127.0.0.1:" + survivors.get(0).mgmt() + "/cluster/members");
                boolean victimListed = members.contains(":" + victim.remote() + "\"");
                if (unreachableAt == 0 && members.matches("(?s).*\"unreachable\":\\[\\{.*")) {
                    unreachableAt = System.nanoTime();
                }
                if (removedAt == 0 && !members.isEmpty() && !victimListed) {
                    removedAt = System.nanoTime();
                }
                long now = System.nanoTime();
                if (removedAt != 0 && stats.stream().allMatch(st -> st.stableSince(kill, now) >= STABLE.toNanos())) {
                    break;
                }
                Thread.sleep(250);
            }
            stop.set(true);
            for (Thread s : senders) {
                s.join(REQUEST_TIMEOUT.toMillis() + 5000);
            }

            // Report: a tunnel has recovered when a request succeeded after its last failed one and the
            // last request of all succeeded; the time is from the kill to that first success's completion.
            long lateDetection = unreachableAt == 0 ? 0 : Math.max(0, (unreachableAt - kill) / 1_000_000 - NOMINAL_DETECTION.toMillis());
            long boundMs = BOUND.toMillis() + lateDetection;
            StringBuilder report = new StringBuilder(String.format(
                    "ClusterFailoverTest: SIGKILL node 0 (pid %d); node 1 saw it unreachable after %s, removed after %s%n",
                    victim.pid(), secs(unreachableAt, kill), secs(removedAt, kill)));
            long worst = 0;
            List<String> late = new ArrayList<>();
            for (int i = 0; i < tunnels.size(); i++) {
                CaptunTunnel t = tunnels.get(i);
                Stats st = stats.get(i);
                long recoveredMs = st.recoveredAfterMs(kill);
                boolean ok = st.lastOk() && recoveredMs >= 0 && recoveredMs <= boundMs;
                worst = Math.max(worst, Math.max(recoveredMs, 0));
                report.append(String.format("  tunnel %s (client on node %d, now via %s): %s; %d failed of %d requests after the kill, slowest success %d ms%s%n",
                        t.name(), homes[i], t.url(),
                        st.failures() == 0 ? "never failed" : recoveredMs >= 0 ? "serving again " + recoveredMs + " ms after the kill" : "NOT serving again",
                        st.failures(), st.requestsAfter(kill), st.slowestSuccessAfterMs(kill),
                        st.failures() == 0 ? "" : "; last error: " + st.lastError()));
                if (!ok) {
                    late.add(t.name());
                }
            }
            report.append(String.format("  worst recovery: %d ms (bound %d ms: %d s%s)%n", worst, boundMs, BOUND.toSeconds(),
                    lateDetection == 0 ? "" : " + " + lateDetection + " ms of late failure detection on a starved box"));
            System.out.print(report);
            assertTrue(removedAt != 0, "node 0 was never removed from the cluster\n" + report + logs(dir));
            assertTrue(late.isEmpty(), "tunnels not serving again within " + boundMs + " ms: " + late + "\n" + report + logs(dir));
            for (int i = 0; i < homes.length; i++) {
                if (homes[i] == 0) {
                    assertFalse(tunnels.get(i).url().contains(":" + victim.http() + "/"), "client reconnected to a survivor");
                }
            }
        } finally {
            stop.set(true);
            tunnels.forEach(CaptunTunnel::close);
            int rc = run(env, dir.resolve("stop.out"), Duration.ofSeconds(90), "bash", script.toString(), "stop");
            System.out.println("ClusterFailoverTest: bin/captun-cluster stop (exit " + rc + "):\n"
                    + Files.readString(dir.resolve("stop.out")).trim());
        }
    }

    // ---- helpers ----

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }

    private static String secs(long at, long since) {
        return at == 0 ? "never" : String.format("%.1f s", (at - since) / 1e9);
    }
}
