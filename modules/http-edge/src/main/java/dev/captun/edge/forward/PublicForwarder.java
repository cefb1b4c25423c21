package dev.captun.edge.forward;

import static dev.captun.edge.routing.PlainResponses.of;

import dev.captun.edge.node.EdgeSettings;
import dev.captun.edge.ratelimit.RateLimitGate;
import dev.captun.edge.routing.HeaderRules;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.routing.Router;
import dev.captun.edge.session.SessionCommands;
import dev.captun.edge.session.SessionCommands.ForwardReply;
import dev.captun.protocol.Header;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.TunnelSharding;
import dev.captun.tunnel.admission.AdmissionPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A public request → its tunnel (SPEC §5): route, look up the session, stream both ways. */
public final class PublicForwarder {
    private static final Logger log = LoggerFactory.getLogger(PublicForwarder.class);

    /** Headers Pekko HTTP synthesizes or models outside the header list. */
    private static final java.util.Set<String> NOT_FORWARDED = java.util.Set.of(
            "raw-request-uri", "timeout-access", "remote-address", "tls-session-info",
            "content-type", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
            "x-captun-tunnel-url");

    private final ActorSystem<?> system;
    private final EdgeSettings settings;
    private final TunnelSharding tunnels;
    private final Router router;
    private final Materializer mat;
    private final boolean publicPolicy;
    private final ForwardedHeaders forwarded;
    private final RateLimitGate limits;
    private static final long RETRY_WITHIN_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    private final ActorRef<RouteCache.Command> routes;

    public PublicForwarder(ActorSystem<?> system, EdgeSettings settings, TunnelSharding tunnels, Router router,
                           ForwardedHeaders forwarded, RateLimitGate limits, ActorRef<RouteCache.Command> routes) {
        this.limits = limits;
        this.routes = routes;
        this.system = system;
        this.settings = settings;
        this.tunnels = tunnels;
        this.router = router;
        this.forwarded = forwarded;
        this.mat = Materializer.matFromSystem(system);
        this.publicPolicy = settings.policy() == AdmissionPolicy.Mode.PUBLIC;
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
        // Counted once the request names a valid, unreserved tunnel, before dispatch (a 503 still counts).
        return limits.request(forwarded.clientIp(request), routed.name()).thenComposeAsync(limited -> limited.isPresent()
                ? discard(request, limited.get())
                : dispatch(request, routed, host), Runnable::run);
    }

    private CompletionStage<HttpResponse> dispatch(HttpRequest request, Router.Routed routed, String host) {
        return AskPattern.<RouteCache.Command, Optional<TunnelEntity.Route>>ask(routes,
                        replyTo -> new RouteCache.Get(routed.name(), replyTo), settings.registryTimeout(), system.scheduler())
                // A cache that does not answer is no reason to fail the request: ask the entity.
                .handleAsync((cached, error) -> error == null && cached.isPresent()
                        ? forward(request, routed, host, cached.get(), true)
                        : lookup(request, routed, host), Runnable::run)
                .thenComposeAsync(r -> r, Runnable::run);
    }

    /** Asks the tunnel entity where the session is, remembers it, forwards. */
    private CompletionStage<HttpResponse> lookup(HttpRequest request, Router.Routed routed, String host) {
        return tunnels.entity(routed.name())
                .<TunnelEntity.LookupReply>ask(TunnelEntity.Lookup::new, settings.registryTimeout())
                .handleAsync((reply, error) -> {
                    if (reply instanceof TunnelEntity.Route route) {
                        routes.tell(new RouteCache.Put(routed.name(), route));
                        return forward(request, routed, host, route, false);
                    }
                    if (error != null) {
                        log.warn("lookup of tunnel {} failed: {}", routed.name(), error.toString());
                        return discard(request, of(503, PlainResponses.REGISTRY_UNAVAILABLE));
                    }
                    return discard(request, of(503, PlainResponses.NO_CLIENT));
                }, Runnable::run)
                .thenComposeAsync(r -> r, Runnable::run);
    }

