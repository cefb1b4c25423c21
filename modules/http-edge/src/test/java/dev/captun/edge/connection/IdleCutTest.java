package dev.captun.edge.connection;

import dev.captun.edge.StageTestSystem;
import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.StreamIdleTimeoutException;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** {@link IdleCut}: silence either way aborts after the timeout (not before), traffic in one direction keeps it open. */
class IdleCutTest extends StageTestSystem {
    private static final Duration TIMEOUT = Duration.ofMillis(600);
    /** The cut between two sides that never end by themselves; completes with what the outbound side saw. */
    private CompletableFuture<List<ByteString>> connect(Source<ByteString, ?> inbound) {
        BidiFlow<ByteString, ByteString, ByteString, ByteString, ?> cut = BidiFlow.fromGraph(new IdleCut(TIMEOUT));
        // in1 -> out1: the "inbound" bytes; in2 -> out2 answers nothing (Source.never) and is collected.
        Flow<ByteString, ByteString, ?> wire = cut.join(Flow.fromSinkAndSource(Sink.ignore(), Source.<ByteString>never()));
        return inbound.concat(Source.never()).via(wire).toMat(Sink.seq(), Keep.right()).run(mat).toCompletableFuture();
    }

    @Test
    void aSilentConnectionIsAbortedAfterTheTimeoutAndNotBefore() throws Exception {
        long t0 = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(Source.empty()).get(20, TimeUnit.SECONDS));
        long elapsed = System.nanoTime() - t0;
        assertInstanceOf(StreamIdleTimeoutException.class, e.getCause());
        assertTrue(elapsed >= TIMEOUT.toNanos(), "cut after " + elapsed / 1_000_000 + " ms, before the timeout");
    }

    @Test
    void trafficOneWayKeepsItOpenAndSilenceAfterwardsStillCuts() throws Exception {
        // A chunk every 50 ms for 4 timeouts: far more often than the cut's checks (every 300 ms).
        Source<ByteString, ?> chatty = Source.tick(Duration.ZERO, Duration.ofMillis(50), ByteString.fromString("x"))
                .take(4 * TIMEOUT.toMillis() / 50);
        long t0 = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(chatty).get(20, TimeUnit.SECONDS));
        long elapsed = System.nanoTime() - t0;
        assertInstanceOf(StreamIdleTimeoutException.class, e.getCause());
        assertTrue(elapsed >= 4 * TIMEOUT.toNanos(), "cut after " + elapsed / 1_000_000 + " ms, while traffic still flowed");
    }
}
