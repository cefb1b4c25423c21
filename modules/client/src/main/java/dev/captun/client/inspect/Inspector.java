package dev.captun.client.inspect;

import dev.captun.client.TunnelHandler;
import dev.captun.client.TunnelRequest;
import dev.captun.client.TunnelResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request inspector: records every request through a tunnel (a bounded ring; bodies cut at a
 * cap) and serves a local page and JSON API to browse, filter and replay them. Captured data stays
 * in this process and is served only on the address it binds (loopback unless asked otherwise).
 *
 * <pre>{@code
 * try (CaptunTunnel t = CaptunTunnel.builder()
 *         .target("http://127.0.0.1:3000")
 *         .inspector(Inspector.builder().start())   // http://127.0.0.1:4040, or the next free port
 *         .connect()) { ... }
 * }</pre>
 */
public final class Inspector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Inspector.class);
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 4040;
    public static final int DEFAULT_CAPACITY = 200;
    public static final int DEFAULT_BODY_CAP = 1024 * 1024;
    /** How many ports after a taken one are tried when falling back. */
    static final int PORT_ATTEMPTS = 100;

    private final CaptureRing ring;
    private final int bodyCap;
    private final InspectorServer server;
    private final ExecutorService replays;
    private volatile CapturingHandler handler;

    private Inspector(Builder b) throws IOException {
        this.ring = new CaptureRing(b.capacity);
        this.bodyCap = b.bodyCap;
        AtomicInteger n = new AtomicInteger();
        this.replays = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "captun-inspector-replay-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.server = InspectorServer.bind(this, b.host, b.port, b.nextFreePort ? PORT_ATTEMPTS : 1);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The page's URL, e.g. {@code http://127.0.0.1:4040}. */
    public URI url() {
        return server.url();
    }

    /** The bound address (the port may differ from the one asked for: see {@link Builder#nextFreePort}). */
    public InetSocketAddress address() {
        return server.address();
    }

    /**
     * Wraps the handler that serves a tunnel so its requests are recorded; replays go to it too.
     * {@link dev.captun.client.CaptunTunnel.Builder#inspector} calls this: call it yourself only to
     * record a handler that is not behind a {@code CaptunTunnel}.
     *
     * @param targetProxy true when {@code inner} is the SDK's target proxy, which reads a body without
     *     content-length only from the original stream: such bodies then pass unrecorded (with a note)
     */
    public TunnelHandler wrap(TunnelHandler inner, boolean targetProxy) {
        CapturingHandler h = new CapturingHandler(Objects.requireNonNull(inner), ring, bodyCap, !targetProxy);
        handler = h;
        return h;
    }

    int bodyCap() {
        return bodyCap;
    }

    CaptureRing ring() {
        return ring;
    }

    /** Starts a replay of exchange {@code id} and returns the new exchange's id (the replay runs on). */
    long replay(long id, Replay.Edit edit) throws Replay.Refused {
        CapturingHandler h = handler;
        if (h == null) {
            throw new Replay.Refused(503, "the inspector is not attached to a tunnel");
        }
        Exchange original = ring.get(id);
        if (original == null) {
            throw new Replay.Refused(404, "no request " + id + " (cleared, or pushed out of the last " + ring.capacity() + ")");
        }
        Replay.Plan p = Replay.plan(original, edit);
        TunnelRequest req = TunnelRequest.of(p.method(), p.path(), p.headers(), p.body());
        java.util.concurrent.CompletableFuture<Long> recorded = new java.util.concurrent.CompletableFuture<>();
        replays.execute(() -> {
            try {
                TunnelResponse r = h.handle(req, id, recorded::complete);
                if (r != null) {
                    r.writeBody(OutputStream.nullOutputStream()); // the tee records what is within the cap
                }
            } catch (Exception e) {
                recorded.complete(-1L);
                log.debug("replay of {} failed", id, e);
            }
        });
        try {
            long newId = recorded.get();
            if (newId < 0) {
                throw new Replay.Refused(502, "the replay could not be recorded");
            }
            return newId;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Replay.Refused(503, "interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new Replay.Refused(500, String.valueOf(e.getCause()));
        }
    }

    /** Stops the page and forgets what was captured. */
    @Override
    public void close() {
        server.close();
        replays.shutdownNow();
        ring.clear();
    }

    /** Options of an {@link Inspector}; {@link #start()} binds it. */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private boolean nextFreePort = true;
        private int capacity = DEFAULT_CAPACITY;
        private int bodyCap = DEFAULT_BODY_CAP;

        private Builder() {}

        /**
         * Where to serve: {@code PORT}, {@code :PORT}, {@code HOST:PORT} or {@code [IPv6]:PORT}
         * (port 0: any free port). An explicit address is bound as given, with no fallback to the
         * next port. A host that is not loopback exposes captured traffic to that network.
         */
        public Builder address(String address) {
            String a = address.strip();
            int colon = a.lastIndexOf(':');
            String h = colon < 0 ? "" : a.substring(0, colon);
            String p = colon < 0 ? a : a.substring(colon + 1);
            if (h.startsWith("[") && h.endsWith("]")) {
                h = h.substring(1, h.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("inspector address must be PORT or HOST:PORT: \"" + address + "\"");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("inspector port out of range: " + port);
            }
            this.host = h.isEmpty() ? DEFAULT_HOST : h;
            this.port = port;
            this.nextFreePort = false;
            return this;
        }

        /** When the port is taken, try the next ones (default: true for the default address). */
        public Builder nextFreePort(boolean on) {
            this.nextFreePort = on;
            return this;
        }

        /** How many requests are kept (default {@value Inspector#DEFAULT_CAPACITY}); older ones are dropped. */
        public Builder capacity(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("capacity must be ≥ 1");
            }
            this.capacity = capacity;
            return this;
        }

        /** Bytes kept of each body and of each WebSocket's messages (default 1 MiB); the rest is counted, not kept. */
        public Builder bodyCap(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("body cap must be ≥ 0");
            }
            this.bodyCap = bytes;
            return this;
        }

        /** Binds the page and returns the running inspector. */
        public Inspector start() throws IOException {
            return new Inspector(this);
        }
    }

    /** True when {@code host} resolves to a loopback address (the page is then private to this machine). */
    public static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }
}
