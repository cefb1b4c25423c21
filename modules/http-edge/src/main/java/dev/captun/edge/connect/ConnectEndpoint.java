package dev.captun.edge.connect;

import static dev.captun.edge.routing.PlainResponses.of;

import dev.captun.edge.drain.DrainState;
import dev.captun.edge.drain.NodeSessions;
import dev.captun.edge.forward.ForwardedHeaders;
import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.node.EdgeSettings;
import dev.captun.edge.ratelimit.RateLimitGate;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.routing.Router;
import dev.captun.edge.session.LocalSessions;
import dev.captun.edge.session.SessionSocket;
import dev.captun.edge.session.TunnelSession;
import dev.captun.protocol.Protocol;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.TunnelSharding;
import dev.captun.tunnel.quota.TunnelQuota;
import dev.captun.tunnel.quota.TunnelQuotaSharding;
import dev.captun.tunnel.admission.AdmissionPolicy;
import dev.captun.tunnel.admission.TunnelNames;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /?captun-connect=1&captun-name=<name>} (SPEC §3): validates, authenticates and admits
 * a tunnel client before the 101, so every rejection is a plain HTTP answer; also answers the
 * read-only diagnostic probe.
 */
public final class ConnectEndpoint {
    private static final Logger log = LoggerFactory.getLogger(ConnectEndpoint.class);

    private final ActorSystem<?> system;
    private final EdgeSettings settings;
    private final AdmissionPolicy policy;
    private final TunnelSharding tunnels;
    private final Router router;
    private final Materializer mat;
    private final ForwardedHeaders forwarded;
    private final RateLimitGate limits;
    private final GatewayMetrics metrics;
    private final TunnelQuotaSharding quotas;
    private final ActorRef<NodeSessions.Command> nodeSessions;
    private final DrainState drain;
    private final LocalSessions localSessions;

    /** @param nodeSessions where admitted sessions are registered (re-asserts, drain) */
    public ConnectEndpoint(ActorSystem<?> system, EdgeSettings settings, AdmissionPolicy policy, TunnelSharding tunnels,
                           Router router, ForwardedHeaders forwarded, RateLimitGate limits, TunnelQuotaSharding quotas,
                           ActorRef<NodeSessions.Command> nodeSessions, LocalSessions localSessions) {
        this.nodeSessions = nodeSessions;
        this.localSessions = localSessions;
        this.drain = DrainState.get(system);
        this.quotas = quotas;
        this.forwarded = forwarded;
        this.limits = limits;
        this.metrics = GatewayMetrics.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
        this.system = system;
        this.settings = settings;
        this.policy = policy;
        this.tunnels = tunnels;
        this.router = router;
        this.mat = Materializer.matFromSystem(system);
    }

    /** Matched before tunnel routing, on any Host, so a connect can never reach a tunnel. */
    public static boolean matches(HttpRequest request) {
        return "/".equals(request.getUri().path())
                && request.getUri().query().get("captun-connect").map("1"::equals).orElse(false);
    }

    public CompletionStage<HttpResponse> handle(HttpRequest request) {
        boolean probe = header(request, "x-captun-connect-diagnostic").map("1"::equals).orElse(false);
        return connect(request).thenApplyAsync(response -> {
            int status = response.status().intValue();
            metrics.admission((probe ? "probe_" : "") + (status == 101 ? "admitted" : status == 204 ? "would_admit" : Integer.toString(status)));
            return response;
        }, Runnable::run);
    }

