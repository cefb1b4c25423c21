package dev.captun.bench;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.TunnelResponse;
import dev.captun.client.TunnelWebSocket;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Soak (issue 12): one tunnel under mixed load for a fixed time: small GETs at 128 connections
 * (wrk), 1 GiB downloads and uploads one after another, and a few public WebSockets exchanging
 * messages. Passes only if the tunnel never dropped, no request failed, every transfer was
 * byte-exact and every WebSocket message came back. The node runs as its own process
 * (bin/captun-node); the tunnel is the SDK in handler mode in this JVM.
 *
 * <pre>bench/soak [--seconds=600] [--conns=128] [--sockets=4] [--transfer=1g]</pre>
 */
public final class SoakBench {
    private static final byte[] HELLO = "hello, world\n".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        int seconds = intArg(args, "seconds", 600);
        int conns = intArg(args, "conns", 128);
        int sockets = intArg(args, "sockets", 4);
        long transfer = StreamingBench.Options.parseSize(strArg(args, "transfer", "1g"));
        Path root = Path.of(System.getProperty("captun.root", "."));
        Path work = Files.createTempDirectory("captun-soak");
        int port = freePort();

        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/captun-node").toString());
        pb.environment().putAll(Map.of("CAPTUN_PORT", Integer.toString(port), "CAPTUN_REMOTE_PORT", Integer.toString(freePort()),
                "CAPTUN_MANAGEMENT_PORT", "0"));
        File nodeLog = work.resolve("node.log").toFile();
        Process node = pb.redirectErrorStream(true).redirectOutput(nodeLog).start();
        List<String> drops = new ArrayList<>();
        CaptunTunnel tunnel = null;
        boolean ok = false;
        try {
            waitForNode(port, node, nodeLog);
            String gateway = "http://127.0.0.1:" + port;
            tunnel = CaptunTunnel.builder().gateway(gateway).name("soak")
                    .listener(e -> {
                        if (e instanceof TunnelEvent.Disconnected || e instanceof TunnelEvent.Reconnecting
                                || e instanceof TunnelEvent.Replaced || e instanceof TunnelEvent.Failed) {
                            synchronized (drops) {
                                drops.add(Instant.now() + " " + e);
                            }
                        }
                    })
                    .handler(req -> {
                        String path = req.path();
                        if (req.isWebSocket()) {
                            return TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {
                                @Override
                                public void onText(TunnelWebSocket ws, String message) {
                                    ws.sendText(message);
                                }
                            });
                        }
                        if (path.startsWith("/soak/big") || path.startsWith("/big")) {
                            return TunnelResponse.streaming(200, out -> {
                                byte[] block = pattern(64 * 1024);
                                for (long sent = 0; sent < transfer; sent += block.length) {
                                    out.write(block, 0, (int) Math.min(block.length, transfer - sent));
                                }
                            }).header("content-length", Long.toString(transfer));
                        }
                        if (req.method().equals("POST")) {
                            long n = 0;
                            byte[] buf = new byte[64 * 1024];
                            InputStream in = req.body();
                            for (int r; (r = in.read(buf)) >= 0; ) {
                                n += r;
                            }
                            return TunnelResponse.text(200, Long.toString(n));
                        }
                        return TunnelResponse.bytes(200, HELLO);
                    })
                    .connect();
            String url = tunnel.url();
            System.out.printf("soak: %d s, wrk at %d connections, %s transfers both ways, %d public WebSockets, tunnel %s%n",
                    seconds, conns, StreamingBench.human(transfer), sockets, url);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);

            Process wrk = new ProcessBuilder("wrk", "-t2", "-c" + conns, "-d" + seconds + "s", "--timeout", "30s", url + "/hello")
                    .redirectErrorStream(true).redirectOutput(work.resolve("wrk.txt").toFile()).start();

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            AtomicLong transfersOk = new AtomicLong();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Thread transfers = new Thread(() -> {
                while (System.nanoTime() < end) {
                    try {
                        HttpResponse<InputStream> down = http.send(HttpRequest.newBuilder(URI.create(url + "/big")).build(),
                                HttpResponse.BodyHandlers.ofInputStream());
                        long got = 0;
                        byte[] buf = new byte[256 * 1024];
                        boolean exact = down.statusCode() == 200;
                        try (InputStream in = down.body()) {
                            for (int r; (r = in.read(buf)) >= 0; ) {
                                exact &= matches(buf, r, got);
                                got += r;
                            }
                        }
                        if (!exact || got != transfer) {
                            failures.add("download: status " + down.statusCode() + ", " + got + " bytes, exact=" + exact);
                        } else {
                            transfersOk.incrementAndGet();
                        }
                        if (System.nanoTime() >= end) {
                            break;
                        }
                        byte[] block = pattern(256 * 1024);
                        HttpResponse<String> up = http.send(HttpRequest.newBuilder(URI.create(url + "/upload"))
                                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(transfer, block))).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (up.statusCode() != 200 || !up.body().equals(Long.toString(transfer))) {
                            failures.add("upload: status " + up.statusCode() + ", body " + up.body());
                        } else {
                            transfersOk.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failures.add("transfer: " + e);
                    }
                }
            }, "soak-transfers");
            transfers.start();

            AtomicLong wsEchoed = new AtomicLong();
            List<Thread> wsThreads = new ArrayList<>();
            for (int i = 0; i < sockets; i++) {
                int id = i;
                Thread t = new Thread(() -> webSocketLoop(http, url.replaceFirst("^http", "ws") + "/ws" + id, end, wsEchoed, failures),
                        "soak-ws-" + i);
                t.start();
                wsThreads.add(t);
            }

            wrk.waitFor(seconds + 60L, TimeUnit.SECONDS);
            transfers.join(TimeUnit.SECONDS.toMillis(seconds + 300L));
            for (Thread t : wsThreads) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
            String wrkOut = Files.readString(work.resolve("wrk.txt"));
            System.out.println(wrkOut.strip());
            long non2xx = grab(wrkOut, "Non-2xx or 3xx responses: (\\d+)");
            long socketErrors = grab(wrkOut, "Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
            System.out.printf("transfers ok: %d; WebSocket messages echoed: %d; wrk non-2xx: %d; wrk socket errors: %d%n",
                    transfersOk.get(), wsEchoed.get(), non2xx, socketErrors);
            System.out.println("tunnel drops/reconnects/replacements: " + (drops.isEmpty() ? "none" : drops));
            failures.forEach(f -> System.out.println("FAILED " + f));
            ok = drops.isEmpty() && failures.isEmpty() && non2xx == 0 && socketErrors == 0 && transfersOk.get() > 0
                    && wsEchoed.get() > 0;
            System.out.println(ok ? "SOAK PASSED" : "SOAK FAILED (node log: " + nodeLog + ")");
        } finally {
            if (tunnel != null) {
                tunnel.close();
            }
            node.destroy(); // before exiting: the node is our child and must not outlive the run
            if (!node.waitFor(15, TimeUnit.SECONDS)) {
                node.destroyForcibly();
            }
        }
        System.exit(ok ? 0 : 1);
    }

    /** One public WebSocket: a text message every 50 ms, each echo checked in order. */
    private static void webSocketLoop(HttpClient http, String url, long end, AtomicLong echoed, ConcurrentLinkedQueue<String> failures) {
        ConcurrentLinkedQueue<String> received = new ConcurrentLinkedQueue<>();
        try {
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(url), new WebSocket.Listener() {
                private final StringBuilder part = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    part.append(data);
                    if (last) {
                        received.add(part.toString());
                        part.setLength(0);
                    }
                    webSocket.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            long seq = 0;
            while (System.nanoTime() < end) {
                String msg = "m" + (seq++) + "-" + "x".repeat((int) (seq % 2000));
                ws.sendText(msg, true).get(30, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                String back;
                while ((back = received.poll()) == null && System.nanoTime() < deadline) {
                    Thread.sleep(1); // a load generator's pacing, not a test's synchronisation
                }
                if (!msg.equals(back)) {
                    failures.add("websocket " + url + ": sent " + msg.length() + " chars, got " + (back == null ? "nothing" : back.length()));
                    return;
                }
                echoed.incrementAndGet();
                Thread.sleep(50);
            }
            ws.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            failures.add("websocket " + url + ": " + e);
        }
    }

    /** Deterministic content: byte i of a transfer is (i * 31 + 7) & 0xff, so any shift or corruption shows. */
    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    private static boolean matches(byte[] buf, int n, long offset) {
        for (int i = 0; i < n; i++) {
            if (buf[i] != (byte) ((offset + i) * 31 + 7)) {
                return false;
            }
        }
        return true;
    }

    /** {@code length} bytes of the pattern (block sizes are multiples of 256, so blocks line up). */
    private static final class PatternStream extends InputStream {
        private final long length;
        private final byte[] block;
        private long pos;

        PatternStream(long length, byte[] block) {
            this.length = length;
            this.block = block;
        }

        @Override
        public int read() {
            if (pos >= length) {
                return -1;
            }
            return block[(int) (pos++ % block.length)] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= length) {
                return -1;
            }
            int at = (int) (pos % block.length);
            int n = (int) Math.min(Math.min(len, block.length - at), length - pos);
            System.arraycopy(block, at, b, off, n);
            pos += n;
            return n;
        }
    }

    private static long grab(String text, String regex) {
        var m = java.util.regex.Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            return 0;
        }
        long sum = 0;
        for (int i = 1; i <= m.groupCount(); i++) {
            sum += Long.parseLong(m.group(i));
        }
        return sum;
    }

    private static void waitForNode(int port, Process node, File log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!node.isAlive()) {
                throw new IllegalStateException("node exited; see " + log);
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(250);
            }
        }
        throw new IllegalStateException("node did not listen within 180 s; see " + log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static int intArg(String[] args, String name, int dflt) {
        String v = strArg(args, name, null);
        return v == null ? dflt : Integer.parseInt(v);
    }

    private static String strArg(String[] args, String name, String dflt) {
        for (String a : args) {
            if (a.startsWith("--" + name + "=")) {
                return a.substring(name.length() + 3);
            }
        }
        return dflt;
    }

}
