package dev.captun.tunnel;

/** What the tunnel entity tells a session. */
public sealed interface SessionControl extends SessionMessage {

    /** An admitted newer connection took the name: close the client socket with 4000. */
    record Replaced() implements SessionControl {}

    /**
     * Re-assert the registration now: the entity is being handed over to another node (sent as it
     * stops), or the node saw cluster membership change (entities of a lost node restart empty).
     */
    record ReassertNow() implements SessionControl {}
}
