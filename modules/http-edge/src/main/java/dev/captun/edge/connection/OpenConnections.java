package dev.captun.edge.connection;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;

/**
 * The HTTP connections open on the public port, for the graceful stop: {@link #terminate} asks each
 * to finish (see {@link ConnectionDeadlines}) and completes when all have ended, or at the hard deadline.
 * A connection that opens once the stop has begun is asked at once. Thread-safe.
 */
final class OpenConnections {
    /** One connection's side: asked to finish, with the time left before it must be cut. */
    interface Terminable {
        void terminate(Duration hardDeadline);
    }

    private final Set<Terminable> open = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Done> allEnded = new CompletableFuture<>();
    private volatile long deadlineNanos;
    private volatile boolean terminating;

    void opened(Terminable connection) {
        open.add(connection);
        if (terminating) {
            connection.terminate(Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime())));
        }
    }

    void ended(Terminable connection) {
        open.remove(connection);
        if (terminating && open.isEmpty()) {
            allEnded.complete(Done.getInstance());
        }
    }

    /** Asks every open connection to finish; done when none is left, or a moment after the hard deadline. */
    synchronized CompletionStage<Done> terminate(Duration hardDeadline) {
        if (!terminating) {
            deadlineNanos = System.nanoTime() + hardDeadline.toNanos();
            terminating = true;
            for (Terminable connection : open) {
                connection.terminate(hardDeadline);
            }
            allEnded.completeOnTimeout(Done.getInstance(), hardDeadline.toMillis() + 1_000, TimeUnit.MILLISECONDS);
        }
        if (open.isEmpty()) {
            allEnded.complete(Done.getInstance());
        }
        return allEnded;
    }
}
