package dev.captun.edge.forward;

import static dev.captun.edge.routing.PlainResponses.of;

import dev.captun.edge.node.EdgeSettings;
import dev.captun.edge.ratelimit.RateLimitGate;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.routing.Router;
import dev.captun.edge.session.SessionCommands;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.LocalSessions;
import dev.captun.edge.session.SessionHandle;
import dev.captun.edge.session.TunnelSession;
import dev.captun.edge.session.WsFragments;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.TunnelSharding;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A public request → its tunnel (SPEC §5): route, find the session, forward, answer.
 *
 * <p>Cost per small request, by design: a map read for the route ({@link RouteCache.View}), one
 * message to this node's {@link Exchanges} actor and one to the session (on this node or another),
 * one reply back. Bodies up to {@code Protocol.INLINE_BODY_MAX} travel inside those messages, so
 * no stream is materialized; larger ones stream (as stream refs across nodes) under credit.
 */
public final class PublicForwarder {
    private static final Logger log = LoggerFactory.getLogger(PublicForwarder.class);
    private static final long RETRY_WITHIN_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final ActorSystem<?> system;
    private final EdgeSettings settings;
    private final TunnelSharding tunnels;
    private final Router router;
    private final Materializer mat;
    private final boolean publicPolicy;
    private final ForwardedHeaders forwarded;
    private final RateLimitGate limits;
    private final ActorRef<RouteCache.Command> routeCache;
    private final RouteCache.View routes;
    private final ActorRef<Exchanges.Command> exchanges;
    private final LocalSessions localSessions;
    /** Replies complete on the Exchanges actor's thread: answering runs on the dispatcher, in parallel. */
    private final Executor dispatcher;
    /** Bytes all public WebSockets of this node may hold while assembling messages from tunnel clients. */
    private final ByteBudget wsBudget;

    public PublicForwarder(ActorSystem<?> system, EdgeSettings settings, TunnelSharding tunnels, Router router,
                           ForwardedHeaders forwarded, RateLimitGate limits, LocalSessions localSessions,
                           ActorRef<RouteCache.Command> routeCache, RouteCache.View routes, ActorRef<Exchanges.Command> exchanges) {
        this.localSessions = localSessions;
        this.system = system;
        this.settings = settings;
        this.tunnels = tunnels;
        this.router = router;
        this.forwarded = forwarded;
        this.limits = limits;
        this.routeCache = routeCache;
        this.routes = routes;
        this.exchanges = exchanges;
        this.mat = Materializer.matFromSystem(system);
        this.publicPolicy = settings.publicPolicy();
        this.dispatcher = system.executionContext();
        this.wsBudget = new ByteBudget(settings.websocketBufferBytes());
    }

    public CompletionStage<HttpResponse> handle(HttpRequest request) {
        String host = header(request, "host").orElse(null);
        String rawTarget = header(request, "raw-request-uri").orElse(request.getUri().toRelative().toString());
        Router.Routed routed = router.route(host, rawTarget);
        if (routed == null) {
            return discard(request, of(404, PlainResponses.MISSING_NAME));
        }
        if (settings.isReserved(routed.name())) {
            return discard(request, of(404, PlainResponses.RESERVED_NAME));
        }
        if (!publicPolicy) {
            return dispatch(request, routed, host);
        }
        // Counted once the request names a valid, unreserved tunnel, before dispatch (a 503 still counts).
        return limits.request(forwarded.clientIp(request), routed.name()).thenComposeAsync(limited -> limited.isPresent()
                ? discard(request, limited.get())
                : dispatch(request, routed, host), Runnable::run);
    }

    private CompletionStage<HttpResponse> dispatch(HttpRequest request, Router.Routed routed, String host) {
        if (headChars(request) > Protocol.MAX_HEAD_BYTES) {
            // Its encoded head can only be longer: refuse it here, before any translation, session or actor work.
            return discard(request, of(431, PlainResponses.HEAD_TOO_LARGE));
        }
        TunnelEntity.Route cached = routes.get(routed.name());
        return cached != null ? forward(Exchange.of(this, request, routed, host), cached, true) : lookup(Exchange.of(this, request, routed, host));
    }

    /** Characters of the request's target and headers as received: a lower bound of its encoded tunnel head. */
    static long headChars(HttpRequest request) {
        long n = request.getUri().rawQueryString().map(String::length).orElse(0) + request.getUri().path().length();
        for (var h : request.getHeaders()) {
            n += h.name().length() + h.value().length();
        }
        return n;
    }

