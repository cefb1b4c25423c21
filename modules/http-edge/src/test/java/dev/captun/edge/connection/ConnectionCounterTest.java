package dev.captun.edge.connection;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConnectionCounterTest {

    @Test
    void anIpGetsUpToItsCapAndASlotBackWhenAConnectionEnds() {
        ConnectionCounter c = new ConnectionCounter(2);
        assertTrue(c.tryOpen("203.0.113.1"));
        assertTrue(c.tryOpen("203.0.113.1"));
        assertFalse(c.tryOpen("203.0.113.1"), "third is over the cap");
        assertEquals(2, c.openFrom("203.0.113.1"), "a refusal counts nothing");
        assertTrue(c.tryOpen("203.0.113.2"), "other IPs are not affected");
        c.close("203.0.113.1");
        assertTrue(c.tryOpen("203.0.113.1"));
    }

    @Test
    void anIpWithNoOpenConnectionLeavesNoEntry() {
        ConnectionCounter c = new ConnectionCounter(3);
        c.tryOpen("a");
        c.close("a");
        assertEquals(0, c.openFrom("a"));
        c.close("a"); // an extra close never goes negative
        assertTrue(c.tryOpen("a"));
        assertEquals(1, c.openFrom("a"));
    }

    @Test
    void racingOpensNeverExceedTheCap() throws Exception {
        ConnectionCounter c = new ConnectionCounter(10);
        AtomicInteger admitted = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                if (c.tryOpen("198.51.100.7")) {
                    admitted.incrementAndGet();
                }
            });
            t.start();
            threads.add(t);
        }
        go.countDown();
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertEquals(10, admitted.get());
        assertEquals(10, c.openFrom("198.51.100.7"));
    }

    @Test
    void aCapBelowOneIsAConfigurationError() {
        assertThrows(IllegalArgumentException.class, () -> new ConnectionCounter(0));
    }
}
