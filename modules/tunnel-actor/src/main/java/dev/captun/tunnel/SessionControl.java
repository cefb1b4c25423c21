package dev.captun.tunnel;

/** What the tunnel entity tells a session. */
public sealed interface SessionControl extends SessionMessage {

    /** An admitted newer connection took the name: close the client socket with 4000. */
    record Replaced() implements SessionControl {}
}
