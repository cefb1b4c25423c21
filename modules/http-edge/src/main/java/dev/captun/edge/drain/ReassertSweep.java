package dev.captun.edge.drain;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which of a node's live sessions re-assert their registration on each tick (pure; the
 * {@link NodeSessions} actor ticks it). Two kinds of work, both spread evenly over ticks so 10,000
 * sessions never cost a burst of 10,000 entity messages in one go:
 * <ul>
 *   <li>a slow safety sweep: every session once per {@code periodTicks};</li>
 *   <li>a wave after a cluster membership change (entities of a lost node restart empty elsewhere):
 *   every session once within {@code waveTicks}.</li>
 * </ul>
 * A session is returned at most once per tick, and never after it was removed.
 */
public final class ReassertSweep<T> {
    private final int periodTicks;
    private final int waveTicks;
    private final Set<T> members = new LinkedHashSet<>();
    private final ArrayDeque<T> round = new ArrayDeque<>();
    private int roundBatch;
    private final ArrayDeque<T> wave = new ArrayDeque<>();
    private int waveTicksLeft;

    public ReassertSweep(int periodTicks, int waveTicks) {
        if (periodTicks < 1 || waveTicks < 1) {
            throw new IllegalArgumentException("ticks must be >= 1");
        }
        this.periodTicks = periodTicks;
        this.waveTicks = waveTicks;
    }

    public void add(T session) {
        members.add(session);
    }

    public void remove(T session) {
        members.remove(session);
    }

    public int size() {
        return members.size();
    }

    public Collection<T> members() {
        return java.util.Collections.unmodifiableSet(members);
    }

    /** Every current session re-asserts within the next {@code waveTicks} (a wave in progress restarts). */
    public void wave() {
        wave.clear();
        wave.addAll(members);
        waveTicksLeft = waveTicks;
    }

    /** The sessions to re-assert on this tick. */
    public List<T> tick() {
        List<T> out = new ArrayList<>();
        Set<T> seen = new java.util.HashSet<>();
        if (!wave.isEmpty()) {
            int n = ceilDiv(wave.size(), Math.max(1, waveTicksLeft));
            take(wave, n, out, seen);
            waveTicksLeft = Math.max(0, waveTicksLeft - 1);
        }
        if (round.isEmpty()) {
            round.addAll(members);
            roundBatch = ceilDiv(round.size(), periodTicks);
        }
        take(round, roundBatch, out, seen);
        return out;
    }

    private void take(ArrayDeque<T> from, int n, List<T> out, Set<T> seen) {
        while (n > 0 && !from.isEmpty()) {
            T t = from.poll();
            if (members.contains(t)) {
                n--;
                if (seen.add(t)) {
                    out.add(t);
                }
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
