package dev.captun.edge.session;

import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Reply;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The open streams of one session and the counts kept over them: how many each client IP holds
 * (its share of the in-flight cap, public policy) and how many still await their answer (the 504
 * sweep runs only while one does). Plain: the stage decides with it and writes the frames, so it
 * is tested without a stream running.
 */
final class StreamTable {
    private final Map<Integer, TunnelStream> streams = new HashMap<>();
    private final Map<String, Integer> inFlightByIp = new HashMap<>();
    private final int maxInFlight; // 0: no cap (trusted policy)
    private int nextId = 1;
    private int awaitingAnswers;

    StreamTable(int maxInFlight) {
        this.maxInFlight = maxInFlight;
    }

    /** Why a public request from {@code clientIp} gets a 503 now (its message), or null when it may open a stream. */
    String refusal(String clientIp) {
        if (maxInFlight <= 0) {
            return null;
        }
        if (streams.size() >= maxInFlight) {
            return PlainResponses.TOO_MANY_IN_FLIGHT;
        }
        if (clientIp != null && inFlightByIp.getOrDefault(clientIp, 0) >= TunnelSession.perIpShare(maxInFlight)) {
            // One client must not hold every slot of somebody's tunnel (and with it the tunnel) at 503.
            return PlainResponses.TOO_MANY_IN_FLIGHT_FROM_IP;
        }
        return null;
    }

    /** The id {@link #open} gives next (a head refused before it opens leaves it free). */
    int nextId() {
        return nextId;
    }

    /** Opens the next stream: it awaits its answer, and counts against its client's IP while a cap applies. */
    TunnelStream open(boolean websocket, Consumer<Reply> reply, long deadlineNanos, String clientIp, int window) {
        String ip = maxInFlight > 0 ? clientIp : null;
        TunnelStream s = new TunnelStream(nextId++, websocket, reply, deadlineNanos, ip, window);
        streams.put(s.id, s);
        if (ip != null) {
            inFlightByIp.merge(ip, 1, Integer::sum);
        }
        awaitingAnswers++;
        return s;
    }

    TunnelStream get(int id) {
        return streams.get(id);
    }

    /** Whether {@code s} is still open (callbacks may come for a stream that ended). */
    boolean holds(TunnelStream s) {
        return streams.get(s.id) == s;
    }

    boolean isEmpty() {
        return streams.isEmpty();
    }

    int size() {
        return streams.size();
    }

    int awaitingAnswers() {
        return awaitingAnswers;
    }

    int inFlightFrom(String ip) {
        return inFlightByIp.getOrDefault(ip, 0);
    }

    /** Hands the public side its answer, if it still waits for one. */
    void answer(TunnelStream s, Reply r) {
        if (s.awaitingAnswer()) {
            awaitingAnswers--;
            s.answer(r);
        }
    }

    /** The stream is complete: forget it and stop its upload (its handler is done). */
    void finish(TunnelStream s) {
        remove(s);
        s.cancelUpload();
    }

    /** The stream ends abnormally: a 502 if it was not answered yet, its download fails, its upload stops. */
    void fail(TunnelStream s, String why) {
        answer(s, new Failed(0, 502, PlainResponses.FETCH_FAILED));
        remove(s);
        s.failDownload(why);
        s.cancelUpload();
    }

    /** Streams past their deadline still waiting for their head: the sweep answers them 504. */
    List<TunnelStream> overdue(long nowNanos) {
        List<TunnelStream> late = List.of();
        for (TunnelStream s : streams.values()) {
            if (s.awaitingAnswer() && nowNanos - s.deadlineNanos >= 0) {
                if (late.isEmpty()) {
                    late = new ArrayList<>();
                }
                late.add(s);
            }
        }
        return late;
    }

    /** Every open stream, copied: ending one removes it. */
    List<TunnelStream> all() {
        return List.copyOf(streams.values());
    }

    private void remove(TunnelStream s) {
        if (streams.remove(s.id, s) && s.clientIp != null) {
            inFlightByIp.computeIfPresent(s.clientIp, (k, n) -> n <= 1 ? null : n - 1);
        }
    }
}
