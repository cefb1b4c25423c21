package dev.captun.client.inspect;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The last {@code capacity} exchanges, oldest evicted first. Adding takes one short lock; every
 * change bumps a version that the page's event stream waits on (a waiter is only woken when
 * someone is waiting, so an unwatched tunnel pays one atomic increment per change).
 */
final class CaptureRing {
    private final int capacity;
    private final Exchange[] slots;
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong version = new AtomicLong();
    private final AtomicInteger waiters = new AtomicInteger();
    private final Object signal = new Object();
    private int next;  // slot of the next add
    private int size;

    CaptureRing(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be ≥ 1: " + capacity);
        }
        this.capacity = capacity;
        this.slots = new Exchange[capacity];
    }

    int capacity() {
        return capacity;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    void add(Exchange e) {
        synchronized (this) {
            slots[next] = e;
            next = (next + 1) % capacity;
            size = Math.min(size + 1, capacity);
        }
        changed();
    }

    /** Newest first. */
    List<Exchange> list() {
        synchronized (this) {
            List<Exchange> out = new ArrayList<>(size);
            for (int i = 1; i <= size; i++) {
                out.add(slots[(next - i + capacity) % capacity]);
            }
            return out;
        }
    }

    Exchange get(long id) {
        synchronized (this) {
            for (int i = 1; i <= size; i++) {
                Exchange e = slots[(next - i + capacity) % capacity];
                if (e.id == id) {
                    return e;
                }
            }
            return null;
        }
    }

    void clear() {
        synchronized (this) {
            java.util.Arrays.fill(slots, null);
            next = 0;
            size = 0;
        }
        changed();
    }

    long version() {
        return version.get();
    }

    void changed() {
        version.incrementAndGet();
        if (waiters.get() > 0) {
            synchronized (signal) {
                signal.notifyAll();
            }
        }
    }

    /** Waits until the version differs from {@code seen} or {@code millis} passed; returns the version. */
    long awaitChange(long seen, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        waiters.incrementAndGet();
        try {
            synchronized (signal) {
                long v;
                while ((v = version.get()) == seen) {
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        return v;
                    }
                    signal.wait(left);
                }
                return v;
            }
        } finally {
            waiters.decrementAndGet();
        }
    }
}
