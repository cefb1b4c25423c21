package dev.captun.client.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Tokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI without {@code --token} makes one random token per run: every attempt of its first
 * connect (each gateway of the list, and the diagnostic probe after each refused upgrade) presents
 * that same token, so a retry can never be refused 409 by the name its own earlier attempt took.
 */
@Timeout(60)
class CliTokenReuseTest {
    @TempDir
    Path home;

    /** A gateway that answers every request 503 and remembers each request head. */
    static final class RefusingGateway implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0);
        final List<String> heads = new CopyOnWriteArrayList<>();
        final Thread loop = new Thread(this::serve, "refusing-gateway");

        RefusingGateway() throws IOException {
            loop.setDaemon(true);
            loop.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    heads.add(readHead(s.getInputStream()));
                    s.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
                            + "content-length: 5\r\nconnection: close\r\n\r\nbusy\n").getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    // closed, or a client that went away: next
                }
            }
        }

        private static String readHead(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                head.write(b);
            }
            return head.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** The token a request head carries: the {@code captun-token.*} subprotocol or the probe's header. */
    static String tokenOf(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            if (name.equals("x-captun-connect-token")) {
                return value;
            }
            if (name.equals("sec-websocket-protocol")) {
                for (String p : value.split(",")) {
                    String t = Tokens.fromSubprotocol(p.trim());
                    if (t != null) {
                        return t;
                    }
                }
            }
        }
        return null;
    }

    @Test
    void everyAttemptOfTheFirstConnectPresentsTheSameRandomToken() throws Exception {
        String savedHome = System.getProperty("user.home");
        System.setProperty("user.home", home.toString()); // no config file: the token is random for this run
        try (ServerSocket target = new ServerSocket(0); RefusingGateway a = new RefusingGateway(); RefusingGateway b = new RefusingGateway()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = CaptunCli.run(new String[] {Integer.toString(target.getLocalPort()), "--name", "demo",
                    "--gateway", a.url() + "," + b.url()}, new PrintStream(out, true), new PrintStream(err, true));
            assertEquals(1, exit, err.toString());
            List<String> heads = new ArrayList<>(a.heads);
            heads.addAll(b.heads);
            assertTrue(a.heads.size() >= 2 && b.heads.size() >= 2, "an upgrade and a probe on each gateway: " + heads);
            List<String> tokens = heads.stream().map(CliTokenReuseTest::tokenOf).toList();
            assertFalse(tokens.contains(null), "every attempt presents a token: " + heads);
            assertEquals(1, tokens.stream().distinct().count(), "one token across attempts: " + tokens);
            assertTrue(tokens.get(0).matches("[0-9a-f]{32}"), tokens.get(0));
            assertFalse(out.toString().contains(tokens.get(0)) || err.toString().contains(tokens.get(0)), "the token is never printed");
        } finally {
            System.setProperty("user.home", savedHome);
        }
    }
}