    private CompletionStage<HttpResponse> connect(HttpRequest request) {
        var query = request.getUri().query();
        if (!ConnectRequest.supportsVersion(query.get(Protocol.VERSION_PARAM).orElse(null))) {
            return done(of(400, PlainResponses.UNSUPPORTED_VERSION));
        }
        if (drain.isDraining()) {
            // Not ready any more: the client tries the next gateway (a 5xx is not a rejection that stops it).
            return done(of(503, PlainResponses.DRAINING));
        }
        String name = query.get("captun-name").orElse(null);
        if (name == null || name.isEmpty()) {
            return done(of(404, PlainResponses.MISSING_NAME));
        }
        if (!TunnelNames.isValid(name)) {
            return done(of(400, PlainResponses.INVALID_NAME));
        }
        if (settings.isReserved(name)) {
            return done(of(404, PlainResponses.RESERVED_NAME));
        }
        boolean diagnostic = header(request, "x-captun-connect-diagnostic").map("1"::equals).orElse(false);
        var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        if (!diagnostic && upgrade.isEmpty()) {
            return done(of(400, PlainResponses.EXPECTED_UPGRADE));
        }
        // Counted after name validation and before admission: a 401 or 409 connect still spends a slot (SPEC §6).
        return limits.connect(forwarded.clientIp(request), diagnostic).thenComposeAsync(limited -> limited.isPresent()
                ? done(limited.get())
                : authenticateAndAdmit(request, name, diagnostic, upgrade.orElse(null)), Runnable::run);
    }

    private CompletionStage<HttpResponse> authenticateAndAdmit(HttpRequest request, String name, boolean diagnostic, WebSocketUpgrade upgrade) {
        var query = request.getUri().query();
        List<String> offered = upgrade != null
                ? toList(upgrade.getRequestedProtocols())
                : ConnectRequest.splitProtocols(headers(request, "sec-websocket-protocol"));
        String token = ConnectRequest.token(offered,
                header(request, "x-captun-connect-token").orElse(null), query.get("captun-token").orElse(null));
        AdmissionPolicy.Authentication auth = policy.authenticate(token);
        if (!auth.accepted()) {
            log.info("connect to {} rejected: {} {}", name, auth.rejection().status(), auth.rejection().message());
            return done(of(auth.rejection().status(), auth.rejection().message()));
        }
        var entity = tunnels.entity(name);
        if (diagnostic) {
            return probe(request, name, auth.credential(), entity);
        }
        return admit(request, upgrade, offered, name, auth.credential(), entity);
    }

    /** The diagnostic probe: what a connect would get from admission and the tunnel quota, changing nothing. */
    private CompletionStage<HttpResponse> probe(HttpRequest request, String name, AdmissionPolicy.Credential credential,
                                                org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<TunnelEntity.Command> entity) {
        CompletionStage<HttpResponse> admission = entity.<TunnelEntity.ConnectReply>ask(
                        reply -> new TunnelEntity.Probe(credential, reply), settings.registryTimeout())
                .handleAsync((reply, error) -> error != null ? of(503, PlainResponses.REGISTRY_UNAVAILABLE)
                        : reply instanceof TunnelEntity.Rejected r ? of(r.status(), r.message())
                        : null, Runnable::run);
        if (!settings.publicPolicy()) {
            return admission.thenApplyAsync(r -> r != null ? r : PlainResponses.noContent(), Runnable::run);
        }
        String ip = forwarded.clientIp(request);
        return admission.thenComposeAsync(rejected -> rejected != null ? done(rejected)
                : quotas.forIp(ip).<TunnelQuota.Reply>ask(reply -> new TunnelQuota.Probe(name, settings.maxTunnelsPerIp(), reply), settings.registryTimeout())
                        .handleAsync((reply, error) -> error != null ? of(503, PlainResponses.REGISTRY_UNAVAILABLE)
                                : reply instanceof TunnelQuota.Denied ? of(429, PlainResponses.TOO_MANY_TUNNELS)
                                : PlainResponses.noContent(), Runnable::run), Runnable::run);
    }

