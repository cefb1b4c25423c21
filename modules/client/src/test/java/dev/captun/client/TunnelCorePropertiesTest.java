package dev.captun.client;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The SDK's side of the wire: whatever sequence of binary messages a (hostile or broken) gateway
 * sends, {@link TunnelCore#onMessage} either accepts it or throws {@link ProtocolException} (the
 * transport then closes that socket with 4002); no other exception escapes, none escapes a worker
 * running a handler either, and shutting the core down afterwards never throws. Messages are
 * well-formed batches of frames (ids from a small set, so they meet the streams earlier ones
 * opened), mutated batches, and random bytes; most sequences start with a valid READY. Text
 * messages never reach the core (the transport refuses them). Tries are stated in docs/SECURITY.md.
 */
class TunnelCorePropertiesTest {

    private static TunnelHandler handler() {
        return req -> {
            if (req.isWebSocket()) {
                return TunnelResponse.webSocket(null, new TunnelWebSocket.Listener() {});
            }
            if (req.method().equals("POST")) {
                return TunnelResponse.bytes(200, req.body().readAllBytes()); // reads the sliced body until END or reset
            }
            return TunnelResponse.text(200, "ok");
        };
    }

    @Property(tries = 2000)
    void anyMessageSequenceIsAcceptedOrAProtocolError(@ForAll("sequences") List<byte[]> messages) throws Exception {
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
            for (byte[] m : messages) {
                try {
                    core.onMessage(ByteBuffer.wrap(m));
                } catch (ProtocolException e) {
                    assertNotNull(e.getMessage());
                    break; // the transport closes the socket here
                } catch (Throwable other) {
                    throw new AssertionError("escaped " + other + " on " + describe(m) + " in " + describe(messages), other);
                }
            }
        } finally {
            assertDoesNotThrow(() -> core.shutdown("test over"));
            pool.shutdownNow(); // a handler still waiting for credit or body is released
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS), "workers end after shutdown");
        }
        assertTrue(escapedOnWorkers.isEmpty(), () -> "escaped on a worker: " + escapedOnWorkers + " in " + describe(messages));
    }

    private static String describe(byte[] m) {
        return "[" + m.length + "]" + HexFormat.of().formatHex(m, 0, Math.min(m.length, 24));
    }

    private static List<String> describe(List<byte[]> ms) {
        return ms.stream().map(TunnelCorePropertiesTest::describe).toList();
    }

    // ------------------------------------------------------------------ generators

    @Provide
    Arbitrary<List<byte[]>> sequences() {
        Arbitrary<byte[]> message = Arbitraries.frequencyOf(
                Tuple.of(6, batches()),
                Tuple.of(2, mutated()),
                Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(40)));
        byte[] ready = new FrameWriter().ready(new Control.Ready(Protocol.VERSION, "demo", "http://gw/demo", 4096, 15)).toByteArray();
        return Combinators.combine(Arbitraries.integers().between(0, 9), message.list().ofMinSize(1).ofMaxSize(25))
                .as((dice, ms) -> {
                    if (dice < 8) { // most sequences get past READY, so requests and streams are exercised
                        List<byte[]> out = new ArrayList<>(ms.size() + 1);
                        out.add(ready);
                        out.addAll(ms);
                        return out;
                    }
                    return ms;
                });
    }

    /** One message of 1–4 well-formed frames back to back. */
    private static Arbitrary<byte[]> batches() {
        return frames().list().ofMinSize(1).ofMaxSize(4).map(fs -> {
            FrameWriter w = new FrameWriter();
            fs.forEach(f -> f.accept(w));
            return w.toByteArray();
        });
    }

    /** A batch with a few bytes flipped, inserted, deleted, or cut off. */
    private static Arbitrary<byte[]> mutated() {
        return Combinators.combine(batches(), Arbitraries.longs()).as((b, seed) -> {
            Random r = new Random(seed);
            List<Byte> bytes = new ArrayList<>(b.length);
            for (byte x : b) {
                bytes.add(x);
            }
            for (int i = 0; i < 1 + r.nextInt(4) && !bytes.isEmpty(); i++) {
                int at = r.nextInt(bytes.size());
                switch (r.nextInt(4)) {
                    case 0 -> bytes.set(at, (byte) r.nextInt(256));
                    case 1 -> bytes.add(at, (byte) r.nextInt(256));
                    case 2 -> bytes.remove(at);
                    default -> bytes.subList(at, bytes.size()).clear();
                }
            }
            byte[] out = new byte[bytes.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = bytes.get(i);
            }
            return out;
        });
    }

    /** Stream ids from a small set, so frames meet the streams earlier ones opened. */
    private static Arbitrary<Integer> ids() {
        return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.integers().between(-1, 4)), Tuple.of(1, Arbitraries.integers()));
    }

    /** Gives a frame-writing lambda its type. */
    private static Consumer<FrameWriter> f(Consumer<FrameWriter> frame) {
        return frame;
    }

    private static Arbitrary<Consumer<FrameWriter>> frames() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(20);
        Arbitrary<List<Header>> headers = Combinators.combine(
                        Arbitraries.of("content-type", "content-length", "x-a", "sec-websocket-protocol", "upgrade", "x-captun-tunnel-url"),
                        Arbitraries.oneOf(text, Arbitraries.of("5", "-1", "99999999999999", "text/plain", "websocket")))
                .as(Header::new).list().ofMaxSize(3);
        Arbitrary<String> paths = Arbitraries.oneOf(text, Arbitraries.of("/", "/__captun/health", "/__captun/health?x", "", "?", "//"));
        Arbitrary<Boolean> bool = Arbitraries.of(true, false);
        Arbitrary<byte[]> payload = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
        Arbitrary<Integer> ints = Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-2, 5000));
        return Arbitraries.oneOf(
                Combinators.combine(Arbitraries.of(1, 2, 3, 4), text, text, ints, ints).as((v, n, u, win, hb) ->
                        f(w -> w.ready(new Control.Ready(v, n, u, win, hb & 0xffff, "public")))),
                Combinators.combine(ids(), Arbitraries.of("GET", "POST", "HEAD", "X"), paths, headers, bool, bool).as((id, m, p, h, e, ws) ->
                        f(w -> w.request(id, m, p, h, e, ws))),
                Combinators.combine(ids(), Arbitraries.integers().between(100, 999), headers, bool).as((id, st, h, e) ->
                        f(w -> w.response(id, st, h, e))),
                Combinators.combine(ids(), payload, bool).as((id, b, e) -> f(w -> w.data(id, b, 0, b.length, e))),
                Combinators.combine(ids(), ints).as((id, n) -> f(w -> w.credit(id, n))),
                Combinators.combine(ids(), text).as((id, r) -> f(w -> w.reset(id, r))),
                Combinators.combine(ids(), bool, payload, bool).as((id, t, b, fin) ->
                        f(w -> w.wsFragment(id, t, b, 0, b.length, fin))),
                Combinators.combine(ids(), Arbitraries.integers().between(0, 0xffff), text).as((id, c, r) ->
                        f(w -> w.wsClose(id, c, r))),
                Combinators.combine(Arbitraries.integers().between(0, 0xffff), text).as((c, r) -> f(w -> w.close(c, r))),
                text.map(r -> f(w -> w.drain(r))),
                Arbitraries.longs().map(n -> f(w -> w.ping(n))),
                Arbitraries.longs().map(n -> f(w -> w.pong(n))));
    }
}
