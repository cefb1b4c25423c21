package dev.captun.edge.ratelimit;

import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.routing.PlainResponses;
import dev.captun.ratelimit.RateLimiter;
import dev.captun.ratelimit.RateLimiterClient;
import dev.captun.ratelimit.RateLimiterClient.Bucket;
import dev.captun.ratelimit.RateLimiterSharding;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the edge applies SPEC §6: which buckets a connect or a request is charged to, and what
 * the public client gets when one rejects (429) or the limiter does not answer (503, or pass
 * when {@code HOSTED_RATE_LIMIT_DISABLED=1}). Limits apply in public policy only.
 * An empty result means "go on".
 */
public final class RateLimitGate {
    private static final Logger log = LoggerFactory.getLogger(RateLimitGate.class);
    private static final CompletionStage<Optional<HttpResponse>> PASS = CompletableFuture.completedFuture(Optional.empty());
    /** Stands for "every bucket allowed it" (the lease path does not report the slots left). */
    private static final RateLimiter.Decision ALLOWED = new RateLimiter.Allowed(0, 0, dev.captun.ratelimit.FixedWindow.NO_WINDOW, 0);

    private final RateLimitSettings settings;
    private final RateLimiterClient limiter;
    private final dev.captun.ratelimit.LeasedLimiter requests;
    private final boolean enabled;
    private final GatewayMetrics metrics;

    /** @param enabled false in trusted policy: nothing is counted */
    public RateLimitGate(RateLimitSettings settings, RateLimiterClient limiter, dev.captun.ratelimit.LeasedLimiter requests,
                         boolean enabled, GatewayMetrics metrics) {
        this.requests = requests;
        this.metrics = metrics;
        this.settings = settings;
        this.limiter = limiter;
        this.enabled = enabled;
    }

    /**
     * A connect attempt (charged to the connect bucket), or a diagnostic probe of one: charged to the
     * probe bucket of its own, then a read-only look at the connect bucket (a probe never spends a
     * connect slot, SPEC §3, but it is not free either: each costs a tunnel-entity round trip).
     */
    public CompletionStage<Optional<HttpResponse>> connect(String clientIp, boolean diagnostic) {
        if (!enabled) {
            return PASS;
        }
        Bucket bucket = new Bucket(RateLimiterSharding.connectIpKey(clientIp), settings.connectsPerIp(), settings.window());
        if (!diagnostic) {
            return decide(limiter.check(List.of(bucket)), "connect");
        }
        Bucket probes = new Bucket(RateLimiterSharding.probeIpKey(clientIp), settings.probesPerIp(), settings.window());
        // From leases like requests: a probe flood past its budget is answered on this node without a round trip.
        return decide(leased(List.of(probes)), "probe").thenComposeAsync(limited -> limited.isPresent()
                ? CompletableFuture.completedFuture(limited)
                : decide(limiter.diagnose(bucket), "diagnostic"), Runnable::run);
    }

    /** A public request to a valid tunnel name: charged to the client IP and the tunnel, or to neither. */
    public CompletionStage<Optional<HttpResponse>> request(String clientIp, String tunnelName) {
        if (!enabled) {
            return PASS;
        }
        // Requests are charged from hits this node leased in batches (exact for small limits): no round trip per request.
        return decide(leased(List.of(
                new Bucket(RateLimiterSharding.requestTunnelKey(tunnelName), settings.requestsPerTunnel(), settings.window()),
                new Bucket(RateLimiterSharding.requestIpKey(clientIp), settings.requestsPerIp(), settings.window()))), "request");
    }

    /** One hit to every bucket or none, from this node's leases, as a decision. */
    private CompletableFuture<RateLimiter.Decision> leased(List<Bucket> buckets) {
        return requests.check(buckets).thenApplyAsync(rejected -> rejected != null ? rejected : ALLOWED, Runnable::run);
    }

    private CompletionStage<Optional<HttpResponse>> decide(CompletableFuture<RateLimiter.Decision> decision, String what) {
        // The client's futures complete on the reply thread, never the common pool: cheap chaining is fine.
        return decision.handleAsync((d, error) -> {
            if (error != null) {
                if (settings.disabled()) {
                    metrics.rateLimit(what, "open");
                    return Optional.empty();
                }
                log.warn("rate limiter did not answer a {} check: {}; failing closed", what, error.toString());
                metrics.rateLimit(what, "unavailable");
                return Optional.of(toHttp(RateLimitResponses.unavailable()));
            }
            if (d instanceof RateLimiter.Rejected r) {
                metrics.rateLimit(what, "limited");
                return Optional.of(toHttp(RateLimitResponses.limited(r.retryAfterSeconds(), r.limit())));
            }
            metrics.rateLimit(what, "allowed");
            return Optional.empty();
        }, Runnable::run);
    }

    static HttpResponse toHttp(RateLimitResponses.Response r) {
        HttpResponse response = PlainResponses.of(r.status(), r.body().substring(0, r.body().length() - 1));
        for (RateLimitResponses.Header h : r.headers()) {
            if (!h.name().equalsIgnoreCase("cache-control")) {
                response = response.addHeader(RawHeader.create(h.name(), h.value()));
            }
        }
        return response;
    }
}
