package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SDK's connect error path against a fake gateway that refuses every upgrade. */
class ConnectFailureTest {
    HttpServer server;
    volatile int status;
    volatile String body;
    final List<Map<String, String>> probes = new CopyOnWriteArrayList<>();
    final List<String> upgradeProtocols = new CopyOnWriteArrayList<>();
    final List<String> uris = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            uris.add(ex.getRequestURI().toString());
            if ("1".equals(ex.getRequestHeaders().getFirst("x-captun-connect-diagnostic"))) {
                Map<String, String> m = new ConcurrentHashMap<>();
                m.put("token", String.valueOf(ex.getRequestHeaders().getFirst("x-captun-connect-token")));
                probes.add(m);
            } else {
                upgradeProtocols.add(String.valueOf(ex.getRequestHeaders().getFirst("Sec-WebSocket-Protocol")));
            }
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("content-type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders(status, status == 204 ? -1 : b.length);
            if (status != 204) {
                ex.getResponseBody().write(b);
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String gw() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void rejectionIsReportedWithTheProbedStatusAndBody() {
        status = 409;
        body = "Tunnel name is already connected\n";
        CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                .gateway(gw()).name("demo").token("s3cret").handler(req -> TunnelResponse.empty(200)).connect());
        assertEquals(409, e.status());
        assertEquals("Tunnel name is already connected\n", e.body());
        assertEquals("Tunnel name is already connected", e.getMessage());
        assertEquals(1, probes.size());
        assertEquals("s3cret", probes.get(0).get("token"));
        assertTrue(upgradeProtocols.get(0).startsWith("captun, captun-token."), upgradeProtocols.get(0));
        for (String u : uris) {
            assertEquals("/?captun-connect=1&captun-name=demo&captun-protocol=3", u); // never the token
        }
    }

    @Test
    void a204ProbeMeansWebSocketConnectionFailed() {
        status = 204;
        body = "";
        CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                .gateway(gw()).handler(req -> TunnelResponse.empty(200)).connect());
        assertEquals(0, e.status());
        assertEquals("WebSocket connection failed", e.getMessage());
    }

    @Test
    void noGatewayMeansWebSocketConnectionFailedAndEveryGatewayIsTried() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        status = 401;
        body = "Unauthorized\n";
        // first gateway is down, second refuses with 401
        CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                .gateway("http://127.0.0.1:" + closed + "," + gw()).handler(req -> TunnelResponse.empty(200)).connect());
        assertEquals(401, e.status());
        CaptunConnectException down = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                .gateway("http://127.0.0.1:" + closed).handler(req -> TunnelResponse.empty(200)).connect());
        assertEquals(0, down.status());
        assertEquals("WebSocket connection failed", down.getMessage());
    }

    /**
     * A gateway that accepts the upgrade and closes at once, before {@code ready} (the "close before
     * open" path), and answers the diagnostic probe with a rejection: the probe's answer is reported.
     */
    @Test
    void closeBeforeReadyIsDiagnosedByTheProbeToo() throws Exception {
        try (ServerSocket raw = new ServerSocket(0)) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < 2; i++) {
                    try (java.net.Socket c = raw.accept()) {
                        String head = RawWs.readHead(c.getInputStream());
                        var out = c.getOutputStream();
                        if (head.toLowerCase().contains("x-captun-connect-diagnostic: 1")) {
                            byte[] b = "Tunnel name is already connected\n".getBytes(StandardCharsets.UTF_8);
                            out.write(("HTTP/1.1 409 Conflict\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: " + b.length
                                    + "\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                            out.write(b);
                        } else {
                            String accept = RawWs.acceptKey(RawWs.headers(head).get("sec-websocket-key"));
                            out.write(("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                                    + "sec-websocket-accept: " + accept + "\r\nsec-websocket-protocol: captun\r\n\r\n")
                                    .getBytes(StandardCharsets.ISO_8859_1));
                            out.write(new byte[] {(byte) 0x88, 0x02, 0x03, (byte) 0xE8}); // close 1000, no ready
                        }
                        out.flush();
                    } catch (Exception ignored) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                    .gateway("http://127.0.0.1:" + raw.getLocalPort()).name("demo").token("t").handler(req -> TunnelResponse.empty(200)).connect());
            assertEquals(409, e.status());
            assertEquals("Tunnel name is already connected\n", e.body());
        }
    }

    /** A gateway that accepts connections but never answers: the probe gives up after 500 ms. */
    @Test
    void aSilentGatewayMeansWebSocketConnectionFailed() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50)) {
            List<java.net.Socket> held = new CopyOnWriteArrayList<>();
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // accept and say nothing
                    }
                } catch (IOException ignored) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
            CaptunConnectException e = assertThrows(CaptunConnectException.class, () -> CaptunTunnel.builder()
                    .gateway("http://127.0.0.1:" + silent.getLocalPort()).connectTimeout(java.time.Duration.ofSeconds(1))
                    .handler(req -> TunnelResponse.empty(200)).connect());
            assertEquals(0, e.status());
            assertEquals("WebSocket connection failed", e.getMessage());
            for (java.net.Socket s : held) {
                s.close();
            }
        }
    }
}
