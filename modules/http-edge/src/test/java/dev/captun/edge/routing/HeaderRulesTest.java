package dev.captun.edge.routing;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Header;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderRulesTest {

    @Test
    void hopByHopHeadersAndThoseConnectionNamesAreStripped() {
        List<Header> in = List.of(
                new Header("Connection", "keep-alive, X-Secret"), new Header("X-Secret", "1"),
                new Header("Keep-Alive", "timeout=5"), new Header("Proxy-Connection", "x"), new Header("TE", "trailers"),
                new Header("Trailer", "x"), new Header("Transfer-Encoding", "chunked"), new Header("Upgrade", "h2c"),
                new Header("Proxy-Authorization", "x"), new Header("Proxy-Authenticate", "x"),
                new Header("Cookie", "a=1"), new Header("Authorization", "Bearer t"), new Header("X-Keep", "yes"));
        assertEquals(List.of(new Header("Cookie", "a=1"), new Header("Authorization", "Bearer t"), new Header("X-Keep", "yes")),
                HeaderRules.stripHopByHop(in));
    }

    @Test
    void folderRoutingPutsLocationAndCookiesUnderTheName() {
        List<Header> out = HeaderRules.rewriteResponse(List.of(
                new Header("Location", "/login?next=/x"),
                new Header("Set-Cookie", "sid=1; Path=/app; HttpOnly"),
                new Header("Set-Cookie", "b=2"),
                new Header("Set-Cookie", "c=3; Path=/")), "demo", true, false, null);
        assertEquals(List.of(
                new Header("Location", "/demo/login?next=/x"),
                new Header("Set-Cookie", "sid=1; Path=/demo/app; HttpOnly"),
                new Header("Set-Cookie", "b=2; Path=/demo/"),
                new Header("Set-Cookie", "c=3; Path=/demo/")), out);
        assertEquals("https://x.com/a", HeaderRules.prefixLocation("https://x.com/a", "demo"));
        assertEquals("//x.com/a", HeaderRules.prefixLocation("//x.com/a", "demo"));
        assertEquals("rel", HeaderRules.prefixLocation("rel", "demo"));
    }

    @Test
    void publicPolicyDropsForeignCookieDomains() {
        // folder routing: any Domain attribute is dropped in public policy, kept in trusted
        assertNull(HeaderRules.rewriteSetCookie("a=1; Domain=127.0.0.1", "demo", true, true, null));
        assertNotNull(HeaderRules.rewriteSetCookie("a=1; Domain=127.0.0.1", "demo", true, false, null));
        // subdomain routing: the tunnel host or below it is fine, anything else is dropped
        assertEquals("a=1; Domain=demo.t.com", HeaderRules.rewriteSetCookie("a=1; Domain=demo.t.com", "demo", false, true, "demo.t.com"));
        assertEquals("a=1; Domain=.x.demo.t.com", HeaderRules.rewriteSetCookie("a=1; Domain=.x.demo.t.com", "demo", false, true, "demo.t.com"));
        assertNull(HeaderRules.rewriteSetCookie("a=1; Domain=t.com", "demo", false, true, "demo.t.com"));
        assertNull(HeaderRules.rewriteSetCookie("a=1; domain=evil.com", "demo", false, true, "demo.t.com"));
        assertNull(HeaderRules.rewriteSetCookie("a=1; Domain=xdemo.t.com", "demo", false, true, "demo.t.com"));
        assertEquals("a=1; Path=/x", HeaderRules.rewriteSetCookie("a=1; Path=/x", "demo", false, true, "demo.t.com"));
    }
}