    /** Asks the tunnel entity where the session is, remembers it, forwards. */
    private CompletionStage<HttpResponse> lookup(Exchange x) {
        x.lookups++;
        return tunnels.entity(x.routed.name())
                .<TunnelEntity.LookupReply>ask(TunnelEntity.Lookup::new, settings.registryTimeout())
                .handleAsync((reply, error) -> {
                    if (reply instanceof TunnelEntity.Route route) {
                        routeCache.tell(new RouteCache.Put(x.routed.name(), route));
                        return forward(x, route, false);
                    }
                    if (error != null) {
                        if (x.lookups < 2) {
                            // A shard being moved (a node leaving or restarting) can hold one ask past the timeout: ask once more.
                            return lookup(x);
                        }
                        log.warn("lookup of tunnel {} failed: {}", x.routed.name(), error.toString());
                        return x.discard(of(503, PlainResponses.REGISTRY_UNAVAILABLE));
                    }
                    return x.discard(of(503, PlainResponses.NO_CLIENT));
                }, Runnable::run)
                .thenComposeAsync(r -> r, Runnable::run);
    }

    /** @param cached the route came from this node's cache: a session that is gone means look it up again */
    private CompletionStage<HttpResponse> forward(Exchange x, TunnelEntity.Route route, boolean cached) {
        SessionHandle local = localSessions.get(route.sessionId());
        if (local != null) {
            // The session's socket is on this node: straight into its stage, answered from its thread.
            CompletableFuture<HttpResponse> result = new CompletableFuture<>();
            local.forward(x.head, x.requestBody(true), reply -> {
                if (reply instanceof SessionCommands.Gone) {
                    retryOrFail(x, route, cached).whenCompleteAsync((r, e) -> complete(result, r, e), Runnable::run);
                } else {
                    result.complete(answer(x, reply));
                }
            });
            return result;
        }
        Body body = x.requestBody(route.session().path().address().hasLocalScope());
        return Exchanges.send(exchanges, route.session(), x.head, body)
                .thenComposeAsync(reply -> reply instanceof SessionCommands.Gone
                        ? retryOrFail(x, route, cached)
                        : CompletableFuture.completedFuture(answer(x, reply)), dispatcher);
    }

    private static void complete(CompletableFuture<HttpResponse> result, HttpResponse r, Throwable e) {
        if (e != null) {
            result.completeExceptionally(e);
        } else {
            result.complete(r);
        }
    }

    /**
     * The session did not touch the request: unless its body was streamed it is safe to send again.
     * Only a prompt answer (a replaced or closing session) is retried; a session found dead after a
     * long wait (its node crashed) answers 502 rather than keep the client waiting. A fresh lookup can
     * still name a session that is handing over (a drained node): a few tries.
     */
    private CompletionStage<HttpResponse> retryOrFail(Exchange x, TunnelEntity.Route route, boolean cached) {
        routeCache.tell(new RouteCache.Invalidate(x.routed.name(), route.sessionId()));
        if ((cached || x.lookups < 3) && x.replayable() && System.nanoTime() - x.started < RETRY_WITHIN_NANOS) {
            return lookup(x);
        }
        x.abandon();
        return CompletableFuture.completedFuture(Translation.fetchFailed());
    }

    private HttpResponse answer(Exchange x, SessionCommands.Reply reply) {
        if (reply instanceof SessionCommands.Failed f) {
            x.abandon();
            return of(f.status(), f.message());
        }
        var a = (SessionCommands.Answered) reply;
        if (log.isDebugEnabled()) {
            log.debug("{} {} {} -> {} in {} ms", x.routed.name(), x.head.method(), x.head.path(), a.status(),
                    (System.nanoTime() - x.started) / 1_000_000);
        }
        ByteString whole = a.body().strictBytes();
        Source<ByteString, ?> body = whole != null ? null : a.body().asSource();
        StatusCode status = Translation.publicStatus(a.status(), x.head.websocket());
        try {
            if (status != null && a.status() == 101) {
                return acceptWebSocket(x, a, body);
            }
            x.abandon();
            if (status == null) {
                cancel(body);
                return Translation.fetchFailed();
            }
            if ((a.status() == 204 || a.status() == 304)) {
                cancel(body);
                body = null;
            }
            String tunnelHost = router.folderRouting() ? null : router.tunnelHost(x.routed.name());
            return Translation.response(status, a.headers(), x.routed.name(), router.folderRouting(), publicPolicy, tunnelHost,
                    whole, body);
        } catch (RuntimeException e) {
            // Whatever the tunnel client sent, its stream must end (or it holds an in-flight slot) and the public client gets a plain 502.
            log.warn("tunnel {}: unusable response head: {}", x.routed.name(), e.toString());
            cancel(body);
            return Translation.fetchFailed();
        }
    }

