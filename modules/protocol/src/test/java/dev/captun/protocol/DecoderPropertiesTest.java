package dev.captun.protocol;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Whatever a peer sends, {@link DataFrame#decode} and {@link ControlCodec#decode} either return a
 * well-formed value or throw {@link ProtocolException}: never another exception, never an Error
 * (a stack overflow on deep JSON would kill the reading thread, not just the socket).
 * Tries per property are stated in docs/SECURITY.md.
 */
class DecoderPropertiesTest {

    /** Runs {@code decode}; a ProtocolException is the only allowed failure. */
    private static <T> T decodedOrProtocolError(String input, ThrowingSupplier<T> decode) {
        try {
            return decode.get();
        } catch (ProtocolException expected) {
            assertNotNull(expected.getMessage());
            return null;
        } catch (Throwable other) {
            throw new AssertionError("not a ProtocolException for input " + abbreviate(input) + ": " + other, other);
        }
    }

    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…(" + s.length() + " chars)";
    }

    // ------------------------------------------------------------------ binary frames

    @Property(tries = 3000)
    void randomBinaryFramesDecodeOrAreProtocolErrors(@ForAll @Size(max = 300) byte[] bytes, @ForAll @IntRange(max = 8) int offset) {
        // Also from an offset into a larger buffer, as a transport slice would hand it over.
        ByteBuffer buf = ByteBuffer.allocate(bytes.length + offset);
        buf.position(offset);
        buf.put(bytes).position(offset);
        DataFrame f = decodedOrProtocolError(java.util.HexFormat.of().formatHex(bytes), () -> DataFrame.decode(buf));
        if (f != null) {
            assertTrue(f.kind() == DataFrame.DATA || f.kind() == DataFrame.WS_TEXT || f.kind() == DataFrame.WS_BINARY);
            assertEquals(bytes.length - DataFrame.HEADER_BYTES, f.payload().remaining());
            assertTrue(f.payload().isReadOnly());
        }
    }

    @Property(tries = 200)
    void framesOverTheLimitAreProtocolErrors(@ForAll @IntRange(min = 1, max = 1 << 20) int excess, @ForAll @IntRange(min = 1, max = 3) int kind) {
        ByteBuffer huge = ByteBuffer.allocate(Protocol.MAX_FRAME_BYTES + excess);
        huge.put(DataFrame.header(kind, true, 1)).position(0);
        assertThrows(ProtocolException.class, () -> DataFrame.decode(huge));
    }

    @Property(tries = 500)
    void unknownKindsAreProtocolErrors(@ForAll @IntRange(min = 0, max = 255) int first, @ForAll int streamId) {
        int kind = first & 0x7f;
        ByteBuffer frame = ByteBuffer.wrap(new byte[] {(byte) first, (byte) (streamId >>> 24), (byte) (streamId >>> 16), (byte) (streamId >>> 8), (byte) streamId, 42});
        if (kind == DataFrame.DATA || kind == DataFrame.WS_TEXT || kind == DataFrame.WS_BINARY) {
            DataFrame f = decodedOrProtocolError("kind " + first, () -> DataFrame.decode(frame));
            assertNotNull(f);
            assertEquals(streamId, f.streamId());
            assertEquals((first & DataFrame.FIN) != 0, f.fin());
        } else {
            assertThrows(ProtocolException.class, () -> DataFrame.decode(frame));
        }
    }

    // ------------------------------------------------------------------ control frames

    @Property(tries = 1000)
    void randomTextIsAControlOrAProtocolError(@ForAll @Size(max = 400) String text) {
        decodedOrProtocolError(text, () -> ControlCodec.decode(text));
    }

    @Property(tries = 1000)
    void mutatedValidControlsAreControlsOrProtocolErrors(@ForAll("controls") Control valid, @ForAll long seed,
                                                         @ForAll @IntRange(min = 1, max = 6) int mutations) {
        String mutated = mutate(ControlCodec.encode(valid), new Random(seed), mutations);
        Control c = decodedOrProtocolError(mutated, () -> ControlCodec.decode(mutated));
        if (c != null) {
            assertWellFormed(c);
        }
    }

    @Property(tries = 1000)
    void everyValidControlRoundTrips(@ForAll("controls") Control valid) throws Exception {
        assertEquals(valid, ControlCodec.decode(ControlCodec.encode(valid)));
    }

    @Property(tries = 200)
    void deepNestingIsAProtocolErrorNotAStackOverflow(@ForAll @IntRange(min = 1, max = 30_000) int depth,
                                                      @ForAll @IntRange(min = 0, max = 3) int where) {
        String open = where % 2 == 0 ? "[" : "{\"a\":";
        String close = where % 2 == 0 ? "]" : "}";
        String nested = open.repeat(depth) + "1" + close.repeat(depth);
        String text = switch (where) {
            case 0, 1 -> "{\"type\":\"request\",\"id\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":" + nested + "}";
            default -> "{\"type\":\"ping\",\"nonce\":1,\"extra\":" + nested + "}";
        };
        if (text.length() > Protocol.MAX_FRAME_BYTES || depth + 1 > ControlCodec.MAX_NESTING_DEPTH) {
            assertThrows(ProtocolException.class, () -> ControlCodec.decode(text), "depth " + depth);
            return;
        }
        Control c = decodedOrProtocolError(text, () -> ControlCodec.decode(text));
        if (c != null) {
            assertWellFormed(c);
        }
    }

    @Property(tries = 500)
    void unknownOrMissingTypesAreProtocolErrors(@ForAll("typeNames") String type) {
        String text = type == null ? "{\"id\":1}" : "{\"type\":\"" + type + "\",\"id\":1,\"nonce\":2}";
        assertThrows(ProtocolException.class, () -> ControlCodec.decode(text), text);
    }

    @Property(tries = 100)
    void overlongControlFramesAreProtocolErrors(@ForAll @IntRange(min = 1, max = 100_000) int excess) {
        String text = "{\"type\":\"ping\",\"nonce\":1,\"pad\":\"" + "x".repeat(Protocol.MAX_FRAME_BYTES + excess) + "\"}";
        assertThrows(ProtocolException.class, () -> ControlCodec.decode(text));
    }

    @Property(tries = 500)
    void wrongValueTypesAreProtocolErrors(@ForAll("controls") Control valid, @ForAll("jsonJunk") String junk, @ForAll long seed) {
        // Replace one value of a valid frame with a value of another JSON type.
        String json = ControlCodec.encode(valid);
        List<int[]> values = new ArrayList<>();
        for (int i = json.indexOf(':'); i >= 0; i = json.indexOf(':', i + 1)) {
            int end = i + 1;
            if (end < json.length() && json.charAt(end) == '"') {
                end = json.indexOf('"', end + 1) + 1;
            } else {
                while (end < json.length() && ",}]".indexOf(json.charAt(end)) < 0) {
                    end++;
                }
            }
            if (end > i + 1) {
                values.add(new int[] {i + 1, end});
            }
        }
        int[] v = values.get(new Random(seed).nextInt(values.size()));
        String text = json.substring(0, v[0]) + junk + json.substring(v[1]);
        Control c = decodedOrProtocolError(text, () -> ControlCodec.decode(text));
        if (c != null) {
            assertWellFormed(c);
        }
    }

    /** What a decoded control may be relied on for: a request has a method; header entries are complete. */
    static void assertWellFormed(Control c) {
        List<Header> headers = null;
        if (c instanceof Control.Request r) {
            assertNotNull(r.method(), "request method");
            headers = r.headers();
        } else if (c instanceof Control.Response r) {
            headers = r.headers();
        }
        if (headers != null) { // an absent list decodes as null; both sides read it as no headers
            headers.forEach(h -> {
                assertNotNull(h, "header");
                assertNotNull(h.name(), "header name");
                assertNotNull(h.value(), "header value");
            });
        }
    }

    static String mutate(String json, Random random, int mutations) {
        StringBuilder sb = new StringBuilder(json);
        String alphabet = "{}[]\":,0123456789-.eE truefalsn\\u00e9\u0000\uD800";
        for (int i = 0; i < mutations && sb.length() > 0; i++) {
            int at = random.nextInt(sb.length());
            switch (random.nextInt(4)) {
                case 0 -> sb.deleteCharAt(at);
                case 1 -> sb.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                case 2 -> sb.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                default -> sb.insert(at, sb.substring(at, Math.min(sb.length(), at + 1 + random.nextInt(20))));
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ generators

    @Provide
    Arbitrary<String> typeNames() {
        return Arbitraries.oneOf(
                Arbitraries.strings().alpha().ofMaxLength(12)
                        .filter(t -> !List.of("ready", "request", "response", "end", "credit", "reset", "ws-close", "close", "ping", "pong").contains(t)),
                Arbitraries.of("Request", "PING", "ws_close", "", " ping", "dev.captun.protocol.Control$Ping"),
                Arbitraries.just(null));
    }

    @Provide
    Arbitrary<String> jsonJunk() {
        return Arbitraries.of("null", "true", "[]", "{}", "\"x\"", "-1", "1e400", "9223372036854775808", "1.5", "[null]", "[[]]",
                "{\"name\":null}", "[{\"name\":null,\"value\":\"v\"}]", "[{\"name\":\"n\"}]", "[1]", "\"\"");
    }

    @Provide
    Arbitrary<Control> controls() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(30);
        Arbitrary<Integer> ids = Arbitraries.integers();
        Arbitrary<List<Header>> headers = Combinators.combine(Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(10), text)
                .as(Header::new).list().ofMaxSize(4);
        return Arbitraries.oneOf(
                Combinators.combine(Arbitraries.integers(), text, text, Arbitraries.integers(), Arbitraries.integers()).as(Control.Ready::new),
                Combinators.combine(ids, Arbitraries.of("GET", "POST", "PUT"), text, headers, Arbitraries.of(true, false), Arbitraries.of(true, false))
                        .as(Control.Request::new),
                Combinators.combine(ids, Arbitraries.integers().between(100, 999), headers, Arbitraries.of(true, false)).as(Control.Response::new),
                ids.map(Control.End::new),
                Combinators.combine(ids, Arbitraries.integers()).as(Control.Credit::new),
                Combinators.combine(ids, text).as(Control.Reset::new),
                Combinators.combine(ids, Arbitraries.integers().between(1000, 4999), text).as(Control.WsClose::new),
                Combinators.combine(Arbitraries.integers().between(1000, 4999), text).as(Control.Close::new),
                Arbitraries.longs().map(Control.Ping::new),
                Arbitraries.longs().map(Control.Pong::new));
    }
}
