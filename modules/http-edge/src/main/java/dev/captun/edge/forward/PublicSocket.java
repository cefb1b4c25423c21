package dev.captun.edge.forward;

import dev.captun.edge.session.WebSocketLayers;
import dev.captun.edge.session.WsFragments;
import dev.captun.protocol.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.MergeHub;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * The public end of a forwarded WebSocket (SPEC §5): public messages become fragments toward the
 * session, fragments from the session become public messages (through {@link SessionToPublic}, which
 * streams a long message rather than assembling it), and close codes travel both ways.
 *
 * <p>Pekko HTTP 1.3's public API can only close a server WebSocket with 1000 (or 1011 on failure),
 * but a tunnel must pass on the local service's codes (e.g. 4001), 4009 for oversized messages and
 * 1001 when the tunnel client goes. So this class assembles Pekko's own WebSocket layers (masking, as
 * {@code session.Unmask}, frame handling, keep-alive, message API) as {@code handleMessages} does, with one addition: where
 * the outbound side ends, Pekko's "actively close with code" event carrying the close decided. Those layers are internal API, pinned
 * by the Pekko HTTP version in the parent pom; {@code PublicSocketTest}-style e2e tests guard it.
 */
final class PublicSocket {
    private PublicSocket() {}

    static final int MAX_MESSAGE = Protocol.MAX_TUNNELED_WS_MESSAGE;

    /** Marks the end of a direction inside this class's streams (compared by identity). */
    private static final ByteString END = ByteString.fromArrayUnsafe(new byte[] {'E'});

    /** The public→session side, created before the tunnel client has accepted (it becomes the request body). */
    static Pair<Sink<ByteString, NotUsed>, Source<ByteString, NotUsed>> inboundHub(Materializer mat) {
        return MergeHub.of(ByteString.class, 16).preMaterialize(mat);
    }

    private static final class MessageTooLarge extends RuntimeException {
        MessageTooLarge() {
            super(Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON, null, false, false);
        }
    }

    /**
     * Completes the public handshake (101) and bridges the socket.
     *
     * @param toSession where public messages go (as fragments; ends with a close element)
     * @param fromSession fragments and the final close from the tunnel client; fails when the tunnel drops
     */
    static HttpResponse accept(WebSocketUpgrade upgrade, String subprotocol, Sink<ByteString, NotUsed> toSession,
                               Source<ByteString, NotUsed> fromSession, ByteBudget budget, ActorSystem classic, Materializer mat) {
        // The close the public client gets when the outbound side ends: the first one decided wins. It goes out
        // in-band, where Pekko would send its own 1000 (or 1011), so it follows every frame handed on before it.
        AtomicReference<FrameHandler.ActivelyCloseWithCode> closeWith = new AtomicReference<>();
        BiConsumer<Integer, String> closePublic = (code, reason) -> closeWith.compareAndSet(null, closeEvent(code, reason));
        // A close the public side decides (4009 for its own oversized message) has no session frames to follow:
        // it goes out at once, and the outbound side keeps taking from the session until the connection ends.
        Pair<CompletableFuture<Optional<Object>>, Source<Object, NotUsed>> closeNow = Source.<Object>maybe().preMaterialize(mat);

        // The two directions are not coupled: a tunnel that dies must still let the 1001 close reach the
        // public client, so only the public side ending (its close forwarded) ends taking from the session.
        SharedKillSwitch publicEnded = KillSwitches.shared("public-socket");
        Sink<Message, NotUsed> inbound = Flow.<Message>create()
                .flatMapConcat(PublicSocket::fragments)
                .concat(Source.single(END))
                .map(e -> {
                    if (e != END) {
                        return e;
                    }
                    publicEnded.shutdown(); // the public client closed normally (1000/1001)
                    return WsFragments.close(1000, "");
                })
                .recoverWithRetries(1, new PFBuilder<Throwable, Graph<SourceShape<ByteString>, NotUsed>>()
                        .matchAny(e -> {
                            if (e instanceof MessageTooLarge) {
                                var tooLarge = closeEvent(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON);
                                if (closeWith.compareAndSet(null, tooLarge)) {
                                    closeNow.first().complete(Optional.of(tooLarge));
                                }
                                return Source.single(WsFragments.close(Protocol.CLOSE_MESSAGE_TOO_LARGE, Protocol.CLOSE_MESSAGE_TOO_LARGE_REASON));
                            }
                            publicEnded.shutdown();
                            if (e instanceof PeerClosedConnectionException p) {
                                return Source.single(WsFragments.close(p.closeCode(), p.closeReason()));
                            }
                            return Source.single(WsFragments.close(1006, "public connection lost"));
                        }).build())
                .to(toSession);

        // The stage ends its output (after deciding the close) when the session's side closes, ends or fails, or
        // when the public side ended (the kill switch ends its input); a lost connection cancels it.
        Source<Message, NotUsed> outbound = fromSession
                .via(publicEnded.flow())
                .via(new SessionToPublic(closePublic, toSession, budget));

        Flow<Message, Message, NotUsed> user = Flow.fromSinkAndSource(inbound, outbound);
        return handleFrames(upgrade, subprotocol, user, closeWith, closeNow.second(), classic);
    }

