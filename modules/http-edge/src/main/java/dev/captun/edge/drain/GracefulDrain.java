package dev.captun.edge.drain;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first task of the node's coordinated shutdown (SIGTERM, or a cluster leave through the
 * management API), in phase {@code before-service-unbind}, so the public port, the cluster
 * membership and the shards are all still there while it runs:
 * <ol>
 *   <li>the node goes not-ready ({@code /ready} fails) and refuses new tunnel connects (503);</li>
 *   <li>every tunnel session tells its client to move ({@code drain}); a client that connects to
 *   another node replaces its session there, and the old one closes when its requests are done;</li>
 *   <li>the task ends when no session is left and at least {@code unready} has passed (time for load
 *   balancers to notice), or at {@code grace}, when what is left is closed with 1001.</li>
 * </ol>
 * Then Pekko unbinds the public port (in-flight public requests finish), hands the node's shards
 * over (each tunnel entity tells its session to re-assert with the next incarnation), leaves the
 * cluster and stops.
 */
public final class GracefulDrain {
    private static final Logger log = LoggerFactory.getLogger(GracefulDrain.class);
    /** After the grace: how long the remaining sessions get to close before the shutdown goes on. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(3);

    private GracefulDrain() {}

    /** How long the phase running the drain must be allowed to take. */
    public static Duration phaseTimeout(Duration grace, Duration unready) {
        return (grace.compareTo(unready) > 0 ? grace : unready).plus(CLOSE_WAIT).plusSeconds(2);
    }

    public static void install(ActorSystem<?> system, ActorRef<NodeSessions.Command> sessions, Duration grace, Duration unready) {
        CoordinatedShutdown.get(system.classicSystem()).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "captun-drain",
                () -> drain(system, sessions, grace, unready, CoordinatedShutdown.get(system.classicSystem()).getShutdownReason()
                        .map(r -> r instanceof CoordinatedShutdown.ClusterLeavingReason$ ? "node leaving the cluster" : "node shutting down")
                        .orElse("node shutting down")));
    }

    static CompletionStage<Done> drain(ActorSystem<?> system, ActorRef<NodeSessions.Command> sessions, Duration grace, Duration unready,
                                       String reason) {
        DrainState state = DrainState.get(system);
        if (!state.start()) {
            return CompletableFuture.completedFuture(Done.getInstance());
        }
        long started = System.nanoTime();
        log.info("draining ({}): not ready, tunnel clients asked to move; grace {} s", reason, grace.toSeconds());
        sessions.tell(new NodeSessions.DrainAll(reason));
        CompletionStage<Object> empty = AskPattern.<NodeSessions.Command, NodeSessions.Empty>ask(sessions, NodeSessions.AwaitEmpty::new,
                        grace, system.scheduler())
                .handleAsync((ok, timeout) -> ok != null ? (Object) ok : null, Runnable::run);
        CompletableFuture<Object> unreadyOver = new CompletableFuture<>();
        system.scheduler().scheduleOnce(unready, () -> unreadyOver.complete(Done.getInstance()), system.executionContext());
        return empty.thenCombineAsync(unreadyOver, (e, u) -> e != null, Runnable::run)
                .thenComposeAsync(allMoved -> {
                    if (allMoved) {
                        log.info("drained: every tunnel session moved or ended after {} ms", ms(started));
                        return CompletableFuture.completedFuture(Done.getInstance());
                    }
                    sessions.tell(new NodeSessions.CloseAll());
                    return AskPattern.<NodeSessions.Command, NodeSessions.Empty>ask(sessions, NodeSessions.AwaitEmpty::new,
                                    CLOSE_WAIT, system.scheduler())
                            .handleAsync((ok, timeout) -> {
                                log.info("drain grace over after {} ms{}", ms(started), ok != null ? "" : "; some sessions did not close in time");
                                return Done.getInstance();
                            }, Runnable::run);
                }, Runnable::run);
    }

    private static long ms(long since) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    }
}
