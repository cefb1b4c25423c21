package dev.captun.edge.connection;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
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
 */
public final class HeadDeadline extends GraphStage<FlowShape<HttpRequest, HttpResponse>> {
    private static final Logger log = LoggerFactory.getLogger(HeadDeadline.class);
    private static final Object TIMER = "head-deadline";

    private final Inlet<HttpRequest> in = Inlet.create("HeadDeadline.in");
    private final Outlet<HttpResponse> out = Outlet.create("HeadDeadline.out");
    private final FlowShape<HttpRequest, HttpResponse> shape = FlowShape.of(in, out);
    private final Duration deadline;
    private final Function<HttpRequest, CompletionStage<HttpResponse>> handler;
    private final String peer;

    /** @param peer the client IP, for the log line when a deadline closes the connection */
    public HeadDeadline(Duration deadline, Function<HttpRequest, CompletionStage<HttpResponse>> handler, String peer) {
        this.deadline = deadline;
        this.handler = handler;
        this.peer = peer;
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
            private AsyncCallback<HttpResponse> onResponse;
            private AsyncCallback<Throwable> onFailure;

            @Override
            public void preStart() {
                onResponse = createAsyncCallback(this::respond);
                onFailure = createAsyncCallback(this::failStage);
                scheduleOnce(TIMER, deadline);
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
                        if (!busy && !upstreamDone && !hasBeenPulled(in)) {
                            pull(in);
                        }
                    }
                });
            }

            private void respond(HttpResponse response) {
                busy = false;
                push(out, response);
                if (upstreamDone) {
                    completeStage();
                } else if (response.status().intValue() != 101) {
                    scheduleOnce(TIMER, deadline); // waiting for the next head from here
                }
            }

            @Override
            public void onTimer(Object key) {
                log.info("closing a connection from {}: no complete request head within {} s", peer, deadline.toSeconds());
                completeStage();
            }
        };
    }
}
