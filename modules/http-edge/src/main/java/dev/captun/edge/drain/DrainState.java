package dev.captun.edge.drain;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;

/**
 * Whether this node is draining, per actor system: read by the {@code /ready} check (so a load
 * balancer stops sending) and by the connect endpoint (so tunnel clients go to another node).
 * Once set it stays set: a draining node only stops.
 */
public final class DrainState implements Extension {
    private final AtomicBoolean draining = new AtomicBoolean();

    public boolean isDraining() {
        return draining.get();
    }

    /** True only for the caller that started the drain. */
    boolean start() {
        return draining.compareAndSet(false, true);
    }

    public static DrainState get(ActorSystem system) {
        return Id.INSTANCE.get(system);
    }

    public static DrainState get(org.apache.pekko.actor.typed.ActorSystem<?> system) {
        return get(system.classicSystem());
    }

    private static final class Id extends AbstractExtensionId<DrainState> implements ExtensionIdProvider {
        static final Id INSTANCE = new Id();

        @Override
        public DrainState createExtension(ExtendedActorSystem system) {
            return new DrainState();
        }

        @Override
        public Id lookup() {
            return INSTANCE;
        }
    }
}
