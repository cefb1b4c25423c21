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
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Keep-alive connections between requests: idle ones get the keep-alive timeout, not the request
 * head deadline, and are closed cleanly; a head being sent keeps its deadline. Short settings (head
 * deadline 1 s, keep-alive 3 s); every wait is a blocking read with a timeout on the connection
 * itself, which also tells whether the server closed it (end of stream) or kept it open (timeout).
 */
@Timeout(120)
class KeepAliveTest {
    private static final String HEAD_1S = "captun.limits.request-head-timeout-seconds = 1";
    private static final String KEEP_ALIVE_3S = "captun.limits.keep-alive-timeout-seconds = 3";

    private static Socket connect(GatewayNode node) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), node.port());
        s.setSoTimeout(30_000); // generous: a loaded 2-core box delays timers by seconds
        return s;
    }

    private static void send(Socket s, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    }

    /** One keep-alive request and its whole response (the connection stays open). */
    private static RawHttp.Reply exchange(Socket s, String path) throws IOException {
        send(s, path);
        RawHttp.Reply reply = readResponse(s.getInputStream());
        assertNotEquals("close", String.valueOf(reply.header("connection")).toLowerCase(Locale.ROOT), reply.head());
        return reply;
    }

    /** True if the server kept the connection open and silent for {@code millis}; false if it closed it (FIN). */
    private static boolean staysOpenFor(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        try {
            int b = s.getInputStream().read();
            assertEquals(-1, b, "nothing is sent on an idle connection");
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            s.setSoTimeout(30_000);
        }
    }

    /** Milliseconds until the server closes the connection cleanly (end of stream: a FIN, not a reset). */
    private static long millisUntilClosed(Socket s) throws IOException {
        long t0 = System.nanoTime();
        try {
            assertEquals(-1, s.getInputStream().read(), "closed without sending anything");
        } catch (SocketTimeoutException e) {
            fail("the server kept the connection open");
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void anIdleKeepAliveConnectionOutlivesTheHeadDeadlineAndIsClosedCleanlyAtTheKeepAliveTimeout() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = trusted", HEAD_1S, KEEP_ALIVE_3S);
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("demo")
                     .handler(req -> TunnelResponse.text(200, "served")).connect();
             Socket s = connect(node)) {
            RawHttp.Reply r = exchange(s, "/demo/");
            assertEquals(200, r.status(), r.head());
            assertEquals("served", r.body());
            long idleFrom = System.nanoTime();
            // Twice the head deadline without a byte: still open (before this change it was closed at 1 s).
            assertTrue(staysOpenFor(s, 2_000), "an idle keep-alive connection is not closed at the head deadline");
            // Then closed at the keep-alive timeout, with a FIN.
            millisUntilClosed(s);
            long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleFrom);
            assertTrue(idleMs >= 2_800 && idleMs < 20_000, "closed after " + idleMs + " ms idle");
        }
    }

    @Test
    void aKeepAliveConnectionReusedAfterIdlePeriodsBelowTheTimeoutIsServed() throws Exception {
        try (GatewayNode node = Gateways.start("captun.policy = trusted", HEAD_1S, KEEP_ALIVE_3S);
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("demo")
                     .handler(req -> TunnelResponse.text(200, "served " + req.path())).connect();
             Socket s = connect(node)) {
            for (int i = 1; i <= 3; i++) {
                RawHttp.Reply r = exchange(s, "/demo/" + i);
                assertEquals(200, r.status(), r.head());
                assertTrue(r.body().startsWith("served ") && r.body().endsWith("/" + i), r.body());
                // 2 s idle each time (past the 1 s head deadline, below the 3 s keep-alive timeout, and
                // 4 s and 6 s in all: the timeout starts again after each response).
                assertTrue(staysOpenFor(s, 2_000), "open after request " + i);
            }
            RawHttp.Reply last = exchange(s, "/demo/last");
            assertEquals(200, last.status(), last.head());
        }
    }

    @Test
    void aSlowHeadOnAKeepAliveConnectionIsClosedAtTheHeadDeadlineFromItsFirstByte() throws Exception {
        // A keep-alive timeout far away, so the close below can only be the head deadline's.
        try (GatewayNode node = Gateways.start("captun.policy = public", HEAD_1S, "captun.limits.keep-alive-timeout-seconds = 60");
             Socket s = connect(node)) {
            RawHttp.Reply r = exchange(s, "/");
            assertEquals(404, r.status(), r.head()); // the node's own answer: no tunnel needed
            assertTrue(staysOpenFor(s, 1_500), "idle past the head deadline");
            s.getOutputStream().write("GET / HTTP/1.1\r\nHo".getBytes(StandardCharsets.ISO_8859_1)); // and never more
            long ms = millisUntilClosed(s);
            // The deadline runs from the head's first byte, not from the response: 1 s from here.
            assertTrue(ms >= 700 && ms < 20_000, "closed " + ms + " ms after the head started");
        }
    }

    @Test
    void aResponseStreamingLongerThanBothTimeoutsLeavesItsConnectionReusable() throws Exception {
        // The soak's 1 GiB downloads: the deadline used to start at the response head and close the
        // connection right after a long body, under a client about to reuse it.
        try (GatewayNode node = Gateways.start("captun.policy = public", HEAD_1S, KEEP_ALIVE_3S);
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("slowbody")
                     .handler(req -> req.path().endsWith("/big") ? TunnelResponse.streaming(200, out -> {
                         for (int i = 0; i < 5; i++) {
                             out.write(("part " + i + "\n").getBytes(StandardCharsets.UTF_8));
                             out.flush();
                             Thread.sleep(1000); // a slow producer, 5 s in all: past both timeouts
                         }
                     }) : TunnelResponse.text(200, "small")).connect();
             Socket s = connect(node)) {
            RawHttp.Reply big = exchange(s, "/slowbody/big");
            assertEquals(200, big.status(), big.head());
            assertTrue(big.body().contains("part 0\n") && big.body().contains("part 4\n"), "the whole body: " + big.body());
            // The keep-alive timeout runs from the body's end: 2 s later the connection is still open.
            assertTrue(staysOpenFor(s, 2_000), "open after a long body");
            RawHttp.Reply small = exchange(s, "/slowbody/small");
            assertEquals(200, small.status(), small.head());
            assertEquals("small", small.body());
        }
    }

    @Test
    void stoppingTheNodeClosesAnIdleKeepAliveConnectionCleanly() throws Exception {
        GatewayNode node = Gateways.start("captun.policy = trusted");
        try (Socket s = connect(node)) {
            RawHttp.Reply r = exchange(s, "/");
            assertEquals(404, r.status(), r.head());
            node.close();
            assertEquals(-1, s.getInputStream().read(), "a FIN, not a reset or a byte");
        } finally {
            node.close();
        }
    }

    /** One response off a keep-alive connection: its head, and a body framed by Content-Length or chunked encoding. */
    static RawHttp.Reply readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        for (String line; !(line = readLine(in)).isEmpty(); ) {
            head.append(line).append("\r\n");
        }
        String h = head.toString();
        RawHttp.Reply headOnly = new RawHttp.Reply(Integer.parseInt(h.substring(9, 12)), h, "");
        String length = headOnly.header("content-length");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (length != null) {
            body.write(in.readNBytes(Integer.parseInt(length)));
        } else if ("chunked".equalsIgnoreCase(String.valueOf(headOnly.header("transfer-encoding")))) {
            for (int size; (size = Integer.parseInt(readLine(in).split(";")[0].trim(), 16)) > 0; ) {
                body.write(in.readNBytes(size));
                assertEquals("", readLine(in));
            }
            while (!readLine(in).isEmpty()) {
                // trailer fields
            }
        }
        return new RawHttp.Reply(headOnly.status(), h, body.toString(StandardCharsets.UTF_8));
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) {
                throw new IOException("connection closed mid-response; got " + line);
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }
}
