package dev.captun.edge.drain;

import dev.captun.tunnel.SessionMessage;
import org.apache.pekko.actor.typed.ActorRef;

/** What the node (not the tunnel entity) tells a tunnel session about its own lifetime. */
public sealed interface SessionLifecycle extends SessionMessage {

    /**
     * This node is draining: tell the client to move (protocol 2 {@code drain} frame). The session
     * keeps serving; once a newer connection replaces it at the tunnel entity it stops taking new
     * requests and ends its socket (1001) when those in flight have finished.
     */
    record Drain(String reason, ActorRef<NodeSessions.Command> replyTo) implements SessionLifecycle {}

    /** The drain grace is over: close now with 1001 whatever is still in flight. */
    record GraceOver() implements SessionLifecycle {}
}
