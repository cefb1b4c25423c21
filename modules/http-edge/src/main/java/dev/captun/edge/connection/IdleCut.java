package dev.captun.edge.connection;

import java.time.Duration;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.StreamIdleTimeoutException;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * {@code pekko.http.server.idle-timeout} for one connection: no byte either way for {@code timeout}
 * and the connection is aborted ({@link StreamIdleTimeoutException}, as Pekko's own idle timeout).
 *
 * <p>Why not Pekko's {@code BidiFlow.bidirectionalIdleTimeout}: it checks every {@code timeout / 8}
 * (11 s at 90 s) and reads the clock for every chunk. A node holds thousands of tunnel sockets that
 * sit idle between heartbeats, and each check is a wake-up of the connection's stream (a message
 * to its actor, a thread woken): at 10,000 tunnels that alone was ~900 wake-ups a second. Here an
 * element only sets a flag, a check runs every {@code timeout / 2}, and two checks in a row that
 * find no traffic abort: the cut comes between {@code timeout} and {@code 1.5 × timeout} of silence.
 */
final class IdleCut extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {
    private static final Object CHECK = "idle-check";

    private final Inlet<ByteString> in1 = Inlet.create("IdleCut.in1");
    private final Outlet<ByteString> out1 = Outlet.create("IdleCut.out1");
    private final Inlet<ByteString> in2 = Inlet.create("IdleCut.in2");
    private final Outlet<ByteString> out2 = Outlet.create("IdleCut.out2");
    private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape = BidiShape.of(in1, out1, in2, out2);
    private final Duration timeout;

    IdleCut(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new TimerGraphStageLogic(shape) {
            private boolean active;
            private int quietChecks;

            {
                pass(in1, out1);
                pass(in2, out2);
            }

            private void pass(Inlet<ByteString> in, Outlet<ByteString> out) {
                setHandler(in, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        active = true;
                        push(out, grab(in));
                    }
                });
                setHandler(out, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(in);
                    }
                });
            }

            @Override
            public void preStart() {
                Duration every = timeout.dividedBy(2);
                scheduleWithFixedDelay(CHECK, every, every);
            }

            @Override
            public void onTimer(Object key) {
                if (active) {
                    active = false;
                    quietChecks = 0;
                } else if (++quietChecks >= 2) {
                    failStage(new StreamIdleTimeoutException("No elements passed in the last " + timeout.toSeconds() + " s."));
                }
            }
        };
    }
}
