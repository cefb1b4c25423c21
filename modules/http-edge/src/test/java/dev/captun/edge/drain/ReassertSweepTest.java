package dev.captun.edge.drain;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReassertSweepTest {

    private static ReassertSweep<Integer> withMembers(int n, int periodTicks, int waveTicks) {
        ReassertSweep<Integer> s = new ReassertSweep<>(periodTicks, waveTicks);
        for (int i = 0; i < n; i++) {
            s.add(i);
        }
        return s;
    }

    @Test
    void theSafetySweepVisitsEverySessionOncePerPeriodInEvenBatches() {
        ReassertSweep<Integer> s = withMembers(10_000, 600, 10);
        Map<Integer, Integer> seen = new HashMap<>();
        for (int tick = 0; tick < 600 && seen.size() < 10_000; tick++) {
            List<Integer> batch = s.tick();
            assertTrue(batch.size() <= 17, "batch of " + batch.size() + " at tick " + tick); // ceil(10,000 / 600)
            batch.forEach(i -> seen.merge(i, 1, Integer::sum));
        }
        assertEquals(10_000, seen.size());
        assertTrue(seen.values().stream().allMatch(c -> c == 1));
    }

    @Test
    void aWaveReachesEverySessionWithinItsTicksOnTopOfTheSweep() {
        ReassertSweep<Integer> s = withMembers(1_000, 600, 10);
        s.tick(); // the sweep is under way
        s.wave();
        Map<Integer, Integer> seen = new HashMap<>();
        for (int tick = 0; tick < 10; tick++) {
            List<Integer> batch = s.tick();
            assertTrue(batch.size() <= 100 + 2, "batch of " + batch.size());
            assertEquals(batch.size(), batch.stream().distinct().count(), "a session at most once per tick");
            batch.forEach(i -> seen.merge(i, 1, Integer::sum));
        }
        assertEquals(1_000, seen.size(), "every session re-asserted within the wave");
        // After the wave only the slow sweep is left.
        assertTrue(s.tick().size() <= 2);
    }

    @Test
    void removedSessionsAreNeverReturnedAndNewOnesJoinTheNextRound() {
        ReassertSweep<Integer> s = withMembers(4, 2, 1);
        s.wave();
        s.remove(2);
        s.add(9);
        List<Integer> all = new ArrayList<>();
        for (int tick = 0; tick < 4; tick++) {
            all.addAll(s.tick());
        }
        assertFalse(all.contains(2));
        assertTrue(all.containsAll(List.of(0, 1, 3, 9)), all.toString());
        assertEquals(4, s.size());
    }

    @Test
    void nothingToDoWithoutSessions() {
        ReassertSweep<Integer> s = new ReassertSweep<>(600, 10);
        s.wave();
        assertEquals(List.of(), s.tick());
        assertThrows(IllegalArgumentException.class, () -> new ReassertSweep<Integer>(0, 10));
    }
}
