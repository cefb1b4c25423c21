package dev.captun.client;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.cli.CaptunCli;
import dev.captun.protocol.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The CLI through a whole session against {@link FakeGateway}: the status block, a line on the
 * disconnect, on the reconnect attempt, on the reconnect (with the new URL), and on the
 * replacement, which ends the command with exit code 3. Gateway and token come from the environment.
 */
@Timeout(60)
class CliSessionTest {

    /** Output collected from another thread; read as a whole. */
    static final class Captured {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }

        String await(String contains) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Wire.WAIT_SECONDS);
            while (System.nanoTime() < deadline) {
                String t = text();
                if (t.contains(contains)) {
                    return t;
                }
                Thread.sleep(20); // polling another thread's output, bounded by the deadline
            }
            throw new AssertionError("no '" + contains + "' in output:\n" + text());
        }
    }

    private static void ready(FakeGateway.Conn c, String url) throws Exception {
        c.ready(url);
    }

    @Test
    void statusBlockThenALinePerDisconnectReconnectAndReplacement() throws Exception {
        try (FakeGateway gw = new FakeGateway(); ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Captured out = new Captured();
            Captured err = new Captured();
            Map<String, String> env = Map.of("CAPTUN_GATEWAY", gw.url(), "CAPTUN_TOKEN", "tok-from-env",
                    "XDG_CONFIG_HOME", java.nio.file.Files.createTempDirectory("xdg").toString());
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> CaptunCli.run(
                    new String[] {Integer.toString(target.getLocalPort()), "--name", "demo"}, env, false, out.stream, err.stream));

            FakeGateway.Conn c1 = gw.accept();
            assertTrue(c1.headers.getOrDefault("sec-websocket-protocol", "").contains(
                    dev.captun.protocol.Tokens.toSubprotocol("tok-from-env")), "the token from CAPTUN_TOKEN is presented");
            ready(c1, "http://gw.example/demo");
            String block = out.await("Token ");
            assertTrue(block.contains("Forwarding    http://gw.example/demo -> http://127.0.0.1:" + target.getLocalPort()), block);
            assertTrue(block.contains("Gateway       " + gw.url() + " (CAPTUN_GATEWAY)"), block);
            assertTrue(block.contains("Token         CAPTUN_TOKEN"), block);
            assertFalse(block.contains("tok-from-env"), "the token itself is never printed");

            c1.sendClose(1000, "");
            assertTrue(out.await("reconnecting in ").contains("disconnected from " + gw.url() + " (1000)"));
            FakeGateway.Conn c2 = gw.accept();
            ready(c2, "http://gw.example/demo-2");
            assertTrue(out.await("reconnected via ").contains("reconnected via " + gw.url() + "; new public URL: http://gw.example/demo-2"),
                    out.text());

            c2.sendClose(Protocol.CLOSE_REPLACED, Protocol.CLOSE_REPLACED_REASON);
            assertEquals(3, exit.get(Wire.WAIT_SECONDS, TimeUnit.SECONDS), "a replaced CLI stops with exit code 3");
            assertTrue(out.text().contains("disconnected from " + gw.url() + " (4000 " + Protocol.CLOSE_REPLACED_REASON + ")"), out.text());
            assertTrue(err.text().contains("replaced: another client connected with this tunnel name and took it over; stopping."), err.text());
        }
    }
}
