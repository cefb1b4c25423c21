package dev.captun.bench;

import com.typesafe.config.ConfigFactory;
import dev.captun.edge.node.GatewayNode;
import dev.captun.ratelimit.RateLimiter;
import dev.captun.ratelimit.RateLimiterSharding;
import dev.captun.tunnel.TunnelSharding;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * Rate-limit decisions per second through the public edge of one in-process gateway node, and the
 * heap held per idle limiter key (docs/BENCHMARKS.md, "Rate limiting"). A benchmark, not a test:
 * run it with {@code bench/rate-limit}, never during the build.
 *
 * <p>The node runs in public policy with limits that never reject, trusts {@code 127.0.0.1/32} as a
 * proxy so the load generator can present many client IPs through {@code x-forwarded-for}, and has
 * no tunnel client connected: every request that passes the limiter check (charged to
 * {@code request:ip:<ip>} and {@code request:tunnel:<name>}) is answered {@code 503 No tunnel client
 * connected}. Any other answer is counted as an error.
 *
 * <p>Options ({@code --name=value}, or environment {@code BENCH_NAME} with dashes as underscores):
 * duration (s per timed run, 10), warmup (s, 3), connections (16), keys (distinct keys of the
 * many-keys phases, 10000), heap-keys (fresh IP keys for the heap phase, 20000), window (limiter
 * window s, 60), phases (comma list of 1key, ips, pairs, heap; default all), passivation (true:
 * after the heap phase wait for the window to pass and re-measure; use a short window).
 */
public final class RateLimitBench {
    private static final int NEVER_REJECT = 1_000_000_000;
    private static final byte[] NO_CLIENT = "No tunnel client connected".getBytes(StandardCharsets.US_ASCII);

    private final Options opt;
    private final GatewayNode node;
    private final List<String> summary = new ArrayList<>();

    private RateLimitBench(Options opt, GatewayNode node) {
        this.opt = opt;
        this.node = node;
    }

    public static void main(String[] args) throws Exception {
        Options opt = Options.parse(args);
        String conf = String.join("\n",
                "captun.port = 0",
                "captun.host = \"127.0.0.1\"",
                "captun.management.port = 0",
                "captun.policy = public",
                "captun.trusted-proxies = \"127.0.0.1/32\"",
                "captun.seed-nodes = \"\"",
                "captun.rate-limit.window-seconds = " + opt.windowSeconds,
                "captun.rate-limit.requests-per-ip = " + NEVER_REJECT,
                "captun.rate-limit.requests-per-tunnel = " + NEVER_REJECT,
                "captun.rate-limit.connects-per-ip = " + NEVER_REJECT,
                "captun.rate-limit.disabled = \"\"",
                "pekko.remote.artery.canonical.port = 0",
                "pekko.coordinated-shutdown.phases.cluster-exiting.timeout = 2s",
                "pekko.coordinated-shutdown.exit-jvm = off");
        ConfigFactory.invalidateCaches();
        GatewayNode node = GatewayNode.start(ConfigFactory.parseString(conf).withFallback(ConfigFactory.load()).resolve());
        int exit = 0;
        try {
            awaitShardingReady(node);
            RateLimitBench bench = new RateLimitBench(opt, node);
            exit = bench.run();
        } finally {
            node.close();
        }
        System.exit(exit);
    }

