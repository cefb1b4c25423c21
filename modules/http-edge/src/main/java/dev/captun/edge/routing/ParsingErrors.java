package dev.captun.edge.routing;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Requests Pekko HTTP cannot parse still get the gateway's plain-text answer format (SPEC §4).
 * A request target that is not a valid URI (e.g. {@code /%zz/}) cannot name a tunnel, so it gets
 * {@code 404 Missing tunnel name} like any other malformed name (SPEC §2). Configured as
 * {@code pekko.http.server.parsing.error-handler}.
 */
public final class ParsingErrors extends ParsingErrorHandler {

    @Override
    public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
        String summary = info.summary();
        log.debug("unparseable request ({}): {}", status.intValue(), summary);
        if (status.intValue() == 400 && summary.contains("request-target")) {
            return PlainResponses.of(404, PlainResponses.MISSING_NAME);
        }
        return PlainResponses.of(status.intValue(), status.reason());
    }
}
