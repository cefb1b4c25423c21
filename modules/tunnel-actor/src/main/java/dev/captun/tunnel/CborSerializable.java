package dev.captun.tunnel;

/** Marker for messages that cross nodes; bound to Jackson CBOR in the node's config. Never Java serialization. */
public interface CborSerializable {}
