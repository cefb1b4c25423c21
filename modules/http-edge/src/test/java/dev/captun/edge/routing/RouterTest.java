package dev.captun.edge.routing;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class RouterTest {
    private final Router folder = new Router("");
    private final Router sub = new Router("tunnels.example.com");

    @Test
    void folderRoutingStripsTheNameAndKeepsTheRest() {
        assertEquals(new Router.Routed("demo", "/"), folder.route("h", "/demo"));
        assertEquals(new Router.Routed("demo", "/"), folder.route("h", "/demo/"));
        assertEquals(new Router.Routed("demo", "/a/b%2Fc?x=1&y=%20"), folder.route("h", "/demo/a/b%2Fc?x=1&y=%20"));
        assertEquals(new Router.Routed("demo", "/?q=1"), folder.route("h", "/demo?q=1"));
    }

    @Test
    void folderRoutingRejectsMissingMalformedAndInvalidNames() {
        for (String bad : new String[] {"/", "", "//x", "/Demo/x", "/%zz/x", "/a_b/", "/-a/", "/" + "a".repeat(64), "/de%2Fmo/", "*", "/a+b/"}) {
            assertNull(folder.route("h", bad), bad);
        }
    }

    @Test
    void aPercentEncodedNameIsNotASecondSpellingOfTheName() {
        for (String escaped : new String[] {"/%64emo/x", "/%64emo", "/dem%6F/", "/%64%65%6d%6f/", "/de%2dmo/", "/%2564emo/"}) {
            assertNull(folder.route("h", escaped), escaped);
        }
    }

    @Test
    void subdomainRoutingUsesTheLastLabelBeforeTheSuffix() {
        assertEquals(new Router.Routed("demo", "/a?b"), sub.route("demo.tunnels.example.com", "/a?b"));
        assertEquals(new Router.Routed("demo", "/"), sub.route("Demo.Tunnels.Example.com:8080", "/"));
        assertEquals(new Router.Routed("demo", "/"), sub.route("x.y.demo.tunnels.example.com", "/"));
        assertEquals(new Router.Routed("demo", "/"), sub.route("demo.tunnels.example.com.", "/"));
    }

    @Test
    void subdomainRoutingNeedsAnExactLabelBoundary() {
        assertNull(sub.route("eviltunnels.example.com", "/"));
        assertNull(sub.route("demo.eviltunnels.example.com", "/"));
        assertNull(sub.route("tunnels.example.com", "/"));
        assertNull(sub.route(".tunnels.example.com", "/"));
        assertNull(sub.route("other.com", "/"));
        assertNull(sub.route(null, "/"));
        assertNull(sub.route("a_b.tunnels.example.com", "/"));
    }

    @Test
    void publicUrls() {
        assertEquals("http://127.0.0.1:8080/demo", folder.publicUrl("http", "127.0.0.1:8080", "demo"));
        assertEquals("https://demo.tunnels.example.com", sub.publicUrl("https", "tunnels.example.com", "demo"));
        assertEquals("http://demo.tunnels.example.com:8080", sub.publicUrl("http", "tunnels.example.com:8080", "demo"));
    }
}
