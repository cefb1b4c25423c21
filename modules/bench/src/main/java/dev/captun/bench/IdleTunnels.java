package dev.captun.bench;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Idle-tunnel phase of {@code bench/run}: heap per idle tunnel on a node, how many idle tunnels it
 * holds, and the node's CPU while they sit idle.
 *
 * <ol>
 *   <li>one warm tunnel, 50 requests through it (shard regions, route cache and code paths exist);</li>
 *   <li>node heap after GC: {@code jcmd <pid> GC.run} then {@code jcmd <pid> GC.heap_info}, the
 *       lowest "used" of three readings;</li>
 *   <li>opens N SDK tunnels in handler mode in this JVM ({@code --parallel} connects at a time;
 *       the SDK keeps no thread per idle tunnel: one shared HttpClient selector, one shared heartbeat
 *       scheduler, a worker pool per tunnel that holds no thread while idle);</li>
 *   <li>node heap after GC again; (after − before) / tunnels connected = heap per idle tunnel;</li>
 *   <li>one {@code GET /<name>/} to every tunnel through the node ({@code --parallel} in flight),
 *       counting {@code 200 "hello, world\n"} answers;</li>
 *   <li>node CPU (utime + stime from {@code /proc/<pid>/stat}) over {@code --idle-seconds} while the
 *       tunnels sit idle (heartbeats only), as % of one core; then how many tunnels are still
 *       connected.</li>
 * </ol>
 *
 * Prints one line {@code IDLE key=value …} (bench/run turns it into TSV rows) and progress on stderr.
 */
public final class IdleTunnels {
    private static final String HELLO = "hello, world\n";
    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    private IdleTunnels() {}

    public static void main(String[] args) throws Exception {
        String gateway = null;
        long nodePid = -1;
        int n = 2000;
        int parallel = 16;
        int idleSeconds = 30;
        int clkTck = 100;
        String prefix = "idle";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--gateway" -> gateway = args[++i];
                case "--node-pid" -> nodePid = Long.parseLong(args[++i]);
                case "--n" -> n = Integer.parseInt(args[++i]);
                case "--parallel" -> parallel = Integer.parseInt(args[++i]);
                case "--idle-seconds" -> idleSeconds = Integer.parseInt(args[++i]);
                case "--clk-tck" -> clkTck = Integer.parseInt(args[++i]);
                case "--prefix" -> prefix = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (gateway == null || nodePid <= 0) {
            throw new IllegalArgumentException("--gateway URL and --node-pid PID are required");
        }
        String gw = gateway.endsWith("/") ? gateway.substring(0, gateway.length() - 1) : gateway;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();

        // 1. warm-up tunnel
        CaptunTunnel warm = open(gw, prefix + "-warm");
        for (int i = 0; i < 50; i++) {
            get(http, gw + "/" + prefix + "-warm/");
        }

        // 2. baseline heap
        long before = heapUsedAfterGc(nodePid);
        progress("node heap after GC before: %.1f MiB", before / 1048576.0);

        // 3. open N tunnels
        List<CaptunTunnel> tunnels = new ArrayList<>(n);
        ConcurrentHashMap<Integer, CaptunTunnel> opened = new ConcurrentHashMap<>();
        AtomicInteger failed = new AtomicInteger();
        ConcurrentHashMap<String, Integer> errors = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        int total = n;
        long t0 = System.nanoTime();
        AtomicInteger done = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            int k = i;
            String name = prefix + "-" + k;
            pool.execute(() -> {
                try {
                    opened.put(k, open(gw, name));
                } catch (Exception e) {
                    failed.incrementAndGet();
                    errors.merge(String.valueOf(e.getMessage()), 1, Integer::sum);
                }
                int d = done.incrementAndGet();
                if (d % 1000 == 0) {
                    progress("%d of %d connects done (%d failed)", d, total, failed.get());
                }
            });
        }
        pool.shutdown();
        if (!pool.awaitTermination(Math.max(120, n / 10), TimeUnit.SECONDS)) {
            progress("connects still running after the time allowed; counting what is open");
            pool.shutdownNow();
        }
        double connectSeconds = (System.nanoTime() - t0) / 1e9;
        for (int i = 0; i < n; i++) {
            CaptunTunnel t = opened.get(i);
            if (t != null) {
                tunnels.add(t);
            }
        }
        int ok = tunnels.size();
        progress("%d of %d tunnels open in %.1f s (%d failed)%s", ok, n, connectSeconds, failed.get(),
                errors.isEmpty() ? "" : "; errors: " + errors);

        // 4. heap after
        Thread.sleep(3000);
        long after = heapUsedAfterGc(nodePid);
        double perTunnel = ok == 0 ? 0 : (after - before) / (double) ok;
        progress("node heap after GC with %d idle tunnels: %.1f MiB; %.1f KiB per tunnel", ok, after / 1048576.0,
                perTunnel / 1024);

