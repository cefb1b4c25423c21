package dev.captun.edge.connection;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP connection's request handler with the deadlines Pekko HTTP does not have. Its
 * {@code request-timeout} starts once a head is parsed and its {@code idle-timeout} restarts on
 * every byte, so a client sending one header byte a minute (slow-loris) would hold a connection for
 * ever. Between two requests a connection is in one of two states, told apart by
 * {@link ConnectionActivity} (which sees the bytes under Pekko's parser):
 * <ul>
 *   <li><b>a head is being sent</b> (bytes of a request arrived, its head is not complete): it must be
 *   complete within {@code headDeadline} of its first byte, else the connection is closed and the
 *   close logged at INFO (slow-loris);</li>
 *   <li><b>idle</b> (no byte since the last response's body was written): the connection is closed
 *   after {@code keepAliveTimeout}, logged at DEBUG (an idle close is normal). It is closed only then:
 *   no request in progress, no byte of a new one arrived, the last response sent whole, so the client
 *   sees a FIN on a connection at rest, which pooling clients notice and drop.</li>
 * </ul>
 * A new connection must send its first complete head within {@code headDeadline} of accept. While a
 * request is being answered, and while its response body is being written however long that takes,
 * no deadline applies; after a 101 the connection is no longer HTTP and none applies.
 *
 * <p>Timers only: one check per {@code min(headDeadline, keepAliveTimeout)} at most while the
 * connection waits or writes a body, nothing per request beyond rescheduling it.
 *
 * <p>Behaves as {@code mapAsync(1, handler)} otherwise (Pekko HTTP hands one request at a time).
 *
 * <p>When the node stops ({@link OpenConnections#terminate}) a connection waiting for a request is
 * closed at once; one whose request is being answered sends that response with {@code Connection:
 * close} and is closed after its body; at the hard deadline whatever is left is cut.
 */
public final class ConnectionDeadlines extends GraphStage<FlowShape<HttpRequest, HttpResponse>> {
    private static final Logger log = LoggerFactory.getLogger(ConnectionDeadlines.class);
    private static final Object CHECK = "check";
    private static final Object STOP_DEADLINE = "stop-deadline";
    /** While stopping: how often a connection still writing a body looks again. */
    private static final Duration STOP_POLL = Duration.ofMillis(100);

    private final Inlet<HttpRequest> in = Inlet.create("ConnectionDeadlines.in");
    private final Outlet<HttpResponse> out = Outlet.create("ConnectionDeadlines.out");
    private final FlowShape<HttpRequest, HttpResponse> shape = FlowShape.of(in, out);
    private final Duration headDeadline;
    private final Duration keepAliveTimeout;
    private final Function<HttpRequest, CompletionStage<HttpResponse>> handler;
    private final String peer;
    private final ConnectionActivity activity;
    private final OpenConnections open;

    /**
     * @param peer the client IP, for the log line when a deadline closes the connection
     * @param activity the same connection's byte watch ({@link ConnectionActivity#watch})
     * @param open where the connection is known while it is open, for the graceful stop
     */
    ConnectionDeadlines(Duration headDeadline, Duration keepAliveTimeout, Function<HttpRequest, CompletionStage<HttpResponse>> handler,
                        String peer, ConnectionActivity activity, OpenConnections open) {
        this.headDeadline = headDeadline;
        this.keepAliveTimeout = keepAliveTimeout;
        this.handler = handler;
        this.peer = peer;
        this.activity = activity;
        this.open = open;
    }

    @Override
    public FlowShape<HttpRequest, HttpResponse> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new TimerGraphStageLogic(shape) {
            /** A request is with the handler. */
            private boolean busy;
            /** No request yet: the first head is due within the head deadline of accept. */
            private boolean fresh = true;
            private boolean upgraded;
            private boolean upstreamDone;
            private boolean terminating;
            private long acceptedAt;
            private AsyncCallback<HttpResponse> onResponse;
            private AsyncCallback<Throwable> onFailure;
            private AsyncCallback<Duration> onTerminate;
            private final OpenConnections.Terminable terminable = hardDeadline -> onTerminate.invoke(hardDeadline);

            @Override
            public void preStart() {
                onResponse = createAsyncCallback(this::respond);
                onFailure = createAsyncCallback(this::failStage);
                onTerminate = createAsyncCallback(this::terminate);
                acceptedAt = System.nanoTime();
                activity.awaitHead();
                scheduleOnce(CHECK, headDeadline);
                open.opened(terminable);
            }

            @Override
            public void postStop() {
                open.ended(terminable);
            }

            {
                setHandler(in, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        HttpRequest request = grab(in);
                        cancelTimer(CHECK);
                        activity.headComplete();
                        busy = true;
                        fresh = false;
                        CompletionStage<HttpResponse> response;
                        try {
                            response = handler.apply(request);
                        } catch (RuntimeException e) {
                            failStage(e);
                            return;
                        }
                        response.whenCompleteAsync((r, error) -> {
                            if (error != null) {
                                onFailure.invoke(error);
                            } else {
                                onResponse.invoke(r);
                            }
                        }, Runnable::run);
                    }

                    @Override
                    public void onUpstreamFinish() {
                        upstreamDone = true;
                        if (!busy) {
                            completeStage();
                        }
                    }
                });
                setHandler(out, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        if (!busy && !upstreamDone && !terminating && !hasBeenPulled(in)) {
                            pull(in);
                        }
                    }
                });
            }

            private void respond(HttpResponse response) {
                busy = false;
                if (response.status().intValue() == 101) {
                    upgraded = true; // no longer HTTP: no deadline from here
                    push(out, response);
                    if (upstreamDone || terminating) {
                        completeStage();
                    }
                    return;
                }
                if (terminating) {
                    response = response.removeHeader("Connection").addHeader(Connection.create("close"));
                }
                response = activity.track(response);
                activity.awaitHead(); // any byte from here on is the next request's
                push(out, response);
                if (upstreamDone) {
                    completeStage();
                } else {
                    check();
                }
            }

            /**
             * Whenever the connection is not answering a request: closes it if a deadline has
             * passed, else looks again when the next one could.
             */
            private void check() {
                if (busy || upgraded) {
                    return;
                }
                if (!activity.bodyEnded()) { // a response body is still being written: the connection is in use
                    scheduleOnce(CHECK, terminating ? STOP_POLL : min(headDeadline, keepAliveTimeout));
                    return;
                }
                if (terminating) {
                    completeStage();
                    return;
                }
                long now = System.nanoTime();
                if (activity.headStarted()) {
                    // The client is sending a head: from its first byte (or accept), the head deadline.
                    long from = fresh ? acceptedAt : Math.max(activity.headStartedAt(), activity.bodyEndedAt());
                    long left = from + headDeadline.toNanos() - now;
                    if (left <= 0) {
                        log.info("closing a connection from {}: no complete request head within {} s", peer, headDeadline.toSeconds());
                        completeStage();
                    } else {
                        scheduleOnce(CHECK, Duration.ofNanos(left));
                    }
                    return;
                }
                // Nothing since the last response (or since accept): idle.
                Duration limit = fresh ? headDeadline : keepAliveTimeout;
                long left = (fresh ? acceptedAt : activity.bodyEndedAt()) + limit.toNanos() - now;
                if (left <= 0) {
                    if (fresh) {
                        log.debug("closing a connection from {}: no request within {} s of accept", peer, limit.toSeconds());
                    } else {
                        log.debug("closing an idle keep-alive connection from {}: no request within {} s", peer, limit.toSeconds());
                    }
                    completeStage();
                } else {
                    // Look again by the head deadline at the latest: a head started meanwhile is due by then.
                    scheduleOnce(CHECK, Duration.ofNanos(Math.min(left, headDeadline.toNanos())));
                }
            }

            /** The node is stopping: finish the request being answered, if any, and close. */
            private void terminate(Duration hardDeadline) {
                if (terminating) {
                    return;
                }
                terminating = true;
                scheduleOnce(STOP_DEADLINE, hardDeadline);
                check(); // busy: respond() goes on from here
            }

            @Override
            public void onTimer(Object key) {
                if (key == STOP_DEADLINE) {
                    failStage(new IllegalStateException("node stopping: connection from " + peer + " cut at the hard deadline"));
                } else {
                    check();
                }
            }
        };
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
