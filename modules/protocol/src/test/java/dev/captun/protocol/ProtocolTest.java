package dev.captun.protocol;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtocolTest {

    @Test
    void controlFramesRoundTripWithTypeNames() throws Exception {
        var req = new Control.Request(7, "POST", "/a?b=1", List.of(new Header("x-a", "1"), new Header("x-a", "2")), false, false);
        String json = ControlCodec.encode(req);
        assertTrue(json.contains("\"type\":\"request\""), json);
        assertTrue(json.contains("[\"x-a\",\"1\"]"), json);
        assertEquals(req, ControlCodec.decode(json));
        for (Control c : List.of(
                new Control.Ready(1, "demo", "http://h/demo/", 1024, 15),
                new Control.Response(3, 404, List.of(), true),
                new Control.End(3), new Control.Credit(3, 100), new Control.Reset(3, "gone"),
                new Control.WsClose(3, 4001, "done"), new Control.Close(4000, "Replaced by a newer connection"),
                new Control.Drain("node shutting down"), new Control.Ping(9), new Control.Pong(9))) {
            assertEquals(c, ControlCodec.decode(ControlCodec.encode(c)));
        }
    }

    @Test
    void inlineBodiesTravelAsBase64AndAreAbsentWhenNull() throws Exception {
        byte[] body = "hi\n\u0000".getBytes(StandardCharsets.UTF_8);
        String json = ControlCodec.encode(new Control.Response(4, 200, List.of(), true, body));
        assertFalse(json.contains("\n"), "compact JSON never holds a raw newline: " + json);
        var back = (Control.Response) ControlCodec.decode(json);
        assertArrayEquals(body, back.body());
        assertTrue(back.end());
        assertFalse(ControlCodec.encode(new Control.Response(4, 200, List.of(), true)).contains("body"));
        var req = (Control.Request) ControlCodec.decode(ControlCodec.encode(new Control.Request(5, "POST", "/", List.of(), true, false, body)));
        assertArrayEquals(body, req.body());
    }

    @Test
    void batchedMessagesDecodeToEveryFrameInOrder() throws Exception {
        List<Control> frames = List.of(new Control.End(1), new Control.Credit(2, 10), new Control.Response(3, 204, List.of(), true));
        String text = String.join("\n", frames.stream().map(ControlCodec::encode).toList());
        List<Control> seen = new java.util.ArrayList<>();
        ControlCodec.decodeBatch(text, seen::add);
        assertEquals(frames, seen);
        assertThrows(ProtocolException.class, () -> ControlCodec.decodeBatch(ControlCodec.encode(new Control.End(1)) + "\nnot json", c -> { }));
        assertThrows(ProtocolException.class, () -> ControlCodec.decodeBatch(ControlCodec.encode(new Control.End(1)) + "\n", c -> { }));
    }

    @Test
    void drainIsAVersion2FrameWithAStableWireForm() throws Exception {
        assertEquals("{\"type\":\"drain\",\"reason\":\"node shutting down\"}", ControlCodec.encode(new Control.Drain("node shutting down")));
        assertFalse(Protocol.drainFrames(1));
        assertTrue(Protocol.drainFrames(2));
    }

    @Test
    void unknownFieldsAreIgnoredButGarbageIsAProtocolError() throws Exception {
        assertEquals(new Control.End(1), ControlCodec.decode("{\"type\":\"end\",\"id\":1,\"future\":true}"));
        assertThrows(ProtocolException.class, () -> ControlCodec.decode("{\"type\":\"nope\"}"));
        assertThrows(ProtocolException.class, () -> ControlCodec.decode("not json"));
        assertThrows(ProtocolException.class, () -> ControlCodec.decode("x".repeat(Protocol.MAX_FRAME_BYTES + 1)));
    }

    @Test
    void dataFramesRoundTripWithoutCopying() throws Exception {
        byte[] payload = "hello".getBytes(StandardCharsets.UTF_8);
        ByteBuffer frame = DataFrame.encode(DataFrame.WS_TEXT, true, 0x01020304, payload, 0, payload.length);
        DataFrame f = DataFrame.decode(frame);
        assertEquals(DataFrame.WS_TEXT, f.kind());
        assertTrue(f.fin());
        assertEquals(0x01020304, f.streamId());
        assertArrayEquals(payload, f.payloadBytes());
        DataFrame d = DataFrame.decode(DataFrame.encode(DataFrame.DATA, false, 5, new byte[0], 0, 0));
        assertFalse(d.fin());
        assertEquals(0, d.payload().remaining());
    }

    @Test
    void malformedDataFramesAreRejected() {
        assertThrows(ProtocolException.class, () -> DataFrame.decode(ByteBuffer.wrap(new byte[3])));
        assertThrows(ProtocolException.class, () -> DataFrame.decode(ByteBuffer.wrap(new byte[] {9, 0, 0, 0, 1})));
        assertThrows(ProtocolException.class, () -> DataFrame.decode(ByteBuffer.allocate(Protocol.MAX_FRAME_BYTES + 1).put(0, (byte) 1)));
        assertThrows(IllegalArgumentException.class,
                () -> DataFrame.encode(DataFrame.DATA, false, 1, new byte[Protocol.MAX_DATA_PAYLOAD + 1], 0, Protocol.MAX_DATA_PAYLOAD + 1));
    }

    @Test
    void tokenSubprotocolRoundTripsAndSkipsMalformed() {
        String sp = Tokens.toSubprotocol("tök=en/+");
        assertTrue(sp.startsWith("captun-token."));
        assertFalse(sp.contains("="));
        assertEquals("tök=en/+", Tokens.fromSubprotocol(sp));
        assertNull(Tokens.fromSubprotocol("captun-token."));
        assertNull(Tokens.fromSubprotocol("captun-token.!!!"));
        assertNull(Tokens.fromSubprotocol("captun-token.YQ=="));
        assertNull(Tokens.fromSubprotocol("captun"));
        assertNull(Tokens.fromSubprotocol("captun-token._w")); // 0xff is not UTF-8
    }
}
