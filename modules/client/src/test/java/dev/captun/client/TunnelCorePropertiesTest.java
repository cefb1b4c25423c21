package dev.captun.client;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * The SDK's side of the wire: whatever sequence of text and binary messages a (hostile or broken)
 * gateway sends, {@link TunnelCore#onText} and {@link TunnelCore#onBinary} either accept it or throw
 * {@link ProtocolException} (the transport then closes that socket with 4002); no other exception
 * escapes, none escapes a worker running a handler either, and shutting the core down afterwards
 * never throws. Tries are stated in docs/SECURITY.md.
 */
class TunnelCorePropertiesTest {

    /** One message from the gateway. */
    sealed interface Msg {
        record Text(String text) implements Msg {}

        record Binary(byte[] bytes) implements Msg {}
    }

    private static TunnelHandler handler() {
        return req -> req.isWebSocket()
                ? TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {})
                : TunnelResponse.text(200, "ok");
    }

    @Property(tries = 2000)
    void anyMessageSequenceIsAcceptedOrAProtocolError(@ForAll("sequences") List<Msg> messages) throws Exception {
        // Handlers run on workers, as in the SDK (inline, a response waiting for credit would block the
        // very thread that delivers the credit). What a worker throws is collected: nothing may escape there either.
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "property-worker");
            t.setDaemon(true);
            return t;
        });
        Queue<Throwable> escapedOnWorkers = new ConcurrentLinkedQueue<>();
        Executor workers = task -> pool.execute(() -> {
            try {
                task.run();
            } catch (Throwable t) {
                escapedOnWorkers.add(t);
            }
        });
        TunnelCore core = new TunnelCore(new Wire.NoOp(), handler(), workers, event -> {});
        try {
            for (Msg m : messages) {
                try {
                    if (m instanceof Msg.Text t) {
                        core.onText(t.text());
                    } else if (m instanceof Msg.Binary b) {
                        core.onBinary(ByteBuffer.wrap(b.bytes()));
                    }
                } catch (ProtocolException e) {
                    assertNotNull(e.getMessage());
                    break; // the transport closes the socket here
                } catch (Throwable other) {
                    throw new AssertionError("escaped " + other + " on " + describe(m) + " in " + messages.stream().map(TunnelCorePropertiesTest::describe).toList(), other);
                }
            }
        } finally {
            assertDoesNotThrow(() -> core.shutdown("test over"));
            pool.shutdownNow(); // a handler still waiting for credit or body is released
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS), "workers end after shutdown");
        }
        assertTrue(escapedOnWorkers.isEmpty(), () -> "escaped on a worker: " + escapedOnWorkers + " in "
                + messages.stream().map(TunnelCorePropertiesTest::describe).toList());
    }

    private static String describe(Msg m) {
        if (m instanceof Msg.Text t) {
            return t.text().length() > 120 ? t.text().substring(0, 120) + "…" : t.text();
        }
        byte[] b = ((Msg.Binary) m).bytes();
        return "binary[" + b.length + "]" + java.util.HexFormat.of().formatHex(b, 0, Math.min(b.length, 8));
    }

    // ------------------------------------------------------------------ generators

    @Provide
    Arbitrary<List<Msg>> sequences() {
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(6, validControls().map(c -> (Msg) new Msg.Text(ControlCodec.encode(c)))),
                        net.jqwik.api.Tuple.of(3, frames()),
                        net.jqwik.api.Tuple.of(2, mutatedControls()),
                        net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMaxLength(60).map(s -> (Msg) new Msg.Text(s))),
                        net.jqwik.api.Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(40).map(b -> (Msg) new Msg.Binary(b))))
                .list().ofMinSize(1).ofMaxSize(25);
    }

    /** Stream ids from a small set, so messages meet the streams earlier ones opened. */
    private static Arbitrary<Integer> ids() {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(-1, 4)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers()));
    }

    private static Arbitrary<Msg> frames() {
        return Combinators.combine(Arbitraries.of(DataFrame.DATA, DataFrame.WS_TEXT, DataFrame.WS_BINARY, 0, 4, 0x7f),
                        Arbitraries.of(true, false), ids(), Arbitraries.bytes().array(byte[].class).ofMaxSize(64))
                .as((kind, fin, id, payload) -> {
                    byte[] header = DataFrame.header(kind, fin, id);
                    byte[] all = new byte[header.length + payload.length];
                    System.arraycopy(header, 0, all, 0, header.length);
                    System.arraycopy(payload, 0, all, header.length, payload.length);
                    return (Msg) new Msg.Binary(all);
                });
    }

    private static Arbitrary<Msg> mutatedControls() {
        return Combinators.combine(validControls(), Arbitraries.longs()).as((c, seed) -> {
            StringBuilder sb = new StringBuilder(ControlCodec.encode(c));
            Random r = new Random(seed);
            String alphabet = "{}[]\":,0123456789-nul";
            for (int i = 0; i < 1 + r.nextInt(4) && sb.length() > 0; i++) {
                int at = r.nextInt(sb.length());
                if (r.nextBoolean()) {
                    sb.deleteCharAt(at);
                } else {
                    sb.insert(at, alphabet.charAt(r.nextInt(alphabet.length())));
                }
            }
            return (Msg) new Msg.Text(sb.toString());
        });
    }

    private static Arbitrary<Control> validControls() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(20);
        Arbitrary<List<Header>> headers = Combinators.combine(
                        Arbitraries.of("content-type", "content-length", "x-a", "sec-websocket-protocol", "upgrade", "connection", "host"),
                        Arbitraries.oneOf(text, Arbitraries.of("5", "-1", "99999999999999", "text/plain", "websocket")))
                .as(Header::new).list().ofMaxSize(3);
        Arbitrary<String> paths = Arbitraries.oneOf(text, Arbitraries.of("/", "/__captun/health", "/__captun/health?x", "", "?", "//")).injectNull(0.05);
        Arbitrary<Boolean> bool = Arbitraries.of(true, false);
        return Arbitraries.oneOf(
                Combinators.combine(Arbitraries.of(1, 2), text.injectNull(0.1), text.injectNull(0.1), Arbitraries.integers(), Arbitraries.integers())
                        .as(Control.Ready::new),
                Combinators.combine(ids(), Arbitraries.of("GET", "POST", "HEAD", "X"), paths, headers.injectNull(0.1), bool, bool)
                        .as(Control.Request::new),
                Combinators.combine(ids(), Arbitraries.integers(), headers, bool).as(Control.Response::new),
                ids().map(Control.End::new),
                Combinators.combine(ids(), Arbitraries.integers()).as(Control.Credit::new),
                Combinators.combine(ids(), text.injectNull(0.2)).as(Control.Reset::new),
                Combinators.combine(ids(), Arbitraries.integers(), text.injectNull(0.2)).as(Control.WsClose::new),
                Combinators.combine(Arbitraries.integers(), text.injectNull(0.2)).as(Control.Close::new),
                Arbitraries.longs().map(Control.Ping::new),
                Arbitraries.longs().map(Control.Pong::new));
    }
}
