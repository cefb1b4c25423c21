package dev.captun.edge.node;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code CAPTUN_ACCESS_LOG=1}: one line per public request on the logger {@code captun.access},
 * written when the response body has ended (or failed): client IP, method, path, status, body
 * bytes, milliseconds. The path is logged without its query string (a legacy connect carries
 * its token there). The fields are also key-value pairs, so the JSON log format has them as fields.
 */
final class AccessLog {
    private static final Logger log = LoggerFactory.getLogger("captun.access");

    private AccessLog() {}

    /** The response to send, counting its body bytes and logging the line once it ends. */
    static HttpResponse wrap(HttpRequest request, HttpResponse response, String clientIp, long startedNanos) {
        String method = request.method().value();
        String path = request.getUri().path();
        int status = response.status().intValue();
        ResponseEntity entity = response.entity();
        // Nothing will stream (strict body, upgrade, HEAD): the line can be written now.
        if (entity.isStrict() || entity.isKnownEmpty() || status == 101 || method.equals("HEAD")) {
            long bytes = method.equals("HEAD") || status == 101 ? 0 : entity.getContentLengthOption().orElse(0);
            line(clientIp, method, path, status, bytes, startedNanos, null);
            return response;
        }
        AtomicLong bytes = new AtomicLong();
        Flow<ByteString, ByteString, org.apache.pekko.NotUsed> counting = Flow.of(ByteString.class)
                .map(b -> {
                    bytes.addAndGet(b.size());
                    return b;
                })
                .watchTermination((notUsed, done) -> {
                    done.whenCompleteAsync((d, error) -> line(clientIp, method, path, status, bytes.get(), startedNanos, error), Runnable::run);
                    return notUsed;
                });
        return response.withEntity(transform(entity, counting));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static ResponseEntity transform(ResponseEntity entity, Flow<ByteString, ByteString, org.apache.pekko.NotUsed> flow) {
        // The Scala model keeps the entity's kind (default, chunked, close-delimited); the Java API has no transform.
        return ((org.apache.pekko.http.scaladsl.model.ResponseEntity) entity).transformDataBytes((org.apache.pekko.stream.scaladsl.Flow) flow.asScala());
    }

    private static void line(String ip, String method, String path, int status, long bytes, long startedNanos, Throwable error) {
        long ms = (System.nanoTime() - startedNanos) / 1_000_000;
        log.atInfo()
                .addKeyValue("ip", ip)
                .addKeyValue("method", method)
                .addKeyValue("path", path)
                .addKeyValue("status", status)
                .addKeyValue("bytes", bytes)
                .addKeyValue("ms", ms)
                .log("{} {} {} {} {} {}ms{}", ip, method, path, status, bytes, ms, error == null ? "" : " (body cut off)");
    }
}
