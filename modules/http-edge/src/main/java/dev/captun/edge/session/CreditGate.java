package dev.captun.edge.session;

import org.apache.pekko.Done;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.util.ByteString;

/**
 * Per-stream flow control on the sending side: lets at most the granted number of bytes through,
 * in chunks of at most {@code maxChunk}, and pulls upstream only when it may send. Credit arrives
 * from the peer's {@code credit} frames through the materialized {@link Handle} (thread-safe).
 */
public final class CreditGate extends AbstractGraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, CreditGate.Handle> {

    /** Grants credit to, or stops, a running gate. Safe to call from any thread, even before it starts. */
    public interface Handle {
        void grant(int bytes);

        /** Stop sending: cancels upstream and completes downstream. */
        void cancel();
    }

    private final Inlet<ByteString> in = Inlet.create("CreditGate.in");
    private final Outlet<ByteString> out = Outlet.create("CreditGate.out");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
    private final int initialCredit;
    private final int maxChunk;
    private final java.util.function.ToIntFunction<ByteString> weight;

    /** Byte streams (HTTP bodies): chunks are split to fit the credit and {@code maxChunk}. */
    public CreditGate(int initialCredit, int maxChunk) {
        this.initialCredit = initialCredit;
        this.maxChunk = maxChunk;
        this.weight = null;
    }

    /**
     * Whole elements (WebSocket fragments): never split; an element waits until the credit covers
     * its {@code weight} (elements must weigh at most the window, or they would wait forever).
     */
    public CreditGate(int initialCredit, java.util.function.ToIntFunction<ByteString> weight) {
        this.initialCredit = initialCredit;
        this.maxChunk = Integer.MAX_VALUE;
        this.weight = weight;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
        return shape;
    }

    @Override
    public Pair<GraphStageLogic, Handle> createLogicAndMaterializedValuePair(Attributes attributes) {
        Logic logic = new Logic();
        return Pair.create(logic, logic);
    }

    private final class Logic extends GraphStageLogic implements Handle {
        private long credit = initialCredit;
        private ByteString pending = ByteString.emptyByteString();
        private boolean upstreamDone;
        private boolean hasPending; // whole-element mode: an element (possibly empty) waits for credit
        private final AsyncCallback<Integer> onGrant = createAsyncCallback(n -> {
            credit += n;
            emit();
        });
        private final AsyncCallback<Done> onCancel = createAsyncCallback(d -> completeStage());

        Logic() {
            super(shape);
            setHandler(in, new AbstractInHandler() {
                @Override
                public void onPush() {
                    pending = grab(in);
                    hasPending = true;
                    emit();
                }

                @Override
                public void onUpstreamFinish() {
                    upstreamDone = true;
                    if (weight == null ? pending.isEmpty() : !hasPending) {
                        completeStage();
                    }
                }
            });
            setHandler(out, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    emit();
                }
            });
        }

        private void emit() {
            if (!isAvailable(out)) {
                return;
            }
            if (weight != null && hasPending) {
                int w = weight.applyAsInt(pending);
                if (credit < w) {
                    return;
                }
                credit -= w;
                hasPending = false;
                push(out, pending);
                if (upstreamDone) {
                    completeStage();
                }
            } else if (weight == null && !pending.isEmpty()) {
                if (credit <= 0) {
                    return;
                }
                int n = (int) Math.min(Math.min(credit, maxChunk), pending.size());
                ByteString chunk = pending.take(n);
                pending = pending.drop(n);
                credit -= n;
                push(out, chunk);
                if (pending.isEmpty() && upstreamDone) {
                    completeStage();
                }
            } else if (upstreamDone) {
                completeStage();
            } else if (!hasBeenPulled(in)) {
                pull(in);
            }
        }

        @Override
        public void grant(int bytes) {
            onGrant.invoke(bytes);
        }

        @Override
        public void cancel() {
            onCancel.invoke(Done.getInstance());
        }
    }
}
