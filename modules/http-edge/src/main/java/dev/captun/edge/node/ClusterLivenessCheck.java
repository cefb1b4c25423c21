package dev.captun.edge.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.MemberStatus;

/**
 * Pekko Management liveness check ({@code /alive}): a node is alive until the cluster has downed
 * or removed it (a downed node never rejoins; it shuts down and must be restarted). A node that is
 * still joining counts as alive — it is working on it; {@code /ready} says when it can take traffic.
 * Registered under {@code pekko.management.health-checks.liveness-checks} in conf/application.conf.
 */
public final class ClusterLivenessCheck implements Supplier<CompletionStage<Boolean>> {
    private final Cluster cluster;

    public ClusterLivenessCheck(ActorSystem system) {
        this.cluster = Cluster.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        MemberStatus status = cluster.selfMember().status();
        boolean gone = status == MemberStatus.down() || status == MemberStatus.removed() || cluster.isTerminated();
        return CompletableFuture.completedFuture(!gone);
    }
}
