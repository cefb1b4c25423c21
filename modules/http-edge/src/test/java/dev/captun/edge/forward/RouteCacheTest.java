package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class RouteCacheTest {
    // The cache follows cluster reachability, so it needs a (single-node) cluster provider.
    private static final ActorTestKit testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString(
            "pekko.actor.provider = cluster\npekko.remote.artery.canonical.hostname = 127.0.0.1\npekko.remote.artery.canonical.port = 0"));

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    private Optional<TunnelEntity.Route> get(org.apache.pekko.actor.typed.ActorRef<RouteCache.Command> cache, String name) {
        TestProbe<Optional<TunnelEntity.Route>> reply = testKit.createTestProbe();
        cache.tell(new RouteCache.Get(name, reply.getRef()));
        return reply.receiveMessage();
    }

    @Test
    void remembersRoutesUntilTheSessionEndsOrIsInvalidated() {
        var cache = testKit.spawn(RouteCache.create());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        assertEquals(Optional.empty(), get(cache, "demo"));
        var r1 = new TunnelEntity.Route("s1", s1.getRef());
        cache.tell(new RouteCache.Put("demo", r1));
        assertEquals(Optional.of(r1), get(cache, "demo"));

        cache.tell(new RouteCache.Invalidate("demo", "other-session")); // stale invalidation: ignored
        assertEquals(Optional.of(r1), get(cache, "demo"));
        cache.tell(new RouteCache.Invalidate("demo", "s1"));
        assertEquals(Optional.empty(), get(cache, "demo"));

        var r2 = new TunnelEntity.Route("s2", s2.getRef());
        cache.tell(new RouteCache.Put("demo", r2));
        assertEquals(Optional.of(r2), get(cache, "demo"));
        s2.stop(); // the session ends: the route goes with it
        TestProbe<Optional<TunnelEntity.Route>> reply = testKit.createTestProbe();
        reply.awaitAssert(() -> {
            cache.tell(new RouteCache.Get("demo", reply.getRef()));
            assertEquals(Optional.empty(), reply.receiveMessage());
            return null;
        });
    }

    @Test
    void aNewerSessionReplacesTheRoute() {
        var cache = testKit.spawn(RouteCache.create());
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        cache.tell(new RouteCache.Put("demo", new TunnelEntity.Route("s1", s1.getRef())));
        var r2 = new TunnelEntity.Route("s2", s2.getRef());
        cache.tell(new RouteCache.Put("demo", r2));
        s1.stop(); // the old session's end must not drop the new route
        assertEquals(Optional.of(r2), get(cache, "demo"));
    }
}
