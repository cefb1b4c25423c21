package dev.captun.client.inspect;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Header;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayTest {
    private final CaptureRing ring = new CaptureRing(10);

    private Exchange captured(String method, String path, List<Header> headers, BodyCapture body, String note, boolean ws) {
        return new Exchange(ring.nextId(), 0, method, path, headers, ws, body, note, () -> false, ring::changed);
    }

    private static BodyCapture complete(String s, int cap) {
        BodyCapture b = new BodyCapture(cap);
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.append(bytes, 0, bytes.length);
        b.complete();
        return b;
    }

    @Test
    void asCapturedKeepsMethodPathHeadersAndBodyButDropsFraming() throws Exception {
        Exchange e = captured("POST", "/hook?x=1", List.of(new Header("Content-Type", "application/json"),
                new Header("Content-Length", "7"), new Header("X-Sig", "abc"), new Header("Connection", "keep-alive, x-hop"),
                new Header("x-hop", "1"), new Header("Transfer-Encoding", "chunked"), new Header("Expect", "100-continue")),
                complete("{\"a\":1}", 100), null, false);
        Replay.Plan p = Replay.plan(e, Replay.Edit.NONE);
        assertEquals("POST", p.method());
        assertEquals("/hook?x=1", p.path());
        assertEquals(List.of(new Header("Content-Type", "application/json"), new Header("X-Sig", "abc")), p.headers());
        assertEquals("{\"a\":1}", new String(p.body(), StandardCharsets.UTF_8));
    }

    @Test
    void editsReplaceMethodPathHeadersAndBody() throws Exception {
        Exchange e = captured("POST", "/a", List.of(new Header("x", "1")), complete("old", 100), null, false);
        Replay.Plan p = Replay.plan(e, new Replay.Edit(" PUT ", "/b?y=2", List.of(new Header("y", "2")),
                "new".getBytes(StandardCharsets.UTF_8)));
        assertEquals("PUT", p.method());
        assertEquals("/b?y=2", p.path());
        assertEquals(List.of(new Header("y", "2")), p.headers());
        assertEquals("new", new String(p.body(), StandardCharsets.UTF_8));
        Replay.Plan keepBody = Replay.plan(e, new Replay.Edit(null, "/c", null, null));
        assertEquals("POST", keepBody.method());
        assertEquals(List.of(new Header("x", "1")), keepBody.headers());
        assertEquals("old", new String(keepBody.body(), StandardCharsets.UTF_8));
    }

    @Test
    void aBodylessRequestReplaysWithAnEmptyBody() throws Exception {
        Replay.Plan p = Replay.plan(captured("GET", "/", List.of(), null, null, false), Replay.Edit.NONE);
        assertEquals(0, p.body().length);
    }

    @Test
    void refusesWhatCannotBeReplayedFaithfully() {
        Replay.Refused ws = assertThrows(Replay.Refused.class,
                () -> Replay.plan(captured("GET", "/ws", List.of(), null, null, true), Replay.Edit.NONE));
        assertEquals(400, ws.status);
        assertTrue(ws.getMessage().contains("WebSocket"));

        BodyCapture cut = new BodyCapture(4);
        cut.append("0123456789".getBytes(), 0, 10);
        cut.complete();
        Exchange big = captured("POST", "/big", List.of(), cut, null, false);
        Replay.Refused truncated = assertThrows(Replay.Refused.class, () -> Replay.plan(big, Replay.Edit.NONE));
        assertEquals(409, truncated.status);
        assertTrue(truncated.getMessage().contains("4 of 10 bytes"), truncated.getMessage());
        assertDoesNotThrow(() -> Replay.plan(big, new Replay.Edit(null, null, null, new byte[] {1})), "a given body replaces it");

        BodyCapture partial = new BodyCapture(100);
        partial.append("abc".getBytes(), 0, 3);
        assertEquals(409, assertThrows(Replay.Refused.class,
                () -> Replay.plan(captured("POST", "/p", List.of(), partial, null, false), Replay.Edit.NONE)).status);
        assertEquals(409, assertThrows(Replay.Refused.class,
                () -> Replay.plan(captured("POST", "/n", List.of(), null, "streamed", false), Replay.Edit.NONE)).status);

        Exchange ok = captured("GET", "/", List.of(), null, null, false);
        assertEquals(400, assertThrows(Replay.Refused.class, () -> Replay.plan(ok, new Replay.Edit("G T", null, null, null))).status);
        assertEquals(400, assertThrows(Replay.Refused.class, () -> Replay.plan(ok, new Replay.Edit(null, "nope", null, null))).status);
        assertEquals(400, assertThrows(Replay.Refused.class, () -> Replay.plan(ok, new Replay.Edit(null, "/a b", null, null))).status);
        assertEquals(400, assertThrows(Replay.Refused.class,
                () -> Replay.plan(ok, new Replay.Edit(null, null, List.of(new Header("x", "a\r\nInjected: 1")), null))).status);
        assertEquals(400, assertThrows(Replay.Refused.class,
                () -> Replay.plan(ok, new Replay.Edit(null, null, List.of(new Header("bad name", "v")), null))).status);
    }

    @Test
    void theApiEditIsParsedFromJson() {
        Replay.Edit e = InspectorServer.parseEdit(
                "{\"method\":\"PATCH\",\"path\":\"/p\",\"headers\":[[\"a\",\"1\"],{\"name\":\"b\",\"value\":\"2\"}],\"body\":\"hé\"}"
                        .getBytes(StandardCharsets.UTF_8));
        assertEquals("PATCH", e.method());
        assertEquals("/p", e.path());
        assertEquals(List.of(new Header("a", "1"), new Header("b", "2")), e.headers());
        assertArrayEquals("hé".getBytes(StandardCharsets.UTF_8), e.body());
        assertArrayEquals(new byte[] {0, 1, 2}, InspectorServer.parseEdit("{\"bodyBase64\":\"AAEC\"}".getBytes()).body());
        assertSame(Replay.Edit.NONE, InspectorServer.parseEdit(new byte[0]));
        Replay.Edit empty = InspectorServer.parseEdit("{}".getBytes());
        assertNull(empty.method());
        assertNull(empty.body());
        for (String bad : List.of("[1]", "{\"method\":1}", "{\"headers\":{}}", "{\"headers\":[[\"a\"]]}",
                "{\"body\":\"a\",\"bodyBase64\":\"AA==\"}", "{\"bodyBase64\":\"***\"}", "{nope")) {
            assertThrows(IllegalArgumentException.class, () -> InspectorServer.parseEdit(bad.getBytes()), bad);
        }
    }
}
