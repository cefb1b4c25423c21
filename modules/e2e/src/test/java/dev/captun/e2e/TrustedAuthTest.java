package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Trusted policy with CAPTUN_TOKEN, and subdomain routing (SPEC §2, §3, §4). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class TrustedAuthTest {
    private GatewayNode node;
    private String ws;

    @BeforeAll
    void start() {
        node = Gateways.start("captun.token = s3cret", "captun.hostname = tunnels.example.com");
        ws = RawTunnelSocket.url(node.port(), "");
    }

    @AfterAll
    void stop() {
        node.close();
    }

    @Test
    void tokenViaSubprotocolHeaderOrLegacyQuery() throws Exception {
        try (RawTunnelSocket viaSubprotocol = RawTunnelSocket.open(ws + "sub", b -> b.subprotocols("captun", Tokens.toSubprotocol("s3cret")))) {
            assertInstanceOf(Wire.Ready.class, viaSubprotocol.next());
            assertEquals("captun", viaSubprotocol.ws.getSubprotocol(), "the 101 echoes the marker, never the token");
        }
        try (RawTunnelSocket viaHeader = RawTunnelSocket.open(ws + "hdr", b -> b.header("x-captun-connect-token", "s3cret"))) {
            assertEquals("http://hdr.tunnels.example.com:" + node.port(), ((Wire.Ready) viaHeader.next()).url());
        }
        try (RawTunnelSocket viaQuery = RawTunnelSocket.open(ws + "qry&captun-token=s3cret", b -> b)) {
            assertInstanceOf(Wire.Ready.class, viaQuery.next());
        }
        // A malformed token subprotocol is skipped; the header still counts.
        try (RawTunnelSocket skipped = RawTunnelSocket.open(ws + "skip",
                b -> b.subprotocols("captun", "captun-token.!!!").header("x-captun-connect-token", "s3cret"))) {
            assertInstanceOf(Wire.Ready.class, skipped.next());
        }
    }

    @Test
    void wrongTokenIs401() throws Exception {
        CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                .gateway("http://127.0.0.1:" + node.port()).name("nope").token("wrong")
                .handler(req -> TunnelResponse.text(200, "x")).connect());
        assertEquals(401, e.status());
        assertEquals("Unauthorized\n", e.body());
        RawHttp.Reply noToken = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=nope");
        assertEquals(401, noToken.status());
        assertEquals("Unauthorized\n", noToken.body());
    }

    @Test
    void subdomainRoutingServesByHostAndRejectsLookalikes() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway("http://127.0.0.1:" + node.port()).name("demo").token("s3cret")
                .handler(req -> TunnelResponse.text(200, "path=" + req.path())).connect()) {
            assertEquals("http://demo.tunnels.example.com:" + node.port(), t.url());
            RawHttp.Reply ok = RawHttp.get(node.port(), "/a/b?c=1", "demo.tunnels.example.com");
            assertEquals(200, ok.status());
            assertEquals("path=/a/b?c=1", ok.body(), "the path is forwarded unchanged");
            assertEquals("path=/", RawHttp.get(node.port(), "/", "x.demo.tunnels.example.com:8080").body(), "last label before the suffix");
            for (String host : new String[] {"demo.eviltunnels.example.com", "eviltunnels.example.com", "tunnels.example.com",
                    "127.0.0.1", "Bad_Name.tunnels.example.com"}) {
                RawHttp.Reply r = RawHttp.get(node.port(), "/", host);
                assertEquals(404, r.status(), host);
                assertEquals("Missing tunnel name\n", r.body(), host);
            }
            // Trusted policy, but subdomain routing: reserved names are refused.
            RawHttp.Reply reserved = RawHttp.get(node.port(), "/", "www.tunnels.example.com");
            assertEquals(404, reserved.status());
            assertEquals("Reserved Captun tunnel name\n", reserved.body());
            // A connect is matched before routing on any Host.
            RawHttp.Reply connect = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=demo", "demo.tunnels.example.com");
            assertEquals(400, connect.status());
            assertEquals("Expected WebSocket upgrade\n", connect.body());
        }
    }

    @Test
    void trustedLastConnectionWins() throws Exception {
        try (CaptunTunnel a = CaptunTunnel.builder().gateway("http://127.0.0.1:" + node.port()).name("swap").token("s3cret")
                .handler(req -> TunnelResponse.text(200, "a")).connect();
             CaptunTunnel b = CaptunTunnel.builder().gateway("http://127.0.0.1:" + node.port()).name("swap").token("s3cret")
                     .handler(req -> TunnelResponse.text(200, "b")).connect()) {
            assertEquals("b", RawHttp.get(node.port(), "/", "swap.tunnels.example.com").body());
        }
    }
}
