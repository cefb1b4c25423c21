package dev.captun.edge.session;

import dev.captun.edge.StageTestSystem;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameError;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Masking$;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import scala.Option;

/** {@link Unmask} against a byte-by-byte reference, and against Pekko's own unmasking stage, event for event. */
class UnmaskTest extends StageTestSystem {
    /** RFC 6455 5.3: byte i of the payload XOR key byte (i mod 4), the key's high byte first. */
    private static byte[] reference(byte[] payload, int key, int offset) {
        byte[] out = payload.clone();
        for (int i = 0; i < out.length; i++) {
            int j = (offset + i) & 3;
            out[i] ^= (byte) (key >>> (24 - 8 * j));
        }
        return out;
    }

    @Test
    void xorMatchesTheReferenceForEveryLengthAndKeyOffset() {
        Random random = new Random(6455);
        for (int round = 0; round < 20; round++) {
            for (int length = 0; length <= 200; length++) {
                for (int offset = 0; offset < 4; offset++) {
                    int key = random.nextInt();
                    byte[] payload = new byte[length];
                    random.nextBytes(payload);
                    byte[] data = payload.clone();
                    // the key as it stands after `offset` bytes of the frame
                    int next = Unmask.xor(data, Integer.rotateLeft(key, offset * 8));
                    assertArrayEquals(reference(payload, key, offset), data, "length " + length + ", offset " + offset);
                    assertEquals(Integer.rotateLeft(key, ((offset + length) & 3) * 8), next);
                }
            }
        }
    }

    private static Protocol.Opcode binary() {
        return Protocol.Opcode$.MODULE$.forCode((byte) 0x2);
    }

    /** One masked frame of {@code payload}, cut into a FrameStart and random FrameData parts. */
    private static List<FrameEvent> maskedFrame(byte[] payload, int key, Random random) {
        byte[] masked = reference(payload, key, 0);
        FrameHeader header = new FrameHeader(binary(), Option.apply((Object) key), payload.length, true, false, false, false);
        List<FrameEvent> events = new ArrayList<>();
        int first = payload.length == 0 ? 0 : random.nextInt(payload.length + 1);
        events.add(new FrameStart(header, ByteString.fromArray(masked, 0, first)));
        int at = first;
        while (at < payload.length) {
            int n = 1 + random.nextInt(payload.length - at);
            events.add(new FrameData(ByteString.fromArray(masked, at, n), at + n == payload.length));
            at += n;
        }
        return events;
    }

    private List<FrameEventOrError> run(Flow<FrameEvent, FrameEventOrError, NotUsed> stage, List<FrameEvent> events)
            throws Exception {
        return Source.from(events).via(stage).runWith(Sink.seq(), mat).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static Flow<FrameEvent, FrameEventOrError, NotUsed> pekko() {
        return Masking$.MODULE$.unmaskIf(true).asJava();
    }

    private static Flow<FrameEvent, FrameEventOrError, NotUsed> ours() {
        return Flow.fromGraph(new Unmask());
    }

    @Test
    void framesInRandomPartsComeOutAsPekkosUnmaskingHandsThem() throws Exception {
        Random random = new Random(42);
        List<FrameEvent> events = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] payload = new byte[random.nextInt(201)];
            random.nextBytes(payload);
            payloads.add(payload);
            events.addAll(maskedFrame(payload, random.nextInt(), random));
        }
        List<FrameEventOrError> got = run(ours(), events);
        assertEquals(run(pekko(), events), got);

        // and each frame's parts join to its payload, with no mask left on the header
        int frame = -1;
        ByteString joined = ByteString.emptyByteString();
        for (FrameEventOrError e : got) {
            if (e instanceof FrameStart start) {
                if (frame >= 0) assertArrayEquals(payloads.get(frame), joined.toArray());
                frame++;
                assertTrue(start.header().mask().isEmpty());
                joined = start.data();
            } else {
                joined = joined.concat(((FrameData) e).data());
            }
        }
        assertArrayEquals(payloads.get(frame), joined.toArray());
        assertEquals(payloads.size() - 1, frame);
    }

    @Test
    void anUnmaskedFrameIsAProtocolErrorAndTheRestIsDropped() throws Exception {
        Random random = new Random(7);
        byte[] payload = "hello".getBytes();
        List<FrameEvent> events = new ArrayList<>(maskedFrame(payload, 0x12345678, random));
        FrameHeader plain = new FrameHeader(binary(), Option.empty(), 10, true, false, false, false);
        events.add(new FrameStart(plain, ByteString.fromString("01234")));
        events.add(new FrameData(ByteString.fromString("56789"), true));
        events.addAll(maskedFrame(payload, 0x0BADF00D, random));
        List<FrameEventOrError> got = run(ours(), events);
        assertEquals(run(pekko(), events), got);
        assertEquals(new FrameError(new ProtocolException("Frame wasn't masked")), got.get(got.size() - 1));
    }

    @Test
    void frameDataWithNoFrameStartedFailsTheStage() {
        List<FrameEvent> events = List.of(new FrameData(ByteString.fromString("x"), true));
        ExecutionException e = assertThrows(ExecutionException.class, () -> run(ours(), events));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals("unexpected FrameData (need FrameStart first)", e.getCause().getMessage());
        assertThrows(ExecutionException.class, () -> run(pekko(), events));
    }

    @Test
    void outboundFramesPassAsTheyAre() throws Exception {
        FrameStart frame = FrameEvent.fullFrame(binary(), Option.empty(), ByteString.fromString("out"), true, false, false, false);
        // the app side sends one frame; what reaches the network is that frame
        List<FrameEvent> got = Source.<FrameEvent>empty()
                .via(Unmask.serverSide().join(Flow.fromSinkAndSource(Sink.<FrameEventOrError>ignore(), Source.single((FrameEvent) frame))))
                .runWith(Sink.seq(), mat).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(1, got.size());
        assertSame(frame, got.get(0));
    }
}
