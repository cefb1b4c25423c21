package dev.captun.edge.session;

import dev.captun.tunnel.SessionMessage;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;

/** A tunnel client's session: its actor (identity in the cluster) and the stage that runs its socket. */
public final class SessionSocket {
    private SessionSocket() {}

    /** A spawned session and the WebSocket flow (one {@link SessionStage}) that serves its socket. */
    public record Spawned(ActorRef<SessionMessage> session, Flow<Message, Message, NotUsed> flow) {}

    /** @param spawner spawns the session behavior (a guardian context, or a test kit) */
    public static Spawned spawn(TunnelSession.Setup setup, Materializer mat, LocalSessions local,
                                Function<Behavior<SessionMessage>, ActorRef<SessionMessage>> spawner) {
        SessionHandle handle = new SessionHandle(mat);
        ActorRef<SessionMessage> session = spawner.apply(TunnelSession.create(setup, handle, local));
        return new Spawned(session, Flow.fromGraph(new SessionStage(setup, handle, session)));
    }
}
