package dev.captun.e2e;

import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.Tokens;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A bare protocol 3 tunnel-client WebSocket (no SDK), to test token transports, abrupt socket loss
 * and what the gateway does with frames the SDK would never send. Every received binary message is
 * decoded ({@link Wire#decode}) and its frames queued one by one, in order.
 */
final class RawTunnelSocket implements AutoCloseable {
    final WebSocket ws;
    private final BlockingQueue<Wire.Frame> frames = new LinkedBlockingQueue<>();
    private ByteArrayOutputStream partialBinary = new ByteArrayOutputStream();
    private final StringBuilder partialText = new StringBuilder();
    /** WebSocket pings from the gateway (its periodic keep-alive), answered by the JDK client. */
    final AtomicInteger pings = new AtomicInteger();
    /** Payloads of WebSocket pongs received. */
    final BlockingQueue<ByteBuffer> pongs = new LinkedBlockingQueue<>();
    /** The gateway's WebSocket close frame: its code. */
    final CompletableFuture<Integer> closed = new CompletableFuture<>();

    private RawTunnelSocket(WebSocket.Builder builder, String url) throws Exception {
        this.ws = builder.connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(url), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partialText.append(data);
                if (last) {
                    frames.add(new Wire.TextMessage(partialText.toString()));
                    partialText.setLength(0);
                }
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                partialBinary.writeBytes(b);
                if (last) {
                    frames.addAll(Wire.decode(ByteBuffer.wrap(partialBinary.toByteArray())));
                    partialBinary = new ByteArrayOutputStream();
                }
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
                pings.incrementAndGet();
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
                pongs.add(message);
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }
        }).get(20, TimeUnit.SECONDS);
    }

    /** The connect URL for {@code name} on a local node, asking for this build's protocol version. */
    static String url(int port, String name) {
        return "ws://127.0.0.1:" + port + "/?captun-connect=1&" + Protocol.VERSION_PARAM + "=" + Protocol.VERSION + "&captun-name=" + name;
    }

    /** A tunnel {@code name} on a local node, its token offered as a subprotocol; its first frame, READY, already read. */
    static RawTunnelSocket ready(int port, String name, String token) throws Exception {
        RawTunnelSocket t = open(url(port, name), b -> b.subprotocols("captun", Tokens.toSubprotocol(token)));
        org.junit.jupiter.api.Assertions.assertInstanceOf(Wire.Ready.class, t.next());
        return t;
    }

    /** @param customize adds headers or subprotocols to the upgrade */
    static RawTunnelSocket open(String url, UnaryOperator<WebSocket.Builder> customize) throws Exception {
        return new RawTunnelSocket(customize.apply(HttpClient.newHttpClient().newWebSocketBuilder()), url);
    }

    /** The next frame, whatever it is; fails after 20 s. */
    Wire.Frame next() throws InterruptedException {
        Wire.Frame f = frames.poll(20, TimeUnit.SECONDS);
        if (f == null) {
            throw new AssertionError("no frame within 20 s");
        }
        return f;
    }

    /** The next frame that is not a gateway heartbeat ping (the gateway pings whenever it has been quiet). */
    Wire.Frame nextNonPing() throws InterruptedException {
        Wire.Frame f;
        do {
            f = next();
        } while (f instanceof Wire.Ping);
        return f;
    }

    /** The next frame of {@code type}, skipping any other (frames of streams a test no longer looks at). */
    <T extends Wire.Frame> T nextOf(Class<T> type) throws InterruptedException {
        Wire.Frame f;
        do {
            f = next();
        } while (!type.isInstance(f));
        return type.cast(f);
    }

    /** The next frame within {@code millis}, or null. */
    Wire.Frame poll(long millis) throws InterruptedException {
        return frames.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Sends the frames written so far as one binary message. */
    void send(FrameWriter frames) {
        send(frames.toByteBuffer());
    }

    /** Sends raw bytes as one binary message (for malformed frames). */
    void send(ByteBuffer binary) {
        ws.sendBinary(binary, true).join();
    }

    /**
     * Sends one binary message as several WebSocket frames (a first frame and continuations), cut
     * before each offset of {@code cuts} (increasing, inside the message).
     */
    void sendInPieces(ByteBuffer binary, int... cuts) {
        int from = binary.position();
        for (int cut : cuts) {
            ws.sendBinary(binary.duplicate().position(from).limit(binary.position() + cut), false).join();
            from = binary.position() + cut;
        }
        ws.sendBinary(binary.duplicate().position(from), true).join();
    }

    /** Sends a text message (a protocol error since version 3). */
    void sendText(String text) {
        ws.sendText(text, true).join();
    }

    @Override
    public void close() {
        ws.abort();
    }
}
