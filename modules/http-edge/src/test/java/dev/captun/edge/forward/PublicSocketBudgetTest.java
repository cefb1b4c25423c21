package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.session.WsFragments;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The node-wide budget for WebSocket messages being assembled at the public edge. */
class PublicSocketBudgetTest {
    private static final ActorTestKit testKit = ActorTestKit.create();
    private static final Materializer mat = Materializer.matFromSystem(testKit.system());

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    private record Socket(PublicSocket.Assembler assembler, List<String> publicCloses, List<ByteString> toSession) {}

    private static Socket socket(ByteBudget budget) {
        List<String> closes = new CopyOnWriteArrayList<>();
        List<ByteString> toSession = new CopyOnWriteArrayList<>();
        var sink = Sink.<ByteString>foreach(toSession::add).mapMaterializedValue(x -> org.apache.pekko.NotUsed.getInstance());
        return new Socket(new PublicSocket.Assembler((code, reason) -> closes.add(code + " " + reason), sink, budget, mat), closes, toSession);
    }

    private static ByteString fragment(int size, boolean fin) {
        return WsFragments.fragment(false, fin, ByteString.fromArray(new byte[size]));
    }

    @Test
    void aSocketThatWouldGoPastTheNodesBudgetIsClosedWith1013AndTheOthersGoOn() throws Exception {
        ByteBudget budget = new ByteBudget(100 * 1024);
        Socket a = socket(budget);
        Socket b = socket(budget);
        assertFalse(a.assembler().apply(fragment(64 * 1024, false)).iterator().hasNext()); // held, not yet whole
        assertEquals(64 * 1024, budget.used());

        assertFalse(b.assembler().apply(fragment(64 * 1024, false)).iterator().hasNext());
        assertEquals(List.of("1013 Gateway WebSocket buffers full"), b.publicCloses());
        testKit.createTestProbe().awaitAssert(java.time.Duration.ofSeconds(10), () -> { // it travels through a stream
            assertEquals(1013, WsFragments.closeCode(b.toSession().get(0)), "the tunnel client is told too");
            return null;
        });
        assertEquals(64 * 1024, budget.used(), "the refused socket holds nothing");

        List<Object> out = new ArrayList<>();
        a.assembler().apply(fragment(1024, true)).forEach(out::add);
        assertEquals(1, out.size(), "a's message is whole and goes out");
        assertEquals(0, budget.used(), "and its bytes are back in the budget");
        assertTrue(a.publicCloses().isEmpty());
    }

    @Test
    void anUnfinishedMessageGivesItsBytesBackWhenTheSocketEnds() throws Exception {
        ByteBudget budget = new ByteBudget(1024 * 1024);
        Socket a = socket(budget);
        a.assembler().apply(fragment(10_000, false));
        assertEquals(10_000, budget.used());
        a.assembler().releaseHeld();
        assertEquals(0, budget.used());
    }
}