    private static FrameHandler.ActivelyCloseWithCode closeEvent(int code, String reason) {
        return new FrameHandler.ActivelyCloseWithCode(Option.apply((Object) sendableCode(code)), Protocol.truncateReason(reason));
    }

    /** One public message as fragments of at most 64 KiB; a streamed one ends with an empty FIN fragment. */
    private static Source<ByteString, NotUsed> fragments(Message m) {
        boolean text = m.isText();
        if (text && m.asTextMessage().isStrict() || !text && m.asBinaryMessage().isStrict()) {
            ByteString data = text ? ByteString.fromString(m.asTextMessage().getStrictText()) : m.asBinaryMessage().getStrictData();
            if (data.size() > MAX_MESSAGE) {
                return Source.failed(new MessageTooLarge());
            }
            List<ByteString> out = new ArrayList<>();
            for (int i = 0; i < data.size() || i == 0; i += Protocol.MAX_DATA_PAYLOAD) {
                int end = Math.min(data.size(), i + Protocol.MAX_DATA_PAYLOAD);
                out.add(WsFragments.fragment(text, end == data.size(), data.slice(i, end)));
            }
            return Source.from(out);
        }
        Source<ByteString, ?> data = text
                ? m.asTextMessage().getStreamedText().map(ByteString::fromString)
                : m.asBinaryMessage().getStreamedData();
        return data
                .limitWeighted(MAX_MESSAGE, b -> (long) b.size())
                .mapError(new PFBuilder<Throwable, Throwable>().matchAny(e -> e instanceof org.apache.pekko.stream.StreamLimitReachedException
                        ? new MessageTooLarge() : e).build())
                .mapConcat(chunk -> split(chunk, text))
                .concat(Source.single(WsFragments.fragment(text, true, ByteString.emptyByteString())))
                .mapMaterializedValue(x -> NotUsed.getInstance());
    }

    private static List<ByteString> split(ByteString chunk, boolean text) {
        List<ByteString> out = new ArrayList<>();
        for (int i = 0; i < chunk.size(); i += Protocol.MAX_DATA_PAYLOAD) {
            out.add(WsFragments.fragment(text, false, chunk.slice(i, Math.min(chunk.size(), i + Protocol.MAX_DATA_PAYLOAD))));
        }
        return out;
    }

    /**
     * Close codes a server may put on the wire (RFC 6455 §7.4, with 1012–1014 from the IANA registry:
     * 1013 "try again later" is the budget's close); others become 1011 with the reason kept.
     */
    static int sendableCode(int code) {
        boolean ok = code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999;
        return ok ? code : code == 1006 || code == 1005 ? 1001 : 1011;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static HttpResponse handleFrames(WebSocketUpgrade upgrade, String subprotocol, Flow<Message, Message, NotUsed> user,
                                             AtomicReference<FrameHandler.ActivelyCloseWithCode> closeWith,
                                             Source<Object, NotUsed> closeNow, ActorSystem classic) {
        FiniteDuration closeTimeout = FiniteDuration.create(3, TimeUnit.SECONDS);
        // Pekko's order (WebSocket.stack): the lower layers (WebSocketLayers), then the message API; the
        // close injector sits just below the message API: where the user's side ended (completed, or failed to cut
        // a message short), it puts the decided close first. UserHandlerCompleted stays after it because frame
        // handling waits for it when the public client closed first. A close decided by the public side is merged in.
        Object completed = FrameHandler.UserHandlerCompleted$.MODULE$;
        BidiFlow injector = BidiFlow.fromFlows(Flow.create(), Flow.create().mapConcat(e -> {
            FrameHandler.ActivelyCloseWithCode close = closeWith.get();
            if (close != null && (e == completed || e instanceof FrameHandler.UserHandlerErredOut)) {
                return List.of(close, completed);
            }
            return List.of(e);
        }).merge(closeNow));
        org.apache.pekko.stream.scaladsl.BidiFlow stack = WebSocketLayers.below(classic, closeTimeout, PublicSocket.class)
                .atop((Graph) injector.asScala())
                .atop((Graph) org.apache.pekko.http.impl.engine.ws.WebSocket$.MODULE$.messageAPI(true, closeTimeout));
        org.apache.pekko.stream.scaladsl.Flow frames = stack.join((Graph) user.asScala());
        UpgradeToWebSocketLowLevel lowLevel = (UpgradeToWebSocketLowLevel) upgrade;
        return lowLevel.handleFrames(frames, Option.apply(subprotocol));
    }
}
