package dev.captun.client.inspect;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Header;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CaptureRingTest {

    private static Exchange exchange(CaptureRing ring, String path) {
        return new Exchange(ring.nextId(), 0, "GET", path, List.of(new Header("a", "b")), false, null, null,
                () -> false, ring::changed);
    }

    @Test
    void keepsTheLastNNewestFirstAndFindsThemById() {
        CaptureRing ring = new CaptureRing(3);
        for (int i = 1; i <= 5; i++) {
            ring.add(exchange(ring, "/" + i));
        }
        assertEquals(List.of("/5", "/4", "/3"), ring.list().stream().map(e -> e.path).toList());
        assertEquals(List.of(5L, 4L, 3L), ring.list().stream().map(e -> e.id).toList());
        assertEquals("/4", ring.get(4).path);
        assertNull(ring.get(2), "evicted");
        assertNull(ring.get(99));
        ring.clear();
        assertEquals(List.of(), ring.list());
        assertNull(ring.get(5));
        ring.add(exchange(ring, "/6"));
        assertEquals(6, ring.list().get(0).id, "ids keep growing after a clear");
    }

    @Test
    void anExchangeWhoseStreamWasResetBeforeItEndedShowsAborted() {
        CaptureRing ring = new CaptureRing(2);
        java.util.concurrent.atomic.AtomicBoolean reset = new java.util.concurrent.atomic.AtomicBoolean();
        Exchange e = new Exchange(ring.nextId(), 0, "GET", "/", List.of(), false, null, null, reset::get, ring::changed);
        assertEquals(Exchange.State.PENDING, e.state());
        reset.set(true);
        assertEquals(Exchange.State.ABORTED, e.state());
        Exchange ws = new Exchange(ring.nextId(), 0, "GET", "/ws", List.of(), true, null, null, reset::get, ring::changed);
        ws.webSocketOpened(new WsLog(10));
        assertEquals(Exchange.State.ABORTED, ws.state(), "a socket reset before it started never closes");
        ws.webSocketClosed(1001, "Tunnel client disconnected");
        assertEquals(Exchange.State.CLOSED, ws.state(), "an ended exchange keeps its end");
        assertEquals(1001, ws.closeCode());
    }

    @Test
    void rejectsAnEmptyRing() {
        assertThrows(IllegalArgumentException.class, () -> new CaptureRing(0));
    }

    @Test
    void everyChangeBumpsTheVersionAndWakesAWaiter() throws Exception {
        CaptureRing ring = new CaptureRing(2);
        long v0 = ring.version();
        assertEquals(v0, ring.awaitChange(v0, 10), "nothing changed: returns at the timeout");
        CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return ring.awaitChange(v0, 60_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Exchange e = exchange(ring, "/x");
        ring.add(e);
        assertTrue(waiting.get(30, TimeUnit.SECONDS) > v0, "woken by the add, long before its timeout");
        long v1 = ring.version();
        e.responded(200, List.of(), null);
        assertTrue(ring.version() > v1, "an exchange's progress is a change too");
        long v2 = ring.version();
        e.finished();
        assertTrue(ring.version() > v2);
        assertEquals(Exchange.State.DONE, e.state());
    }

    @Test
    void bodyCaptureKeepsTheCapAndCountsTheRest() {
        BodyCapture c = new BodyCapture(10);
        c.append("hello ".getBytes(), 0, 6);
        assertEquals(6, c.captured());
        assertFalse(c.isTruncated());
        c.append("wonderful world".getBytes(), 0, 15);
        assertEquals("hello wond", new String(c.bytes()));
        assertEquals(21, c.total());
        assertTrue(c.isTruncated());
        assertFalse(c.isComplete());
        c.complete();
        assertTrue(c.isComplete());

        BodyCapture fixed = BodyCapture.of(java.nio.ByteBuffer.wrap("0123456789abc".getBytes()).asReadOnlyBuffer(), 4);
        assertEquals("0123", new String(fixed.bytes()));
        assertEquals(13, fixed.total());
        assertTrue(fixed.isTruncated() && fixed.isComplete());

        BodyCapture none = new BodyCapture(0);
        none.append(new byte[100], 0, 100);
        assertEquals(0, none.captured());
        assertEquals(100, none.total());
    }

    @Test
    void webSocketLogStaysWithinItsBytesKeepingTheNewest() {
        WsLog log = new WsLog(10);
        log.add(true, true, "aaaa".getBytes(), 4);
        log.add(false, true, "bbbb".getBytes(), 4);
        log.add(true, true, "cccc".getBytes(), 4); // 12 > 10: the oldest goes
        assertEquals(List.of("bbbb", "cccc"), log.messages().stream().map(m -> new String(m.data())).toList());
        assertEquals(1, log.dropped());
        assertEquals(3, log.count());
        log.add(true, false, new byte[50], 50); // one message over the cap is cut, and kept alone
        assertEquals(1, log.messages().size());
        assertEquals(10, log.messages().get(0).data().length);
        assertEquals(50, log.messages().get(0).size());
    }
}
