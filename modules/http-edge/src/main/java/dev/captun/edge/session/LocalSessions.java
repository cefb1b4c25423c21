package dev.captun.edge.session;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The sessions whose sockets live on this node, by session id: a public request routed to one of
 * them goes straight into its {@link SessionStage} instead of through actors. Written by the
 * sessions' actors as they start and stop; read by the forwarder on every request.
 */
public final class LocalSessions {
    private final ConcurrentHashMap<String, SessionHandle> bySession = new ConcurrentHashMap<>();

    /** The live session's handle, or null when it is not on this node (or already gone). */
    public SessionHandle get(String sessionId) {
        return bySession.get(sessionId);
    }

    void put(String sessionId, SessionHandle handle) {
        bySession.put(sessionId, handle);
    }

    void remove(String sessionId, SessionHandle handle) {
        bySession.remove(sessionId, handle);
    }
}
