package dev.captun.client;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;

/** Handler mode: runs a user {@link TunnelWebSocket.Listener} on the workers, one callback after the other. */
final class ListenerSink implements WsStream.Sink {
    private final TunnelWebSocket.Listener listener;
    private final Executor workers;
    private WsStream ws;

    private ListenerSink(TunnelWebSocket.Listener listener, Executor workers) {
        this.listener = listener;
        this.workers = workers;
    }

    static Function<Executor, WsStream.Sink> of(TunnelWebSocket.Listener listener) {
        return workers -> new ListenerSink(listener, workers);
    }

    @Override
    public CompletionStage<?> open(WsStream socket) {
        ws = socket;
        return CompletableFuture.runAsync(() -> call(() -> listener.onOpen(ws)), workers);
    }

    @Override
    public CompletionStage<?> text(String message) {
        return CompletableFuture.runAsync(() -> call(() -> listener.onText(ws, message)), workers);
    }

    @Override
    public CompletionStage<?> binary(ByteBuffer message) {
        return CompletableFuture.runAsync(() -> call(() -> listener.onBinary(ws, message)), workers);
    }

    @Override
    public CompletionStage<?> close(int code, String reason, boolean abrupt) {
        return CompletableFuture.runAsync(() -> listener.onClose(ws, code, reason), workers);
    }

    private interface Callback {
        void run() throws Exception;
    }

    private static void call(Callback c) {
        try {
            c.run();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new CompletionException(e);
        }
    }
}