    /** @param cached the route came from this node's cache: a session that is gone means look it up again */
    private CompletionStage<HttpResponse> forward(HttpRequest request, Router.Routed routed, String host, TunnelEntity.Route route,
                                                  boolean cached) {
        var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        boolean websocket = upgrade.isPresent();
        String scheme = forwarded.scheme(request);
        String tunnelUrl = router.publicUrl(scheme, host, routed.name());
        HttpEntity entity = request.entity();
        List<Header> headers = requestHeaders(request, entity, host, scheme, tunnelUrl, websocket);
        // A public WebSocket's "request body" is its stream of messages, as fragments (see PublicSocket).
        var hub = websocket ? PublicSocket.inboundHub(mat) : null;
        Source<ByteString, ?> body;
        if (websocket) {
            entity.discardBytes(mat);
            body = hub.second();
        } else {
            body = entity.getDataBytes();
        }
        var head = new SessionCommands.RequestHead(request.method().value(), routed.path(), headers,
                websocket || !entity.isKnownEmpty(), websocket);
        long started = System.nanoTime();
        // The session enforces the request timeout (504); the ask only guards against a session that vanished.
        java.time.Duration askTimeout = settings.requestTimeout().plusSeconds(5);
        CompletionStage<ForwardReply> reply = route.session().path().address().hasLocalScope()
                ? AskPattern.ask(route.session(),
                        replyTo -> new SessionCommands.Forward(head, body, replyTo), askTimeout, system.scheduler())
                : forwardRemote(route, head, body, askTimeout);
        return reply.handleAsync((r, error) -> {
            if (r instanceof SessionCommands.SessionGone) {
                routes.tell(new RouteCache.Invalidate(routed.name(), route.sessionId()));
                // The session did not touch the request: without a body it is safe to send again. Only a
                // prompt answer (a replaced or closing session) is retried; a session found dead after a
                // long wait (its node crashed) answers 502 rather than keep the client waiting longer.
                if (cached && !head.hasBody() && System.nanoTime() - started < RETRY_WITHIN_NANOS) {
                    return lookup(request, routed, host);
                }
                return CompletableFuture.completedFuture(of(502, PlainResponses.FETCH_FAILED));
            }
            return CompletableFuture.completedFuture(respond(r, error, new Exchange(routed, host, head, started, upgrade, hub)));
        }, Runnable::run).thenComposeAsync(x -> x, Runnable::run);
    }

    /** One public request on its way through a session: what answering it needs. */
    private record Exchange(Router.Routed routed, String host, SessionCommands.RequestHead head, long started,
                            Optional<WebSocketUpgrade> upgrade, Pair<Sink<ByteString, NotUsed>, Source<ByteString, NotUsed>> hub) {}

    private HttpResponse respond(ForwardReply r, Throwable error, Exchange x) {
        if (error != null) {
            return of(504, PlainResponses.TIMED_OUT);
        }
        if (r instanceof SessionCommands.ForwardFailed f) {
            return of(f.status(), f.message());
        }
        var rh = (SessionCommands.ResponseHead) r;
        if (log.isDebugEnabled()) {
            log.debug("{} {} {} -> {} in {} ms", x.routed().name(), x.head().method(), x.head().path(), rh.status(),
                    (System.nanoTime() - x.started()) / 1_000_000);
        }
        if (x.head().websocket() && rh.status() == 101) {
            return acceptWebSocket(x.upgrade().get(), rh, x.hub().first());
        }
        if (x.hub() != null) {
            Source.<ByteString>empty().runWith(x.hub().first(), mat); // never opened: let the session's side end
        }
        return toResponse(rh, x.routed().name(), x.host());
    }

