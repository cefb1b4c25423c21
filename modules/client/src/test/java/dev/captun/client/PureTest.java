package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PureTest {
    @Test
    void backoffIsTwoSecondsTimesOnePointFiveCappedAtEight() {
        Backoff b = Backoff.standard();
        assertEquals(Duration.ofMillis(2000), b.delay(0, 0));
        assertEquals(Duration.ofMillis(3000), b.delay(1, 0));
        assertEquals(Duration.ofMillis(4500), b.delay(2, 0));
        assertEquals(Duration.ofMillis(6750), b.delay(3, 0));
        assertEquals(Duration.ofMillis(8000), b.delay(4, 0));
        assertEquals(Duration.ofMillis(8000), b.delay(1000, 0));
        assertEquals(Duration.ofMillis(2400), b.delay(0, 1.0)); // +20% jitter at most
        assertEquals(Duration.ofMillis(9600), b.delay(50, 1.0));
        for (int i = 0; i < 100; i++) {
            long ms = b.delay(i % 7).toMillis();
            assertTrue(ms >= 2000 && ms <= 9600, "delay " + ms);
        }
    }

    @Test
    void gatewayListAndConnectUri() {
        assertEquals(List.of("http://a:8080", "https://b"), Gateways.parseList(" http://a:8080 , https://b ,"));
        assertThrows(IllegalArgumentException.class, () -> Gateways.parseList("ftp://x"));
        assertThrows(IllegalArgumentException.class, () -> Gateways.parseList(" , "));
        // Moving off a draining gateway: the others in list order after it, the draining one (its URL may be a load balancer) last.
        assertArrayEquals(new int[] {2, 0, 1}, Gateways.moveOrder(1, 3));
        assertArrayEquals(new int[] {0}, Gateways.moveOrder(0, 1));
        assertEquals("ws://127.0.0.1:8080/?captun-connect=1&captun-name=demo&captun-protocol=3",
                Gateways.connectUri("http://127.0.0.1:8080/", "demo", true).toString());
        assertEquals("wss://gw.example/?captun-connect=1&captun-name=demo&captun-protocol=3",
                Gateways.connectUri("https://gw.example", "demo", true).toString());
        assertEquals("https://gw.example/?captun-connect=1&captun-name=a%26b&captun-protocol=3",
                Gateways.connectUri("https://gw.example", "a&b", false).toString());
    }

    @Test
    void randomNameAndToken() {
        for (int i = 0; i < 50; i++) {
            assertTrue(CaptunTunnel.randomName().matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?"));
            assertTrue(CaptunTunnel.randomToken().matches("[0-9a-f]{32}"));
        }
    }

    @Test
    void connectExceptionKeepsTheRawBody() {
        CaptunConnectException e = CaptunConnectException.rejected(409, "Tunnel name is already connected\n");
        assertEquals(409, e.status());
        assertEquals("Tunnel name is already connected\n", e.body());
        assertEquals("Tunnel name is already connected", e.getMessage());
        assertTrue(e.isPermanent());
        assertFalse(CaptunConnectException.rejected(429, "Rate limit exceeded. Try again in 3s.\n").isPermanent());
        assertFalse(CaptunConnectException.rejected(503, "x\n").isPermanent());
        CaptunConnectException f = CaptunConnectException.connectionFailed(null);
        assertEquals(0, f.status());
        assertEquals("WebSocket connection failed", f.getMessage());
    }

    @Test
    void responseFactories() {
        TunnelResponse r = TunnelResponse.text(200, "hi").header("x", "1");
        assertEquals(200, r.status());
        assertEquals(2, r.headers().size());
        assertFalse(r.isStreaming());
        assertTrue(TunnelResponse.streaming(200, out -> { }).isStreaming());
        assertThrows(IllegalArgumentException.class, () -> TunnelResponse.empty(42));
    }
}
