package dev.captun.edge.connection;

import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.stream.stage.OutHandler;
import org.apache.pekko.util.ByteString;

/**
 * What one connection's {@link ConnectionDeadlines} cannot see in requests and responses:
 * <ul>
 *   <li>whether a byte of the next request has arrived, and when: {@link #watch} is a stage on the
 *   connection's inbound bytes, under Pekko's parser, which sees a head long before it is complete;</li>
 *   <li>when the last response's body was written: Pekko takes the next response from the handler as
 *   soon as it has started rendering one, so its pull says nothing about the body; {@link #track}
 *   marks the end of a streamed body instead (a strict body is written when it is handed over).</li>
 * </ul>
 * Cost: per inbound chunk one read of a field (a clock read and two writes for the first chunk of a
 * head only); per streamed response body one pass-through stage in the body's own stream, which
 * Pekko materializes anyway (no materialization, future or message of its own); nothing for a
 * strict body.
 *
 * <p>Writers and reader all run in the connection's one stream (fused: one actor, no async
 * boundary); the fields are volatile only so that a boundary added later cannot make them stale.
 */
final class ConnectionActivity {
    private volatile boolean watching;
    private volatile boolean headStarted;
    private volatile long headStartedAt;
    /** Which response's body {@link #bodyEnded} is about: the latest one handed to Pekko. */
    private volatile long response;
    private volatile boolean bodyEnded = true;
    private volatile long bodyEndedAt;

    /** From now on the first inbound byte starts the next request head. */
    void awaitHead() {
        headStarted = false;
        watching = true;
    }

    /** A complete head arrived: what follows is its body. */
    void headComplete() {
        watching = false;
        headStarted = false;
    }

    /** Bytes of a next request arrived since {@link #awaitHead}. */
    boolean headStarted() {
        return headStarted;
    }

    /** {@link System#nanoTime} of the first of them. */
    long headStartedAt() {
        return headStartedAt;
    }

    /** The latest response's body has been written (or there has been no response yet). */
    boolean bodyEnded() {
        return bodyEnded;
    }

    /** {@link System#nanoTime} when it was. */
    long bodyEndedAt() {
        return bodyEndedAt;
    }

    private void inbound() {
        if (watching) {
            headStartedAt = System.nanoTime();
            headStarted = true;
            watching = false;
        }
    }

    /** Goes between the socket and Pekko's server layer: watches the inbound bytes, passes both directions as they are. */
    BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> watch() {
        return BidiFlow.fromFlows(Flow.create(), Flow.of(ByteString.class).map(bytes -> {
            inbound();
            return bytes;
        }));
    }

    /** The response to hand to Pekko: its body's end, when it streams, marked as {@link #bodyEnded}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    HttpResponse track(HttpResponse response) {
        long id = ++this.response;
        ResponseEntity entity = response.entity();
        if (entity.isStrict() || entity.isKnownEmpty()) {
            ended(id);
            return response;
        }
        org.apache.pekko.http.scaladsl.model.ResponseEntity tracked;
        BodyEnd<Object> end = new BodyEnd<>(id);
        // Each kind kept as it is (transformDataBytes would turn a Content-Length body into a chunked one).
        if (entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Default d) {
            tracked = new org.apache.pekko.http.scaladsl.model.HttpEntity.Default(d.contentType(), d.contentLength(), d.data().via((BodyEnd) end));
        } else if (entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked c) {
            tracked = new org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked(c.contentType(), c.chunks().via((BodyEnd) end));
        } else if (entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.CloseDelimited c) {
            tracked = new org.apache.pekko.http.scaladsl.model.HttpEntity.CloseDelimited(c.contentType(), c.data().via((BodyEnd) end));
        } else {
            ended(id);
            return response;
        }
        bodyEnded = false;
        return response.withEntity(tracked);
    }

    private void ended(long id) {
        if (id == response) {
            bodyEndedAt = System.nanoTime();
            bodyEnded = true;
        }
    }

    /** Passes a body's parts; when the body ends (completed, failed or cancelled), marks it ended. */
    private final class BodyEnd<T> extends GraphStage<FlowShape<T, T>> {
        private final Inlet<T> in = Inlet.create("BodyEnd.in");
        private final Outlet<T> out = Outlet.create("BodyEnd.out");
        private final FlowShape<T, T> shape = FlowShape.of(in, out);
        private final long id;

        BodyEnd(long id) {
            this.id = id;
        }

        @Override
        public FlowShape<T, T> shape() {
            return shape;
        }

        @Override
        public GraphStageLogic createLogic(Attributes inheritedAttributes) {
            return new Logic();
        }

        private final class Logic extends GraphStageLogic implements InHandler, OutHandler {
            Logic() {
                super(shape);
                setHandlers(in, out, this);
            }

            @Override
            public void onPush() {
                push(out, grab(in));
            }

            @Override
            public void onPull() {
                pull(in);
            }

            @Override
            public void postStop() {
                ended(id);
            }
        }
    }
}
