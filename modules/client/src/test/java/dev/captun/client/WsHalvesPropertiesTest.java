package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.io.ByteArrayOutputStream;
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

/**
 * The two halves of a forwarded WebSocket as plain state, driven by a simulated gateway that keeps
 * the protocol's rules: what goes out never exceeds the credit granted and leaves in order, and what
 * comes in within the window always makes progress and is granted back in full once delivered.
 */
class WsHalvesPropertiesTest {

    /** A message: text or binary, its bytes. */
    record Message(boolean text, byte[] bytes) {}

    @Provide
    Arbitrary<List<Message>> messages() {
        Arbitrary<Integer> size = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.integers().between(0, 100)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 70_000)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 300_000)));
        return Combinators.combine(Arbitraries.of(true, false), size, Arbitraries.longs())
                .as((text, n, seed) -> {
                    byte[] b = new byte[n];
                    new Random(seed).nextBytes(b);
                    return new Message(text, b);
                })
                .list().ofMaxSize(6);
    }

    @Property(tries = 200)
    void outboundStaysWithinCreditAndKeepsMessagesWholeAndInOrder(@ForAll("messages") List<Message> messages,
            @ForAll @IntRange(min = 512, max = 300_000) int window, @ForAll long seed) throws Exception {
        Random random = new Random(seed);
        WsOutbound out = new WsOutbound(7, window);
        List<WsOutbound.Out> queued = new ArrayList<>();
        for (Message m : messages) {
            WsOutbound.Out o = new WsOutbound.Out(m.text(), m.bytes());
            queued.add(o);
            out.add(o);
        }
        out.add(new WsOutbound.Out(new WsInbound.CloseEv(4001, "bye", false)));
        List<Message> received = new ArrayList<>();
        ByteArrayOutputStream current = new ByteArrayOutputStream();
        List<WsOutbound.Out> sent = new ArrayList<>();
        long outstanding = 0;
        boolean closed = false;
        long bound = progressBound(messages);
        for (int round = 0; !closed; round++) {
            assertTrue(round < bound, "no progress");
            List<FrameWriter> frames = new ArrayList<>();
            closed = out.pump(frames, sent) != null;
            for (FrameWriter w : frames) {
                assertTrue(w.size() <= Protocol.MAX_MESSAGE_BYTES, "message of " + w.size() + " bytes");
                for (WireFrame f : WireFrame.decode(w.toByteArray())) {
                    if (f instanceof WireFrame.WsClose c) {
                        assertEquals(new WireFrame.WsClose(7, 4001, "bye"), c);
                        assertEquals(0, current.size(), "close in the middle of a message");
                        continue;
                    }
                    WireFrame.WsFragment frag = (WireFrame.WsFragment) f;
                    outstanding += frag.payload().length;
                    assertTrue(outstanding <= window, "outstanding " + outstanding + " over a window of " + window);
                    current.write(frag.payload());
                    if (frag.fin()) {
                        received.add(new Message(frag.text(), current.toByteArray()));
                        current.reset();
                    }
                }
            }
            if (outstanding > 0) { // the gateway grants back some of what it consumed
                int g = 1 + random.nextInt((int) Math.min(outstanding, Integer.MAX_VALUE));
                outstanding -= g;
                out.grant(g);
            }
        }
        assertEquals(messages.size(), received.size());
        for (int i = 0; i < messages.size(); i++) {
            assertEquals(messages.get(i).text(), received.get(i).text());
            assertArrayEquals(messages.get(i).bytes(), received.get(i).bytes());
        }
        assertEquals(queued, sent, "every message reported sent, in order");
        assertTrue(out.takeAll().isEmpty());
    }

    @Property(tries = 200)
    void inboundWithinTheWindowNeverStallsAndGrantsEverythingBackOnceDelivered(@ForAll("messages") List<Message> messages,
            @ForAll @IntRange(min = 512, max = 300_000) int window, @ForAll long seed) throws Exception {
        Random random = new Random(seed);
        WsInbound in = new WsInbound(7, window);
        in.start();
        // The gateway's fragments, each at most what the window allows and 64 KiB.
        record Frag(boolean text, byte[] bytes, int off, int len, boolean fin) {}
        List<Frag> frags = new ArrayList<>();
        for (Message m : messages) {
            int off = 0;
            do {
                int n = Math.min(m.bytes().length - off, 1 + random.nextInt(Math.min(window, Protocol.MAX_DATA_PAYLOAD)));
                frags.add(new Frag(m.text(), m.bytes(), off, n, off + n == m.bytes().length));
                off += n;
            } while (off < m.bytes().length);
        }
        long outstanding = 0;
        long totalBytes = 0;
        long granted = 0;
        List<Message> delivered = new ArrayList<>();
        int next = 0;
        assertEquals(WsInbound.OPEN, in.nextEvent());
        in.delivered(WsInbound.OPEN);
        long bound = progressBound(messages);
        for (int round = 0; next < frags.size() || delivered.size() < messages.size(); round++) {
            assertTrue(round < bound, "no progress");
            Frag f = next < frags.size() ? frags.get(next) : null;
            boolean fits = f != null && outstanding + f.len() <= window;
            Object ev = fits && random.nextBoolean() ? null : in.nextEvent(); // deliver or receive, in random order
            if (ev != null) {
                WsInbound.Msg m = (WsInbound.Msg) ev;
                byte[] b = new byte[m.data().remaining()];
                m.data().duplicate().get(b);
                delivered.add(new Message(m.text(), b));
                in.delivered(ev);
            } else {
                assertTrue(fits, "stalled: " + outstanding + " of " + window + " outstanding and nothing to deliver");
                WsInbound.Fragment r = in.fragment(f.text(), ByteBuffer.wrap(f.bytes(), f.off(), f.len()).slice(), f.fin());
                assertTrue(r != WsInbound.Fragment.TOO_LARGE);
                outstanding += f.len();
                totalBytes += f.len();
                next++;
            }
            int g = in.takeCredit();
            assertTrue(g >= 0 && g <= outstanding, "granted " + g + " with " + outstanding + " outstanding");
            outstanding -= g;
            granted += g;
        }
        assertEquals(totalBytes, granted, "everything granted back once delivered");
        assertEquals(messages.size(), delivered.size());
        for (int i = 0; i < messages.size(); i++) {
            assertEquals(messages.get(i).text(), delivered.get(i).text());
            assertArrayEquals(messages.get(i).bytes(), delivered.get(i).bytes());
        }
        in.end(new WsInbound.CloseEv(1000, "", false));
        assertTrue(in.nextEvent() instanceof WsInbound.CloseEv);
    }

    /** Every round moves at least one byte or one message (or grants at least one byte): more rounds than this is a stall. */
    private static long progressBound(List<Message> messages) {
        long bound = 100;
        for (Message m : messages) {
            bound += 4L * (m.bytes().length + 1);
        }
        return bound;
    }
}
