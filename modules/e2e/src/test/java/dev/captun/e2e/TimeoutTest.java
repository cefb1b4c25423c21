package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.TunnelResponse;
import dev.captun.edge.node.GatewayNode;
import java.net.http.HttpResponse;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SPEC §5: no response head within CAPTUN_REQUEST_TIMEOUT_SECONDS → 504, and the tunnel client is told to stop. */
@Timeout(60)
class TimeoutTest {

    @Test
    void aHandlerThatNeverAnswersGets504AndIsReset() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        BlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();
        try (GatewayNode node = Gateways.start("captun.request-timeout-seconds = 1");
             CaptunTunnel t = CaptunTunnel.builder().gateway(Gateways.url(node)).name("slow").listener(events::add)
                     .handler(req -> {
                         // Answer only once the gateway has given up on this request and told the SDK so.
                         long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                         while (!req.isAborted() && System.nanoTime() < deadline) {
                             never.await(10, TimeUnit.MILLISECONDS);
                         }
                         return TunnelResponse.text(200, "too late");
                     }).connect()) {
            HttpResponse<String> r = PublicClient.get(t.url() + "/x");
            assertEquals(504, r.statusCode());
            assertEquals("Tunnel request timed out\n", r.body());
            assertEquals("no-store", r.headers().firstValue("cache-control").orElseThrow());
            assertEquals("text/plain; charset=UTF-8", r.headers().firstValue("content-type").orElseThrow());
            // The gateway reset the stream: the SDK reports it as abandoned (499), not as a 200 that went nowhere.
            TunnelEvent ev;
            do {
                ev = events.poll(20, TimeUnit.SECONDS);
                assertNotNull(ev, "no request event");
            } while (!(ev instanceof TunnelEvent.Request));
            assertEquals(499, ((TunnelEvent.Request) ev).status());
        }
    }
}
