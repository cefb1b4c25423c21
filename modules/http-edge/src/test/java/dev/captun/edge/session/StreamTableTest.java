package dev.captun.edge.session;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.Reply;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamTableTest {
    private static final int WINDOW = 1000;

    private final List<Reply> replies = new ArrayList<>();

    private TunnelStream open(StreamTable t, String ip, long deadline) {
        return t.open(false, replies::add, deadline, ip, WINDOW);
    }

    @Test
    void streamsGetIncreasingIdsAndARefusedHeadUsesNone() {
        StreamTable t = new StreamTable(0);
        assertEquals(1, t.nextId());
        assertEquals(1, t.nextId()); // asking twice (a head refused as too large) takes nothing
        TunnelStream a = open(t, null, 0);
        TunnelStream b = open(t, null, 0);
        assertEquals(1, a.id);
        assertEquals(2, b.id);
        assertEquals(3, t.nextId());
        assertSame(b, t.get(2));
        assertEquals(2, t.size());
        assertEquals(2, t.awaitingAnswers());
        assertEquals(WINDOW, a.sendCredit);
    }

    @Test
    void theCapCountsEveryStreamAndEachIpGetsAQuarterOfIt() {
        StreamTable t = new StreamTable(8); // a share of 2 per IP
        assertNull(t.refusal("10.0.0.1"));
        open(t, "10.0.0.1", 0);
        TunnelStream second = open(t, "10.0.0.1", 0);
        assertEquals(2, t.inFlightFrom("10.0.0.1"));
        assertEquals(PlainResponses.TOO_MANY_IN_FLIGHT_FROM_IP, t.refusal("10.0.0.1"));
        assertNull(t.refusal("10.0.0.2"));
        assertNull(t.refusal(null)); // no address known: only the tunnel's cap applies

        t.finish(second); // a slot comes back when the stream ends
        assertEquals(1, t.inFlightFrom("10.0.0.1"));
        assertNull(t.refusal("10.0.0.1"));

        for (int i = 0; i < 7; i++) {
            open(t, "10.0.1." + i, 0);
        }
        assertEquals(8, t.size());
        assertEquals(PlainResponses.TOO_MANY_IN_FLIGHT, t.refusal("10.0.2.1"));
    }

    @Test
    void withoutACapNothingIsRefusedAndNoIpIsCounted() {
        StreamTable t = new StreamTable(0);
        for (int i = 0; i < 100; i++) {
            open(t, "10.0.0.1", 0);
        }
        assertNull(t.refusal("10.0.0.1"));
        assertEquals(0, t.inFlightFrom("10.0.0.1"));
        assertNull(t.get(1).clientIp);
    }

    @Test
    void eachStreamIsAnsweredOnceAndAFailureAfterTheAnswerSendsNoSecond() {
        StreamTable t = new StreamTable(4);
        TunnelStream s = open(t, "10.0.0.1", 0);
        Answered ok = new Answered(0, 200, List.of(), Body.EMPTY);
        t.answer(s, ok);
        t.answer(s, new Failed(0, 504, PlainResponses.TIMED_OUT));
        assertEquals(List.of(ok), replies);
        assertEquals(0, t.awaitingAnswers());

        t.fail(s, "reset by tunnel client");
        assertEquals(List.of(ok), replies);
        assertFalse(t.holds(s));
        assertNull(t.get(s.id));
        assertTrue(s.uploadFinished);
        assertEquals(0, t.inFlightFrom("10.0.0.1"));

        t.fail(s, "again"); // a late second end changes nothing
        t.finish(s);
        assertEquals(1, replies.size());
        assertEquals(0, t.inFlightFrom("10.0.0.1"));
        assertTrue(t.isEmpty());
    }

    @Test
    void aStreamThatFailsUnansweredGetsA502() {
        StreamTable t = new StreamTable(0);
        TunnelStream s = open(t, null, 0);
        t.fail(s, "tunnel client disconnected");
        assertEquals(List.of(new Failed(0, 502, PlainResponses.FETCH_FAILED)), replies);
        assertEquals(0, t.awaitingAnswers());
        assertTrue(t.isEmpty());
    }

    @Test
    void onlyUnansweredStreamsPastTheirDeadlineAreOverdue() {
        StreamTable t = new StreamTable(0);
        TunnelStream early = open(t, null, 100);
        TunnelStream answered = open(t, null, 100);
        TunnelStream late = open(t, null, 300);
        t.answer(answered, new Answered(0, 200, List.of(), Body.EMPTY));

        assertEquals(List.of(), t.overdue(99));
        assertEquals(List.of(early), t.overdue(100));
        assertEquals(List.of(early, late), sortedById(t.overdue(300)));
        assertEquals(3, t.all().size());
        assertTrue(t.holds(late));
    }

    private static List<TunnelStream> sortedById(List<TunnelStream> streams) {
        List<TunnelStream> sorted = new ArrayList<>(streams);
        sorted.sort((a, b) -> Integer.compare(a.id, b.id));
        return sorted;
    }
}
