package dev.captun.tunnel;

/**
 * Everything a tunnel session actor accepts. The tunnel entity only knows {@link SessionControl};
 * the edge adds its own forwarding commands by extending this interface, so one session
 * {@code ActorRef} serves both.
 */
public interface SessionMessage extends CborSerializable {}
