package dev.captun.edge.session;

import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.scaladsl.BidiFlow;
import scala.concurrent.duration.FiniteDuration;

/**
 * The lower layers of a server WebSocket in the order of Pekko HTTP's internal {@code WebSocket.stack}:
 * unmasking ({@link Unmask}, 8 bytes at a time where Pekko XORs byte by byte), frame handling (ping,
 * pong, close) and the periodic keep-alive of {@code pekko.http.server.websocket}. The tunnel socket
 * puts {@link WholeMessages} on top, the public socket Pekko's message API: both are served at frame
 * level because Pekko HTTP 1.3's public API cannot close with a code of our choosing or skip its
 * per-message sub-stream. Internal API, pinned by the Pekko HTTP version in the parent pom.
 */
public final class WebSocketLayers {
    private WebSocketLayers() {}

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static BidiFlow below(ActorSystem classic, FiniteDuration closeTimeout, Class<?> logSource) {
        var layers = org.apache.pekko.http.impl.engine.ws.WebSocket$.MODULE$;
        var wsSettings = ServerSettings.apply(classic.settings().config()).websocketSettings();
        return (BidiFlow) Unmask.serverSide().asScala()
                .atop((Graph) layers.frameHandling(true, closeTimeout, Logging.getLogger(classic, logSource)))
                .atop((Graph) layers.periodicKeepAlive(wsSettings));
    }
}
