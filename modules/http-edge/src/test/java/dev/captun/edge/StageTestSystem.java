package dev.captun.edge;

import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** One actor system and materializer for a test class that runs single stages (no cluster, no node). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class StageTestSystem {
    protected ActorSystem system;
    protected Materializer mat;

    @BeforeAll
    void startSystem() {
        system = ActorSystem.create(getClass().getSimpleName());
        mat = Materializer.matFromSystem(system);
    }

    @AfterAll
    void stopSystem() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
