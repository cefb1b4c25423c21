package dev.captun.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A bare tunnel-client WebSocket (no SDK), to test token transports and abrupt socket loss. */
final class RawTunnelSocket implements AutoCloseable {
    final WebSocket ws;
    private final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    private final BlockingQueue<java.nio.ByteBuffer> binaries = new LinkedBlockingQueue<>();
    private java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();

    private RawTunnelSocket(WebSocket.Builder builder, String url) throws Exception {
        this.ws = builder.connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(url), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                texts.add(data.toString());
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onBinary(WebSocket webSocket, java.nio.ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                partial.writeBytes(b);
                if (last) {
                    binaries.add(java.nio.ByteBuffer.wrap(partial.toByteArray()));
                    partial = new java.io.ByteArrayOutputStream();
                }
                webSocket.request(1);
                return null;
            }
        }).get(20, TimeUnit.SECONDS);
    }

    /** @param customize adds headers or subprotocols to the upgrade */
    static RawTunnelSocket open(String url, java.util.function.UnaryOperator<WebSocket.Builder> customize) throws Exception {
        return new RawTunnelSocket(customize.apply(HttpClient.newHttpClient().newWebSocketBuilder()), url);
    }

    String nextText() throws InterruptedException {
        String t = texts.poll(20, TimeUnit.SECONDS);
        if (t == null) {
            throw new AssertionError("no text frame within 20 s");
        }
        return t;
    }

    java.nio.ByteBuffer nextBinary() throws InterruptedException {
        java.nio.ByteBuffer b = binaries.poll(20, TimeUnit.SECONDS);
        if (b == null) {
            throw new AssertionError("no binary frame within 20 s");
        }
        return b;
    }

    String pollText(long millis) throws InterruptedException {
        return texts.poll(millis, TimeUnit.MILLISECONDS);
    }

    java.nio.ByteBuffer pollBinary(long millis) throws InterruptedException {
        return binaries.poll(millis, TimeUnit.MILLISECONDS);
    }

    void drainBinaries() {
        binaries.clear();
    }

    void send(String text) {
        ws.sendText(text, true).join();
    }

    void send(java.nio.ByteBuffer binary) {
        ws.sendBinary(binary, true).join();
    }

    @Override
    public void close() {
        ws.abort();
    }
}
