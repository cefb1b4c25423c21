package dev.captun.client.inspect;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages of one WebSocket, newest kept: at most {@link #MAX_MESSAGES} and at most {@code cap}
 * bytes in all (a message is cut to the cap), so a long-lived socket stays bounded like a body.
 */
final class WsLog {
    static final int MAX_MESSAGES = 1000;

    /** One message: direction, kind, the time it passed, its size and its first bytes. */
    record Message(long atMillis, boolean fromPublic, boolean text, int size, byte[] data) {}

    private final int cap;
    private final ArrayDeque<Message> messages = new ArrayDeque<>();
    private long bytes;
    private long dropped;
    private long count;

    WsLog(int cap) {
        this.cap = cap;
    }

    int cap() {
        return cap;
    }

    synchronized void add(boolean fromPublic, boolean text, byte[] data, int size) {
        byte[] kept = data.length > cap ? java.util.Arrays.copyOf(data, cap) : data;
        messages.addLast(new Message(System.currentTimeMillis(), fromPublic, text, size, kept));
        bytes += kept.length;
        count++;
        while (messages.size() > 1 && (messages.size() > MAX_MESSAGES || bytes > cap)) {
            bytes -= messages.removeFirst().data().length;
            dropped++;
        }
    }

    synchronized List<Message> messages() {
        return new ArrayList<>(messages);
    }

    /** Messages no longer kept (older ones beyond the bounds). */
    synchronized long dropped() {
        return dropped;
    }

    synchronized long count() {
        return count;
    }
}