    private int run() throws Exception {
        Runtime rt = Runtime.getRuntime();
        System.out.printf(Locale.ROOT, "%n== captun rate-limit bench: JDK %s, %d cores, max heap %d MiB, node on 127.0.0.1:%d ==%n",
                System.getProperty("java.version"), rt.availableProcessors(), rt.maxMemory() >> 20, node.port());
        System.out.printf(Locale.ROOT, "policy public, limits %d per %d s window (never reject), dispatcher parallelism-max %d, "
                        + "%d connections (one thread each, keep-alive, same JVM), warm-up %d s + timed %d s per phase%n",
                NEVER_REJECT, opt.windowSeconds,
                node.system().settings().config().getInt("pekko.actor.default-dispatcher.fork-join-executor.parallelism-max"),
                opt.connections, opt.warmupSeconds, opt.durationSeconds);
        long totalErrors = 0;
        List<String[]> rows = new ArrayList<>();
        if (opt.phases.contains("1key")) {
            Result r = throughput("1 key", 1, i -> ip(0, 0), i -> "bench");
            rows.add(r.row("1 IP + 1 tunnel = 2"));
            totalErrors += r.errors;
        }
        if (opt.phases.contains("ips")) {
            Result r = throughput(String.format(Locale.ROOT, "%,d IPs", opt.keys), opt.keys, i -> ip(1, i), i -> "bench-ips");
            long live = countLimiterKeys(k -> k.startsWith("request:ip:" + (10 + 1) + "."));
            rows.add(r.row(String.format(Locale.ROOT, "%,d IP + 1 tunnel = %,d", opt.keys, opt.keys + 1)));
            System.out.printf(Locale.ROOT, "   live limiter entities for this phase's IPs: %,d (expected %,d)%n", live, opt.keys);
            totalErrors += r.errors + (live < opt.keys ? 1 : 0);
        }
        if (opt.phases.contains("pairs")) {
            Result r = throughput(String.format(Locale.ROOT, "%,d IP+tunnel pairs", opt.keys), opt.keys, i -> ip(2, i), i -> "p" + i);
            long live = countLimiterKeys(k -> k.startsWith("request:ip:" + (10 + 2) + ".")
                    || (k.startsWith("request:tunnel:p") && k.substring(16).chars().allMatch(Character::isDigit)));
            rows.add(r.row(String.format(Locale.ROOT, "%,d IP + %,d tunnel = %,d", opt.keys, opt.keys, 2L * opt.keys)));
            System.out.printf(Locale.ROOT, "   live limiter entities for this phase: %,d (expected %,d)%n", live, 2L * opt.keys);
            totalErrors += r.errors + (live < 2L * opt.keys ? 1 : 0);
        }
        if (!rows.isEmpty()) {
            System.out.printf(Locale.ROOT, "%n== Rate-limit decisions through the edge (each request = one decision over 2 buckets, answered 503) ==%n");
            String[] head = {"phase", "limiter keys", "conns", "decisions/s", "p50 ms", "p99 ms", "max ms", "requests", "errors"};
            printTable(head, rows);
        }
        if (opt.phases.contains("heap")) {
            totalErrors += heap();
        }
        for (String line : summary) {
            System.out.println(line);
        }
        System.out.printf(Locale.ROOT, "%nerrors (any answer other than 503 \"No tunnel client connected\", I/O failures, missing entities): %d%n", totalErrors);
        return totalErrors == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------ throughput

    interface KeyFn<T> {
        T of(int i);
    }

    record Result(String name, int connections, double perSecond, double p50Ms, double p99Ms, double maxMs, long requests, long errors) {
        String[] row(String keys) {
            return new String[] {name, keys, String.valueOf(connections), String.format(Locale.ROOT, "%,.0f", perSecond),
                    String.format(Locale.ROOT, "%.2f", p50Ms), String.format(Locale.ROOT, "%.2f", p99Ms),
                    String.format(Locale.ROOT, "%.1f", maxMs), String.format(Locale.ROOT, "%,d", requests), String.valueOf(errors)};
        }
    }

    private Result throughput(String name, int keys, KeyFn<String> ips, KeyFn<String> tunnels) throws Exception {
        byte[][] requests = new byte[keys][];
        for (int i = 0; i < keys; i++) {
            requests[i] = request(tunnels.of(i), ips.of(i));
        }
        System.out.printf(Locale.ROOT, "%n-- phase %s: %,d distinct request keys, warm-up %d s, timed %d s --%n",
                name, keys, opt.warmupSeconds, opt.durationSeconds);
        Load load = new Load(node.port(), opt.connections, requests);
        load.start();
        Thread.sleep(opt.warmupSeconds * 1000L);
        load.resetAndMeasure();
        long t0 = System.nanoTime();
        Thread.sleep(opt.durationSeconds * 1000L);
        long measured = load.stopMeasuring();
        double seconds = (System.nanoTime() - t0) / 1e9;
        load.stop();
        Latencies lat = load.latencies();
        Result r = new Result(name, opt.connections, measured / seconds, lat.percentileMs(0.50), lat.percentileMs(0.99),
                lat.maxMs(), measured, load.errors());
        System.out.printf(Locale.ROOT, "   %,.0f decisions/s, p50 %.2f ms, p99 %.2f ms, %,d requests, %d errors%n",
                r.perSecond, r.p50Ms, r.p99Ms, measured, r.errors);
        load.printErrors();
        return r;
    }

    /** N connections, each driven by its own thread, cycling over the given requests. */
    private static final class Load {
        private final int port;
        private final byte[][] requests;
        private final List<Thread> threads = new ArrayList<>();
        private final List<Latencies> latencies = new ArrayList<>();
        private final LongAdder measuredCount = new LongAdder();
        private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        private volatile boolean measuring;
        private volatile boolean running = true;
        private final int connections;

        Load(int port, int connections, byte[][] requests) {
            this.port = port;
            this.connections = connections;
            this.requests = requests;
        }

        void start() {
            for (int t = 0; t < connections; t++) {
                Latencies lat = new Latencies();
                latencies.add(lat);
                int first = t;
                Thread th = new Thread(() -> drive(first, lat), "bench-conn-" + t);
                th.setDaemon(true);
                threads.add(th);
                th.start();
            }
        }

        private void drive(int first, Latencies lat) {
            int n = requests.length;
            int i = first % n;
            KeepAliveConnection conn = null;
            while (running) {
                try {
                    if (conn == null) {
                        conn = new KeepAliveConnection(port);
                    }
                    long t0 = System.nanoTime();
                    int status = conn.exchange(requests[i]);
                    long dt = System.nanoTime() - t0;
                    boolean ok = status == 503 && conn.bodyStartsWith(NO_CLIENT);
                    if (measuring) {
                        measuredCount.increment();
                        lat.record(dt);
                        if (!ok) {
                            error(status + " " + conn.bodyText());
                        }
                    }
                    if (conn.serverCloses()) {
                        conn.close();
                        conn = null;
                    }
                } catch (IOException | RuntimeException e) {
                    if (running) {
                        error(e.getClass().getSimpleName() + ": " + e.getMessage());
                    }
                    if (conn != null) {
                        conn.close();
                        conn = null;
                    }
                    sleepQuietly(50);
                }
                i += connections;
                if (i >= n) {
                    i %= n;
                }
            }
            if (conn != null) {
                conn.close();
            }
        }

        private void error(String what) {
            errors.computeIfAbsent(what, k -> new LongAdder()).increment();
        }

        void resetAndMeasure() {
            errors.clear();
            measuredCount.reset();
            measuring = true;
        }

        long stopMeasuring() {
            measuring = false;
            return measuredCount.sum();
        }

        void stop() throws InterruptedException {
            running = false;
            for (Thread t : threads) {
                t.join(35_000);
            }
        }

        Latencies latencies() {
            Latencies all = new Latencies();
            latencies.forEach(all::add);
            return all;
        }

        long errors() {
            return errors.values().stream().mapToLong(LongAdder::sum).sum();
        }

        void printErrors() {
            errors.forEach((what, count) -> System.out.printf(Locale.ROOT, "   ERROR x%,d: %s%n", count.sum(), what));
        }
    }

    /** Latency histogram at 1 µs resolution up to 1 s (longer ones kept in the last bucket and in max). */
    private static final class Latencies {
        private static final int BUCKETS = 1_000_000;
        private final int[] counts = new int[BUCKETS];
        private long total;
        private long maxNanos;

        void record(long nanos) {
            int us = (int) Math.min(BUCKETS - 1, nanos / 1000);
            counts[us]++;
            total++;
            if (nanos > maxNanos) {
                maxNanos = nanos;
            }
        }

        void add(Latencies other) {
            for (int i = 0; i < BUCKETS; i++) {
                counts[i] += other.counts[i];
            }
            total += other.total;
            maxNanos = Math.max(maxNanos, other.maxNanos);
        }

        double percentileMs(double p) {
            if (total == 0) {
                return Double.NaN;
            }
            long rank = (long) Math.ceil(p * total);
            long seen = 0;
            for (int i = 0; i < BUCKETS; i++) {
                seen += counts[i];
                if (seen >= rank) {
                    return (i + 0.5) / 1000.0;
                }
            }
            return maxMs();
        }

        double maxMs() {
            return maxNanos / 1e6;
        }
    }

    // ------------------------------------------------------------------ heap per idle key

    private long heap() throws Exception {
        int k = opt.heapKeys;
        int kPairs = Math.max(1, k / 2);
        System.out.printf(Locale.ROOT, "%n-- phase heap: used heap (after System.gc() x5, MemoryMXBean) before and after %,d fresh keys --%n", k);
        long errors = 0;
        List<KeepAliveConnection> conns = new ArrayList<>();
        for (int c = 0; c < opt.connections; c++) {
            conns.add(new KeepAliveConnection(node.port()));
        }
        try {
            // Pre-warm: a different namespace, so code paths are compiled and (nearly) every shard of
            // both entity types already exists; the measured delta is then entities, not shards.
            int prewarm = Math.max(5_000, Math.min(k, 10_000));
            errors += oneEach(conns, prewarm, i -> ip(3, i), i -> "w" + i);
            errors += oneEach(conns, prewarm, i -> ip(3, i), i -> "w" + i); // second hit: entities exist
            List<String[]> rows = new ArrayList<>();

            // Variant 1: K fresh IP keys, one tunnel name (1 fresh tunnel key, 1 Tunnel entity).
            Snapshot before = snapshot();
            long[] v1 = variant(conns, k, i -> ip(4, i), i -> "heap-ip",
                    key -> key.startsWith("request:ip:14.") || key.equals("request:tunnel:heap-ip"), k + 1L,
                    String.format(Locale.ROOT, "%,d distinct IPs, 1 tunnel", k), before, rows);
            errors += v1[0];
            Snapshot after = lastSnapshot;

            // Variant 2: K/2 fresh IP+tunnel pairs (K limiter keys; each fresh name also creates a
            // Tunnel entity when the edge looks up the session, which lives captun.tunnel-idle-timeout).
            // Skipped with --passivation: a short window would passivate variant 1's keys meanwhile.
            Snapshot loaded = after;
            if (!opt.passivation) {
                long[] v2 = variant(conns, kPairs, i -> ip(5, i), i -> "h" + i,
                        key -> key.startsWith("request:ip:15.")
                                || (key.startsWith("request:tunnel:h") && key.substring(16).chars().allMatch(Character::isDigit)),
                        2L * kPairs, String.format(Locale.ROOT, "%,d IP+tunnel pairs", kPairs), after, rows);
                errors += v2[0];
                loaded = lastSnapshot;
            }

            System.out.printf(Locale.ROOT, "%n== Heap held by fresh keys, idle but inside their %d s window ==%n", opt.windowSeconds);
            printTable(new String[] {"keys created by", "new limiter entities", "new Tunnel entities", "heap before MiB",
                    "heap after MiB", "delta MiB", "bytes / new limiter key", "bytes / new entity (any type)", "first hits/s"}, rows);
            summary.add(String.format(Locale.ROOT, "%nheap per idle limiter key (IP keys only): ~%,d bytes",
                    v1[1] == 0 ? 0 : (after.usedBytes - before.usedBytes) / v1[1]));

            if (opt.passivation) {
                errors += passivation(before, loaded);
            }
        } finally {
            conns.forEach(KeepAliveConnection::close);
        }
        return errors;
    }

    private long passivation(Snapshot baseline, Snapshot loaded) throws Exception {
        long graceMs = RateLimiter.DEFAULT_IDLE_GRACE.toMillis();
        long deadline = System.currentTimeMillis() + opt.windowSeconds * 1000L + graceMs + 30_000;
        System.out.printf(Locale.ROOT, "%n-- passivation: waiting for windows (%d s) + idle grace (%d s) to pass (up to %d s) --%n",
                opt.windowSeconds, graceMs / 1000, (deadline - System.currentTimeMillis()) / 1000);
        long live = countLimiterKeys(key -> true);
        while (live > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(2_000);
            live = countLimiterKeys(key -> true);
            System.out.printf(Locale.ROOT, "   live limiter entities: %,d%n", live);
        }
        Snapshot after = snapshot();
        System.out.printf(Locale.ROOT, "%n== After passivation ==%n");
        printTable(new String[] {"when", "limiter entities", "Tunnel entities", "used heap MiB"}, List.of(
                new String[] {"before the heap phase's fresh keys", fmt(baseline.limiterEntities), fmt(baseline.tunnelEntities), mib(baseline.usedBytes)},
                new String[] {"after all fresh keys", fmt(loaded.limiterEntities), fmt(loaded.tunnelEntities), mib(loaded.usedBytes)},
                new String[] {"after window + grace", fmt(after.limiterEntities), fmt(after.tunnelEntities), mib(after.usedBytes)}));
        summary.add(String.format(Locale.ROOT, "passivation: limiter entities %,d -> %,d, heap released %.1f MiB",
                loaded.limiterEntities, after.limiterEntities, (loaded.usedBytes - after.usedBytes) / 1048576.0));
        if (after.limiterEntities != 0) {
            System.out.printf(Locale.ROOT, "   ERROR: %,d limiter entities still live after window + grace%n", after.limiterEntities);
            return 1;
        }
        return 0;
    }

    private Snapshot lastSnapshot;

    /**
     * Creates {@code count} fresh request keys (one request each) and adds a heap row. Returns
     * {errors, fresh limiter entities}; the snapshot after creation is left in {@link #lastSnapshot}.
     */
    private long[] variant(List<KeepAliveConnection> conns, int count, KeyFn<String> ips, KeyFn<String> tunnels,
                           Predicate<String> mine, long expected, String label, Snapshot before, List<String[]> rows) throws Exception {
        long errors = 0;
        long t0 = System.nanoTime();
        errors += oneEach(conns, count, ips, tunnels);
        double createSec = (System.nanoTime() - t0) / 1e9;
        Snapshot after = snapshot();
        lastSnapshot = after;
        long fresh = countLimiterKeys(mine);
        long newTunnel = after.tunnelEntities - before.tunnelEntities;
        long gone = before.limiterEntities - (after.limiterEntities - fresh);
        rows.add(heapRow(label, before, after, fresh, newTunnel, count / createSec));
        if (fresh < expected) {
            System.out.printf(Locale.ROOT, "   ERROR: only %,d limiter entities for %,d fresh keys (%s)%n", fresh, expected, label);
            errors++;
        }
        if (gone > 0) {
            System.out.printf(Locale.ROOT, "   WARNING (%s): %,d older limiter entities passivated during the measurement, "
                    + "so the heap delta is understated; use a longer --window%n", label, gone);
        }
        return new long[] {errors, fresh};
    }

    private String[] heapRow(String what, Snapshot before, Snapshot after, long newLimiter, long newTunnel, double perSecond) {
        long delta = after.usedBytes - before.usedBytes;
        return new String[] {what, fmt(newLimiter), fmt(newTunnel), mib(before.usedBytes), mib(after.usedBytes), mib(delta),
                newLimiter == 0 ? "-" : fmt(delta / newLimiter),
                newLimiter + newTunnel == 0 ? "-" : fmt(delta / (newLimiter + newTunnel)), String.format(Locale.ROOT, "%,.0f", perSecond)};
    }

    /** One request per key, spread over the connections; returns the number of bad answers. */
    private long oneEach(List<KeepAliveConnection> conns, int keys, KeyFn<String> ips, KeyFn<String> tunnels) throws Exception {
        LongAdder bad = new LongAdder();
        Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        List<Thread> threads = new ArrayList<>();
        int n = conns.size();
        for (int c = 0; c < n; c++) {
            KeepAliveConnection conn = conns.get(c);
            int first = c;
            Thread th = new Thread(() -> {
                for (int i = first; i < keys; i += n) {
                    try {
                        int status = conn.exchange(request(tunnels.of(i), ips.of(i)));
                        if (status != 503 || !conn.bodyStartsWith(NO_CLIENT)) {
                            bad.increment();
                            errors.computeIfAbsent(status + " " + conn.bodyText(), x -> new LongAdder()).increment();
                        }
                    } catch (IOException e) {
                        bad.increment();
                        errors.computeIfAbsent(e.toString(), x -> new LongAdder()).increment();
                        return; // this connection is gone; the entity counts will show the shortfall
                    }
                }
            }, "bench-heap-" + c);
            threads.add(th);
            th.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        errors.forEach((what, count) -> System.out.printf(Locale.ROOT, "   ERROR x%,d: %s%n", count.sum(), what));
        return bad.sum();
    }

    record Snapshot(long usedBytes, long limiterEntities, long tunnelEntities) {}

    private Snapshot snapshot() throws Exception {
        long used = usedHeapAfterGc();
        return new Snapshot(used, countLimiterKeys(k -> true), countEntities(TunnelSharding.TYPE_KEY, k -> true));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    private long countLimiterKeys(Predicate<String> filter) throws Exception {
        return countEntities(RateLimiterSharding.TYPE_KEY, filter);
    }

    private long countEntities(EntityTypeKey<?> type, Predicate<String> filter) throws Exception {
        ShardRegion.CurrentShardRegionState state = AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
                        ClusterSharding.get(node.system()).shardState(),
                        (ActorRef<ShardRegion.CurrentShardRegionState> replyTo) -> new GetShardRegionState(type, replyTo),
                        Duration.ofSeconds(10), node.system().scheduler())
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
        long n = 0;
        for (ShardRegion.ShardState shard : state.getShards()) {
            for (String id : shard.getEntityIds()) {
                if (filter.test(id)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static void awaitShardingReady(GatewayNode node) throws Exception {
        // The first request would otherwise wait for the coordinator; one probe through the edge settles it.
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            try (KeepAliveConnection c = new KeepAliveConnection(node.port())) {
                int status = c.exchange(request("bench-probe", "192.0.2.1"));
                if (status == 503 && c.bodyStartsWith(NO_CLIENT)) {
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("node not ready: " + status + " " + c.bodyText());
                }
            }
            Thread.sleep(200);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Distinct client IPs per namespace: 10+ns . i>>16 . i>>8 . i (up to 16M per namespace). */
    static String ip(int namespace, int i) {
        return (10 + namespace) + "." + ((i >>> 16) & 255) + "." + ((i >>> 8) & 255) + "." + (i & 255);
    }

    static byte[] request(String tunnel, String clientIp) {
        return ("GET /" + tunnel + "/ HTTP/1.1\r\nHost: 127.0.0.1\r\nx-forwarded-for: " + clientIp + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static String fmt(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void printTable(String[] head, List<String[]> rows) {
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendRow(sb, head, w);
        StringBuilder sep = new StringBuilder("|");
        for (int width : w) {
            sep.append('-').append("-".repeat(width)).append("-|");
        }
        sb.append(sep).append('\n');
        for (String[] r : rows) {
            appendRow(sb, r, w);
        }
        System.out.print(sb);
    }

    private static void appendRow(StringBuilder sb, String[] cells, int[] w) {
        sb.append('|');
        for (int i = 0; i < cells.length; i++) {
            sb.append(' ').append(cells[i]).append(" ".repeat(w[i] - cells[i].length())).append(" |");
        }
        sb.append('\n');
    }

    /** Command-line options, with BENCH_* environment variables as defaults. */
    static final class Options {
        int durationSeconds = 10;
        int warmupSeconds = 3;
        int connections = 16;
        int keys = 10_000;
        int heapKeys = 20_000;
        int windowSeconds = 60;
        List<String> phases = List.of("1key", "ips", "pairs", "heap");
        boolean passivation;

        static Options parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>();
            for (String name : List.of("duration", "warmup", "connections", "keys", "heap-keys", "window", "phases", "passivation")) {
                String env = System.getenv("BENCH_" + name.toUpperCase(Locale.ROOT).replace('-', '_'));
                if (env != null && !env.isBlank()) {
                    values.put(name, env.trim());
                }
            }
            for (String a : args) {
                if (a.equals("-h") || a.equals("--help")) {
                    System.out.println("""
                            usage: bench/rate-limit [--duration=S] [--warmup=S] [--connections=N] [--keys=N]
                                                    [--heap-keys=N] [--window=S] [--phases=1key,ips,pairs,heap] [--passivation]
                              duration     timed seconds per throughput phase (10)
                              warmup       warm-up seconds per throughput phase (3)
                              connections  keep-alive connections, one load thread each (16)
                              keys         distinct keys in the many-keys phases (10000)
                              heap-keys    fresh keys created in the heap phase (20000)
                              window       limiter window in seconds (60); use a short one with --passivation
                              phases       1key: one IP + one tunnel; ips: <keys> IPs + one tunnel;
                                           pairs: <keys> IP+tunnel pairs; heap: heap per idle key
                              passivation  after the heap phase, wait window + 10 s grace and re-measure
                            Environment: BENCH_DURATION, BENCH_WARMUP, ... (dashes as underscores).""");
                    System.exit(0);
                }
                if (!a.startsWith("--")) {
                    throw new IllegalArgumentException("unknown argument: " + a + " (try --help)");
                }
                int eq = a.indexOf('=');
                values.put(eq < 0 ? a.substring(2) : a.substring(2, eq), eq < 0 ? "true" : a.substring(eq + 1));
            }
            Options o = new Options();
            values.forEach((name, v) -> {
                switch (name) {
                    case "duration" -> o.durationSeconds = positive(name, v);
                    case "warmup" -> o.warmupSeconds = Integer.parseInt(v);
                    case "connections" -> o.connections = positive(name, v);
                    case "keys" -> o.keys = positive(name, v);
                    case "heap-keys" -> o.heapKeys = positive(name, v);
                    case "window" -> o.windowSeconds = positive(name, v);
                    case "phases" -> o.phases = List.of(v.split("\\s*,\\s*"));
                    case "passivation" -> o.passivation = v.equals("true") || v.equals("1");
                    default -> throw new IllegalArgumentException("unknown option --" + name + " (try --help)");
                }
            });
            if (o.durationSeconds > 600 || o.warmupSeconds > 600 || o.connections > 1024 || o.keys > 1_000_000 || o.heapKeys > 1_000_000) {
                throw new IllegalArgumentException("bounded: duration/warmup <= 600 s, connections <= 1024, keys <= 1,000,000");
            }
            return o;
        }

        private static int positive(String name, String v) {
            int n = Integer.parseInt(v);
            if (n < 1) {
                throw new IllegalArgumentException("--" + name + " must be >= 1");
            }
            return n;
        }
    }
}
