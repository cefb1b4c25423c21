package dev.captun.protocol;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Protocol 3 frames: every frame the writer encodes reads back as written (several per message,
 * from an offset into a larger buffer), and whatever bytes a peer sends, {@link FrameReader} either
 * hands well-formed frames to its handler or throws {@link ProtocolException}, never another exception.
 */
class FramesTest {

    /** Records what the reader delivers, as comparable strings. */
    static final class Recorder implements FrameHandler {
        final List<String> seen = new ArrayList<>();
        final ByteBuffer message;

        Recorder(ByteBuffer message) {
            this.message = message;
        }

        private String bytes(int offset, int length) {
            assertTrue(offset >= 0 && length >= 0 && offset + length <= message.remaining(), "payload inside the message");
            byte[] b = new byte[length];
            message.get(message.position() + offset, b);
            return HexFormat.of().formatHex(b);
        }

        @Override public void onRequest(int s, String m, String p, List<Header> h, boolean end, boolean ws) {
            seen.add("request " + s + " " + m + " " + p + " " + h + " " + end + " " + ws);
        }
        @Override public void onResponse(int s, int status, List<Header> h, boolean end) {
            seen.add("response " + s + " " + status + " " + h + " " + end);
        }
        @Override public void onData(int s, int offset, int length, boolean end) {
            seen.add("data " + s + " " + bytes(offset, length) + " " + end);
        }
        @Override public void onCredit(int s, int bytes) {
            seen.add("credit " + s + " " + bytes);
        }
        @Override public void onReset(int s, String reason) {
            seen.add("reset " + s + " " + reason);
        }
        @Override public void onWsFragment(int s, boolean text, int offset, int length, boolean fin) {
            seen.add("ws " + s + " " + text + " " + bytes(offset, length) + " " + fin);
        }
        @Override public void onWsClose(int s, int code, String reason) {
            seen.add("ws-close " + s + " " + code + " " + reason);
        }
        @Override public void onReady(Control.Ready r) {
            seen.add("ready " + r);
        }
        @Override public void onPing(long n) {
            seen.add("ping " + n);
        }
        @Override public void onPong(long n) {
            seen.add("pong " + n);
        }
        @Override public void onClose(int code, String reason) {
            seen.add("close " + code + " " + reason);
        }
        @Override public void onDrain(String reason) {
            seen.add("drain " + reason);
        }
    }

    private static List<String> readAt(byte[] bytes, int length, int offset) throws ProtocolException {
        ByteBuffer buf = ByteBuffer.allocate(length + offset + 3);
        buf.position(offset);
        buf.put(bytes, 0, length);
        buf.flip().position(offset);
        Recorder r = new Recorder(buf.asReadOnlyBuffer());
        FrameReader.read(r.message, r);
        return r.seen;
    }

    @Test
    void aSmallExchangeIsOneMessageEachWay() throws ProtocolException {
        byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
        FrameWriter w = new FrameWriter();
        w.request(7, "POST", "/a?b=ü", List.of(new Header("host", "x"), new Header("x-é", "välue")), false, false)
                .data(7, body, 0, body.length, true);
        assertEquals(List.of("request 7 POST /a?b=ü [Header[name=host, value=x], Header[name=x-é, value=välue]] false false",
                "data 7 68656c6c6f true"), readAt(w.array(), w.size(), 0));

        w.reset();
        w.response(7, 404, List.of(new Header("content-type", "text/plain")), true).credit(7, 65536);
        assertEquals(List.of("response 7 404 [Header[name=content-type, value=text/plain]] true", "credit 7 65536"),
                readAt(w.array(), w.size(), 5));
    }

    @Test
    void sessionFramesRoundTrip() throws ProtocolException {
        FrameWriter w = new FrameWriter(16);
        w.ready(new Control.Ready(3, "demo", "http://h/demo", 262144, 15, "public"))
                .ready(new Control.Ready(3, "demo", "http://h/demo", 1, 2))
                .ping(Long.MIN_VALUE).pong(42).close(4000, "Replaced by a newer connection").drain("node shutting down")
                .wsClose(3, 4009, "x".repeat(300)).reset(9, "");
        List<String> seen = readAt(w.array(), w.size(), 1);
        assertEquals("ready Ready[version=3, name=demo, url=http://h/demo, window=262144, heartbeatSeconds=15, policy=public]", seen.get(0));
        assertEquals("ready Ready[version=3, name=demo, url=http://h/demo, window=1, heartbeatSeconds=2, policy=null]", seen.get(1));
        assertEquals(List.of("ping " + Long.MIN_VALUE, "pong 42", "close 4000 Replaced by a newer connection", "drain node shutting down",
                "ws-close 3 4009 " + "x".repeat(123), "reset 9 "), seen.subList(2, 8));
    }

