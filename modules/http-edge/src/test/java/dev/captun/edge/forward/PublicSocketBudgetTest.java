package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.session.WsFragments;
import dev.captun.protocol.Protocol;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SessionToPublic}, the session → public direction of a public WebSocket: messages streamed
 * with backpressure, the node-wide budget for the fragments it holds, and the closes it decides.
 */
@Timeout(60)
class PublicSocketBudgetTest {
    private static final ActorTestKit testKit = ActorTestKit.create();
    private static final Materializer mat = Materializer.matFromSystem(testKit.system());
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int K64 = Protocol.MAX_DATA_PAYLOAD;

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    /** One public socket's outbound side: what the session offers, the messages out, the closes decided. */
    private record Socket(BoundedSourceQueue<ByteString> session, SinkQueueWithCancel<Message> messages,
                          List<String> publicCloses, List<ByteString> toSession) {
        Message next() throws Exception {
            return messages.pull().toCompletableFuture().get(20, TimeUnit.SECONDS).orElseThrow();
        }

        void offer(ByteString fragment) {
            assertTrue(session.offer(fragment).isEnqueued());
        }
    }

    private static Socket socket(ByteBudget budget) {
        var session = Source.<ByteString>queue(64).preMaterialize(mat);
        return socket(budget, session.first(), session.second());
    }

    private static Socket socket(ByteBudget budget, BoundedSourceQueue<ByteString> queue, Source<ByteString, NotUsed> fromSession) {
        List<String> closes = new CopyOnWriteArrayList<>();
        List<ByteString> toSession = new CopyOnWriteArrayList<>();
        var sink = Sink.<ByteString>foreach(toSession::add).mapMaterializedValue(x -> NotUsed.getInstance());
        SinkQueueWithCancel<Message> messages = fromSession
                .via(new SessionToPublic((code, reason) -> closes.add(code + " " + reason), sink, budget))
                .runWith(Sink.queue(), mat);
        return new Socket(queue, messages, closes, toSession);
    }

    private static ByteString fragment(int size, boolean fin) {
        return WsFragments.fragment(false, fin, ByteString.fromArray(new byte[size]));
    }

    private static void await(Runnable assertion) {
        testKit.createTestProbe().awaitAssert(WAIT, () -> {
            assertion.run();
            return null;
        });
    }

    @Test
    void aSocketThatWouldGoPastTheNodesBudgetIsClosedWith1013AndTheOthersGoOn() throws Exception {
        ByteBudget budget = new ByteBudget(100 * 1024);
        Socket a = socket(budget);
        Socket b = socket(budget);
        a.offer(fragment(K64, false));
        Message streamed = a.next(); // out at its first fragment; that fragment is held until the writer asks
        assertFalse(streamed.asBinaryMessage().isStrict());
        assertEquals(K64, budget.used());

        b.offer(fragment(K64, false));
        await(() -> assertEquals(List.of("1013 Gateway WebSocket buffers full"), b.publicCloses()));
        await(() -> assertEquals(1013, WsFragments.closeCode(b.toSession().get(0)), "the tunnel client is told too"));
        assertEquals(K64, budget.used(), "the refused socket holds nothing");

        var data = streamed.asBinaryMessage().getStreamedData().runWith(Sink.fold(0, (n, chunk) -> n + chunk.size()), mat);
        a.offer(fragment(1024, true));
        assertEquals(K64 + 1024, data.toCompletableFuture().get(20, TimeUnit.SECONDS), "a's message is whole");
        await(() -> assertEquals(0, budget.used(), "and its bytes are back in the budget"));
        assertTrue(a.publicCloses().isEmpty());
    }

    @Test
    void aHeldFragmentGoesBackToTheBudgetWhenTheSocketEnds() throws Exception {
        ByteBudget budget = new ByteBudget(1024 * 1024);
        Socket a = socket(budget);
        a.offer(fragment(10_000, false));
        a.next();
        assertEquals(10_000, budget.used());
        a.messages().cancel(); // the public side ended
        await(() -> assertEquals(0, budget.used()));
    }

