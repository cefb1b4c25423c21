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
 * One HTTP connection's request handler with a deadline for each complete request head. Pekko HTTP
 * has none: {@code request-timeout} starts once a head is parsed and {@code idle-timeout} restarts
 * on every byte, so a client sending one header byte a minute (slow-loris) holds a connection for
 * ever. Here, whenever the connection waits for a request — from accept, and again after each
 * response head went out — a complete head must arrive within {@code deadline}, or the connection
 * is closed (an idle keep-alive connection is closed after the same time). While a request is being
 * answered there is no deadline; after a 101 the connection is no longer HTTP and none applies.
 *
 * <p>Behaves as {@code mapAsync(1, handler)} otherwise (Pekko HTTP hands one request at a time).
 *
 * <p>When the node stops ({@link OpenConnections#terminate}) a connection waiting for a request is
 * closed at once; one whose request is being answered sends that response with {@code Connection:
 * close} and is closed after it; at the hard deadline whatever is left is cut.
 */
public final class HeadDeadline extends GraphStage<FlowShape<HttpRequest, HttpResponse>> {
    private static final Logger log = LoggerFactory.getLogger(HeadDeadline.class);
    private static final Object TIMER = "head-deadline";
    private static final Object STOP_DEADLINE = "stop-deadline";

    private final Inlet<HttpRequest> in = Inlet.create("HeadDeadline.in");
    private final Outlet<HttpResponse> out = Outlet.create("HeadDeadline.out");
    private final FlowShape<HttpRequest, HttpResponse> shape = FlowShape.of(in, out);
    private final Duration deadline;
    private final Function<HttpRequest, CompletionStage<HttpResponse>> handler;
    private final String peer;
    private final OpenConnections open;

    /**
     * @param peer the client IP, for the log line when a deadline closes the connection
     * @param open where the connection is known while it is open, for the graceful stop
     */
    HeadDeadline(Duration deadline, Function<HttpRequest, CompletionStage<HttpResponse>> handler, String peer, OpenConnections open) {
        this.deadline = deadline;
        this.handler = handler;
        this.peer = peer;
        this.open = open;
    }

    @Override
    public FlowShape<HttpRequest, HttpResponse> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new TimerGraphStageLogic(shape) {
            private boolean busy;
            private boolean upstreamDone;
            private boolean terminating;
            private AsyncCallback<HttpResponse> onResponse;
            private AsyncCallback<Throwable> onFailure;
            private AsyncCallback<Duration> onTerminate;
            private final OpenConnections.Terminable terminable = hardDeadline -> onTerminate.invoke(hardDeadline);

            @Override
            public void preStart() {
                onResponse = createAsyncCallback(this::respond);
                onFailure = createAsyncCallback(this::failStage);
                onTerminate = createAsyncCallback(this::terminate);
                scheduleOnce(TIMER, deadline);
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
                        cancelTimer(TIMER);
                        busy = true;
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
                if (terminating && response.status().intValue() != 101) {
                    response = response.removeHeader("Connection").addHeader(Connection.create("close"));
                }
                push(out, response);
                if (upstreamDone || terminating) {
                    completeStage();
                } else if (response.status().intValue() != 101) {
                    scheduleOnce(TIMER, deadline); // waiting for the next head from here
                }
            }

            /** The node is stopping: finish the request being answered, if any, and close. */
            private void terminate(Duration hardDeadline) {
                if (terminating) {
                    return;
                }
                terminating = true;
                cancelTimer(TIMER);
                scheduleOnce(STOP_DEADLINE, hardDeadline);
                if (!busy) {
                    completeStage();
                }
            }

            @Override
            public void onTimer(Object key) {
                if (key == STOP_DEADLINE) {
                    failStage(new IllegalStateException("node stopping: connection from " + peer + " cut at the hard deadline"));
                    return;
                }
                log.info("closing a connection from {}: no complete request head within {} s", peer, deadline.toSeconds());
                completeStage();
            }
        };
    }
}
