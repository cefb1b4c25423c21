package dev.captun.bench.ledger;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.session.LocalSessions;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.edge.session.SessionCommands.RequestHead;
import dev.captun.edge.session.SessionHandle;
import dev.captun.edge.session.SessionSocket;
import dev.captun.edge.session.TunnelSession;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import dev.captun.tunnel.SessionMessage;
import dev.captun.tunnel.TunnelEntity;
import dev.captun.tunnel.TunnelSharding;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * One tunnel session's {@link dev.captun.edge.session.SessionStage} with a fake socket: the stage
 * (spawned as the connect endpoint does, {@link SessionSocket#spawn}) runs between a
 * {@code Source.queue} of inbound messages (whole, as the socket's frame layer hands them on) and a
 * sink that plays the tunnel client in this JVM (decodes each REQUEST, answers RESPONSE + DATA(END) with 13 bytes in one binary message). An
 * operation is one public request through {@link SessionHandle#forward} until its reply arrives:
 * the stage's whole per-request work (inbox wake-up, stream table, REQUEST encode, outbox, the
 * response decode, the strict answer), plus the fake client's decode and encode (CodecBench has
 * those alone) and the hand-offs between the benchmark thread and the stream's thread. No TCP, no
 * WebSocket framing, no Pekko HTTP: those are the real socket's, not the stage's.
 */
@State(Scope.Benchmark)
public class SessionStageBench {
    private ActorSystem<Void> system;
    private BoundedSourceQueue<ByteString> toStage;
    private CompletionStage<Done> socketDone;
    private SessionHandle handle;
    private final RequestHead head = new RequestHead(Inputs.METHOD, Inputs.PATH, Inputs.TUNNEL_REQUEST, false, null);

    @Setup(Level.Trial)
    public void attach() throws Exception {
        // Local provider (no cluster): the stage needs only a materializer, its actor and an entity ref to tell.
        Config config = ConfigFactory.parseString("pekko.actor.provider = local\npekko.loglevel = WARNING")
                .withFallback(ConfigFactory.load());
        system = ActorSystem.create(Behaviors.empty(), "ledger", config);
        Materializer mat = Materializer.matFromSystem(system);
        // The entity only hears Disconnect when the socket ends: an actor that ignores it is enough.
        ActorRef<TunnelEntity.Command> ignore = system.systemActorOf(Behaviors.ignore(), "tunnel-entity", Props.empty());
        EntityRef<TunnelEntity.Command> entity = TestEntityRef.of(TunnelSharding.TYPE_KEY, "bench", ignore);
        // conf/application.conf's defaults, trusted policy (no in-flight caps).
        TunnelSession.Setup setup = new TunnelSession.Setup("bench", "ledger-session", new Credential("bench", false),
                "http://" + Inputs.HOST, entity, 262144, 15, Duration.ofSeconds(100), 0,
                GatewayMetrics.get(Adapter.toClassic(system)));
        LocalSessions local = new LocalSessions();
        SessionSocket.Spawned spawned = SessionSocket.spawn(setup, mat, local,
                b -> system.systemActorOf(b, "session-ledger", Props.empty()));
        FakeClient client = new FakeClient();
        // One fused graph, as the stage is fused into the socket's: the fake client answers on the stage's thread.
        Pair<BoundedSourceQueue<ByteString>, CompletionStage<Done>> mats = Source.<ByteString>queue(1024)
                .via(spawned.messages())
                .toMat(Sink.foreach(client::onMessage), Keep.both())
                .run(mat);
        toStage = mats.first();
        socketDone = mats.second();
        client.replies = toStage;
        // The session's actor publishes the handle when it starts (asynchronously).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((handle = local.get("ledger-session")) == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("session never started");
            }
            Thread.sleep(1);
        }
        exchange(); // the whole path works before anything is measured
    }

    @TearDown(Level.Trial)
    public void detach() throws Exception {
        toStage.complete(); // the client closes the socket: the stage stops and tells the entity
        socketDone.toCompletableFuture().get(10, TimeUnit.SECONDS);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** One request at a time: the latency of a small exchange through the stage (ops/s = 10^6 / this). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Reply exchange() throws Exception {
        return forwardAndWait();
    }

    /** Four callers at once: exchanges per second when frames batch (up to four streams in flight). */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(4)
    public Reply exchanges4() throws Exception {
        return forwardAndWait();
    }

    private Reply forwardAndWait() throws Exception {
        CompletableFuture<Reply> reply = new CompletableFuture<>();
        handle.forward(head, Body.EMPTY, reply::complete);
        Reply r = reply.get(10, TimeUnit.SECONDS);
        if (!(r instanceof Answered a) || a.status() != Inputs.STATUS || a.body().strictBytes().size() != Inputs.BODY.length) {
            throw new IllegalStateException("unexpected reply " + r); // a ledger of failures would measure nothing
        }
        return r;
    }

    /** The tunnel client: answers every REQUEST of a message with one message of RESPONSE + DATA(END) frames. */
    static final class FakeClient extends FrameAdapter {
        volatile BoundedSourceQueue<ByteString> replies;
        private final FrameWriter w = new FrameWriter(1024);

        void onMessage(ByteString m) throws ProtocolException {
            FrameReader.read(m.asByteBuffer(), this);
            if (!w.isEmpty()) {
                QueueOfferResult r = replies.offer(ByteString.fromArray(w.array(), 0, w.size()));
                w.reset();
                if (r != QueueOfferResult.enqueued()) {
                    throw new IllegalStateException("fake socket refused a reply: " + r);
                }
            }
        }

        @Override
        public void onRequest(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) {
            w.response(stream, Inputs.STATUS, Inputs.RESPONSE, false);
            w.data(stream, Inputs.BODY, 0, Inputs.BODY.length, true);
        }
    }
}
