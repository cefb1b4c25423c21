package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.protocol.Header;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

class TranslationTest {

    private static List<Header> headersOf(HttpRequest r, boolean trustedPeer) {
        return Translation.requestHeaders(r, r.entity(), "gw.example", "http", false, () -> "203.0.113.7", trustedPeer,
                xff -> "203.0.113.7");
    }

    private static String value(List<Header> hs, String name) {
        return hs.stream().filter(h -> h.name().equalsIgnoreCase(name)).map(Header::value).reduce((a, b) -> a + "|" + b).orElse(null);
    }

    @Test
    void identityClaimsOfAPublicClientNeverReachTheLocalService() {
        HttpRequest r = HttpRequest.GET("/demo/").addHeaders(Arrays.asList(
                RawHeader.create("X-Real-IP", "1.2.3.4"), RawHeader.create("Forwarded", "for=1.2.3.4"),
                RawHeader.create("CF-Connecting-IP", "1.2.3.4"), RawHeader.create("True-Client-IP", "1.2.3.4"),
                RawHeader.create("X-Forwarded-For", "1.2.3.4"), RawHeader.create("x-captun-tunnel-url", "http://evil/"),
                RawHeader.create("X-Keep", "yes")));
        List<Header> hs = headersOf(r, false);
        for (String n : List.of("x-real-ip", "forwarded", "cf-connecting-ip", "true-client-ip", "x-captun-tunnel-url")) {
            assertNull(value(hs, n), n + " must not be forwarded: " + hs);
        }
        assertEquals("203.0.113.7", value(hs, "x-forwarded-for"));
        assertEquals("http", value(hs, "x-forwarded-proto"));
        assertEquals("gw.example", value(hs, "x-forwarded-host"));
        assertEquals("yes", value(hs, "x-keep"));
    }

    @Test
    void behindATrustedProxyXRealIpIsTheResolvedClient() {
        HttpRequest r = HttpRequest.GET("/demo/").addHeader(RawHeader.create("X-Real-IP", "198.51.100.9"));
        assertEquals("203.0.113.7", value(headersOf(r, true), "x-real-ip"));
    }

    @Test
    void bodyFramingHeadersComeFromTheEntity() {
        HttpRequest r = HttpRequest.POST("/demo/").withEntity(HttpEntities.create(
                org.apache.pekko.http.javadsl.model.ContentTypes.APPLICATION_JSON, "{}".getBytes(StandardCharsets.UTF_8)));
        List<Header> hs = headersOf(r, false);
        assertEquals("application/json", value(hs, "content-type"));
        assertEquals("2", value(hs, "content-length"));
    }

    @Test
    void a101CompletesOnlyAnUpgradeThePublicClientAskedFor() {
        assertNull(Translation.publicStatus(101, false));
        assertEquals(StatusCodes.SWITCHING_PROTOCOLS, Translation.publicStatus(101, true));
        assertNull(Translation.publicStatus(100, false));
        assertNull(Translation.publicStatus(1000, false));
        assertEquals(StatusCodes.CREATED, Translation.publicStatus(201, false));
        assertNotNull(Translation.publicStatus(599, false)); // unknown but valid codes pass through
    }

    @Test
    void inlineBodiesBecomeStrictEntitiesWithTheirOwnLength() {
        List<Header> hs = new ArrayList<>(List.of(new Header("content-type", "text/plain"), new Header("content-length", "999"),
                new Header("x-a", "1"), new Header(null, "broken"), new Header("x-null", null)));
        HttpResponse r = Translation.response(StatusCodes.OK, hs, "demo", true, false, null,
                org.apache.pekko.util.ByteString.fromString("hello"), null);
        HttpEntity e = r.entity();
        assertTrue(e instanceof HttpEntity.Strict);
        assertEquals(5, ((HttpEntity.Strict) e).getData().size());
        assertEquals("text/plain", e.getContentType().mediaType().toString());
        assertEquals("1", r.getHeader("x-a").get().value());
        assertTrue(r.getHeader("x-null").isEmpty());
    }

    @Test
    void noContentAnswersCarryNoBody() {
        HttpResponse r = Translation.response(StatusCodes.NO_CONTENT, List.of(), "demo", true, false, null, null, null);
        assertTrue(r.entity().isKnownEmpty());
    }
}
