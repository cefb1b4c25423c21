package dev.captun.edge.session;

import dev.captun.edge.StageTestSystem;
import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/** The tunnel socket's message layer alone: frame handling's output on one side, a fake session on the other. */
class WholeMessagesTest extends StageTestSystem {
    private static FrameHandler.Output part(ByteString data, boolean last) {
        return new FrameHandler.BinaryMessagePart(data, last);
    }

    private static final FrameHandler.Output END = FrameHandler.MessageEnd$.MODULE$;

    private static Flow<FrameHandler.Output, Object, CompletionStage<List<ByteString>>> socket(
            FiniteDuration closeTimeout, Flow<ByteString, ByteString, CompletionStage<List<ByteString>>> session) {
        return BidiFlow.fromGraph(new WholeMessages(closeTimeout)).join(session, Keep.<NotUsed, CompletionStage<List<ByteString>>>right());
    }

    /** What the session got, and what went down to frame handling, once the stage completed. */
    private Pair<List<ByteString>, List<Object>> run(Source<FrameHandler.Output, ?> fromFrames, List<ByteString> fromSession) throws Exception {
        Flow<ByteString, ByteString, CompletionStage<List<ByteString>>> session =
                Flow.fromSinkAndSourceMat(Sink.<ByteString>seq(), Source.from(fromSession), Keep.left());
        Pair<CompletionStage<List<ByteString>>, CompletionStage<List<Object>>> done = fromFrames
                .viaMat(socket(FiniteDuration.create(3, TimeUnit.SECONDS), session), Keep.right())
                .toMat(Sink.seq(), Keep.both())
                .run(mat);
        return Pair.create(done.first().toCompletableFuture().get(10, TimeUnit.SECONDS),
                done.second().toCompletableFuture().get(10, TimeUnit.SECONDS));
    }

    @Test
    void partsBecomeWholeMessagesAndMessagesBecomeBinaryFrames() throws Exception {
        ByteString single = ByteString.fromString("single");
        FrameHandler.Output pong = new FrameHandler.DirectAnswer(FrameEvent.fullFrame(
                org.apache.pekko.http.impl.engine.ws.Protocol.Opcode$.MODULE$.forCode((byte) 0xA), Option.empty(), ByteString.emptyByteString(),
                true, false, false, false));
        var result = run(Source.from(List.of(
                        part(ByteString.fromString("jo"), false), part(ByteString.emptyByteString(), false), part(ByteString.fromString("ined"), true), END,
                        pong,
                        part(single, true), END)),
                List.of(ByteString.fromString("out-1"), ByteString.fromString("out-2")));
        assertEquals(List.of(ByteString.fromString("joined"), single), result.first());
        assertSame(single, result.first().get(1), "a message in one part is handed on as it is");

        List<Object> down = result.second();
        assertTrue(down.contains(pong), "bypass events go back down");
        List<Object> frames = new ArrayList<>(down);
        frames.remove(pong);
        assertEquals(3, frames.size(), down.toString());
        for (int i = 0; i < 2; i++) {
            FrameStart f = (FrameStart) frames.get(i);
            assertEquals(ByteString.fromString("out-" + (i + 1)), f.data());
            assertEquals(2, f.header().opcode().code(), "binary");
            assertTrue(f.header().fin());
            assertTrue(f.header().mask().isEmpty(), "a server does not mask");
        }
        assertSame(FrameHandler.UserHandlerCompleted$.MODULE$, frames.get(2), "the session's end comes after its messages");
    }

    @Test
    void textAndOversizedMessagesAreRefusedOnceAndDiscarded() throws Exception {
        ByteString half = ByteString.fromArrayUnsafe(new byte[Protocol.MAX_MESSAGE_BYTES / 2]);
        ByteString after = ByteString.fromString("after");
        var result = run(Source.from(List.of(
                        new FrameHandler.TextMessagePart("te", false), new FrameHandler.TextMessagePart("xt", true), END,
                        part(half, false), part(half, false), part(ByteString.fromString("!"), false), part(half, true), END,
                        part(half, false), part(half, true), END,
                        part(after, true), END)),
                List.of());
        ByteString exactly = half.concat(half);
        assertEquals(List.of(WholeMessages.TEXT, WholeMessages.TOO_LARGE, exactly, after), result.first());
        assertSame(WholeMessages.TEXT, result.first().get(0));
        assertSame(WholeMessages.TOO_LARGE, result.first().get(1));
    }

    @Test
    void aPeerCloseWithAnErrorCodeFailsTheSessionsInputAndGoesDown() throws Exception {
        FrameHandler.PeerClosed close = new FrameHandler.PeerClosed(Option.<Object>apply(1011), "gone wrong");
        Flow<ByteString, ByteString, CompletionStage<List<ByteString>>> session =
                Flow.fromSinkAndSourceMat(Sink.<ByteString>seq(), Source.<ByteString>empty(), Keep.left());
        // The connection stays open (the peer has not closed TCP): a close under way gets ticks for its deadline.
        Pair<CompletionStage<List<ByteString>>, CompletionStage<List<Object>>> done = Source.<FrameHandler.Output>single(close)
                .concat(Source.never())
                .viaMat(socket(FiniteDuration.create(20, TimeUnit.MILLISECONDS), session), Keep.right())
                .take(3)
                .toMat(Sink.seq(), Keep.both())
                .run(mat);
        ExecutionException failed = assertThrows(ExecutionException.class, () -> done.first().toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertEquals(1011, assertInstanceOf(PeerClosedConnectionException.class, failed.getCause()).closeCode());
        List<Object> down = done.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(down.contains(close), down.toString());
        assertTrue(down.contains(FrameHandler.UserHandlerCompleted$.MODULE$), down.toString());
        assertTrue(down.contains(WebSocket.Tick$.MODULE$), down.toString());
    }
}
