package dev.captun.edge.session;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.FrameReader;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.Protocol;
import dev.captun.protocol.ProtocolException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** Frames written while the socket is busy leave as few messages as the size limit allows, in order. */
class OutboxTest {

    /** Stream ids of DATA frames and their payload sizes, per message, as the client would read them. */
    private static List<String> read(ByteString message) throws ProtocolException {
        List<String> seen = new ArrayList<>();
        FrameReader.read(message.asByteBuffer(), new FramesSeen(seen, message));
        return seen;
    }

    @Test
    void smallFramesWrittenInOneTurnLeaveAsOneMessage() throws ProtocolException {
        Outbox o = new Outbox();
        o.write(w -> w.credit(1, 100));
        o.payload(FrameType.DATA, 2, ByteString.fromString("hi"), true);
        o.write(w -> w.reset(3, "gone"));
        assertFalse(o.isEmpty());
        ByteString m = o.next();
        assertEquals(List.of("credit 1 100", "data 2 2 true", "reset 3 gone"), read(m));
        assertTrue(o.isEmpty());
        assertNull(o.next());
        assertEquals(0, o.queuedBytes());
    }

    @Test
    void largePayloadsAreLinkedNotCopiedAndNoMessageExceedsTheLimit() throws ProtocolException {
        Outbox o = new Outbox();
        ByteString big = ByteString.fromArrayUnsafe(new byte[Protocol.MAX_DATA_PAYLOAD]);
        for (int i = 1; i <= 10; i++) {
            o.payload(FrameType.DATA, i, big, false);
            o.begin().credit(i, 1);
            o.end();
        }
        List<String> all = new ArrayList<>();
        int messages = 0;
        for (ByteString m; (m = o.next()) != null; messages++) {
            assertTrue(m.size() <= Protocol.MAX_MESSAGE_BYTES, "message of " + m.size());
            all.addAll(read(m));
        }
        assertEquals(20, all.size());
        assertEquals("data 1 65536 false", all.get(0));
        assertEquals("credit 10 1", all.get(19));
        assertTrue(messages >= 3 && messages <= 4, messages + " messages for 640 KiB");
        assertEquals(0, o.queuedBytes());
    }

    @Test
    void anAbortedFrameLeavesNothing() throws ProtocolException {
        Outbox o = new Outbox();
        o.begin().ping(1);
        o.end();
        o.begin().request(1, "GET", "/", List.of(), true, false);
        assertTrue(o.frameBytes() > FrameType.HEADER_BYTES);
        o.abort();
        assertEquals(List.of("ping 1"), read(o.next()));
    }

    private record FramesSeen(List<String> seen, ByteString message) implements dev.captun.protocol.FrameHandler {
        @Override public void onRequest(int s, String m, String p, List<dev.captun.protocol.Header> h, boolean e, boolean w) {
            seen.add("request " + s);
        }
        @Override public void onResponse(int s, int status, List<dev.captun.protocol.Header> h, boolean e) {
            seen.add("response " + s);
        }
        @Override public void onData(int s, int offset, int length, boolean end) {
            assertEquals(length, message.slice(offset, offset + length).size());
            seen.add("data " + s + " " + length + " " + end);
        }
        @Override public void onCredit(int s, int bytes) {
            seen.add("credit " + s + " " + bytes);
        }
        @Override public void onReset(int s, String reason) {
            seen.add("reset " + s + " " + reason);
        }
        @Override public void onWsFragment(int s, boolean text, int offset, int length, boolean fin) {
            seen.add("ws " + s);
        }
        @Override public void onWsClose(int s, int code, String reason) {
            seen.add("ws-close " + s);
        }
        @Override public void onReady(dev.captun.protocol.Control.Ready r) {
            seen.add("ready");
        }
        @Override public void onPing(long n) {
            seen.add("ping " + n);
        }
        @Override public void onPong(long n) {
            seen.add("pong " + n);
        }
        @Override public void onClose(int code, String reason) {
            seen.add("close " + code);
        }
        @Override public void onDrain(String reason) {
            seen.add("drain");
        }
    }
}