    private HttpResponse acceptWebSocket(WebSocketUpgrade upgrade, SessionCommands.ResponseHead rh, Sink<ByteString, NotUsed> toSession) {
        String chosen = null;
        for (Header h : rh.headers()) {
            if (h.name().equalsIgnoreCase("sec-websocket-protocol")) {
                chosen = h.value().trim();
            }
        }
        List<String> offered = new ArrayList<>();
        upgrade.getRequestedProtocols().forEach(offered::add);
        if (chosen != null && !offered.contains(chosen)) {
            // The local service picked a subprotocol the public client never offered.
            if (rh.body() != null) {
                rh.body().runWith(Sink.cancelled(), mat);
            }
            Source.single(dev.captun.edge.session.WsFragments.close(1002, "invalid subprotocol")).runWith(toSession, mat);
            return of(502, PlainResponses.FETCH_FAILED);
        }
        return PublicSocket.accept(upgrade, chosen, toSession, rh.body(), org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system), mat);
    }

    /** The session is on another node: bodies go as stream refs of at most 64 KiB chunks. */
    private CompletionStage<ForwardReply> forwardRemote(TunnelEntity.Route route, SessionCommands.RequestHead head,
                                                        Source<ByteString, ?> source, java.time.Duration askTimeout) {
        SourceRef<ByteString> body = null;
        if (head.websocket()) {
            body = source.runWith(StreamRefs.sourceRef(), mat); // fragments are already at most 64 KiB + 2
        } else if (head.hasBody()) {
            body = source.mapConcat(PublicForwarder::rechunk).runWith(StreamRefs.sourceRef(), mat);
        } else {
            source.runWith(Sink.ignore(), mat);
        }
        SourceRef<ByteString> requestBody = body;
        CompletableFuture<SessionCommands.RemoteReply> reply = new CompletableFuture<>();
        system.systemActorOf(RemoteReplyWatch.create(route.session(),
                        replyTo -> new SessionCommands.RemoteForward(head, requestBody, replyTo), reply, askTimeout),
                "forward-" + java.util.UUID.randomUUID(), org.apache.pekko.actor.typed.Props.empty());
        return reply.thenApplyAsync(r -> r instanceof SessionCommands.RemoteResponseHead h
                ? new SessionCommands.ResponseHead(h.status(), h.headers(), h.body() == null ? null : h.body().getSource())
                : r instanceof SessionCommands.RemoteFailed f ? new SessionCommands.ForwardFailed(f.status(), f.message())
                : new SessionCommands.SessionGone(),
                Runnable::run);
    }

    static List<ByteString> rechunk(ByteString chunk) {
        int max = dev.captun.protocol.Protocol.MAX_DATA_PAYLOAD;
        if (chunk.size() <= max) {
            return List.of(chunk);
        }
        List<ByteString> out = new ArrayList<>();
        for (int i = 0; i < chunk.size(); i += max) {
            out.add(chunk.slice(i, Math.min(chunk.size(), i + max)));
        }
        return out;
    }

    /** WebSocket handshake headers are regenerated on the local side, never copied (SPEC §5). */
    private static final java.util.Set<String> HANDSHAKE = java.util.Set.of(
            "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept");

    private List<Header> requestHeaders(HttpRequest request, HttpEntity entity, String host, String scheme, String tunnelUrl, boolean websocket) {
        List<Header> in = new ArrayList<>();
        String incomingXff = null;
        for (HttpHeader h : request.getHeaders()) {
            String n = h.lowercaseName();
            if (n.equals("x-forwarded-for")) {
                incomingXff = incomingXff == null ? h.value() : incomingXff + ", " + h.value();
            }
            if (!NOT_FORWARDED.contains(n) && !(websocket && HANDSHAKE.contains(n))) {
                in.add(new Header(h.name(), h.value()));
            }
        }
        List<Header> out = HeaderRules.stripHopByHop(in);
        if (!entity.getContentType().equals(ContentTypes.NO_CONTENT_TYPE)) {
            out.add(new Header("content-type", entity.getContentType().toString()));
        }
        if (entity.getContentLengthOption().isPresent() && !entity.isKnownEmpty()) {
            out.add(new Header("content-length", Long.toString(entity.getContentLengthOption().getAsLong())));
        }
        out.add(new Header("x-forwarded-for", forwarded.forwardedFor(request, incomingXff)));
        out.add(new Header("x-forwarded-proto", scheme));
        if (host != null) {
            out.add(new Header("x-forwarded-host", host));
        }
        out.add(new Header("x-captun-tunnel-url", tunnelUrl));
        return out;
    }

    private HttpResponse toResponse(SessionCommands.ResponseHead rh, String name, String host) {
        StatusCode status;
        try {
            status = StatusCodes.get(rh.status());
        } catch (RuntimeException e) {
            status = null;
        }
        if (status == null || rh.status() < 200 && rh.status() != 101) {
            if (rh.body() != null) {
                rh.body().runWith(Sink.cancelled(), mat);
            }
            return of(502, PlainResponses.FETCH_FAILED);
        }
        String tunnelHost = router.folderRouting() ? null : router.tunnelHost(name);
        List<Header> headers = HeaderRules.rewriteResponse(rh.headers(), name, router.folderRouting(), publicPolicy, tunnelHost);
        ContentType contentType = ContentTypes.APPLICATION_OCTET_STREAM;
        boolean hasContentType = false;
        Long contentLength = null;
        List<HttpHeader> out = new ArrayList<>(headers.size());
        for (Header h : headers) {
            String n = h.name().toLowerCase(Locale.ROOT);
            if (n.equals("content-type")) {
                try {
                    contentType = ContentTypes.parse(h.value());
                    hasContentType = true;
                } catch (RuntimeException e) {
                    // unparseable: keep the octet-stream default rather than fail the response
                }
            } else if (n.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(h.value().trim());
                } catch (NumberFormatException e) {
                    // ignore a broken length: the body is streamed chunked instead
                }
            } else if (n.equals("date") || n.equals("server")) {
                // Pekko renders Date and Server only from their model classes (raw ones are dropped with a
                // warning per response).
                try {
                    out.add(HttpHeader.parse(h.name(), h.value()));
                } catch (RuntimeException unparseable) {
                    // Pekko adds its own
                }
            } else {
                out.add(RawHeader.create(h.name(), h.value()));
            }
        }
        HttpEntity.Strict empty = hasContentType ? HttpEntities.create(contentType, new byte[0]) : HttpEntities.EMPTY;
        HttpResponse response = HttpResponse.create().withStatus(status).addHeaders(out);
        boolean bodiless = rh.status() == 204 || rh.status() == 304;
        if (rh.body() == null || bodiless) {
            if (rh.body() != null) {
                rh.body().runWith(Sink.cancelled(), mat);
            }
            return response.withEntity(empty);
        }
        if (contentLength != null && contentLength >= 0) {
            return response.withEntity(HttpEntities.create(contentType, contentLength, rh.body()));
        }
        return response.withEntity(HttpEntities.createChunked(contentType, rh.body()));
    }

    private CompletionStage<HttpResponse> discard(HttpRequest request, HttpResponse response) {
        request.discardEntityBytes(mat);
        return CompletableFuture.completedFuture(response);
    }

    private static Optional<String> header(HttpRequest r, String lowerName) {
        return r.getHeader(lowerName).map(HttpHeader::value);
    }
}
