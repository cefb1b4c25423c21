package dev.captun.edge.forward;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A node-wide allowance of bytes, shared by every public WebSocket for the fragment from the
 * tunnel client it holds on its way out ({@link SessionToPublic}, docs/SECURITY.md): a socket that
 * would take the node past it is closed with {@code 1013 Try again later}.
 * Thread-safe; the only shared mutable state is one counter.
 */
final class ByteBudget {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    ByteBudget(long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
        }
        this.capacity = capacity;
    }

    /** Takes {@code bytes} if they fit; false (nothing taken) otherwise. */
    boolean tryAcquire(long bytes) {
        while (true) {
            long now = used.get();
            if (now + bytes > capacity) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }

    long used() {
        return used.get();
    }

    long capacity() {
        return capacity;
    }
}
