package dev.captun.edge.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;

/**
 * This node's operational figures (SPEC §8), scraped as Prometheus text from the management port's
 * {@code /metrics}. One registry per actor system (a Pekko extension), so several nodes in one JVM
 * (tests) keep their own. Meters are thread-safe; recording never blocks.
 */
public final class GatewayMetrics implements Extension {

    public static final Id ID = new Id();

    public static final class Id extends AbstractExtensionId<GatewayMetrics> implements ExtensionIdProvider {
        @Override
        public GatewayMetrics createExtension(ExtendedActorSystem system) {
            GatewayMetrics m = new GatewayMetrics();
            system.registerOnTermination(m.gc::close); // the GC binder holds JMX listeners
            return m;
        }

        @Override
        public Id lookup() {
            return ID;
        }
    }

    public static GatewayMetrics get(ActorSystem system) {
        return ID.get(system);
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger activeTunnels = new AtomicInteger();
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> timers = new ConcurrentHashMap<>();
    private final Counter bytesToClient;
    private final Counter bytesFromClient;
    private final JvmGcMetrics gc = new JvmGcMetrics();

    private GatewayMetrics() {
        // What an operator expects from any JVM service: memory, GC, threads, CPU, uptime, and the build.
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        // An Info metric straight in the Prometheus registry: Micrometer strips the conventional _info suffix from gauges.
        io.prometheus.metrics.core.metrics.Info.builder().name("captun_build_info").help("The running build (value 1)")
                .labelNames("version", "java").register(registry.getPrometheusRegistry())
                .setLabelValues(buildVersion(), Runtime.version().toString());
        Gauge.builder("captun_tunnels_active", activeTunnels, AtomicInteger::get)
                .description("Tunnel client sessions attached to this node").register(registry);
        bytesToClient = Counter.builder("captun_tunnel_bytes").tag("direction", "to_client")
                .description("Body and WebSocket payload bytes sent to tunnel clients").register(registry);
        bytesFromClient = Counter.builder("captun_tunnel_bytes").tag("direction", "from_client")
                .description("Body and WebSocket payload bytes received from tunnel clients").register(registry);
    }

    public void tunnelAttached() {
        activeTunnels.incrementAndGet();
    }

    public void tunnelDetached() {
        activeTunnels.decrementAndGet();
    }

    public void bytesToClient(int n) {
        bytesToClient.increment(n);
    }

    public void bytesFromClient(int n) {
        bytesFromClient.increment(n);
    }

    /** A public request answered (status of the response head) and how long the head took. */
    public void request(int status, Duration headLatency) {
        counter("captun_requests", "status", Integer.toString(status), "Public requests by response status").increment();
        timers.computeIfAbsent("latency", k -> Timer.builder("captun_request_duration")
                .description("Time from a public request to its response head")
                .publishPercentileHistogram()
                .register(registry)).record(headLatency);
    }

    /** A rate-limit decision: allowed, limited, unavailable (failed closed) or open (failed open). */
    public void rateLimit(String kind, String outcome) {
        counter("captun_rate_limit_decisions", "kind", kind, "outcome", outcome, "Rate-limit decisions").increment();
    }

    /** A connect's admission outcome: admitted, or the rejection status. */
    public void admission(String outcome) {
        counter("captun_admissions", "outcome", outcome, "Tunnel connect admission outcomes").increment();
    }

    private Counter counter(String name, String k1, String v1, String description) {
        return counters.computeIfAbsent(name + '|' + v1, k -> Counter.builder(name).tag(k1, v1).description(description).register(registry));
    }

    private Counter counter(String name, String k1, String v1, String k2, String v2, String description) {
        return counters.computeIfAbsent(name + '|' + v1 + '|' + v2,
                k -> Counter.builder(name).tag(k1, v1).tag(k2, v2).description(description).register(registry));
    }

    /** This build's version (build.properties, filtered by the http-edge pom), or "unknown". */
    public static String buildVersion() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = GatewayMetrics.class.getResourceAsStream("build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (java.io.IOException e) {
            // "unknown" below: a metric label must never stop the node
        }
        return p.getProperty("version", "unknown");
    }

    /** Prometheus text exposition format. */
    public String scrape() {
        return registry.scrape();
    }
}