    private HttpResponse acceptWebSocket(Exchange x, SessionCommands.Answered a, Source<ByteString, ?> fromSession) {
        String chosen = null;
        for (Header h : a.headers()) {
            if (h.name() != null && h.name().equalsIgnoreCase("sec-websocket-protocol") && h.value() != null) {
                chosen = h.value().trim();
            }
        }
        List<String> offered = new ArrayList<>();
        x.upgrade.get().getRequestedProtocols().forEach(offered::add);
        if (chosen != null && !offered.contains(chosen) || fromSession == null) {
            // The local service picked a subprotocol the public client never offered.
            cancel(fromSession);
            Source.single(WsFragments.close(1002, "invalid subprotocol")).runWith(x.hub.first(), mat);
            return Translation.fetchFailed();
        }
        return PublicSocket.accept(x.upgrade.get(), chosen, x.hub.first(), fromSession.mapMaterializedValue(m -> NotUsed.getInstance()),
                wsBudget, org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system), mat);
    }

    private void cancel(Source<ByteString, ?> body) {
        if (body != null) {
            body.runWith(Sink.cancelled(), mat);
        }
    }

    private CompletionStage<HttpResponse> discard(HttpRequest request, HttpResponse response) {
        request.discardEntityBytes(mat);
        return CompletableFuture.completedFuture(response);
    }

    private static Optional<String> header(HttpRequest r, String lowerName) {
        return r.getHeader(lowerName).map(HttpHeader::value);
    }

    /** One public request on its way through a session: what forwarding and answering it need. */
    private static final class Exchange {
        final PublicForwarder f;
        final HttpRequest request;
        final Router.Routed routed;
        final SessionCommands.RequestHead head;
        final long started = System.nanoTime();
        final Optional<WebSocketUpgrade> upgrade;
        /** A public WebSocket's messages toward the session (as fragments); null for HTTP. */
        final Pair<Sink<ByteString, NotUsed>, Source<ByteString, NotUsed>> hub;
        /** Set once the request body has been handed to a session as a stream: it cannot be sent twice. */
        boolean streamed;
        /** Lookups at the tunnel entity made for this request (bounded retries). */
        int lookups;

        private Exchange(PublicForwarder f, HttpRequest request, Router.Routed routed, SessionCommands.RequestHead head,
                         Optional<WebSocketUpgrade> upgrade, Pair<Sink<ByteString, NotUsed>, Source<ByteString, NotUsed>> hub) {
            this.f = f;
            this.request = request;
            this.routed = routed;
            this.head = head;
            this.upgrade = upgrade;
            this.hub = hub;
        }

        static Exchange of(PublicForwarder f, HttpRequest request, Router.Routed routed, String host) {
            var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
            boolean websocket = upgrade.isPresent();
            String scheme = f.forwarded.scheme(request);
            HttpEntity entity = request.entity();
            var peer = ForwardedHeaders.peer(request);
            List<Header> headers = Translation.requestHeaders(request, entity, host, scheme, websocket,
                    () -> f.forwarded.clientIp(request), f.forwarded.isTrustedProxy(peer), xff -> f.forwarded.forwardedFor(request, xff));
            var hub = websocket ? PublicSocket.inboundHub(f.mat) : null;
            if (websocket) {
                entity.discardBytes(f.mat);
            }
            // Public policy caps in-flight requests per tunnel and per client IP within it (the session counts).
            String clientIp = f.publicPolicy ? f.forwarded.clientIp(request) : null;
            return new Exchange(f, request, routed,
                    new SessionCommands.RequestHead(request.method().value(), routed.path(), headers, websocket, clientIp), upgrade, hub);
        }

        /** The body in the form the session can take: inline when small and already here, else a stream (a ref across nodes). */
        Body requestBody(boolean localSession) {
            if (hub != null) {
                streamed = true;
                return localSession ? new Body.Streamed(hub.second()) : new Body.Ref(hub.second().runWith(StreamRefs.sourceRef(), f.mat));
            }
            HttpEntity entity = request.entity();
            if (entity.isKnownEmpty()) {
                return Body.EMPTY;
            }
            if (entity instanceof HttpEntity.Strict strict) {
                // Already here whole: the session sends it with the head (no stream run), a small one inline to another node.
                if (localSession && strict.getData().size() <= f.settings.window()) {
                    return new Body.Strict(strict.getData());
                }
                if (!localSession && strict.getData().size() <= Protocol.INLINE_BODY_MAX) {
                    return new Body.Inline(strict.getData().toArray());
                }
            }
            streamed = true;
            Source<ByteString, ?> bytes = entity.getDataBytes();
            return localSession ? new Body.Streamed(bytes)
                    : new Body.Ref(bytes.mapConcat(TunnelSession::rechunk).runWith(StreamRefs.sourceRef(), f.mat));
        }

        /** Whether the request can be sent to another session after a {@code Gone}. */
        boolean replayable() {
            return !streamed;
        }

        /** The exchange ends without a WebSocket: let the hub's session side end. */
        void abandon() {
            if (hub != null) {
                Source.<ByteString>empty().runWith(hub.first(), f.mat);
            }
        }

        CompletionStage<HttpResponse> discard(HttpResponse response) {
            abandon();
            return f.discard(request, response);
        }
    }
}
