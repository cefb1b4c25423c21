package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import dev.captun.protocol.Tokens;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** SPEC §2–§4 and §7 admission end to end, in public policy (anonymous owner tokens). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class AdmissionTest {
    private GatewayNode node;
    private String gateway;

    @BeforeAll
    void start() {
        node = Gateways.start("captun.policy = public");
        gateway = Gateways.url(node);
    }

    @AfterAll
    void stop() {
        node.close();
    }

    private CaptunTunnel connect(String name, String token, String reply) throws CaptunConnectException {
        return CaptunTunnel.builder().gateway(gateway).name(name).token(token).handler(req -> TunnelResponse.text(200, reply)).connect();
    }

    private String body(CaptunTunnel t) throws Exception {
        return PublicClient.get(t.url() + "/").body();
    }

    @Test
    void tokensAreRequiredAndMustBeWellFormed() throws Exception {
        RawHttp.Reply missing = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=tok");
        assertEquals(400, missing.status());
        assertEquals("Missing tunnel token\n", missing.body());
        assertEquals("no-store", missing.header("cache-control"));
        RawHttp.Reply invalid = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=tok", "x-captun-connect-token: " + "x".repeat(129));
        assertEquals(400, invalid.status());
        assertEquals("Invalid tunnel token\n", invalid.body());
        CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> connect("tok", "has space", "x"));
        assertEquals(400, e.status());
        assertEquals("Invalid tunnel token\n", e.body());
    }

    @Test
    void anotherTokenGetsConflictAndTheCurrentTunnelKeepsServing() throws Exception {
        try (CaptunTunnel first = connect("held", "token-one", "first")) {
            CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> connect("held", "token-two", "second"));
            assertEquals(409, e.status());
            assertEquals("Tunnel name is already connected\n", e.body());
            assertEquals("first", body(first));
        }
    }

    @Test
    void theSameTokenReplacesItsOwnSession() throws Exception {
        BlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();
        try (CaptunTunnel first = CaptunTunnel.builder().gateway(gateway).name("mine").token("same-token")
                .handler(req -> TunnelResponse.text(200, "first")).listener(events::add).connect()) {
            try (CaptunTunnel second = connect("mine", "same-token", "second")) {
                assertEquals("second", body(second));
                TunnelEvent ev;
                do {
                    ev = events.poll(20, TimeUnit.SECONDS);
                    assertNotNull(ev, "the replaced client must report REPLACED");
                } while (!(ev instanceof TunnelEvent.Replaced));
                assertEquals(CaptunTunnel.State.REPLACED, first.state());
                assertEquals("second", body(second), "a replaced client does not reconnect and take the name back");
            }
        }
    }

    @Test
    void theProbeNeverAdmitsOrReplaces() throws Exception {
        try (CaptunTunnel t = connect("probed", "owner", "original")) {
            RawHttp.Reply same = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=probed", "h",
                    "x-captun-connect-diagnostic: 1", "x-captun-connect-token: owner");
            assertEquals(204, same.status());
            assertEquals("no-store", same.header("cache-control"));
            RawHttp.Reply other = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=probed", "h",
                    "x-captun-connect-diagnostic: 1", "x-captun-connect-token: intruder");
            assertEquals(409, other.status());
            assertEquals("Tunnel name is already connected\n", other.body());
            assertEquals("original", body(t));
            assertEquals(CaptunTunnel.State.CONNECTED, t.state());
        }
        RawHttp.Reply free = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=never-taken", "h",
                "x-captun-connect-diagnostic: 1", "x-captun-connect-token: someone");
        assertEquals(204, free.status());
        assertEquals(503, PublicClient.get(gateway + "/never-taken/").statusCode(), "a probe admits nothing");
    }

    @Test
    void losingTheClientSocketFreesTheNameForAnotherToken() throws Exception {
        RawTunnelSocket raw = RawTunnelSocket.open(RawTunnelSocket.url(node.port(), "freed"),
                b -> b.subprotocols("captun", Tokens.toSubprotocol("first-owner")));
        assertInstanceOf(Wire.Ready.class, raw.next());
        assertEquals("captun", raw.ws.getSubprotocol());
        raw.close(); // abrupt: no close frame
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (CaptunTunnel t = connect("freed", "second-owner", "second")) {
                assertEquals("second", body(t));
                break;
            } catch (CaptunConnectException stillHeld) {
                // 409 while the name is held; 0 when it was freed between the refused upgrade and the
                // SDK's probe (the probe then answers 204 and the SDK reports "WebSocket connection failed").
                assertTrue(stillHeld.status() == 409 || stillHeld.status() == 0, "unexpected " + stillHeld.status());
                assertTrue(System.nanoTime() < deadline, "name was never freed");
                Thread.sleep(100);
            }
        }
    }

    @Test
    void racingConnectsForOneFreeNameEndWithExactlyOneOwner() throws Exception {
        int racers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(racers);
        List<Future<CaptunTunnel>> results = new ArrayList<>();
        try {
            for (int i = 0; i < racers; i++) {
                String token = "racer-" + i;
                results.add(pool.submit((Callable<CaptunTunnel>) () -> connect("contested", token, token)));
            }
            List<CaptunTunnel> winners = new ArrayList<>();
            for (Future<CaptunTunnel> f : results) {
                try {
                    winners.add(f.get(60, TimeUnit.SECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    assertInstanceOf(CaptunConnectException.class, e.getCause());
                    assertEquals(409, ((CaptunConnectException) e.getCause()).status());
                }
            }
            assertEquals(1, winners.size());
            assertEquals(winners.get(0).token(), body(winners.get(0)));
            winners.forEach(CaptunTunnel::close);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void namesAreValidatedAndReservedNamesRefused() throws Exception {
        RawHttp.Reply noName = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3", "x-captun-connect-token: t");
        assertEquals(404, noName.status());
        assertEquals("Missing tunnel name\n", noName.body());
        RawHttp.Reply badName = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=Bad_Name", "x-captun-connect-token: t");
        assertEquals(400, badName.status());
        assertEquals("Invalid tunnel name\n", badName.body());
        for (String reserved : new String[] {"captun", "gateway", "www", "api", "admin"}) {
            RawHttp.Reply r = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=" + reserved, "x-captun-connect-token: t");
            assertEquals(404, r.status(), reserved);
            assertEquals("Reserved Captun tunnel name\n", r.body());
            RawHttp.Reply pub = RawHttp.get(node.port(), "/" + reserved + "/x", "h");
            assertEquals(404, pub.status());
            assertEquals("Reserved Captun tunnel name\n", pub.body());
        }
        RawHttp.Reply plain = RawHttp.get(node.port(), "/?captun-connect=1&captun-protocol=3&captun-name=fine", "h");
        assertEquals(400, plain.status());
        assertEquals("Expected WebSocket upgrade\n", plain.body());
        RawHttp.Reply future = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-name=fine&captun-protocol=99", "x-captun-connect-token: t");
        assertEquals(400, future.status());
        assertEquals("Unsupported captun protocol version\n", future.body());
    }

    @Test
    void onlyProtocolThreeIsSpoken() throws Exception {
        // Versions 1 and 2 (JSON frames) are gone: refused before the upgrade even when name and token are fine.
        for (int old : new int[] {1, 2}) {
            RawHttp.Reply r = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-name=versioned&captun-protocol=" + old,
                    "x-captun-connect-token: t");
            assertEquals(400, r.status(), "version " + old);
            assertEquals("Unsupported captun protocol version\n", r.body(), "version " + old);
        }
        // A connect that names no version is an old client (version 1): refused the same way.
        RawHttp.Reply unnamed = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-name=versioned", "x-captun-connect-token: t");
        assertEquals(400, unnamed.status(), "no version");
        assertEquals("Unsupported captun protocol version\n", unnamed.body(), "no version");
        RawHttp.Reply current = RawHttp.upgrade(node.port(), "/?captun-connect=1&captun-name=versioned&captun-protocol=3",
                "x-captun-connect-token: t");
        assertEquals(101, current.status(), current.head());
    }

    @Test
    void theSdkReconnectsByItselfAfterTheNodeDropsItsSocket() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        GatewayNode first = Gateways.start("captun.policy = public", "captun.port = " + port);
        BlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();
        try (CaptunTunnel t = CaptunTunnel.builder().gateway("http://127.0.0.1:" + port).name("phoenix").token("phoenix-token")
                .handler(req -> TunnelResponse.text(200, "alive")).listener(events::add).connect()) {
            assertEquals("alive", body(t));
            first.close();
            GatewayNode second = Gateways.start("captun.policy = public", "captun.port = " + port);
            try {
                TunnelEvent ev;
                int connected = 0;
                do {
                    ev = events.poll(60, TimeUnit.SECONDS);
                    assertNotNull(ev, "no reconnect within 60 s");
                    if (ev instanceof TunnelEvent.Connected) {
                        connected++;
                    }
                } while (connected < 2); // the first Connected is the initial connect
                assertEquals("alive", PublicClient.get("http://127.0.0.1:" + port + "/phoenix/").body());
                assertEquals("phoenix-token", t.token(), "same token after reconnect");
            } finally {
                second.close();
            }
        }
    }
}