    @Test
    void framesOnTheWrongStreamOrPastTheirMessageAreProtocolErrors() {
        FrameWriter w = new FrameWriter();
        w.credit(1, 5);
        byte[] b = w.toByteArray();
        b[5] = 0; // stream 0: a stream frame on the session
        assertThrows(ProtocolException.class, () -> readAt(b, b.length, 0));
        FrameWriter p = new FrameWriter().ping(1);
        byte[] c = p.toByteArray();
        c[5] = 1; // a session frame on a stream
        assertThrows(ProtocolException.class, () -> readAt(c, c.length, 0));
        byte[] d = new FrameWriter().data(1, new byte[10], 0, 10, false).toByteArray();
        assertThrows(ProtocolException.class, () -> readAt(d, d.length - 1, 0), "payload runs past the message");
        assertThrows(ProtocolException.class, () -> readAt(new byte[0], 0, 0), "empty message");
    }

    // ------------------------------------------------------------------ properties

    record Frame(int kind, int stream, String a, String b, List<Header> headers, byte[] payload, boolean end, int number) {}

    @Provide
    Arbitrary<Frame> frames() {
        Arbitrary<String> text = Arbitraries.strings().withCharRange('\u0000', '\uD7FF').ofMaxLength(40);
        Arbitrary<List<Header>> headers = Combinators.combine(text, text).as(Header::new).list().ofMaxSize(6);
        Arbitrary<byte[]> payload = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
        return Combinators.combine(Arbitraries.integers().between(0, 7), Arbitraries.integers().between(1, Integer.MAX_VALUE),
                        text, text, headers, payload, Arbitraries.of(true, false), Arbitraries.integers().between(1, 65535))
                .as(Frame::new);
    }

    private static String write(FrameWriter w, Frame f) {
        return switch (f.kind()) {
            case 0 -> {
                w.request(f.stream(), f.a(), f.b(), f.headers(), f.end(), !f.end());
                yield "request " + f.stream() + " " + f.a() + " " + f.b() + " " + f.headers() + " " + f.end() + " " + !f.end();
            }
            case 1 -> {
                int status = 100 + f.number() % 900;
                w.response(f.stream(), status, f.headers(), f.end());
                yield "response " + f.stream() + " " + status + " " + f.headers() + " " + f.end();
            }
            case 2 -> {
                w.data(f.stream(), f.payload(), 0, f.payload().length, f.end());
                yield "data " + f.stream() + " " + HexFormat.of().formatHex(f.payload()) + " " + f.end();
            }
            case 3 -> {
                w.wsFragment(f.stream(), f.end(), f.payload(), 0, f.payload().length, !f.end());
                yield "ws " + f.stream() + " " + f.end() + " " + HexFormat.of().formatHex(f.payload()) + " " + !f.end();
            }
            case 4 -> {
                w.credit(f.stream(), f.number());
                yield "credit " + f.stream() + " " + f.number();
            }
            case 5 -> {
                w.reset(f.stream(), f.a());
                yield "reset " + f.stream() + " " + f.a();
            }
            case 6 -> {
                w.wsClose(f.stream(), f.number(), f.a());
                yield "ws-close " + f.stream() + " " + f.number() + " " + Protocol.truncateReason(f.a());
            }
            default -> {
                w.ping(f.number());
                yield "ping " + f.number();
            }
        };
    }

    @Property(tries = 1000)
    void whatIsWrittenReadsBack(@ForAll @Size(min = 1, max = 8) List<@From("frames") Frame> frames, @ForAll @IntRange(max = 9) int offset)
            throws ProtocolException {
        FrameWriter w = new FrameWriter(16);
        List<String> expected = new ArrayList<>();
        for (Frame f : frames) {
            expected.add(write(w, f));
        }
        assertEquals(expected, readAt(w.array(), w.size(), offset));
    }

    @Property(tries = 3000)
    void randomBytesReadOrAreProtocolErrors(@ForAll @Size(max = 400) byte[] bytes, @ForAll @IntRange(max = 8) int offset) {
        readsOrFailsCleanly(bytes, bytes.length, offset);
    }

    /** Valid messages with bytes flipped or cut: the interesting inputs are near well-formed ones. */
    @Property(tries = 3000)
    void damagedMessagesReadOrAreProtocolErrors(@ForAll @Size(min = 1, max = 4) List<@From("frames") Frame> frames,
                                                @ForAll @Size(max = 6) List<@IntRange(max = 10_000) Integer> flips,
                                                @ForAll byte value, @ForAll @IntRange(max = 50) int cut) {
        FrameWriter w = new FrameWriter();
        frames.forEach(f -> write(w, f));
        byte[] b = w.toByteArray();
        for (int at : flips) {
            b[at % b.length] = value;
        }
        readsOrFailsCleanly(b, Math.max(0, b.length - cut), 3);
    }

    private static void readsOrFailsCleanly(byte[] bytes, int length, int offset) {
        try {
            readAt(bytes, length, offset);
        } catch (ProtocolException expected) {
            assertNotNull(expected.getMessage());
        } catch (Throwable other) {
            throw new AssertionError("not a ProtocolException for " + HexFormat.of().formatHex(bytes, 0, Math.min(length, 200)) + ": " + other, other);
        }
    }
}
