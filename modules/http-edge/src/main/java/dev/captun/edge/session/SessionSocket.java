package dev.captun.edge.session;

import dev.captun.protocol.Protocol;
import dev.captun.tunnel.SessionMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.MergeHub;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.apache.pekko.util.ByteString;

/** Wires a tunnel client's WebSocket to its {@link TunnelSession} actor. */
public final class SessionSocket {
    private SessionSocket() {}

    /** Control frames queued by the session before the client drains them; exceeding it means a dead client. */
    private static final int CONTROL_QUEUE = 4096;
    private static final int PER_STREAM_HUB_BUFFER = 16;

    /** A spawned session and the WebSocket flow that feeds it. */
    public record Spawned(ActorRef<SessionMessage> session, Flow<Message, Message, NotUsed> flow) {}

    /** @param spawner spawns the session behavior (a guardian context, or a test kit) */
    public static Spawned spawn(TunnelSession.Setup setup, Materializer mat,
                                java.util.function.Function<org.apache.pekko.actor.typed.Behavior<SessionMessage>, ActorRef<SessionMessage>> spawner) {
        var control = Source.<Message>queue(CONTROL_QUEUE).preMaterialize(mat);
        var data = MergeHub.of(Message.class, PER_STREAM_HUB_BUFFER).preMaterialize(mat);
        SharedKillSwitch kill = KillSwitches.shared("session-" + setup.sessionId());
        ActorRef<SessionMessage> session = spawner.apply(
                TunnelSession.create(setup, new TunnelSession.Outbound(control.first(), data.first(), kill)));

        Sink<Message, NotUsed> inbound = Flow.<Message>create()
                .mapAsync(1, m -> strict(m, mat))
                // While the session handles one batch, the next frames collect (up to one window's worth).
                .batchWeighted(Protocol.DEFAULT_WINDOW, SessionSocket::weight,
                        first -> {
                            List<Object> batch = new ArrayList<>();
                            batch.add(first);
                            return batch;
                        },
                        (batch, next) -> {
                            batch.add(next);
                            return batch;
                        })
                .to(ActorSink.actorRefWithBackpressure(
                        session,
                        (ActorRef<TunnelSession.Ack> ack, List<Object> frames) -> new TunnelSession.Inbound(frames, ack),
                        TunnelSession.InboundInit::new,
                        TunnelSession.Ack.INSTANCE,
                        new TunnelSession.InboundDone(null),
                        TunnelSession.InboundDone::new));
        // Control frames are preferred so credit and pings are not stuck behind bulk data. The socket's outbound side
        // ends at the END marker the session queues after its last control frame (so a `close` frame is never lost,
        // as it would be with an eagerly completing merge), or at the kill switch if the queue could not take it.
        Source<Message, NotUsed> controlFrames = control.second();
        if (Protocol.inlineBodies(setup.protocolVersion())) {
            // Protocol 2: control frames queued while the socket is busy leave as one text message, so a burst
            // of small responses costs one WebSocket message (Pekko runs a sub-stream per message) instead of many.
            controlFrames = controlFrames
                    .batchWeighted(Protocol.MAX_CONTROL_CHARS, SessionSocket::weight, SessionSocket::firstOf, SessionSocket::append)
                    .mapConcat(SessionSocket::coalesce);
        }
        Source<Message, NotUsed> outbound = controlFrames
                .mergePreferred(data.second(), false, false)
                .takeWhile(m -> m != TunnelSession.END)
                .via(kill.flow());
        return new Spawned(session, Flow.fromSinkAndSourceCoupled(inbound, outbound));
    }

    private static long weight(Object frame) {
        return frame instanceof String s ? s.length() : ((ByteString) frame).size();
    }

    private static long weight(Message m) {
        if (m.isText()) {
            return m.asTextMessage().isStrict() ? m.asTextMessage().getStrictText().length() + 1 : Protocol.MAX_CONTROL_CHARS;
        }
        return m.asBinaryMessage().isStrict() ? m.asBinaryMessage().getStrictData().size() : Protocol.MAX_CONTROL_CHARS;
    }

    private static List<Message> firstOf(Message m) {
        List<Message> batch = new ArrayList<>(8);
        batch.add(m);
        return batch;
    }

    private static List<Message> append(List<Message> batch, Message m) {
        batch.add(m);
        return batch;
    }

    /**
     * Consecutive strict text frames joined by the batch separator (their total stays under one
     * frame: the batch's weight bound); binary frames and the END marker stay separate messages.
     */
    static List<Message> coalesce(List<Message> batch) {
        if (batch.size() == 1) {
            return batch;
        }
        List<Message> out = new ArrayList<>(2);
        StringBuilder text = null;
        for (Message m : batch) {
            boolean joinable = m != TunnelSession.END && m.isText() && m.asTextMessage().isStrict();
            if (joinable) {
                String t = m.asTextMessage().getStrictText();
                if (text == null) {
                    text = new StringBuilder(t);
                } else {
                    text.append(Protocol.BATCH_SEPARATOR).append(t);
                }
            } else {
                if (text != null) {
                    out.add(org.apache.pekko.http.javadsl.model.ws.TextMessage.create(text.toString()));
                    text = null;
                }
                out.add(m);
            }
        }
        if (text != null) {
            out.add(org.apache.pekko.http.javadsl.model.ws.TextMessage.create(text.toString()));
        }
        return out;
    }

    /** Collects a (possibly streamed) message, refusing anything bigger than a protocol frame. */
    private static CompletionStage<Object> strict(Message m, Materializer mat) {
        if (m.isText()) {
            var t = m.asTextMessage();
            if (t.isStrict()) {
                return CompletableFuture.completedFuture(t.getStrictText());
            }
            return t.getStreamedText()
                    .limitWeighted(Protocol.MAX_FRAME_BYTES, s -> (long) s.length())
                    .runFold(new StringBuilder(), StringBuilder::append, mat)
                    .thenApplyAsync(StringBuilder::toString, Runnable::run);
        }
        var b = m.asBinaryMessage();
        if (b.isStrict()) {
            return CompletableFuture.completedFuture(b.getStrictData());
        }
        return b.getStreamedData()
                .limitWeighted(Protocol.MAX_FRAME_BYTES, bs -> (long) bs.size())
                .runFold(ByteString.emptyByteString(), ByteString::concat, mat)
                .thenApplyAsync(x -> x, Runnable::run);
    }
}
