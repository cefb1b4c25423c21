package dev.captun.edge.forward;

import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands;
import dev.captun.tunnel.SessionMessage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Waits for a session on another node to answer a forwarded request, like an ask, but also
 * watches that session: if its node crashes or it stops first, the public client gets
 * {@code 502 Tunnel fetch failed} at once instead of waiting out the request timeout.
 */
final class RemoteReplyWatch {
    private RemoteReplyWatch() {}

    static Behavior<SessionCommands.RemoteReply> create(ActorRef<SessionMessage> session,
                                                        Function<ActorRef<SessionCommands.RemoteReply>, SessionMessage> request,
                                                        CompletableFuture<SessionCommands.RemoteReply> result, Duration timeout) {
        return Behaviors.setup(ctx -> {
            ctx.watch(session);
            session.tell(request.apply(ctx.getSelf()));
            ctx.setReceiveTimeout(timeout, new SessionCommands.RemoteFailed(504, PlainResponses.TIMED_OUT));
            return Behaviors.receive(SessionCommands.RemoteReply.class)
                    .onAnyMessage(reply -> {
                        result.complete(reply);
                        return Behaviors.stopped();
                    })
                    .onSignal(Terminated.class, t -> {
                        result.complete(new SessionCommands.RemoteSessionGone());
                        return Behaviors.stopped();
                    })
                    .build();
        });
    }
}
