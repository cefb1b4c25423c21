package dev.captun.client;

/** Receives {@link TunnelEvent}s. Called on SDK threads: keep it quick and do not throw. */
@FunctionalInterface
public interface TunnelListener {
    void onEvent(TunnelEvent event);
}
