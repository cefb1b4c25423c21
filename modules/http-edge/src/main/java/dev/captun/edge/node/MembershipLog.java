package dev.captun.edge.node;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One INFO line per cluster membership change that matters to an operator (a member up, unreachable,
 * reachable again, removed). Pekko's own cluster logging is at WARN by default (conf/logback.xml):
 * its INFO is thirty lines of start-up chatter per node, and these four events are what is left
 * worth reading from it.
 */
final class MembershipLog {
    private static final Logger log = LoggerFactory.getLogger(MembershipLog.class);

    private MembershipLog() {}

    static Behavior<ClusterEvent.ClusterDomainEvent> create() {
        return Behaviors.setup(ctx -> {
            // Only the two kinds it logs: leader, role-leader and gossip-convergence events never reach it.
            var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
            subscriptions.tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
            subscriptions.tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
            return Behaviors.receiveMessage(e -> {
                if (e instanceof ClusterEvent.MemberUp up) {
                    log.info("cluster member up: {}", up.member().address());
                } else if (e instanceof ClusterEvent.UnreachableMember u) {
                    log.info("cluster member unreachable: {}", u.member().address());
                } else if (e instanceof ClusterEvent.ReachableMember r) {
                    log.info("cluster member reachable again: {}", r.member().address());
                } else if (e instanceof ClusterEvent.MemberRemoved r) {
                    log.info("cluster member removed: {} (was {})", r.member().address(), r.previousStatus());
                }
                return Behaviors.same();
            });
        });
    }
}
