package dev.captun.bench;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.client.TunnelWebSocket;
import dev.captun.protocol.Protocol;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The attacks of issue 14, run against a node while {@code bench/run --paths attacks} measures
 * another tunnel beside them (docs/BENCHMARKS.md, "Under attack"). Each attack comes from its own
 * loopback source addresses (127.0.0.2 and up), so the per-IP defences see it as a client other
 * than the load generator on 127.0.0.1.
 *
 * <ul>
 *   <li>{@code headers}: keep-alive GETs to tunnel {@code --name}, each with 9 × 8,000-byte headers
 *       (~72 KB, more than one tunnel frame), as fast as the answers come on {@code --conns}
 *       connections.</li>
 *   <li>{@code ws-flood}: this process holds tunnel {@code --name} with the SDK and answers every
 *       public WebSocket by pushing 16 MiB binary messages without pause; {@code --conns} public
 *       sockets open the upgrade and then never read (4 KiB receive buffers). Sockets the gateway
 *       closes are replaced every second, so the pressure stays.</li>
 *   <li>{@code probes}: diagnostic connect probes ({@code x-captun-connect-diagnostic: 1}) for random
 *       free names, as fast as answered, on {@code --conns} connections, moving to the next source
 *       address every 100 probes.</li>
 *   <li>{@code loris}: {@code --conns} connections that each send a request head one byte every
 *       {@code --interval} seconds; any connection the gateway answers or closes is opened again at
 *       the next round.</li>
 * </ul>
 *
 * Usage: {@code Attack --kind K --port P [--name N] [--conns C] [--sources 127.0.0.2[-127.0.0.9]]
 * [--seconds S] [--interval I] [--rate R]} ({@code --rate}: requests per second over all connections
 * for {@code headers} and {@code probes}; unset, as fast as the answers come). Prints {@code ENGAGED <what>} once at full strength, a progress
 * line to stderr every 5 s, and at the end (after {@code --seconds}, default 3600, or on SIGTERM)
 * {@code ATTACK kind=<k> key=value ...}: the counts of every answer the attack got.
 */
public final class Attack {
    private static final int MESSAGE = 16 * 1024 * 1024;

    private final String kind;
    private final int port;
    private final String name;
    private final int conns;
    private final List<String> sources;
    private final long deadline;
    private final int interval;
    private final double rate; // requests per second over all connections (headers, probes); 0 = as fast as answered
    private final java.util.concurrent.atomic.AtomicLong nextSlot = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final AtomicBoolean reported = new AtomicBoolean();

    private Attack(String kind, int port, String name, int conns, List<String> sources, int seconds, int interval, double rate) {
        this.rate = rate;
        this.kind = kind;
        this.port = port;
        this.name = name;
        this.conns = conns;
        this.sources = sources;
        this.deadline = System.nanoTime() + seconds * 1_000_000_000L;
        this.interval = interval;
    }