    private CompletionStage<HttpResponse> admit(HttpRequest request, WebSocketUpgrade upgrade, List<String> offered, String name,
                                                AdmissionPolicy.Credential credential,
                                                org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<TunnelEntity.Command> entity) {
        String sessionId = UUID.randomUUID().toString();
        String host = header(request, "host").orElse(request.getUri().getHost().address());
        String url = router.publicUrl(forwarded.scheme(request), host, name);
        var setup = new TunnelSession.Setup(name, sessionId, credential, url, entity, settings.window(),
                settings.heartbeatSeconds(), settings.requestTimeout(),
                settings.publicPolicy() ? settings.maxInFlightPerTunnel() : 0, metrics);
        SessionSocket.Spawned spawned = SessionSocket.spawn(setup, mat, localSessions,
                behavior -> system.systemActorOf(behavior, "session-" + sessionId, Props.empty()));
        ActorRef<SessionMessage> session = spawned.session();
        if (settings.publicPolicy()) {
            // The quota entity watches the session: a rejected or ended session frees its slot by itself.
            String ip = forwarded.clientIp(request);
            return quotas.forIp(ip).<TunnelQuota.Reply>ask(
                            reply -> new TunnelQuota.Acquire(name, sessionId, session, settings.maxTunnelsPerIp(), reply), settings.registryTimeout())
                    .handleAsync((reply, error) -> {
                        if (reply instanceof TunnelQuota.Granted) {
                            return register(upgrade, offered, name, credential, entity, sessionId, spawned);
                        }
                        session.tell(TunnelSession.Abandon.INSTANCE);
                        if (error != null) {
                            return done(of(503, PlainResponses.REGISTRY_UNAVAILABLE));
                        }
                        log.info("connect to {} rejected: too many active tunnels from one IP", name);
                        return done(of(429, PlainResponses.TOO_MANY_TUNNELS));
                    }, Runnable::run)
                    .thenComposeAsync(r -> r, Runnable::run);
        }
        return register(upgrade, offered, name, credential, entity, sessionId, spawned);
    }

    private CompletionStage<HttpResponse> register(WebSocketUpgrade upgrade, List<String> offered, String name,
                                                   AdmissionPolicy.Credential credential,
                                                   org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<TunnelEntity.Command> entity,
                                                   String sessionId, SessionSocket.Spawned spawned) {
        ActorRef<SessionMessage> session = spawned.session();
        return admission(entity, reply -> new TunnelEntity.Connect(sessionId, credential, session, reply), true)
                .handleAsync((reply, error) -> {
                    if (reply instanceof TunnelEntity.Admitted) {
                        nodeSessions.tell(new NodeSessions.Register(session));
                        // The session sends `ready` once this flow runs, i.e. after the entity registered it.
                        return SessionSocket.accept(upgrade, spawned, offered.contains(Protocol.SUBPROTOCOL) ? Protocol.SUBPROTOCOL : null);
                    }
                    session.tell(TunnelSession.Abandon.INSTANCE);
                    if (reply instanceof TunnelEntity.Rejected r) {
                        log.info("connect to {} rejected: {} {}", name, r.status(), r.message());
                        return of(r.status(), r.message());
                    }
                    log.warn("connect to {}: tunnel registry did not answer: {}", name, String.valueOf(error));
                    return of(503, PlainResponses.REGISTRY_UNAVAILABLE);
                }, Runnable::run);
    }

    /**
     * The entity's answer to a connect; a timeout is retried once. After a crash, an ask sent before
     * the dead node was removed went to its old shard home and is lost; the retry is buffered by the
     * shard region until the entity's new home is known, so the reconnecting client gets in as soon
     * as it is back instead of a 503 and another backoff. {@code Connect} is idempotent per session id.
     */
    private CompletionStage<TunnelEntity.ConnectReply> admission(
            org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<TunnelEntity.Command> entity,
            java.util.function.Function<ActorRef<TunnelEntity.ConnectReply>, TunnelEntity.Command> connect, boolean retry) {
        return entity.<TunnelEntity.ConnectReply>ask(connect::apply, settings.registryTimeout())
                .handleAsync((reply, error) -> error == null || !retry
                        ? (reply != null ? CompletableFuture.completedFuture(reply) : CompletableFuture.<TunnelEntity.ConnectReply>failedFuture(error))
                        : admission(entity, connect, false), Runnable::run)
                .thenComposeAsync(r -> r, Runnable::run);
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    static java.util.Optional<String> header(HttpRequest r, String lowerName) {
        return r.getHeader(lowerName).map(HttpHeader::value);
    }

    private static List<String> headers(HttpRequest r, String lowerName) {
        List<String> out = new ArrayList<>();
        for (HttpHeader h : r.getHeaders()) {
            if (h.is(lowerName)) {
                out.add(h.value());
            }
        }
        return out;
    }

    private static List<String> toList(Iterable<String> it) {
        List<String> out = new ArrayList<>();
        it.forEach(out::add);
        return out;
    }
}
