package dev.captun.bench;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.TunnelResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * The SDK handler-mode tunnel of {@code bench/run} (path {@code captun-sdk}): one
 * {@link CaptunTunnel} whose handler answers in-process, with no local HTTP call.
 *
 * <ul>
 *   <li>any path: {@code 200 "hello, world\n"} (13 bytes), answered at once;</li>
 *   <li>{@code GET …/big-<n>M.bin}: that file of {@code --dir}, streamed from disk;</li>
 *   <li>{@code POST …/upload?file=big-<n>M.bin}: reads the whole body, compares it byte for byte
 *       with that file of {@code --dir} and answers the byte count ({@code "<count>"}) when every
 *       byte matched, else {@code "mismatch at <offset>"} (the contract of bench/run's upload sink).</li>
 * </ul>
 *
 * Usage: {@code SdkHandlerTunnel --gateway URL --name NAME [--dir DATA_DIR]}. Prints
 * {@code READY <url>} once the gateway confirmed the tunnel, then runs until it is terminated.
 */
public final class SdkHandlerTunnel {
    private static final String HELLO = "hello, world\n";

    private SdkHandlerTunnel() {}

    public static void main(String[] args) throws Exception {
        String gateway = null;
        String name = "bench";
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--gateway" -> gateway = args[++i];
                case "--name" -> name = args[++i];
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (gateway == null) {
            throw new IllegalArgumentException("--gateway URL is required");
        }
        Path data = dir;
        CaptunTunnel tunnel = CaptunTunnel.builder()
                .gateway(gateway)
                .name(name)
                .listener(e -> {
                    // the same words as the CLI, so bench/run counts drops the same way for both clients
                    if (e instanceof TunnelEvent.Disconnected d) {
                        System.err.println("captun: disconnected (" + d.reason() + ")");
                    } else if (e instanceof TunnelEvent.Replaced) {
                        System.err.println("captun: replaced");
                    } else if (e instanceof TunnelEvent.Failed f) {
                        System.err.println("captun: failed: " + f.error().getMessage());
                    } else if (e instanceof TunnelEvent.Connected c) {
                        System.err.println("captun: connected " + c.url());
                    }
                })
                .handler(req -> {
                    String path = req.path();
                    String query = "";
                    int q = path.indexOf('?');
                    if (q >= 0) {
                        query = path.substring(q + 1);
                        path = path.substring(0, q);
                    }
                    if (data != null && "POST".equals(req.method()) && path.endsWith("/upload")) {
                        Path file = dataFile(data, query.startsWith("file=") ? query.substring(5) : "");
                        return file == null ? TunnelResponse.text(404, "no such file\n")
                                : TunnelResponse.text(200, compare(req.body(), file));
                    }
                    Path file = data == null ? null : dataFile(data, path.substring(path.lastIndexOf('/') + 1));
                    if (file != null) {
                        return TunnelResponse.streaming(200, out -> Files.copy(file, out));
                    }
                    return TunnelResponse.text(200, HELLO);
                })
                .connect();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            tunnel.close();
            done.countDown();
        }));
        System.out.println("READY " + tunnel.url());
        System.out.flush();
        done.await();
    }

    /** {@code dir/name} when name is {@code big-<digits>M.bin} and that file exists, else null. */
    static Path dataFile(Path dir, String name) {
        if (!name.matches("big-[0-9]+M\\.bin")) {
            return null;
        }
        Path p = dir.resolve(name);
        return Files.isRegularFile(p) ? p : null;
    }

    /** Reads {@code body} to its end; its byte count when it equals the file, else where it differs. */
    static String compare(InputStream body, Path file) throws IOException {
        byte[] got = new byte[1 << 16];
        ByteBuffer want = ByteBuffer.allocate(1 << 16);
        long offset = 0;
        long mismatch = -1;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            int n;
            while ((n = body.read(got)) > 0) {
                if (mismatch < 0) {
                    want.clear().limit(n);
                    int r = 0;
                    while (want.hasRemaining() && offset + r < size) {
                        int k = ch.read(want, offset + r);
                        if (k < 0) {
                            break;
                        }
                        r += k;
                    }
                    int m = Arrays.mismatch(got, 0, n, want.array(), 0, r);
                    if (m >= 0) {
                        mismatch = offset + m;
                    }
                }
                offset += n;
            }
            if (mismatch < 0 && offset != size) {
                mismatch = Math.min(offset, size);
            }
        }
        return mismatch < 0 ? Long.toString(offset) : "mismatch at " + mismatch;
    }
}
