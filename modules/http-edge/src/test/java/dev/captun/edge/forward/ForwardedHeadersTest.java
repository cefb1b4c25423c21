package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.ratelimit.ClientIp;
import java.net.InetSocketAddress;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

class ForwardedHeadersTest {
    private static final ForwardedHeaders BEHIND_PROXY = new ForwardedHeaders(ClientIp.parse("10.0.0.0/8"));

    private static HttpRequest from(String peer, String... headerLines) {
        HttpRequest r = HttpRequest.create("/demo/").addAttribute(AttributeKeys.remoteAddress,
                RemoteAddress.create(new InetSocketAddress(peer, 40000)));
        // In the order received, as the server's parser delivers them (addHeader would prepend).
        java.util.List<org.apache.pekko.http.javadsl.model.HttpHeader> headers = new java.util.ArrayList<>();
        for (String line : headerLines) {
            int colon = line.indexOf(':');
            headers.add(RawHeader.create(line.substring(0, colon), line.substring(colon + 1).trim()));
        }
        return r.withHeaders(headers);
    }

    @Test
    void aForgedFirstXffLineDoesNotBecomeTheClientWhenTheProxyAppendsItsOwnLine() {
        HttpRequest r = from("10.0.0.1", "X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 203.0.113.7");
        assertEquals("203.0.113.7", BEHIND_PROXY.clientIp(r));
    }

    @Test
    void theChainIsReadFromTheRightAcrossLinesAndWithinThem() {
        HttpRequest r = from("10.0.0.1", "x-forwarded-for: 6.6.6.6, 7.7.7.7", "x-forwarded-for: 198.51.100.2, 10.2.2.2");
        assertEquals("198.51.100.2", BEHIND_PROXY.clientIp(r));
        assertEquals("6.6.6.6, 7.7.7.7, 198.51.100.2", ForwardedHeaders.header(
                from("10.0.0.1", "x-forwarded-for: 6.6.6.6, 7.7.7.7", "X-FORWARDED-FOR: 198.51.100.2"), "x-forwarded-for"));
    }

    @Test
    void forwardedHeaderLinesAreJoinedToo() {
        HttpRequest r = from("10.0.0.1", "forwarded: for=6.6.6.6", "forwarded: for=203.0.113.8;proto=https");
        assertEquals("203.0.113.8", BEHIND_PROXY.clientIp(r));
    }

    @Test
    void repeatedSingleValueHeadersAreIgnoredRatherThanGuessed() {
        HttpRequest r = from("10.0.0.1", "x-real-ip: 6.6.6.6", "x-real-ip: 203.0.113.9");
        assertEquals("10.0.0.1", BEHIND_PROXY.clientIp(r));
    }

    @Test
    void anUntrustedPeerIsItsOwnKeyWhateverItSends() {
        HttpRequest r = from("198.51.100.50", "x-forwarded-for: 6.6.6.6", "x-forwarded-for: 203.0.113.7");
        assertEquals("198.51.100.50", BEHIND_PROXY.clientIp(r));
    }
}
