package dev.captun.edge.session;

import dev.captun.tunnel.SessionMessage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * A tunnel client's session: its actor (identity in the cluster) and the stage that runs its socket.
 *
 * <p>The socket is served at frame level: {@link Unmask} (Pekko's unmasking, 8 bytes at a time), Pekko HTTP's
 * own lower WebSocket layers (frame handling with its pings, pongs and close handshake, periodic keep-alive),
 * then {@link WholeMessages}
 * instead of Pekko's message API, then {@link SessionStage}; one fused graph, no sub-stream per message.
 * Those layers and {@code handleFrames} are internal API, pinned by the Pekko HTTP version in the parent
 * pom (as {@code forward.PublicSocket}'s are); the e2e tests of the tunnel socket guard them.
 */
public final class SessionSocket {
    private SessionSocket() {}

    /** Pekko's default for the close handshake (WebSocket.stack's). */
    private static final FiniteDuration CLOSE_TIMEOUT = FiniteDuration.create(3, TimeUnit.SECONDS);

    /**
     * A spawned session and its socket: {@code messages} is its {@link SessionStage} alone (whole binary
     * messages both ways), {@code frames} the same under the WebSocket layers, what {@link #accept} serves.
     */
    public record Spawned(ActorRef<SessionMessage> session, Flow<ByteString, ByteString, NotUsed> messages,
                          Graph<org.apache.pekko.stream.FlowShape<FrameEvent, FrameEvent>, NotUsed> frames) {}

    /** @param spawner spawns the session behavior (a guardian context, or a test kit) */
    public static Spawned spawn(TunnelSession.Setup setup, Materializer mat, LocalSessions local,
                                Function<Behavior<SessionMessage>, ActorRef<SessionMessage>> spawner) {
        SessionHandle handle = new SessionHandle(mat);
        ActorRef<SessionMessage> session = spawner.apply(TunnelSession.create(setup, handle, local));
        Flow<ByteString, ByteString, NotUsed> messages = Flow.fromGraph(new SessionStage(setup, handle, session));
        return new Spawned(session, messages, frames(messages, mat.system()));
    }

    /** The 101 that serves {@code spawned}'s socket; {@code subprotocol} (null for none) is echoed. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static HttpResponse accept(WebSocketUpgrade upgrade, Spawned spawned, String subprotocol) {
        return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames((Graph) spawned.frames(), Option.apply(subprotocol));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Graph<org.apache.pekko.stream.FlowShape<FrameEvent, FrameEvent>, NotUsed> frames(
            Flow<ByteString, ByteString, NotUsed> messages, org.apache.pekko.actor.ActorSystem classic) {
        // WholeMessages where Pekko's messageAPI would be (frame logging, off by default, left out).
        org.apache.pekko.stream.scaladsl.BidiFlow stack = WebSocketLayers.below(classic, CLOSE_TIMEOUT, SessionSocket.class)
                .atop((Graph) new WholeMessages(CLOSE_TIMEOUT));
        return stack.join((Graph) messages.asScala());
    }
}
