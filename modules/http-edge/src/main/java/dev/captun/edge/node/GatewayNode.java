package dev.captun.edge.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.captun.edge.connect.ConnectEndpoint;
import dev.captun.edge.drain.GracefulDrain;
import dev.captun.edge.drain.NodeSessions;
import dev.captun.edge.forward.Exchanges;
import dev.captun.edge.forward.ForwardedHeaders;
import dev.captun.edge.forward.PublicForwarder;
import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.forward.RouteCache;
import dev.captun.edge.session.LocalSessions;
import dev.captun.edge.ratelimit.ClientIp;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.ratelimit.RateLimitGate;
import dev.captun.edge.ratelimit.RateLimitSettings;
import dev.captun.ratelimit.RateLimiterClient;
import dev.captun.ratelimit.RateLimiterSharding;
import dev.captun.edge.routing.Router;
import dev.captun.tunnel.TunnelSharding;
import dev.captun.tunnel.quota.TunnelQuotaSharding;
import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.edge.connection.ConnectionCounter;
import dev.captun.edge.connection.PublicPort;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Tcp;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gateway node: an actor system named {@code captun} in a Pekko cluster (a single-node one
 * by default), the tunnel shard region, and the public HTTP edge.
 */
public final class GatewayNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);

    private final ActorSystem<Void> system;
    private final PublicPort publicPort;
    private final EdgeSettings settings;
    private final int managementPort;

    private GatewayNode(ActorSystem<Void> system, PublicPort publicPort, EdgeSettings settings, int managementPort) {
        this.system = system;
        this.publicPort = publicPort;
        this.settings = settings;
        this.managementPort = managementPort;
    }

    public static void main(String[] args) {
        NodeCommandLine.Parsed cmd = NodeCommandLine.parse(args);
        switch (cmd.action()) {
            case HELP -> {
                System.out.println(NodeCommandLine.usage());
                return;
            }
            case VERSION -> {
                System.out.println(NodeCommandLine.version());
                return;
            }
            case REFUSE -> {
                System.err.println("captun-node: " + cmd.error() + " (captun-node --help)");
                System.exit(2);
            }
            case RUN -> { }
        }
        Config config = null;
        GatewayNode node;
        try {
            config = ConfigFactory.load();
            node = start(config);
        } catch (RuntimeException e) {
            // The last line: what to change. (Pekko may have logged the failure above it.)
            System.err.println("captun-node: " + StartFailure.describe(e, portSettings(config)));
            System.exit(1);
            return;
        }
        // CoordinatedShutdown (run on SIGTERM by Pekko's JVM hook) unbinds and leaves the cluster.
        node.system.getWhenTerminated().toCompletableFuture().join();
    }

    /** The configured ports (0 = any, left out) and the environment variable that sets each. */
    static java.util.Map<Integer, String> portSettings(Config config) {
        java.util.Map<Integer, String> ports = new java.util.HashMap<>();
        if (config == null) {
            return ports;
        }
        // Later puts win: the public port is named when two settings share a port.
        String[][] settings = {{"pekko.remote.artery.canonical.port", "CAPTUN_REMOTE_PORT"},
                {"captun.management.port", "CAPTUN_MANAGEMENT_PORT"}, {"captun.port", "CAPTUN_PORT"}};
        for (String[] s : settings) {
            try {
                if (config.hasPath(s[0]) && config.getInt(s[0]) > 0) {
                    ports.put(config.getInt(s[0]), s[1]);
                }
            } catch (com.typesafe.config.ConfigException e) {
                // a malformed port: StartFailure reports it as a bad setting
            }
        }
        return ports;
    }

    /** Starts a node from a full config (application.conf plus overrides) and waits until it listens. */
    public static GatewayNode start(Config config) {
        EdgeSettings settings = EdgeSettings.from(config);
        Config effective = withIdleTimeout(withDrain(withManagement(withSeeds(ClusterTransport.apply(config), settings.seedNodes()), config), settings),
                settings);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "captun", effective);
        try {
            if (settings.seedNodes().isEmpty()) {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            AdmissionPolicy policy = new AdmissionPolicy(settings.policy(), settings.sharedToken());
            // Only anonymous owners (public policy, no shared token) own names exclusively, so only they need the ledger.
            boolean exclusiveOwners = settings.publicPolicy() && !policy.hasSharedToken();
            TunnelSharding tunnels = TunnelSharding.init(system, settings.tunnelIdleTimeout(),
                    exclusiveOwners ? settings.ownershipGrace() : Duration.ZERO, config.getString("captun.tunnel-role"));
            Router router = new Router(settings.hostname());
            GatewayMetrics metrics = GatewayMetrics.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
            RateLimiterSharding.init(system, config.getString("captun.rate-limit.entity-role"));
            RateLimitSettings limits = RateLimitSettings.fromRoot(config);
            RateLimitGate gate = new RateLimitGate(limits, new RateLimiterClient(system, limits.timeout()),
                    new dev.captun.ratelimit.LeasedLimiter(key -> RateLimiterSharding.entityRef(system, key), limits.timeout(),
                            System::currentTimeMillis),
                    settings.policy() == AdmissionPolicy.Mode.PUBLIC, metrics);
            ForwardedHeaders forwarded = new ForwardedHeaders(ClientIp.parse(settings.trustedProxies()));
            boolean accessLog = config.hasPath("captun.access-log")
                    && List.of("1", "true", "on", "yes").contains(config.getString("captun.access-log").trim().toLowerCase(java.util.Locale.ROOT));
            // Live sessions of this node: slow re-assert sweep, re-assert waves on membership changes, drain.
            var sessions = system.systemActorOf(NodeSessions.create(settings.reassertInterval()), "node-sessions",
                    org.apache.pekko.actor.typed.Props.empty());
            GracefulDrain.install(system, sessions, settings.drainGrace(), settings.drainUnready());
            // Sessions whose sockets are on this node: public requests reach their stages without an actor.
            LocalSessions localSessions = new LocalSessions();
            ConnectEndpoint connect = new ConnectEndpoint(system, settings, policy, tunnels, router, forwarded, gate,
                    TunnelQuotaSharding.init(system, settings.tunnelIdleTimeout()), sessions, localSessions);
            RouteCache.View routes = new RouteCache.View();
            PublicForwarder forwarder = new PublicForwarder(system, settings, tunnels, router, forwarded, gate, localSessions,
                    system.systemActorOf(RouteCache.create(routes), "route-cache", org.apache.pekko.actor.typed.Props.empty()), routes,
                    // The session answers 504 at the request timeout; this only catches replies lost with a node.
                    system.systemActorOf(Exchanges.create(settings.requestTimeout().plusSeconds(5)), "exchanges",
                            org.apache.pekko.actor.typed.Props.empty()));

            Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> route(request, connect, forwarder, metrics, accessLog ? forwarded : null);
            // Public policy: open connections are capped per client IP (trusted proxies exempt).
            ConnectionCounter counter = settings.publicPolicy() ? new ConnectionCounter(settings.maxConnectionsPerIp()) : null;
            ClientIp proxies = ClientIp.parse(settings.trustedProxies());
            Materializer mat = Materializer.matFromSystem(system);
            PublicPort publicPort = new PublicPort(system);
            publicPort.bind(settings.host(), settings.port(),
                    connection -> accept(publicPort, connection, handler, counter, proxies, settings, mat),
                    Duration.ofSeconds(30));
            publicPort.addToCoordinatedShutdown(Duration.ofSeconds(10));
            log.info("captun gateway listening on http://{}:{} ({} policy, {} routing{})",
                    settings.host(), publicPort.localAddress().getPort(), settings.policy().name().toLowerCase(),
                    settings.subdomainRouting() ? "subdomain *." + settings.hostname() : "folder",
                    policy.hasSharedToken() ? ", connect token required" : "");
            log.info("captun cluster remoting on {} ({})", Cluster.get(system).selfMember().address(),
                    ClusterTransport.tls(effective) ? "TLS, mutual authentication" : "plain TCP: keep it on loopback or a private network");
            if (accessLog) {
                log.info("access log on (logger captun.access)");
            }
            int managementPort = startManagement(system, effective);
            system.systemActorOf(MembershipLog.create(), "membership-log", org.apache.pekko.actor.typed.Props.empty());
            log.info("captun node ready: tunnels and public requests on http://{}:{}", settings.host(),
                    publicPort.localAddress().getPort());
            return new GatewayNode(system, publicPort, settings, managementPort);
        } catch (Exception e) {
            system.terminate();
            try { // its shutdown lines come before the caller's account of the failure
                system.getWhenTerminated().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception stillStopping) {
                // reported as the start failure below all the same
            }
            throw new IllegalStateException("gateway node failed to start: " + e.getMessage(), e);
        }
    }

    /** An over-cap connection gets this to its first request, then is closed (or closed at the head deadline). */
    private static final Duration REFUSED_HEAD_DEADLINE = Duration.ofSeconds(2);

    /**
     * One accepted TCP connection: counted against its IP's cap (refused with a plain 429 and closed
     * past it), and served with a deadline for every request head (slow-loris) and a keep-alive
     * timeout between requests.
     */
    private static CompletionStage<Done> accept(PublicPort port, Tcp.IncomingConnection connection,
                                               Function<HttpRequest, CompletionStage<HttpResponse>> handler,
                                               ConnectionCounter counter, ClientIp proxies, EdgeSettings settings, Materializer mat) {
        InetAddress address = connection.remoteAddress().getAddress();
        String ip = ClientIp.format(address);
        boolean counted = counter != null && !proxies.isTrustedProxy(address);
        if (counted && !counter.tryOpen(ip)) {
            log.debug("refusing a connection from {}: {} already open", ip, counter.maxPerIp());
            HttpResponse refused = PlainResponses.of(429, PlainResponses.TOO_MANY_CONNECTIONS).addHeader(Connection.create("close"));
            return ended(port.serve(connection, REFUSED_HEAD_DEADLINE, REFUSED_HEAD_DEADLINE, request -> {
                request.discardEntityBytes(mat);
                return CompletableFuture.completedFuture(refused);
            }, ip));
        }
        CompletionStage<Done> ended = port.serve(connection, settings.requestHeadTimeout(), settings.keepAliveTimeout(), handler, ip);
        if (counted) {
            ended.whenCompleteAsync((done, error) -> counter.close(ip), Runnable::run);
        }
        return ended(ended);
    }

    /** A connection that failed is just as ended: the accept loop must never fail. */
    private static CompletionStage<Done> ended(CompletionStage<Done> termination) {
        return termination.handleAsync((done, error) -> Done.getInstance(), Runnable::run);
    }

    /** {@code accessLog}: the client-IP resolver when the access log is on, else null. */
    private static CompletionStage<HttpResponse> route(HttpRequest request, ConnectEndpoint connect, PublicForwarder forwarder,
                                                       GatewayMetrics metrics, ForwardedHeaders accessLog) {
        CompletionStage<HttpResponse> response;
        long started = System.nanoTime();
        boolean isConnect = ConnectEndpoint.matches(request);
        try {
            response = isConnect ? connect.handle(request) : forwarder.handle(request);
        } catch (RuntimeException e) {
            response = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        // Whatever goes wrong inside, the client gets the gateway's plain answer, never Pekko's default page.
        return response.handleAsync((r, error) -> {
            if (error != null) {
                log.warn("internal error answering {} {}: {}", request.method().value(), request.getUri().path(), error.toString());
                r = PlainResponses.of(500, PlainResponses.INTERNAL_ERROR);
            }
            if (!isConnect) {
                metrics.request(r.status().intValue(), java.time.Duration.ofNanos(System.nanoTime() - started));
            }
            return accessLog == null ? r : AccessLog.wrap(request, r, accessLog.clientIp(request), started);
        }, Runnable::run);
    }

    /**
     * Pekko Management (cluster HTTP API, /alive, /ready) on its own port, never the public one.
     * Returns the bound port (the configured one, or the free port picked for 0).
     */
    private static int startManagement(ActorSystem<Void> system, Config effective) throws Exception {
        org.apache.pekko.http.javadsl.model.Uri uri = PekkoManagement.get(system.classicSystem()).start()
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        boolean readOnly = effective.getBoolean("pekko.management.http.route-providers-read-only");
        log.info("captun management API on http://{}:{} (cluster routes {}; /alive, /ready)",
                uri.host().address(), uri.port(), readOnly ? "read-only" : "read-write: leave/down enabled");
        return uri.port();
    }

    /** {@code captun.management.*} → {@code pekko.management.http.*}: bind address, port, write access. */
    private static Config withManagement(Config effective, Config config) {
        Config m = config.getConfig("captun.management");
        String writes = m.hasPath("writes") ? m.getString("writes").trim().toLowerCase(java.util.Locale.ROOT) : "";
        boolean writable = List.of("1", "true", "on", "yes").contains(writes);
        Config overrides = ConfigFactory.empty()
                .withValue("pekko.management.http.route-providers-read-only", ConfigValueFactory.fromAnyRef(!writable));
        if (m.hasPath("host")) {
            overrides = overrides.withValue("pekko.management.http.hostname", ConfigValueFactory.fromAnyRef(m.getString("host")));
        }
        if (m.hasPath("port")) {
            overrides = overrides.withValue("pekko.management.http.port", ConfigValueFactory.fromAnyRef(m.getInt("port")));
        }
        return overrides.withFallback(effective);
    }

    /** The drain runs in phase before-service-unbind: that phase must outlast the drain grace. */
    private static Config withDrain(Config effective, EdgeSettings settings) {
        Duration timeout = GracefulDrain.phaseTimeout(settings.drainGrace(), settings.drainUnready());
        return ConfigFactory.empty()
                .withValue("pekko.coordinated-shutdown.phases.before-service-unbind.timeout",
                        ConfigValueFactory.fromAnyRef(timeout.toMillis() + " ms"))
                .withFallback(effective);
    }

    /** Margin by which Pekko's idle-timeout must outlast the keep-alive timeout. */
    private static final Duration IDLE_TIMEOUT_MARGIN = Duration.ofSeconds(15);

    /**
     * Pekko's {@code idle-timeout} (no byte either way) aborts a connection; an idle keep-alive
     * connection must be closed by the keep-alive timeout first, cleanly: the idle-timeout is raised
     * to at least the keep-alive timeout plus a margin.
     */
    static Config withIdleTimeout(Config effective, EdgeSettings settings) {
        String path = "pekko.http.server.idle-timeout";
        Duration least = settings.keepAliveTimeout().plus(IDLE_TIMEOUT_MARGIN);
        if (!effective.hasPath(path) || "infinite".equalsIgnoreCase(effective.getString(path).trim())
                || effective.getDuration(path).compareTo(least) >= 0) {
            return effective;
        }
        log.info("{} raised from {} s to {} s: it must outlast the keep-alive timeout ({} s)", path,
                effective.getDuration(path).toSeconds(), least.toSeconds(), settings.keepAliveTimeout().toSeconds());
        return ConfigFactory.empty()
                .withValue(path, ConfigValueFactory.fromAnyRef(least.toSeconds() + " s"))
                .withFallback(effective);
    }

    private static Config withSeeds(Config config, List<String> seeds) {
        if (seeds.isEmpty()) {
            return config;
        }
        List<String> addresses = seeds.stream().map(s -> s.startsWith("pekko://") ? s : "pekko://captun@" + s).toList();
        return config.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(addresses));
    }

    public int port() {
        return publicPort.localAddress().getPort();
    }

    /** The bound Pekko Management port (cluster HTTP API, /alive, /ready). */
    public int managementPort() {
        return managementPort;
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public EdgeSettings settings() {
        return settings;
    }

    @Override
    public void close() {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().join();
    }
}
