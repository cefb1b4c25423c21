package dev.captun.edge.ratelimit;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class RateLimitResponsesTest {

    @Test
    void limited() {
        RateLimitResponses.Response r = RateLimitResponses.limited(42, 600);
        assertEquals(429, r.status());
        assertEquals("Rate limit exceeded. Try again in 42s.\n", r.body());
        assertEquals("text/plain; charset=utf-8", r.contentType());
        assertEquals(List.of(
                new RateLimitResponses.Header("retry-after", "42"),
                new RateLimitResponses.Header("x-captun-rate-limit", "600"),
                new RateLimitResponses.Header("cache-control", "no-store")), r.headers());
        assertEquals("42", r.header("Retry-After"));
        assertNull(r.header("x-nope"));
    }

    @Test
    void retryAfterAtLeastOne() {
        RateLimitResponses.Response r = RateLimitResponses.limited(0, 1);
        assertEquals("Rate limit exceeded. Try again in 1s.\n", r.body());
        assertEquals("1", r.header("retry-after"));
        assertEquals("Rate limit exceeded. Try again in 1s.", RateLimitResponses.limitedMessage(-3));
    }

    @Test
    void unavailable() {
        RateLimitResponses.Response r = RateLimitResponses.unavailable();
        assertEquals(503, r.status());
        assertEquals("Rate limiter unavailable\n", r.body());
        assertEquals("no-store", r.header("cache-control"));
    }
}
