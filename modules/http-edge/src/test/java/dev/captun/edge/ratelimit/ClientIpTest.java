package dev.captun.edge.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetAddress;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ClientIpTest {

    static InetAddress ip(String literal) {
        InetAddress a = ClientIp.parseLiteral(literal);
        assertNotNull(a, literal);
        return a;
    }

    static Function<String, String> headers(String... kv) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m::get;
    }

    static final Function<String, String> NO_HEADERS = name -> null;

    @Test
    void defaultTrustsNobodyNotEvenLoopback() {
        ClientIp c = ClientIp.parse("");
        assertFalse(c.trustsAnyProxy());
        Function<String, String> spoof = headers("x-forwarded-for", "1.2.3.4", "forwarded", "for=1.2.3.4",
                "cf-connecting-ip", "1.2.3.4", "x-real-ip", "1.2.3.4");
        assertEquals("127.0.0.1", c.resolve(ip("127.0.0.1"), spoof));
        assertEquals("::1", c.resolve(ip("::1"), spoof));
        assertEquals("198.51.100.7", ClientIp.parse(null).resolve(ip("198.51.100.7"), spoof));
        assertEquals("198.51.100.7", ClientIp.none().resolve(ip("198.51.100.7"), spoof));
    }

    @Test
    void untrustedPeerHeadersIgnored() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        assertEquals("198.51.100.7",
                c.resolve(ip("198.51.100.7"), headers("x-forwarded-for", "203.0.113.9", "x-real-ip", "203.0.113.9")));
    }

    @Test
    void trustedPeerXffRightMostUntrusted() {
        ClientIp c = ClientIp.parse("10.0.0.0/8, 192.168.1.1");
        // client forged "6.6.6.6"; real client 203.0.113.9 appended by the edge proxy 10.1.1.1, then 192.168.1.1
        String xff = "6.6.6.6, 203.0.113.9, 10.1.1.1";
        assertEquals("203.0.113.9", c.resolve(ip("192.168.1.1"), headers("x-forwarded-for", xff)));
        assertEquals("203.0.113.9", c.resolve(ip("10.9.9.9"), headers("x-forwarded-for", "203.0.113.9")));
    }

    @Test
    void allTrustedChainUsesLeftMost() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        assertEquals("10.0.0.5", c.resolve(ip("10.0.0.1"), headers("x-forwarded-for", "10.0.0.5, 10.0.0.6")));
    }

    @Test
    void xffEntriesWithPortsBracketsAndIpv6() {
        ClientIp c = ClientIp.parse("10.0.0.1");
        InetAddress peer = ip("10.0.0.1");
        assertEquals("203.0.113.9", c.resolve(peer, headers("x-forwarded-for", "203.0.113.9:5555")));
        assertEquals("2001:db8::1", c.resolve(peer, headers("x-forwarded-for", "[2001:db8::1]:443")));
        assertEquals("2001:db8::1", c.resolve(peer, headers("x-forwarded-for", "2001:DB8:0:0:0:0:0:1")));
        assertEquals("192.0.2.1", c.resolve(peer, headers("x-forwarded-for", "::ffff:192.0.2.1")));
    }

    @Test
    void garbageInXffFallsBackToOtherHeadersThenPeer() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        InetAddress peer = ip("10.0.0.1");
        assertEquals("203.0.113.5",
                c.resolve(peer, headers("x-forwarded-for", "unknown", "x-real-ip", "203.0.113.5")));
        assertEquals("10.0.0.1", c.resolve(peer, headers("x-forwarded-for", "evil.example.com")));
        assertEquals("10.0.0.1", c.resolve(peer, headers("x-forwarded-for", "1.2.3")));
        assertEquals("10.0.0.1", c.resolve(peer, headers("x-forwarded-for", "01.2.3.4")));
        assertEquals("10.0.0.1", c.resolve(peer, NO_HEADERS));
    }

    @Test
    void forwardedHeader() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        InetAddress peer = ip("10.0.0.1");
        assertEquals("192.0.2.60", c.resolve(peer, headers("forwarded",
                "for=6.6.6.6, for=192.0.2.60;proto=http;by=203.0.113.43, For=\"10.0.0.2\"")));
        assertEquals("2001:db8:cafe::17", c.resolve(peer, headers("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")));
        // obfuscated identifier where the client should be: unusable, fall back to peer
        assertEquals("10.0.0.1", c.resolve(peer, headers("forwarded", "for=_hidden")));
        // XFF wins over Forwarded
        assertEquals("198.51.100.1", c.resolve(peer, headers("x-forwarded-for", "198.51.100.1",
                "forwarded", "for=192.0.2.60")));
    }

    @Test
    void singleValueHeadersInOrder() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        InetAddress peer = ip("10.0.0.1");
        assertEquals("192.0.2.1", c.resolve(peer, headers("cf-connecting-ip", "192.0.2.1", "x-real-ip", "192.0.2.2")));
        assertEquals("192.0.2.2", c.resolve(peer, headers("x-real-ip", "192.0.2.2")));
        assertEquals("192.0.2.2", c.resolve(peer, headers("cf-connecting-ip", "nope", "x-real-ip", "192.0.2.2")));
    }

    @Test
    void ipv6Cidrs() {
        ClientIp c = ClientIp.parse("fd00::/8,2001:db8:1::/48, ::1");
        assertTrue(c.isTrustedProxy(ip("fd12::1")));
        assertTrue(c.isTrustedProxy(ip("2001:db8:1:ffff::1")));
        assertFalse(c.isTrustedProxy(ip("2001:db8:2::1")));
        assertTrue(c.isTrustedProxy(ip("::1")));
        assertFalse(c.isTrustedProxy(ip("127.0.0.1")));
        assertEquals("203.0.113.1", c.resolve(ip("::1"), headers("x-forwarded-for", "203.0.113.1")));
    }

    @Test
    void ipv4Cidrs() {
        ClientIp c = ClientIp.parse("172.16.0.0/12,0.0.0.0/32");
        assertTrue(c.isTrustedProxy(ip("172.31.255.255")));
        assertFalse(c.isTrustedProxy(ip("172.32.0.0")));
        assertFalse(c.isTrustedProxy(ip("::ffff:172.32.0.0")));
        assertTrue(c.isTrustedProxy(ip("::ffff:172.16.0.1")), "IPv4-mapped IPv6 matches IPv4 CIDR");
        assertTrue(ClientIp.parse("0.0.0.0/0").isTrustedProxy(ip("8.8.8.8")));
        assertFalse(ClientIp.parse("0.0.0.0/0").isTrustedProxy(ip("2001:db8::1")));
        assertTrue(ClientIp.parse("127.0.0.1").isTrustedProxy(ip("127.0.0.1")));
        assertFalse(ClientIp.parse("127.0.0.1").isTrustedProxy(ip("127.0.0.2")));
        assertTrue(ClientIp.parse("10.1.2.3/8").isTrustedProxy(ip("10.200.0.1")), "host bits are masked");
    }

    @Test
    void invalidEntriesFailFast() {
        for (String bad : new String[] {"10.0.0.0/33", "::/129", "localhost", "10.0.0", "10.0.0.0/", "10.0.0.0/x",
                "300.1.1.1", "fe80::zz", "1.2.3.4/-1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClientIp.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
            assertTrue(e.getMessage().startsWith("Invalid trusted-proxies entry"), e.getMessage());
        }
        assertFalse(ClientIp.parse(" , ,").trustsAnyProxy());
    }

    @Test
    void forwardedForReplacesUnlessPeerTrusted() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        assertEquals("198.51.100.7", c.forwardedFor(ip("198.51.100.7"), "6.6.6.6"));
        assertEquals("198.51.100.7", c.forwardedFor(ip("198.51.100.7"), null));
        assertEquals("203.0.113.9, 10.0.0.1", c.forwardedFor(ip("10.0.0.1"), " 203.0.113.9 "));
        assertEquals("10.0.0.1", c.forwardedFor(ip("10.0.0.1"), ""));
        assertEquals("2001:db8::7", c.forwardedFor(ip("2001:db8::7"), "1.1.1.1"));
    }

    @Test
    void forwardedForFromOtherHeaders() {
        ClientIp c = ClientIp.parse("10.0.0.0/8");
        assertEquals("192.0.2.4, 10.0.0.1", c.forwardedForHeaders(ip("10.0.0.1"), headers("x-real-ip", "192.0.2.4")));
        assertEquals("192.0.2.4, 10.0.0.1",
                c.forwardedForHeaders(ip("10.0.0.1"), headers("x-forwarded-for", "192.0.2.4")));
        assertEquals("10.0.0.1", c.forwardedForHeaders(ip("10.0.0.1"), NO_HEADERS));
        assertEquals("198.51.100.7", c.forwardedForHeaders(ip("198.51.100.7"), headers("x-real-ip", "192.0.2.4")));
    }

    @Test
    void canonicalFormat() throws Exception {
        assertEquals("2001:db8::1", ClientIp.format(InetAddress.getByName("2001:0db8:0:0:0:0:0:1")));
        assertEquals("2001:db8:0:1:1:1:1:1", ClientIp.format(InetAddress.getByName("2001:db8:0:1:1:1:1:1")));
        assertEquals("2001:db8::1:0:0:1", ClientIp.format(InetAddress.getByName("2001:db8:0:0:1:0:0:1")));
        assertEquals("::", ClientIp.format(InetAddress.getByName("::")));
        assertEquals("::1", ClientIp.format(InetAddress.getByName("::1")));
        assertEquals("fe80::1", ClientIp.format(InetAddress.getByName("fe80::1%1")));
        assertEquals("1::", ClientIp.format(InetAddress.getByName("1:0:0:0:0:0:0:0")));
    }

    @Test
    void neverResolvesNames() {
        assertNull(ClientIp.parseLiteral("example.com"));
        assertNull(ClientIp.parseLiteral("abc:def.example"));
        assertNull(ClientIp.parseHostPort("[::1"));
        assertNull(ClientIp.parseHostPort("[::1]x"));
        assertNull(ClientIp.parseHostPort("1.2.3.4:99999999"));
    }
}
