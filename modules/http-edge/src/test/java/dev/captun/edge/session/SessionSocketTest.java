package dev.captun.edge.session;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class SessionSocketTest {

    private static String text(Message m) {
        return m.asTextMessage().getStrictText();
    }

    @Test
    void consecutiveTextFramesBecomeOneMessageAndBinaryFramesKeepTheirPlace() {
        Message bin = BinaryMessage.create(ByteString.fromString("data"));
        List<Message> out = SessionSocket.coalesce(List.of(TextMessage.create("a"), TextMessage.create("b"), bin,
                TextMessage.create("c"), TunnelSession.END));
        assertEquals(4, out.size());
        assertEquals("a\nb", text(out.get(0)));
        assertSame(bin, out.get(1));
        assertEquals("c", text(out.get(2)));
        assertSame(TunnelSession.END, out.get(3), "the end marker is compared by identity: never merged");
    }

    @Test
    void aSingleFrameIsLeftAlone() {
        Message m = TextMessage.create("only");
        assertSame(m, SessionSocket.coalesce(List.of(m)).get(0));
    }
}
