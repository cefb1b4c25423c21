package dev.captun.edge.forward;

import dev.captun.tunnel.TunnelEntity;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * This node's memory of where live sessions are (SPEC §1, "better still"): forwarding does not
 * need the tunnel entity on every request, so a tunnel keeps serving while its entity is being
 * moved after a crash. A route is dropped when its session ends (death watch, also across nodes)
 * or when the session answers that it is going away (replaced, closing).
 *
 * <p>The actor is the map's only writer; forwarding reads it directly (a lookup per request must
 * not cost an ask). Readers may briefly see a route whose session just ended: the session answers
 * {@code Gone} and the forwarder looks the tunnel up again.
 */
public final class RouteCache {
    private RouteCache() {}

    public sealed interface Command {}

    public record Put(String name, TunnelEntity.Route route) implements Command {}

    /** Drop {@code name}'s route if it still points at {@code sessionId}. */
    public record Invalidate(String name, String sessionId) implements Command {}

    private record SessionEnded(String name, String sessionId) implements Command {}

    /** A cluster member became unreachable or left: its sessions are not to be trusted any more. */
    private record NodeLost(Address address) implements Command {}

    /** Routes by tunnel name, written only by the cache actor. */
    public static final class View {
        private final ConcurrentHashMap<String, TunnelEntity.Route> routes = new ConcurrentHashMap<>();

        public TunnelEntity.Route get(String name) {
            return routes.get(name);
        }
    }

    public static Behavior<Command> create(View view) {
        return Behaviors.setup(ctx -> {
            Map<String, TunnelEntity.Route> routes = view.routes;
            // Death watch only fires once a crashed node is removed (seconds later); unreachability
            // comes first, so new requests stop going to its sessions and ask the entity instead.
            var subscriptions = Cluster.get(ctx.getSystem()).subscriptions();
            subscriptions.tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                    e -> new NodeLost(e.member().address())), ClusterEvent.UnreachableMember.class));
            subscriptions.tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                    e -> new NodeLost(e.member().address())), ClusterEvent.MemberRemoved.class));
            return Behaviors.receive(Command.class)
                    .onMessage(Put.class, m -> {
                        TunnelEntity.Route old = routes.get(m.name());
                        if (old == null || !old.sessionId().equals(m.route().sessionId())) {
                            if (old != null) {
                                ctx.unwatch(old.session());
                            }
                            routes.put(m.name(), m.route());
                            ctx.watchWith(m.route().session(), new SessionEnded(m.name(), m.route().sessionId()));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Invalidate.class, m -> drop(ctx, routes, m.name(), m.sessionId()))
                    .onMessage(SessionEnded.class, m -> drop(ctx, routes, m.name(), m.sessionId()))
                    .onMessage(NodeLost.class, m -> {
                        routes.values().removeIf(r -> {
                            boolean lost = m.address().equals(r.session().path().address());
                            if (lost) {
                                ctx.unwatch(r.session());
                            }
                            return lost;
                        });
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    private static Behavior<Command> drop(ActorContext<Command> ctx, Map<String, TunnelEntity.Route> routes, String name, String sessionId) {
        TunnelEntity.Route r = routes.get(name);
        if (r != null && r.sessionId().equals(sessionId)) {
            ctx.unwatch(r.session());
            routes.remove(name);
        }
        return Behaviors.same();
    }
}
