package dev.captun.ratelimit;

/**
 * Marker for messages that cross the network. Bound to Pekko's {@code jackson-cbor} serializer in
 * this module's {@code reference.conf} ({@code pekko.actor.serialization-bindings}); nothing here
 * is ever Java-serialized.
 */
public interface CborSerializable {}
