package dev.captun.edge.drain;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;

/**
 * Pekko Management readiness check ({@code /ready}): fails from the moment the node starts
 * draining, so a load balancer polling {@code /ready} stops sending it new requests while it still
 * serves them. Registered under {@code pekko.management.health-checks.readiness-checks}.
 */
public final class DrainReadinessCheck implements Supplier<CompletionStage<Boolean>> {
    private final DrainState state;

    public DrainReadinessCheck(ActorSystem system) {
        this.state = DrainState.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        return CompletableFuture.completedFuture(!state.isDraining());
    }
}
