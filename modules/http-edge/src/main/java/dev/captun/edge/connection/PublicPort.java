package dev.captun.edge.connection;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.server.HttpAttributes$;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.TLSProtocol.SslTlsInbound;
import org.apache.pekko.stream.TLSProtocol.SslTlsOutbound;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import scala.concurrent.duration.FiniteDuration;

/**
 * The public HTTP port, bound by the node itself instead of {@code Http.newServerAt}: TCP from Pekko
 * Streams and, on every connection, Pekko HTTP's own server layer ({@code Http.serverLayer}: the same
 * parser, renderer and WebSocket switch) over Pekko's idle timeout and {@link ConnectionActivity}'s
 * watch of the inbound bytes, which tells {@link ConnectionDeadlines} a head being sent from an idle
 * connection.
 *
 * <p>What {@code newServerAt} did besides is done here too: {@code pekko.http.server}'s backlog,
 * socket options, {@code max-connections} and {@code idle-timeout}, the client address on every
 * request ({@code remote-address-attribute}), and the graceful stop ({@link #addToCoordinatedShutdown}).
 */
public final class PublicPort {
    private final ActorSystem<?> system;
    private final ServerSettings settings;
    private final LoggingAdapter log;
    private final Materializer mat;
    private final OpenConnections open = new OpenConnections();
    /**
     * Pekko HTTP's server layer, built once and materialized for every connection with the client's
     * address added as an attribute (what {@code Http.bind} does). Built per connection it primed a
     * header parser each time (31 header-value parsers and its tables): CPU per accept and ~10 KiB
     * kept for the life of every connection, tunnel sockets included.
     */
    private final BidiFlow<HttpResponse, SslTlsOutbound, SslTlsInbound, HttpRequest, NotUsed> httpLayer;
    /** The connection idle timeout, built once ({@link IdleCut}'s state lives in each materialization). */
    private final BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> idleTimeout;
    private volatile Tcp.ServerBinding binding;

    /** Settings from {@code pekko.http.server} of the system's config. */
    public PublicPort(ActorSystem<?> system) {
        this.system = system;
        this.settings = ServerSettings.create(system.classicSystem());
        this.log = system.classicSystem().log();
        this.mat = Materializer.matFromSystem(system);
        this.httpLayer = Http.get(system.classicSystem()).serverLayer(settings, Optional.empty(), log);
        this.idleTimeout = idleTimeout();
    }

    /**
     * Binds {@code host:port} and hands every accepted connection to {@code accept}, at most
     * {@code pekko.http.server.max-connections} at once (as {@code Http.bind} does: further accepts
     * wait in the TCP backlog); {@code accept} completes when its connection has ended, never with a failure.
     */
    public PublicPort bind(String host, int port, Function<Tcp.IncomingConnection, CompletionStage<Done>> accept, Duration timeout)
            throws Exception {
        binding = Tcp.get(system.classicSystem())
                .bind(host, port, settings.getBacklog(), settings.getSocketOptions(), false, Optional.empty())
                .mapAsyncUnordered(settings.getMaxConnections(), accept::apply)
                .toMat(Sink.ignore(), Keep.left())
                .run(mat)
                .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    public InetSocketAddress localAddress() {
        return binding.localAddress();
    }

    /**
     * Serves one connection with {@code handler}, one request at a time, under {@link ConnectionDeadlines};
     * completes when the handler's side of the connection has ended (exceptionally if the connection failed).
     *
     * @param headDeadline time for a request head from its first byte (slow-loris)
     * @param keepAliveTimeout time an idle connection is kept between requests
     * @param peer the client IP, for log lines
     */
    public CompletionStage<Done> serve(Tcp.IncomingConnection connection, Duration headDeadline, Duration keepAliveTimeout,
                                       Function<HttpRequest, CompletionStage<HttpResponse>> handler, String peer) {
        ConnectionActivity activity = new ConnectionActivity();
        BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> layers = httpLayer
                .addAttributes(HttpAttributes$.MODULE$.remoteAddress(connection.remoteAddress()))
                .atop(plainText())
                .atop(idleTimeout)
                .atop(activity.watch());
        try {
            return Flow.fromGraph(new ConnectionDeadlines(headDeadline, keepAliveTimeout, handler, peer, activity, open))
                    .watchTermination(Keep.right())
                    .joinMat(layers, Keep.left())
                    .joinMat(connection.flow(), Keep.left())
                    .run(mat);
        } catch (RuntimeException e) { // the accept loop must go on: this connection is just over
            log.error(e, "could not serve a connection from {}", peer);
            return CompletableFuture.failedFuture(e);
        }
    }

    /** What newServerAt puts under the server layer on a plain-HTTP port (no TLS: the bytes as they are). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static BidiFlow<SslTlsOutbound, ByteString, ByteString, SslTlsInbound, NotUsed> plainText() {
        return (BidiFlow) TLSPlacebo.getInstance(); // its SessionBytes are the server layer's SslTlsInbound
    }

    /** {@code pekko.http.server.idle-timeout}: no byte either way for this long and the connection is aborted. */
    private BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> idleTimeout() {
        scala.concurrent.duration.Duration idle = settings.getTimeouts().idleTimeout();
        return idle instanceof FiniteDuration finite
                ? BidiFlow.fromGraph(new IdleCut(Duration.ofNanos(finite.toNanos())))
                : BidiFlow.fromFlows(Flow.create(), Flow.create());
    }

    /**
     * As {@code ServerBinding.addToCoordinatedShutdown}: the port is unbound in phase
     * {@code service-unbind}; in {@code service-requests-done} idle connections are closed, a request
     * being answered gets its response (with {@code Connection: close}) and then its connection is
     * closed, and whatever is left at {@code hardDeadline} is cut.
     */
    public void addToCoordinatedShutdown(Duration hardDeadline) {
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system.classicSystem());
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "public-port-unbind",
                () -> binding.unbind().thenApplyAsync(u -> Done.getInstance(), Runnable::run));
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "public-port-terminate",
                () -> open.terminate(hardDeadline));
    }
}
