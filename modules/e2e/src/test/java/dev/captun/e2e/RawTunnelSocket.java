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

    private RawTunnelSocket(WebSocket.Builder builder, String url) throws Exception {
        this.ws = builder.connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(url), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                texts.add(data.toString());
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

    @Override
    public void close() {
        ws.abort();
    }
}