        // 5. one request to every tunnel
        Semaphore inFlight = new Semaphore(parallel * 4);
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger wrong = new AtomicInteger();
        long r0 = System.nanoTime();
        for (CaptunTunnel t : tunnels) {
            inFlight.acquire();
            HttpRequest req = HttpRequest.newBuilder(URI.create(gw + "/" + t.name() + "/"))
                    .timeout(Duration.ofSeconds(30)).GET().build();
            http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((resp, err) -> {
                if (err == null && resp.statusCode() == 200 && HELLO.equals(resp.body())) {
                    answered.incrementAndGet();
                } else {
                    wrong.incrementAndGet();
                }
                inFlight.release();
            });
        }
        inFlight.acquire(parallel * 4);
        inFlight.release(parallel * 4);
        double requestSeconds = (System.nanoTime() - r0) / 1e9;
        progress("%d of %d tunnels answered their request in %.1f s", answered.get(), ok, requestSeconds);

        // 6. idle CPU
        Thread.sleep(2000);
        long c0 = cpuTicks(nodePid);
        long self0 = selfCpuNanos();
        long w0 = System.nanoTime();
        Thread.sleep(idleSeconds * 1000L);
        long c1 = cpuTicks(nodePid);
        long self1 = selfCpuNanos();
        double wall = (System.nanoTime() - w0) / 1e9;
        double nodePct = (c1 - c0) / (double) clkTck / wall * 100;
        double clientPct = (self1 - self0) / 1e9 / wall * 100;
        int connected = 0;
        for (CaptunTunnel t : tunnels) {
            if (t.state() == CaptunTunnel.State.CONNECTED) {
                connected++;
            }
        }
        progress("node CPU while idle: %.1f%% of one core over %.0f s; %d tunnels still connected", nodePct, wall, connected);

        System.out.printf(Locale.ROOT,
                "IDLE requested=%d opened=%d failed=%d connect_s=%.1f heap_before_kib=%d heap_after_kib=%d "
                        + "heap_per_tunnel_kib=%.1f answered=%d request_failures=%d request_s=%.1f idle_s=%.0f "
                        + "node_cpu_pct=%.1f client_cpu_pct=%.1f still_connected=%d errors=%s%n",
                n, ok, failed.get(), connectSeconds, before / 1024, after / 1024, perTunnel / 1024, answered.get(),
                wrong.get(), requestSeconds, wall, nodePct, clientPct, connected,
                errors.isEmpty() ? "-" : errors.toString().replaceAll("\\s+", "_"));
        System.out.flush();

        ExecutorService closer = Executors.newFixedThreadPool(parallel);
        for (CaptunTunnel t : tunnels) {
            closer.execute(t::close);
        }
        closer.execute(warm::close);
        closer.shutdown();
        closer.awaitTermination(60, TimeUnit.SECONDS);
        System.exit(0);
    }

    private static CaptunTunnel open(String gw, String name) throws Exception {
        return CaptunTunnel.builder().gateway(gw).name(name)
                .handler(req -> TunnelResponse.text(200, HELLO)).connect();
    }

    private static void get(HttpClient http, String url) throws IOException, InterruptedException {
        http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.discarding());
    }

    /** Lowest heap "used" of three {@code GC.run} + {@code GC.heap_info} readings, in bytes. */
    static long heapUsedAfterGc(long pid) throws IOException, InterruptedException {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            jcmd(pid, "GC.run");
            Thread.sleep(300);
            long used = parseHeapUsedKib(jcmd(pid, "GC.heap_info")) * 1024;
            min = Math.min(min, used);
        }
        return min;
    }

    /** The first {@code used NNNK} of {@code jcmd GC.heap_info} (the whole heap for G1, serial and parallel). */
    static long parseHeapUsedKib(String heapInfo) {
        Matcher m = USED.matcher(heapInfo);
        if (!m.find()) {
            throw new IllegalStateException("no 'used NK' in GC.heap_info output: " + heapInfo);
        }
        return Long.parseLong(m.group(1));
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("jcmd", Long.toString(pid), command).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("jcmd " + pid + " " + command + " failed: " + out);
        }
        return out;
    }

    /** utime + stime of {@code pid} in clock ticks, from {@code /proc/<pid>/stat}. */
    static long cpuTicks(long pid) throws IOException {
        return parseStatTicks(Files.readString(Path.of("/proc/" + pid + "/stat")));
    }

    /** Fields 14 and 15 (utime, stime) of a {@code /proc/<pid>/stat} line; the command may hold spaces. */
    static long parseStatTicks(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static long selfCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static void progress(String fmt, Object... args) {
        System.err.println("[idle] " + String.format(Locale.ROOT, fmt, args));
    }
}
