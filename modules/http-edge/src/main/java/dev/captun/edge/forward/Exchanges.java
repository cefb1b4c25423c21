package dev.captun.edge.forward;

import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.tunnel.SessionMessage;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * This node's one correspondent with tunnel sessions, local or on other nodes: sends each
 * {@link SessionCommands.Forward} with a correlation id and completes the caller's future with the
 * matching {@link Reply}. Replaces a per-request ask (temporary actor + scheduled timeout) and the
 * per-request watcher actor: one long-lived actor watches every session it has written to (a
 * session that stops or whose node is removed answers its open exchanges {@link SessionCommands.Gone}
 * at once), and one sweep a second, only while exchanges are open, expires those a lost message
 * would otherwise keep waiting forever.
 */
public final class Exchanges {
    private Exchanges() {}

    public sealed interface Command {}

    record Send(ActorRef<SessionMessage> session, SessionCommands.RequestHead head, Body body,
                CompletableFuture<Reply> result) implements Command {}

    private record Replied(Reply reply) implements Command {}

    private record SessionEnded(ActorRef<SessionMessage> session) implements Command {}

    private enum Sweep implements Command { INSTANCE }

    private record Pending(ActorRef<SessionMessage> session, CompletableFuture<Reply> result, long deadlineNanos) {}

    /** Sends one exchange; the returned future completes on this actor's thread. */
    public static CompletableFuture<Reply> send(ActorRef<Command> exchanges, ActorRef<SessionMessage> session,
                                                SessionCommands.RequestHead head, Body body) {
        CompletableFuture<Reply> result = new CompletableFuture<>();
        exchanges.tell(new Send(session, head, body, result));
        return result;
    }

    /** @param timeout how long an exchange may wait for its reply (the session's own 504 comes first) */
    public static Behavior<Command> create(Duration timeout) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            ActorRef<Reply> replies = ctx.messageAdapter(Reply.class, Replied::new);
            Map<Long, Pending> pending = new HashMap<>();
            Set<ActorRef<SessionMessage>> watched = new HashSet<>();
            long[] next = {1};
            boolean[] sweeping = {false};
            long timeoutNanos = timeout.toNanos();
            return Behaviors.receive(Command.class)
                    .onMessage(Send.class, m -> {
                        long id = next[0]++;
                        pending.put(id, new Pending(m.session(), m.result(), System.nanoTime() + timeoutNanos));
                        if (watched.add(m.session())) {
                            ctx.watchWith(m.session(), new SessionEnded(m.session()));
                        }
                        m.session().tell(new SessionCommands.Forward(id, m.head(), m.body(), replies));
                        if (!sweeping[0]) {
                            sweeping[0] = true;
                            timers.startTimerWithFixedDelay(Sweep.INSTANCE, Duration.ofSeconds(1));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Replied.class, m -> {
                        Pending p = pending.remove(m.reply().exchange());
                        if (p != null) {
                            p.result().complete(m.reply());
                        }
                        return Behaviors.same();
                    })
                    .onMessage(SessionEnded.class, m -> {
                        watched.remove(m.session());
                        for (Iterator<Map.Entry<Long, Pending>> it = pending.entrySet().iterator(); it.hasNext(); ) {
                            Map.Entry<Long, Pending> e = it.next();
                            if (e.getValue().session().equals(m.session())) {
                                it.remove();
                                e.getValue().result().complete(new SessionCommands.Gone(e.getKey()));
                            }
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Sweep.class, m -> {
                        long now = System.nanoTime();
                        for (Iterator<Map.Entry<Long, Pending>> it = pending.entrySet().iterator(); it.hasNext(); ) {
                            Map.Entry<Long, Pending> e = it.next();
                            if (now - e.getValue().deadlineNanos() >= 0) {
                                it.remove();
                                e.getValue().result().complete(new SessionCommands.Failed(e.getKey(), 504, PlainResponses.TIMED_OUT));
                            }
                        }
                        if (pending.isEmpty()) {
                            timers.cancel(Sweep.INSTANCE);
                            sweeping[0] = false;
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }
}
