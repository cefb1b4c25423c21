package dev.captun.edge.session;

import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Gone;
import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.edge.session.SessionCommands.RequestHead;
import dev.captun.tunnel.SessionMessage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.stage.AsyncCallback;

/**
 * The way into one session's {@link SessionStage} from any thread: public requests on this node
 * (straight from the HTTP edge, no actor in between) and lifecycle messages from the session's
 * actor. Items wait in a lock-free queue and one async callback drains them, so a burst costs one
 * wake-up of the stage; before the socket attaches they simply wait. Every forward gets exactly one
 * reply: the stage answers what it takes, and whatever is left when it stops is answered
 * {@link Gone} (the forwarder looks the tunnel up again).
 */
public final class SessionHandle {
    /** A public request for the stage; {@code reply} runs on the stage's thread, so it must be cheap. */
    record Forwarded(RequestHead head, Body body, Consumer<Reply> reply) {}

    private final Materializer mat;
    private final ConcurrentLinkedQueue<Object> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean signalled = new AtomicBoolean();
    private volatile AsyncCallback<Done> wake;
    private volatile boolean ended;

    public SessionHandle(Materializer mat) {
        this.mat = mat;
    }

    public void forward(RequestHead head, Body body, Consumer<Reply> reply) {
        deliver(new Forwarded(head, body, reply));
    }

    /** A lifecycle message from the session's actor (replaced, re-assert, drain, grace over). */
    void control(SessionMessage m) {
        deliver(m);
    }

    private void deliver(Object item) {
        inbox.add(item);
        if (ended) {
            answerLeftovers(); // the stage's last sweep may have run before the add
            return;
        }
        AsyncCallback<Done> w = wake;
        if (w != null && signalled.compareAndSet(false, true)) {
            w.invoke(Done.getInstance());
        }
    }

    /** The stage started: it drains what waited for the socket and every later signal. */
    void bind(AsyncCallback<Done> wake) {
        this.wake = wake;
        signalled.set(true);
        wake.invoke(Done.getInstance());
    }

    /** Called by the stage on each wake-up: the next item, or null when the inbox is empty. */
    Object poll() {
        return inbox.poll();
    }

    /** Called by the stage before it drains, so an item added from now on signals again. */
    void draining() {
        signalled.set(false);
    }

    /** The stage stopped (or never started): nothing will be taken any more. */
    void end() {
        ended = true;
        answerLeftovers();
    }

    /** A body that will never be sent still has to be consumed (or its producer cancelled). */
    static void discard(Body body, Materializer mat) {
        if (body instanceof Body.Streamed || body instanceof Body.Ref) {
            body.asSource().runWith(Sink.cancelled(), mat);
        }
    }

    private void answerLeftovers() {
        for (Object item; (item = inbox.poll()) != null; ) {
            if (item instanceof Forwarded f) {
                f.reply().accept(new Gone(0));
                discard(f.body(), mat);
            }
        }
    }
}