    public static void main(String[] args) throws Exception {
        String kind = null;
        int port = 0;
        String name = "target";
        int conns = 0;
        String sources = "127.0.0.2";
        int seconds = 3600;
        int interval = 5;
        double rate = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kind" -> kind = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--name" -> name = args[++i];
                case "--conns" -> conns = Integer.parseInt(args[++i]);
                case "--sources" -> sources = args[++i];
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--interval" -> interval = Integer.parseInt(args[++i]);
                case "--rate" -> rate = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (kind == null || port == 0) {
            throw new IllegalArgumentException("--kind and --port are required");
        }
        if (conns == 0) {
            conns = switch (kind) {
                case "loris" -> 1100;
                case "ws-flood" -> 60;
                default -> 8;
            };
        }
        Attack a = new Attack(kind, port, name, conns, sourceRange(sources), seconds, interval, rate);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            a.stop.set(true);
            a.report();
        }));
        a.run();
        a.report();
        System.exit(0);
    }

    /** {@code 127.0.0.2} or {@code 127.0.0.2-127.0.0.9} (the last byte ranges). */
    static List<String> sourceRange(String spec) {
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return List.of(spec);
        }
        String from = spec.substring(0, dash);
        String to = spec.substring(dash + 1);
        String prefix = from.substring(0, from.lastIndexOf('.') + 1);
        int a = Integer.parseInt(from.substring(from.lastIndexOf('.') + 1));
        int b = Integer.parseInt(to.substring(to.lastIndexOf('.') + 1));
        List<String> out = new ArrayList<>();
        for (int i = a; i <= b; i++) {
            out.add(prefix + i);
        }
        return out;
    }

    private void count(String key) {
        counts.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    private void add(String key, long n) {
        counts.computeIfAbsent(key, k -> new LongAdder()).add(n);
    }

    private boolean running() {
        return !stop.get() && System.nanoTime() < deadline;
    }

    private String summary() {
        StringBuilder sb = new StringBuilder("kind=" + kind);
        new TreeMap<>(counts).forEach((k, v) -> sb.append(' ').append(k).append('=').append(v.sum()));
        if (openNow >= 0) {
            sb.append(" open_now=").append(openNow);
        }
        return sb.toString();
    }

    private void report() {
        if (reported.compareAndSet(false, true)) {
            System.out.println("ATTACK " + summary());
            System.out.flush();
        }
    }

    private void engaged(String what) {
        System.out.println("ENGAGED " + what);
        System.out.flush();
    }

    private void run() throws Exception {
        Thread progress = new Thread(() -> {
            while (running()) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                System.err.println("[attack] " + summary());
            }
        });
        progress.setDaemon(true);
        progress.start();
        switch (kind) {
            case "headers" -> workers(this::headers);
            case "probes" -> workers(this::probes);
            case "loris" -> loris();
            case "ws-flood" -> wsFlood();
            default -> throw new IllegalArgumentException("unknown --kind " + kind);
        }
        progress.interrupt();
    }

    private interface Worker {
        void run(int index) throws Exception;
    }

    /** {@code conns} threads, each one connection at a time; ENGAGED once every thread has had an answer. */
    private void workers(Worker w) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            int index = i;
            Thread t = new Thread(() -> {
                while (running()) {
                    try {
                        w.run(index);
                    } catch (IOException e) {
                        count("io_error");
                    } catch (Exception e) {
                        count("error_" + e.getClass().getSimpleName());
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    private final AtomicInteger firstAnswers = new AtomicInteger();

    private void answered(int status) {
        count("status_" + status);
        if (firstAnswers.incrementAndGet() == conns) {
            engaged(kind + " on " + conns + " connections from " + sources.size() + " source address(es)");
        }
    }

    /** Waits for this request's slot when a --rate is set (slots are shared by every connection). */
    private void pace() throws InterruptedException {
        if (rate <= 0) {
            return;
        }
        long step = (long) (1e9 / rate);
        long slot = nextSlot.getAndAdd(step);
        long now = System.nanoTime();
        if (slot < now - 1_000_000_000L) { // fell behind by over a second: do not burst to catch up
            nextSlot.set(now + step);
            return;
        }
        long wait = slot - now;
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }

    private Socket open(String source) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(source, 0));
        s.setSoTimeout(30_000);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setTcpNoDelay(true);
        count("connections");
        return s;
    }

    // ------------------------------------------------------------------ headers
    private static final byte[] BIG_HEADERS;

    static {
        StringBuilder sb = new StringBuilder();
        String value = "a".repeat(8000);
        for (int i = 0; i < 9; i++) {
            sb.append("X-Big-").append(i).append(": ").append(value).append("\r\n");
        }
        BIG_HEADERS = sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private void headers(int index) throws IOException, InterruptedException {
        try (Socket s = open(sources.get(index % sources.size()))) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            while (running()) {
                ByteArrayOutputStream req = new ByteArrayOutputStream(80_000);
                req.writeBytes(("GET /" + name + "/hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n").getBytes(StandardCharsets.US_ASCII));
                req.writeBytes(BIG_HEADERS);
                req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
                pace();
                out.write(req.toByteArray());
                out.flush();
                if (!readReply(in)) {
                    return;
                }
            }
        }
    }

    /** Reads one HTTP reply (status, headers, a Content-Length body); false when the connection closes after it. */
    private boolean readReply(InputStream in) throws IOException {
        String status = line(in);
        if (status == null) {
            count("closed_by_gateway");
            return false;
        }
        long length = 0;
        boolean close = false;
        String h;
        while ((h = line(in)) != null && !h.isEmpty()) {
            String l = h.toLowerCase(Locale.ROOT);
            if (l.startsWith("content-length:")) {
                length = Long.parseLong(l.substring(15).trim());
            } else if (l.startsWith("connection:") && l.contains("close")) {
                close = true;
            }
        }
        in.skipNBytes(length);
        answered(Integer.parseInt(status.split(" ")[1]));
        return !close;
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    // ------------------------------------------------------------------ probes
    private final AtomicInteger sourceCursor = new AtomicInteger();

    private void probes(int index) throws IOException, InterruptedException {
        String source = sources.get(Math.floorMod(sourceCursor.getAndIncrement(), sources.size()));
        try (Socket s = open(source)) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int i = 0; i < 100 && running(); i++) {
                pace();
                String free = "probe-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
                out.write(("GET /?captun-connect=1&captun-name=" + free + "&" + Protocol.VERSION_PARAM + "=" + Protocol.VERSION + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "x-captun-connect-diagnostic: 1\r\nx-captun-connect-token: attack-" + index + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                if (!readReply(in)) {
                    return;
                }
            }
        }
    }

    // ------------------------------------------------------------------ slow-loris
    private static final byte[] LORIS_HEAD = "GET /bench/hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);

    private volatile int openNow = -1; // slow-loris connections open after the last round

    private void loris() throws InterruptedException {
        Socket[] socks = new Socket[conns];
        int[] sent = new int[conns];
        boolean first = true;
        while (running()) {
            long round = System.nanoTime();
            int open = 0;
            for (int i = 0; i < conns && running(); i++) {
                try {
                    if (socks[i] == null) {
                        socks[i] = open(sources.get(i % sources.size()));
                        sent[i] = 0;
                    }
                    Socket s = socks[i];
                    InputStream in = s.getInputStream();
                    if (in.available() > 0) { // the gateway answered (a 429 for a connection past the cap): it is closing
                        String status = line(in);
                        count(status != null && status.startsWith("HTTP/1.1 ") ? "status_" + status.substring(9, 12) : "answered_other");
                        close(s);
                        socks[i] = null;
                        continue;
                    }
                    OutputStream out = s.getOutputStream();
                    out.write(sent[i] < LORIS_HEAD.length ? LORIS_HEAD[sent[i]] : 'x');
                    out.flush();
                    sent[i]++;
                    count("bytes_trickled");
                    open++;
                } catch (IOException e) {
                    count("closed_by_gateway");
                    close(socks[i]);
                    socks[i] = null;
                }
            }
            if (first) {
                first = false;
                engaged("slow-loris, " + conns + " connections tried, " + open + " open, from " + sources.size() + " source address(es)");
            }
            openNow = open;
            long left = interval * 1_000_000_000L - (System.nanoTime() - round);
            if (left > 0) {
                Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
            }
        }
        for (Socket s : socks) {
            close(s);
        }
    }

    private static void close(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing an attack socket: nothing to do
            }
        }
    }

    // ------------------------------------------------------------------ WebSocket flood
    private void wsFlood() throws Exception {
        byte[] message = new byte[MESSAGE];
        ThreadLocalRandom.current().nextBytes(message);
        AtomicInteger tunnelSide = new AtomicInteger();
        TunnelWebSocket.Listener pusher = new TunnelWebSocket.Listener() {
            @Override
            public void onOpen(TunnelWebSocket ws) {
                tunnelSide.incrementAndGet();
                count("sockets_accepted");
                push(ws);
            }

            private void push(TunnelWebSocket ws) {
                if (!running() || !ws.isOpen()) {
                    return;
                }
                ws.sendBinary(message).whenComplete((v, e) -> {
                    if (e == null) {
                        count("messages_16MiB_handed_to_tunnel");
                        push(ws);
                    }
                });
            }

            @Override
            public void onClose(TunnelWebSocket ws, int code, String reason) {
                tunnelSide.decrementAndGet();
                count("socket_closed_" + code);
            }
        };
        CaptunTunnel tunnel = CaptunTunnel.builder()
                .gateway("http://127.0.0.1:" + port)
                .name(name)
                .handler(req -> req.isWebSocket() ? TunnelResponse.webSocket(null, pusher) : TunnelResponse.text(200, "flood\n"))
                .connect();
        List<Socket> publicSockets = new ArrayList<>();
        boolean engagedYet = false;
        long engageAt = 0;
        try {
            while (running()) {
                // keep `conns` public sockets attached: replace the ones the gateway closed
                for (int i = tunnelSide.get(); i < conns && running(); i++) {
                    try {
                        publicSockets.add(openNeverReading(sources.get(publicSockets.size() % sources.size())));
                    } catch (IOException e) {
                        count("upgrade_io_error");
                    }
                }
                if (!engagedYet) {
                    if (engageAt == 0 && tunnelSide.get() >= conns) {
                        engageAt = System.nanoTime() + 5_000_000_000L; // let the pushes pile up first
                    }
                    if (engageAt != 0 && System.nanoTime() > engageAt) {
                        engagedYet = true;
                        engaged("ws-flood, " + tunnelSide.get() + " public sockets that never read, 16 MiB messages pushed to each");
                    }
                }
                Thread.sleep(1000);
            }
        } finally {
            for (Socket s : publicSockets) {
                close(s);
            }
            tunnel.close();
        }
    }

    private Socket openNeverReading(String source) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.bind(new InetSocketAddress(source, 0));
        s.setSoTimeout(30_000);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        count("connections");
        OutputStream out = s.getOutputStream();
        out.write(("GET /" + name + "/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        // read the response head byte by byte, so nothing of the socket's messages is read
        String status = line(in);
        String h;
        while ((h = line(in)) != null && !h.isEmpty()) {
            // skip headers
        }
        count(status == null ? "upgrade_closed" : "upgrade_status_" + status.split(" ")[1]);
        return s;
    }
}
