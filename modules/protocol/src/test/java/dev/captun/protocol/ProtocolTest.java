package dev.captun.protocol;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProtocolTest {

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

    @Test
    void hopByHopStripsTheFixedSetTheNamedOnesAndExtrasWithOrWithoutConnection() {
        List<Header> plain = List.of(new Header("Keep-Alive", "5"), new Header("X-A", "1"), new Header("TE", "x"),
                new Header(null, "n"), new Header("x-null", null), new Header("x-drop", "2"), new Header("x-a", "3"));
        assertEquals(List.of(new Header("X-A", "1"), new Header("x-a", "3")), HopByHop.strip(plain, Set.of("x-drop")));
        List<Header> named = List.of(new Header("X-A", "1"), new Header("connection", "keep-alive, X-Foo"),
                new Header("X-Foo", "f"), new Header("Upgrade", "ws"), new Header("x-b", "2"));
        assertEquals(List.of(new Header("X-A", "1"), new Header("x-b", "2")), HopByHop.strip(named));
    }

    @Test
    void closeReasonsFitAControlFrame() {
        assertEquals("short", Protocol.truncateReason("short"));
        assertEquals("", Protocol.truncateReason(null));
        String cut = Protocol.truncateReason("é".repeat(100));
        assertTrue(cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 123);
        assertEquals(61, cut.length());
    }
}
