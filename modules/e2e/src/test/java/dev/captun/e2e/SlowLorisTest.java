package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Slow-loris: connections that trickle a request head. The attacker (127.0.0.3), a normal public
 * client (127.0.0.2) and the tunnel client (127.0.0.1) are distinct loopback addresses, so they are
 * distinct client IPs to the node.
 */
@Timeout(120)
class SlowLorisTest {
    private static final InetAddress ATTACKER = address("127.0.0.3");
    private static final InetAddress CLIENT = address("127.0.0.2");

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Socket connectFrom(InetAddress from, int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port, from, 0);
        s.setSoTimeout(30_000); // generous: a loaded 2-core box delays timers by seconds
        return s;
    }

    /** One complete GET from {@code from}, answered on a connection of its own. */
    private static RawHttp.Reply get(InetAddress from, int port, String path) throws IOException {
        try (Socket s = connectFrom(from, port)) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            String text = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            assertTrue(split > 0, "a response: " + text);
            return new RawHttp.Reply(Integer.parseInt(text.substring(9, 12)), text.substring(0, split), text.substring(split + 4));
        }
    }

    /** Reads until the server closes the socket; the bytes it sent before closing. */
    private static String readUntilClosed(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try {
            for (int b; (b = in.read()) >= 0; ) {
                got.write(b);
            }
        } catch (SocketTimeoutException e) {
            fail("the server kept the connection open; got so far: " + got);
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    @Test
    void slowHeadsAreCappedPerIpAndClosedAtTheirDeadlineWhileOthersAreServed() throws Exception {
        int cap = 5;
        try (GatewayNode node = Gateways.start("captun.policy = public",
                "captun.limits.connections-per-ip = " + cap, "captun.limits.request-head-timeout-seconds = 3");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("demo")
                     .handler(req -> TunnelResponse.text(200, "served")).connect()) {
            int port = node.port();
            List<Socket> slow = new ArrayList<>();
            try {
                long opened = System.nanoTime();
                for (int i = 0; i < cap; i++) {
                    Socket s = connectFrom(ATTACKER, port);
                    s.getOutputStream().write("GET /demo/ HTTP/1.1\r\nHo".getBytes(StandardCharsets.ISO_8859_1)); // and never more
                    slow.add(s);
                }
                // Past the cap, the attacker's next connection is refused at once with the plain 429, and closed.
                try (Socket over = connectFrom(ATTACKER, port)) {
                    over.getOutputStream().write("GET /demo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    String refused = readUntilClosed(over);
                    assertTrue(refused.startsWith("HTTP/1.1 429 "), refused);
                    assertTrue(refused.endsWith("\r\n\r\nToo many open connections from this IP\n"), refused);
                    assertTrue(refused.toLowerCase().contains("cache-control: no-store"), refused);
                    assertTrue(refused.toLowerCase().contains("content-type: text/plain; charset=utf-8"), refused);
                }
                // Everyone else is served throughout.
                for (int i = 0; i < 5; i++) {
                    RawHttp.Reply r = get(CLIENT, port, "/demo/");
                    assertEquals(200, r.status(), r.head());
                    assertEquals("served", r.body());
                }
                // The trickling connections are closed at the head deadline (3 s), long before any idle timeout.
                for (Socket s : slow) {
                    String sent = readUntilClosed(s);
                    assertEquals("", sent, "closed without an answer");
                }
                long closedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened);
                assertTrue(closedAfterMs >= 2_500 && closedAfterMs < 30_000, "closed after " + closedAfterMs + " ms");
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
            // Their slots are free again: the attacker's IP is served like anyone once it behaves.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            RawHttp.Reply again = get(ATTACKER, port, "/demo/");
            while (again.status() == 429 && System.nanoTime() < deadline) {
                Thread.sleep(50); // the server notices the closed sockets asynchronously
                again = get(ATTACKER, port, "/demo/");
            }
            assertEquals(200, again.status(), again.head());
            assertEquals("served", again.body());
        }
    }

    /** A new connection owes its first head within the head deadline of accept (an idle keep-alive one: KeepAliveTest). */
    @Test
    void aNewConnectionThatSendsNothingIsClosedAtTheHeadDeadlineInEitherPolicy() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = trusted", "captun.limits.request-head-timeout-seconds = 2");
             Socket idle = connectFrom(CLIENT, node.port())) {
            long t0 = System.nanoTime();
            assertEquals("", readUntilClosed(idle));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 1_500 && ms < 30_000, "closed after " + ms + " ms");
        }
    }

    @Test
    void aResponseThatStreamsLongerThanTheHeadDeadlineIsNotCut() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = public", "captun.limits.request-head-timeout-seconds = 3");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("slowbody")
                     .handler(req -> TunnelResponse.streaming(200, out -> {
                         for (int i = 0; i < 8; i++) {
                             out.write(("part " + i + "\n").getBytes(StandardCharsets.UTF_8));
                             out.flush();
                             Thread.sleep(1000); // a slow producer, 8 s in all: well past the 3 s head deadline
                         }
                     })).connect()) {
            RawHttp.Reply r = get(CLIENT, node.port(), "/slowbody/");
            assertEquals(200, r.status(), r.head());
            assertTrue(r.body().contains("part 0\n") && r.body().contains("part 7\n"), "the whole body: " + r.body());
        }
    }
}
