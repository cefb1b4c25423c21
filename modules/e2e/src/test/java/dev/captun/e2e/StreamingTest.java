package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.edge.node.GatewayNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Streaming through the CLI's path (target proxy mode): SSE as produced, cancellation reaching the local service. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class StreamingTest {
    private GatewayNode node;
    private LocalServer local;
    private final BlockingQueue<String> localSaw = new LinkedBlockingQueue<>();
    private final CountDownLatch firstEventSeen = new CountDownLatch(1);

    @BeforeAll
    void start() throws Exception {
        node = Gateways.start();
        local = new LocalServer()
                .on("/endless", ex -> {
                    ex.getResponseHeaders().set("content-type", "application/octet-stream");
                    ex.sendResponseHeaders(200, 0);
                    byte[] chunk = new byte[64 * 1024];
                    long sent = 0;
                    try (OutputStream out = ex.getResponseBody()) {
                        // Bounded: 4 GiB at most. Back-pressure stalls this loop once the public client stops reading.
                        while (sent < (4L << 30)) {
                            out.write(chunk);
                            out.flush();
                            sent += chunk.length;
                        }
                        localSaw.add("finished");
                    } catch (IOException cancelled) {
                        localSaw.add("cancelled");
                    }
                })
                .on("/events", ex -> {
                    ex.getResponseHeaders().set("content-type", "text/event-stream");
                    ex.sendResponseHeaders(200, 0);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write("data: first\n\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        if (!firstEventSeen.await(30, TimeUnit.SECONDS)) {
                            localSaw.add("first event was buffered");
                            return;
                        }
                        out.write("data: second\n\n".getBytes(StandardCharsets.UTF_8));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
    }

    @AfterAll
    void stop() {
        local.close();
        node.close();
    }

    @Test
    void serverSentEventsFromTheLocalServiceArriveAsProduced() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("sse-proxy").target(local.url()).connect()) {
            HttpResponse<InputStream> r = PublicClient.stream(PublicClient.request(t.url() + "/events").build());
            assertEquals("text/event-stream", r.headers().firstValue("content-type").orElseThrow());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                assertEquals("data: first", reader.readLine());
                firstEventSeen.countDown();
                assertEquals("", reader.readLine());
                assertEquals("data: second", reader.readLine());
            }
        }
    }

    @Test
    void aPublicClientThatLeavesMidResponseCancelsTheLocalCall() throws Exception {
        try (CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("leaver").target(local.url()).connect()) {
            HttpResponse<InputStream> r = PublicClient.stream(PublicClient.request(t.url() + "/endless").build());
            assertEquals(200, r.statusCode());
            InputStream body = r.body();
            assertEquals(1 << 20, body.readNBytes(1 << 20).length);
            body.close(); // the public client goes away mid-response
            assertEquals("cancelled", localSaw.poll(60, TimeUnit.SECONDS), "the local service's response was never cancelled");
        }
    }
}
