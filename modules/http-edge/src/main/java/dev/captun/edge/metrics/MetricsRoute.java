package dev.captun.edge.metrics;

import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/** {@code GET /metrics} on the management port (never on the public port, where every path belongs to tunnels). */
public final class MetricsRoute extends AllDirectives implements ManagementRouteProvider {
    private final GatewayMetrics metrics;

    public MetricsRoute(ExtendedActorSystem system) {
        this.metrics = GatewayMetrics.get(system);
    }

    @Override
    public Route routes(ManagementRouteProviderSettings settings) {
        return path("metrics", () -> get(() -> complete(
                HttpEntities.create(ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8"),
                        metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
    }
}
