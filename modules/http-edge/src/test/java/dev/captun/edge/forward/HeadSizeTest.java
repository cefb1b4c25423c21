package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

/** The edge refuses a head too large for one tunnel frame before any work, by a bound that never refuses one that fits. */
class HeadSizeTest {

    private static HttpRequest withHeaders(int count, int valueLength) {
        HttpRequest r = HttpRequest.GET("/demo/path?q=1");
        for (int i = 0; i < count; i++) {
            r = r.addHeader(RawHeader.create("x-big-" + i, "a".repeat(valueLength)));
        }
        return r;
    }

    private static int encodedLength(HttpRequest r) {
        List<Header> hs = new ArrayList<>();
        r.getHeaders().forEach(h -> hs.add(new Header(h.name(), h.value())));
        return new FrameWriter().request(1, "GET", "/path?q=1", hs, true, false).size() - FrameType.HEADER_BYTES;
    }

    @Test
    void countsTheTargetAndEveryHeaderNameAndValue() {
        HttpRequest r = withHeaders(2, 10);
        assertEquals("/demo/path".length() + "q=1".length() + 2 * ("x-big-0".length() + 10), PublicForwarder.headChars(r));
    }

    @Test
    void aHeadOverTheBoundNeverFitsAFrameAndTheIssuesAttackIsOverIt() {
        HttpRequest attack = withHeaders(9, 8000); // ~72 KB, the attack of issue 14
        assertTrue(PublicForwarder.headChars(attack) > Protocol.MAX_HEAD_BYTES);
        assertTrue(encodedLength(attack) > Protocol.MAX_HEAD_BYTES);
        for (int n = 1; n <= 8; n++) { // whatever the bound says, the encoded head is at least as long
            HttpRequest r = withHeaders(n, 8000);
            assertTrue(encodedLength(r) >= PublicForwarder.headChars(r) - "/demo".length(), "n=" + n);
        }
    }
}
