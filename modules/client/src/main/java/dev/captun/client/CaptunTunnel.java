package dev.captun.client;

import dev.captun.client.inspect.Inspector;
import dev.captun.protocol.Control;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import dev.captun.protocol.Tokens;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tunnel from a captun gateway to a local handler or target. Created connected by
 * {@link Builder#connect()}; reconnects by itself after a drop (same name and token) until
 * {@link #close()}, a replacement (close code 4000) or a 4xx admission rejection.
 *
 * <pre>{@code
 * try (CaptunTunnel t = CaptunTunnel.builder()
 *         .gateway("http://127.0.0.1:8080")
 *         .handler(req -> TunnelResponse.text(200, "hi"))
 *         .connect()) {
 *     System.out.println(t.url());
 * }
 * }</pre>
 */
public final class CaptunTunnel implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CaptunTunnel.class);
    public static final String DEFAULT_GATEWAY = "http://127.0.0.1:8080";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor(daemon("captun-heartbeat"));
    private static final ExecutorService IO = Executors.newCachedThreadPool(daemon("captun-io"));
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10))
            .executor(IO)
            .build();

    /** Lifecycle of a tunnel. */
    public enum State { CONNECTING, CONNECTED, RECONNECTING, REPLACED, FAILED, CLOSED }

    private final List<String> gateways;
    private final String token;
    private final TunnelHandler handler;
    private final TargetProxy proxy;
    private final Inspector inspector;
    private final TunnelListener listener;
    private final Backoff backoff;
    private final Duration connectTimeout;
    private final ExecutorService workers;

    private final Object lock = new Object();
    private volatile String name;
    private volatile String url;
    private volatile String policy;
    private volatile State state = State.CONNECTING;
    private volatile int gatewayIndex;
    private WsTransport current;
    private Thread reconnector;
    private boolean closing;
    /** A make-before-break move away from a draining gateway is under way (guarded by lock). */
    private boolean moving;
    /** Connections left behind by a move, finishing their requests until the old gateway ends them. */
    private final java.util.Set<WsTransport> leaving = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private CaptunTunnel(Builder b) {
        this.gateways = Gateways.parseList(b.gateway == null ? DEFAULT_GATEWAY : b.gateway);
        this.name = b.name == null ? randomName() : b.name;
        this.token = b.token == null ? randomToken() : b.token;
        this.listener = b.listener;
        this.backoff = b.backoff;
        this.connectTimeout = b.connectTimeout;
        if ((b.handler == null) == (b.target == null)) {
            throw new IllegalStateException("set exactly one of handler(...) or target(...)");
        }
        this.proxy = b.target == null ? null : new TargetProxy(URI.create(b.target), this::name);
        TunnelHandler base = b.handler != null ? b.handler : proxy;
        this.inspector = b.inspector;
        this.handler = inspector == null ? base : inspector.wrap(base, false); // the target proxy reads any wrapped body
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> {
                    Thread t = new Thread(r, "captun-worker-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.workers = pool;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The gateway's admission policy from {@code ready} ({@code trusted}, {@code public}), or null if it did not say. */
    public String policy() {
        return policy;
    }

    /** The public URL the gateway confirmed in {@code ready} (updated on reconnect). */
    public String url() {
        return url;
    }

    /** The token this tunnel presents on every (re)connect. */
    public String token() {
        return token;
    }

    /** The tunnel name (as confirmed by the gateway). */
    public String name() {
        return name;
    }

    public State state() {
        return state;
    }

    /** The request inspector this tunnel records into, or null (see {@link Builder#inspector}). */
    public Inspector inspector() {
        return inspector;
    }

    /** Closes the tunnel WebSocket with 1000, stops reconnecting and aborts open requests. */
    @Override
    public void close() {
        WsTransport tr;
        Thread rc;
        synchronized (lock) {
            if (closing) {
                return;
            }
            closing = true;
            state = State.CLOSED;
            tr = current;
            rc = reconnector;
        }
        if (rc != null) {
            rc.interrupt();
        }
        if (tr != null) {
            tr.closeNormally(1000);
        }
        for (WsTransport old : leaving) {
            old.abort(1000, "client closed");
        }
        workers.shutdownNow();
        if (proxy != null) {
            proxy.close();
        }
        if (inspector != null) {
            inspector.close();
        }
    }

    // ---- connecting ----

    private void connectInitially() throws CaptunConnectException {
        CaptunConnectException last = null;
        for (int i = 0; i < gateways.size(); i++) {
            try {
                establish(i);
                return;
            } catch (CaptunConnectException e) {
                last = e;
                if (e.isPermanent() || e.getCause() instanceof ProtocolException) {
                    break;
                }
            }
        }
        throw last;
    }

    private void establish(int index) throws CaptunConnectException {
        String gw = gateways.get(index);
        emit(new TunnelEvent.Connecting(gw));
        WsTransport tr = new WsTransport(SCHEDULER);
        TunnelCore core = new TunnelCore(tr, handler, workers, event -> {
            emit(event);
            if (event instanceof TunnelEvent.Draining) {
                onDraining(tr);
            }
        });
        tr.bind(core);
        URI wsUri = Gateways.connectUri(gw, name, true);
        try {
            HTTP.newWebSocketBuilder()
                    .subprotocols(Protocol.SUBPROTOCOL, Tokens.toSubprotocol(token))
                    .connectTimeout(connectTimeout)
                    .buildAsync(wsUri, tr)
                    .get(connectTimeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CaptunConnectException.connectionFailed(e);
        } catch (ExecutionException | TimeoutException e) {
            log.debug("tunnel WebSocket to {} failed to open: {}", gw, e.toString());
            throw ConnectProbe.diagnose(HTTP, Gateways.connectUri(gw, name, false), token, e.getCause() == null ? e : e.getCause());
        }
        Control.Ready ready;
        try {
            ready = core.ready().get(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            tr.abort(1000, "interrupted");
            Thread.currentThread().interrupt();
            throw CaptunConnectException.connectionFailed(e);
        } catch (TimeoutException e) {
            tr.abort(1006, "no ready");
            throw new CaptunConnectException(0, "", "the gateway accepted the WebSocket but did not confirm the tunnel", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ProtocolException pe) {
                throw new CaptunConnectException(0, "", pe.getMessage(), pe);
            }
            tr.abort(1006, "closed before ready");
            // closed before ready: ask the gateway why
            throw ConnectProbe.diagnose(HTTP, Gateways.connectUri(gw, name, false), token, e.getCause());
        }
        synchronized (lock) {
            if (closing) {
                tr.closeNormally(200);
                throw new CaptunConnectException(0, "", "tunnel closed while connecting", null);
            }
            current = tr;
            gatewayIndex = index;
            url = ready.url();
            policy = ready.policy();
            if (ready.name() != null) {
                name = ready.name();
            }
            state = State.CONNECTED;
        }
        tr.startHeartbeat(ready.heartbeatSeconds() > 0 ? ready.heartbeatSeconds() : Protocol.DEFAULT_HEARTBEAT_SECONDS);
        log.debug("tunnel {} connected at {} via {}", name, url, gw);
        emit(new TunnelEvent.Connected(url));
        tr.closed().whenCompleteAsync((info, err) -> onDropped(tr, info), IO);
    }

    private void onDropped(WsTransport tr, WsTransport.CloseInfo info) {
        synchronized (lock) {
            if (closing || tr != current) {
                return;
            }
            current = null;
            if (moving) {
                // The draining gateway ended it (even with 4000: our own new connection replaced it) before the move
                // finished: the mover carries on, and reconnects as after any drop if it cannot get through.
                log.debug("tunnel {}: draining connection ended during the move ({})", name, info.code());
                return;
            }
            if (info.code() == Protocol.CLOSE_REPLACED) {
                state = State.REPLACED;
            } else {
                state = State.RECONNECTING;
                reconnector = new Thread(this::reconnectLoop, "captun-reconnect");
                reconnector.setDaemon(true);
            }
        }
        String reason = info.code() + (info.reason().isEmpty() ? "" : " " + info.reason());
        log.debug("tunnel {} disconnected: {}", name, reason);
        emit(new TunnelEvent.Disconnected(reason));
        if (info.code() == Protocol.CLOSE_REPLACED) {
            emit(new TunnelEvent.Replaced());
        } else {
            Thread t;
            synchronized (lock) {
                t = reconnector;
                if (closing || t == null) {
                    return;
                }
            }
            t.start();
        }
    }

    // ---- moving away from a draining gateway (make-before-break) ----

    /** The gateway of {@code tr} is draining: connect elsewhere first (on another thread: this is the socket's). */
    private void onDraining(WsTransport tr) {
        Thread mover;
        synchronized (lock) {
            if (closing || tr != current || moving) {
                return;
            }
            moving = true;
            mover = new Thread(() -> move(tr), "captun-move");
            mover.setDaemon(true);
        }
        mover.start();
    }

    /**
     * Tries every other gateway once, in list order after the draining one, then the draining one
     * itself (with a single URL behind a load balancer, that is where another node answers). The new
     * connection replaces the old session at the tunnel entity; the old socket finishes its requests
     * and the gateway ends it, which {@link #onDropped} then ignores because it is no longer current.
     */
    private void move(WsTransport old) {
        int from = gatewayIndex;
        boolean moved = false;
        for (int i : Gateways.moveOrder(from, gateways.size())) {
            synchronized (lock) {
                if (closing) {
                    return;
                }
            }
            try {
                establish(i);
                moved = true;
                break;
            } catch (CaptunConnectException e) {
                log.debug("move to {} failed: {} {}", gateways.get(i), e.status(), e.getMessage());
                if (e.isPermanent()) {
                    break; // e.g. a conflict: keep the old connection; its end is handled like any drop
                }
            }
        }
        Thread reconnect = null;
        synchronized (lock) {
            moving = false;
            if (moved) {
                leaving.add(old);
            } else if (current == null && !closing) {
                // The draining connection ended while no other gateway took the tunnel: reconnect as after any drop.
                state = State.RECONNECTING;
                reconnector = new Thread(this::reconnectLoop, "captun-reconnect");
                reconnector.setDaemon(true);
                reconnect = reconnector;
            }
        }
        if (moved) {
            log.debug("tunnel {} moved off a draining gateway", name);
            old.closed().whenCompleteAsync((info, err) -> leaving.remove(old), IO);
            // The gateway ends the old socket when its requests are done (at the latest at its drain grace); never keep it forever.
            SCHEDULER.schedule(() -> old.abort(1001, "moved to another gateway"), LEAVING_MAX.toMillis(), TimeUnit.MILLISECONDS);
        } else if (reconnect != null) {
            reconnect.start();
        }
    }

    /** A connection left behind by a move is dropped after this, if its gateway has not ended it. */
    static final Duration LEAVING_MAX = Duration.ofMinutes(5);

    private void reconnectLoop() {
        for (int attempt = 0; ; attempt++) {
            Duration delay = backoff.delay(attempt);
            emit(new TunnelEvent.Reconnecting(delay));
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            int start = (gatewayIndex + 1) % gateways.size();
            for (int k = 0; k < gateways.size(); k++) {
                synchronized (lock) {
                    if (closing) {
                        return;
                    }
                }
                try {
                    establish((start + k) % gateways.size());
                    return;
                } catch (CaptunConnectException e) {
                    if (Thread.currentThread().isInterrupted()) {
                        return;
                    }
                    if (e.isPermanent() || e.getCause() instanceof ProtocolException) {
                        synchronized (lock) {
                            if (closing) {
                                return;
                            }
                            state = State.FAILED;
                        }
                        log.warn("tunnel {} stops reconnecting: {} {}", name, e.status(), e.getMessage());
                        emit(new TunnelEvent.Failed(e));
                        return;
                    }
                    log.debug("reconnect to {} failed: {}", gateways.get((start + k) % gateways.size()), e.getMessage());
                }
            }
        }
    }

    private void emit(TunnelEvent e) {
        if (listener != null) {
            try {
                listener.onEvent(e);
            } catch (RuntimeException ex) {
                log.warn("tunnel listener threw", ex);
            }
        }
    }

    // ---- helpers ----

    static String randomToken() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    static String randomName() {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder("t");
        for (int i = 0; i < 11; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Configures and connects a {@link CaptunTunnel}. */
    public static final class Builder {
        private String gateway;
        private String name;
        private String token;
        private TunnelHandler handler;
        private String target;
        private TunnelListener listener;
        private Inspector inspector;
        private Backoff backoff = Backoff.standard();
        private Duration connectTimeout = Duration.ofSeconds(10);

        private Builder() {}

        /** Gateway URL, or a comma-separated list tried in turn (default {@value CaptunTunnel#DEFAULT_GATEWAY}). */
        public Builder gateway(String gatewayOrList) {
            this.gateway = Objects.requireNonNull(gatewayOrList);
            return this;
        }

        /** Tunnel name (a DNS label); random when not set. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** Token presented on every connect; random 32 hex chars when not set. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Answer requests with {@code handler}. Exclusive with {@link #target}. */
        public Builder handler(TunnelHandler handler) {
            this.handler = handler;
            return this;
        }

        /**
         * Proxy requests to a local HTTP(S) service, e.g. {@code http://127.0.0.1:3000}. Exclusive with
         * {@link #handler}. Public WebSockets are proxied too ({@code ws://} / {@code wss://}, same path,
         * the public client's subprotocols and end-to-end headers such as Cookie, Authorization and
         * Origin); a local refusal of the upgrade is relayed with its status and body.
         */
        public Builder target(String targetUrl) {
            this.target = targetUrl;
            return this;
        }

        public Builder listener(TunnelListener listener) {
            this.listener = listener;
            return this;
        }

        /**
         * Records every request (and WebSocket) into {@code inspector}, whose page lists, shows and
         * replays them (see {@link Inspector}); the tunnel closes it when it closes. Off by default.
         */
        public Builder inspector(Inspector inspector) {
            this.inspector = inspector;
            return this;
        }

        /** Reconnect delays (default {@link Backoff#standard()}). */
        public Builder backoff(Backoff backoff) {
            this.backoff = Objects.requireNonNull(backoff);
            return this;
        }

        /** Time allowed for the WebSocket handshake and for {@code ready} (default 10 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Connects; blocks until the gateway sent {@code ready}. */
        public CaptunTunnel connect() throws CaptunConnectException {
            CaptunTunnel t;
            try {
                t = new CaptunTunnel(this);
            } catch (RuntimeException e) {
                if (inspector != null) {
                    inspector.close(); // the tunnel owns it from here on, even when it never existed
                }
                throw e;
            }
            try {
                t.connectInitially();
                return t;
            } catch (CaptunConnectException | RuntimeException e) {
                t.close();
                throw e;
            }
        }
    }
}
