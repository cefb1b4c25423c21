package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
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

    private int markers;

    /** The cache handles messages in order: once a marker route is visible, everything told before it was applied. */
    private void settle(ActorRef<RouteCache.Command> cache, RouteCache.View view) {
        TestProbe<SessionMessage> p = testKit.createTestProbe();
        String marker = "marker-" + (++markers);
        cache.tell(new RouteCache.Put(marker, new TunnelEntity.Route(marker, p.getRef())));
        p.awaitAssert(() -> {
            assertNotNull(view.get(marker));
            return null;
        });
    }

    @Test
    void remembersRoutesUntilTheSessionEndsOrIsInvalidated() {
        var view = new RouteCache.View();
        var cache = testKit.spawn(RouteCache.create(view));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        assertNull(view.get("demo"));
        var r1 = new TunnelEntity.Route("s1", s1.getRef());
        cache.tell(new RouteCache.Put("demo", r1));
        settle(cache, view);
        assertEquals(r1, view.get("demo"));

        cache.tell(new RouteCache.Invalidate("demo", "other-session")); // stale invalidation: ignored
        settle(cache, view);
        assertEquals(r1, view.get("demo"));
        cache.tell(new RouteCache.Invalidate("demo", "s1"));
        settle(cache, view);
        assertNull(view.get("demo"));

        var r2 = new TunnelEntity.Route("s2", s2.getRef());
        cache.tell(new RouteCache.Put("demo", r2));
        settle(cache, view);
        assertEquals(r2, view.get("demo"));
        s2.stop(); // the session ends: the route goes with it
        s1.awaitAssert(() -> {
            assertNull(view.get("demo"));
            return null;
        });
    }

    @Test
    void aNewerSessionReplacesTheRoute() {
        var view = new RouteCache.View();
        var cache = testKit.spawn(RouteCache.create(view));
        TestProbe<SessionMessage> s1 = testKit.createTestProbe();
        TestProbe<SessionMessage> s2 = testKit.createTestProbe();
        cache.tell(new RouteCache.Put("demo", new TunnelEntity.Route("s1", s1.getRef())));
        var r2 = new TunnelEntity.Route("s2", s2.getRef());
        cache.tell(new RouteCache.Put("demo", r2));
        s1.stop(); // the old session's end must not drop the new route
        settle(cache, view);
        assertEquals(r2, view.get("demo"));
    }
}