    @Test
    void aOneFragmentMessageStaysStrictAndALongerOneIsStreamedByteExact() throws Exception {
        ByteBudget budget = new ByteBudget(1024 * 1024);
        Socket a = socket(budget);
        a.offer(WsFragments.fragment(false, true, ByteString.fromArray(new byte[] {1, 2, 3})));
        Message strict = a.next();
        assertTrue(strict.asBinaryMessage().isStrict());
        assertEquals(ByteString.fromArray(new byte[] {1, 2, 3}), strict.asBinaryMessage().getStrictData());

        a.offer(WsFragments.fragment(true, true, ByteString.fromString("héllo")));
        assertEquals("héllo", a.next().asTextMessage().getStrictText());

        // Text whose multi-byte characters are cut between fragments at every offset (sizes 1..5 in turn).
        String text = "aé€😀".repeat(50);
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        List<ByteString> fragments = new ArrayList<>();
        for (int i = 0, size = 1; i < utf8.length; i += size, size = size % 5 + 1) {
            int end = Math.min(utf8.length, i + size);
            fragments.add(WsFragments.fragment(true, end == utf8.length, ByteString.fromArray(utf8, i, end - i)));
        }
        byte[] bin = new byte[2 * K64 + 7];
        new java.util.Random(1).nextBytes(bin);
        fragments.add(WsFragments.fragment(false, false, ByteString.fromArray(bin, 0, K64)));
        fragments.add(WsFragments.fragment(false, false, ByteString.fromArray(bin, K64, K64)));
        fragments.add(WsFragments.fragment(false, true, ByteString.fromArray(bin, 2 * K64, 7)));
        Socket b = socket(budget, null, Source.from(fragments));
        Message t = b.next();
        assertFalse(t.asTextMessage().isStrict());
        assertEquals(text, t.asTextMessage().getStreamedText().runWith(Sink.fold("", String::concat), mat)
                .toCompletableFuture().get(20, TimeUnit.SECONDS));
        Message m = b.next();
        assertFalse(m.asBinaryMessage().isStrict());
        assertEquals(ByteString.fromArray(bin), m.asBinaryMessage().getStreamedData().runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat), mat)
                .toCompletableFuture().get(20, TimeUnit.SECONDS));
        await(() -> assertEquals(0, budget.used()));
        assertTrue(a.publicCloses().isEmpty());
    }

    @Test
    void aStreamedMessageTakesTheNextFragmentFromTheSessionOnlyWhenTheWriterAsks() throws Exception {
        int fragments = Protocol.MAX_TUNNELED_WS_MESSAGE / K64; // a whole 16 MiB message
        AtomicInteger pulled = new AtomicInteger();
        AtomicInteger consumed = new AtomicInteger();
        List<String> violations = new CopyOnWriteArrayList<>();
        ByteString payload = ByteString.fromArray(new byte[K64]);
        // Checked at every pull: how far the session's side is ahead of the writer, never after the fact.
        Iterator<ByteString> session = new Iterator<>() {
            @Override
            public boolean hasNext() {
                return pulled.get() < fragments;
            }

            @Override
            public ByteString next() {
                int n = pulled.incrementAndGet();
                if (n - consumed.get() > 3) {
                    violations.add("fragment " + n + " taken with " + consumed.get() + " written");
                }
                return WsFragments.fragment(false, n == fragments, payload);
            }
        };
        ByteBudget budget = new ByteBudget(1024 * 1024);
        Socket a = socket(budget, null, Source.fromIterator(() -> session));
        Message m = a.next();
        // A writer that asks for one chunk at a time (no read-ahead buffer).
        SinkQueueWithCancel<ByteString> writer = m.asBinaryMessage().getStreamedData()
                .runWith(Sink.<ByteString>queue().withAttributes(Attributes.inputBuffer(1, 1)), mat);
        long bytes = 0;
        while (true) {
            var chunk = writer.pull().toCompletableFuture().get(20, TimeUnit.SECONDS);
            if (chunk.isEmpty()) {
                break;
            }
            bytes += chunk.get().size();
            consumed.incrementAndGet();
            assertTrue(budget.used() <= K64, "at most one fragment held");
        }
        assertEquals((long) fragments * K64, bytes);
        assertEquals(List.of(), violations);
        await(() -> assertEquals(0, budget.used()));
    }

    @Test
    void aMessageOver16MiBAcrossFragmentsClosesBothEndsWith4009() throws Exception {
        ByteBudget budget = new ByteBudget(1024 * 1024);
        ByteString payload = ByteString.fromArray(new byte[K64]);
        List<ByteString> fragments = new ArrayList<>();
        for (int i = 0; i <= Protocol.MAX_TUNNELED_WS_MESSAGE / K64; i++) {
            fragments.add(WsFragments.fragment(false, false, payload));
        }
        Socket a = socket(budget, null, Source.from(fragments));
        a.next().asBinaryMessage().getStreamedData().runWith(Sink.ignore(), mat);
        await(() -> assertEquals(List.of("4009 " + Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON), a.publicCloses()));
        await(() -> assertEquals(Protocol.CLOSE_MESSAGE_TOO_LARGE, WsFragments.closeCode(a.toSession().get(0))));
        await(() -> assertEquals(0, budget.used()));
    }

    @Test
    void closesTravelOnAndTheSessionEndingOrFailingClosesThePublicSocket() throws Exception {
        ByteBudget budget = new ByteBudget(1024 * 1024);
        Socket coded = socket(budget);
        coded.offer(fragment(100, false));
        var cut = coded.next().asBinaryMessage().getStreamedData().runWith(Sink.ignore(), mat);
        // A close follows what the writer has taken; the message it cuts short is never finished.
        coded.offer(WsFragments.close(4001, "bye"));
        await(() -> assertEquals(List.of("4001 bye"), coded.publicCloses()));
        var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> cut.toCompletableFuture().get(20, TimeUnit.SECONDS));
        assertInstanceOf(SessionToPublic.MessageCut.class, e.getCause());
        assertTrue(coded.messages().pull().toCompletableFuture().get(20, TimeUnit.SECONDS).isEmpty(),
                "the output ends in-band: the close goes out after it");

        Socket ended = socket(budget);
        ended.session().complete();
        await(() -> assertEquals(List.of("1000 "), ended.publicCloses()));

        Socket failed = socket(budget);
        failed.offer(fragment(100, false));
        failed.next(); // its writer has not asked yet: the fragment is held
        assertEquals(100, budget.used());
        failed.session().fail(new RuntimeException("tunnel dropped"));
        await(() -> assertEquals(List.of("1001 Tunnel client disconnected"), failed.publicCloses()));
        await(() -> assertEquals(0, budget.used(), "the held fragment is given back"));
        assertTrue(coded.toSession().isEmpty() && ended.toSession().isEmpty() && failed.toSession().isEmpty(),
                "closes the session decided are not echoed back to it");
    }
}
