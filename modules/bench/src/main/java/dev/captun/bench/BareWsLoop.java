package dev.captun.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The reference path {@code bare-loop} of bench/run: a bare Pekko WebSocket request/response loop,
 * the yardstick of issue 12's target "SDK handler mode ≥ 0.8× a bare Pekko WebSocket
 * request/response loop". Nothing of captun is on the request path (no protocol codec, stream
 * table, credit, routing or admission): Pekko HTTP, one WebSocket and a map of waiting responses.
 *
 * <pre>
 *   wrk → server JVM (Pekko HTTP): each request → one binary message [8-byte id, "GET /path"]
 *       → ONE WebSocket client, its own JVM (java.net.http, like SdkHandlerTunnel's CaptunTunnel)
 *       → reply [id, "hello, world\n"] → the request with that id gets 200 and the reply's 13 bytes
 * </pre>
 *
 * Usage:
 * <ul>
 *   <li>{@code BareWsLoop server --port PORT [--node-conf FILE]}: listens on 127.0.0.1:PORT, the
 *       client's WebSocket at {@value #SOCKET_PATH}, every other request goes round the loop (503
 *       while no client is connected). {@code --node-conf}: the node's application.conf, from which
 *       the default dispatcher and the HTTP server timeouts are copied so both are sized alike.
 *       Prints {@code READY <url> ...}.</li>
 *   <li>{@code BareWsLoop client --url ws://127.0.0.1:PORT/_loop}: answers every message at once;
 *       exits (status 1) when the socket closes.</li>
 * </ul>
 */
public final class BareWsLoop {
    static final String SOCKET_PATH = "/_loop";
    static final int ID_BYTES = 8;
    private static final byte[] HELLO = "hello, world\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * Settings the node's config sets that change what a request costs (threads, the per-request
     * timeout timer Pekko HTTP arms unless request-timeout is infinite) or keep the socket up.
     */
    static final List<String> FROM_NODE = List.of(
            "pekko.actor.default-dispatcher",
            "pekko.http.server.request-timeout",
            "pekko.http.server.idle-timeout",
            "pekko.http.server.websocket.periodic-keep-alive-max-idle");

    private BareWsLoop() {}

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        int port = 0;
        String url = null;
        File nodeConf = null;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--url" -> url = args[++i];
                case "--node-conf" -> nodeConf = new File(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        switch (mode) {
            case "server" -> server(port, nodeConf);
            case "client" -> {
                if (url == null) {
                    throw new IllegalArgumentException("client: --url ws://127.0.0.1:PORT" + SOCKET_PATH + " is required");
                }
                System.exit(client(URI.create(url)));
            }
            default -> throw new IllegalArgumentException("usage: BareWsLoop server --port PORT [--node-conf FILE]"
                    + " | BareWsLoop client --url WS_URL");
        }
    }

    // ------------------------------------------------------------------------------------ server

    /** Pekko's own defaults plus the node's {@link #FROM_NODE} settings; no cluster, no application.conf. */
    static Config serverConfig(File nodeConf) {
        Config own = ConfigFactory.parseString("""
                pekko.loglevel = WARNING
                pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
                pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
                """);
        Config node = ConfigFactory.empty();
        if (nodeConf != null) {
            Config file = ConfigFactory.parseFile(nodeConf);
            for (String path : FROM_NODE) {
                if (file.hasPath(path)) {
                    node = node.withFallback(file.withOnlyPath(path));
                }
            }
        }
        return own.withFallback(node).withFallback(ConfigFactory.defaultReference()).resolve();
    }

    static void server(int port, File nodeConf) throws Exception {
        Config config = serverConfig(nodeConf);
        ActorSystem system = ActorSystem.create("bare-ws-loop", config);
        Server server = new Server(Materializer.matFromSystem(system));
        ServerBinding binding;
        try {
            binding = Http.get(system).newServerAt("127.0.0.1", port).bind(server::handle)
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            system.terminate();
            throw e;
        }
        Config fj = system.settings().config().getConfig("pekko.actor.default-dispatcher.fork-join-executor");
        System.out.println("READY http://127.0.0.1:" + binding.localAddress().getPort() + " socket " + SOCKET_PATH
                + " dispatcher parallelism-min=" + fj.getInt("parallelism-min") + " factor=" + fj.getDouble("parallelism-factor")
                + " max=" + fj.getInt("parallelism-max") + " request-timeout="
                + system.settings().config().getString("pekko.http.server.request-timeout")
                + (nodeConf == null ? " (Pekko defaults)" : " (from " + nodeConf + ")"));
        System.out.flush();
        // runs until SIGTERM (Pekko's shutdown hook terminates the system)
    }

    static final class Server {
        private static final HttpResponse NO_CLIENT = HttpResponse.create().withStatus(503)
                .withEntity("no WebSocket client connected\n");
        private static final HttpResponse FULL = HttpResponse.create().withStatus(503)
                .withEntity("socket queue full or closed\n");
        private static final HttpResponse GONE = HttpResponse.create().withStatus(502)
                .withEntity("WebSocket client gone\n");

        private final Materializer mat;
        private final AtomicReference<Socket> current = new AtomicReference<>();

        Server(Materializer mat) {
            this.mat = mat;
        }

        CompletionStage<HttpResponse> handle(HttpRequest request) {
            Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
            if (upgrade.isPresent() && SOCKET_PATH.equals(request.getUri().path())) {
                return CompletableFuture.completedFuture(connect(upgrade.get()));
            }
            if (!request.entity().isStrict()) {
                request.discardEntityBytes(mat);
            }
            Socket s = current.get();
            return s == null ? CompletableFuture.completedFuture(NO_CLIENT) : s.exchange(request);
        }

        /**
         * One long-lived stream per socket: a bounded queue (offered from the request threads, no
         * actor or async boundary in between) out, a foreach completing the waiting futures in.
         * Coupled: when either side ends, the socket ends, and its waiting requests get 502.
         */
        private HttpResponse connect(WebSocketUpgrade upgrade) {
            Socket s = new Socket();
            Flow<Message, Message, ?> flow = Flow.fromSinkAndSourceCoupled(
                    Sink.<Message>foreach(s::onMessage).mapMaterializedValue(done -> {
                        done.whenCompleteAsync((d, e) -> s.closed(), Runnable::run);
                        return done;
                    }),
                    Source.<Message>queue(Socket.QUEUE).mapMaterializedValue(q -> {
                        s.out = q; // before the socket becomes current: exchange() never sees it unset
                        Socket old = current.getAndSet(s);
                        if (old != null) {
                            old.out.complete(); // one client at a time: the newest wins
                        }
                        return q;
                    }));
            return upgrade.handleMessagesWith(flow);
        }

        final class Socket {
            /** Far above what wrk can have open (128 connections): a full queue is a fault, not load. */
            static final int QUEUE = 4096;
            private final AtomicLong ids = new AtomicLong();
            private final ConcurrentHashMap<Long, CompletableFuture<HttpResponse>> waiting = new ConcurrentHashMap<>();
            volatile BoundedSourceQueue<Message> out;

            CompletionStage<HttpResponse> exchange(HttpRequest request) {
                long id = ids.incrementAndGet();
                CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
                waiting.put(id, answer);
                if (!out.offer(BinaryMessage.create(requestFrame(id, request))).isEnqueued()) {
                    waiting.remove(id);
                    return CompletableFuture.completedFuture(FULL);
                }
                // Pekko HTTP waits on this future itself; it is completed by the socket's stream (onMessage)
                return answer;
            }

            void onMessage(Message m) {
                if (m.isText()) {
                    if (!m.isStrict()) {
                        m.asTextMessage().getStreamedText().runWith(Sink.ignore(), mat); // drain what we ignore
                    }
                    return;
                }
                BinaryMessage b = m.asBinaryMessage();
                if (b.isStrict()) {
                    reply(b.getStrictData());
                } else { // loopback sends strict messages; a streamed one is collected first
                    b.toStrict(5_000, mat).whenCompleteAsync((strict, e) -> {
                        if (strict != null) {
                            reply(strict.data());
                        }
                    }, Runnable::run);
                }
            }

            private void reply(ByteString data) {
                if (data.size() < ID_BYTES) {
                    return;
                }
                long id = 0;
                for (int i = 0; i < ID_BYTES; i++) {
                    id = (id << 8) | (data.apply(i) & 0xff);
                }
                CompletableFuture<HttpResponse> answer = waiting.remove(id);
                if (answer != null) {
                    answer.complete(HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, data.drop(ID_BYTES)));
                }
            }

            void closed() {
                current.compareAndSet(this, null);
                waiting.forEach((id, answer) -> {
                    if (waiting.remove(id, answer)) {
                        answer.complete(GONE);
                    }
                });
            }
        }
    }

    /** {@code [id, big-endian][METHOD path]}: the few bytes a request puts on the socket. */
    static ByteString requestFrame(long id, HttpRequest request) {
        byte[] what = (request.method().value() + ' ' + request.getUri().path()).getBytes(StandardCharsets.UTF_8);
        byte[] frame = new byte[ID_BYTES + what.length];
        for (int i = ID_BYTES - 1; i >= 0; i--) {
            frame[i] = (byte) id;
            id >>>= 8;
        }
        System.arraycopy(what, 0, frame, ID_BYTES, what.length);
        return ByteString.fromArrayUnsafe(frame);
    }

    // ------------------------------------------------------------------------------------ client

    /** Connects, answers until the socket closes; the exit status (1: closed or never opened). */
    static int client(URI url) throws Exception {
        // as CaptunTunnel: HTTP/1.1 client on a cached pool (java.net.http runs listener calls there)
        ExecutorService io = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "bare-loop-io");
            t.setDaemon(true);
            return t;
        });
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(io).build();
        Answerer answerer = new Answerer();
        try {
            http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(url, answerer)
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("bare-loop client: could not open " + url + ": " + e);
            return 1;
        }
        System.out.println("READY " + url);
        System.out.flush();
        System.err.println("bare-loop client: socket closed (" + answerer.closed.get() + ")");
        return 1;
    }

    /** {@code [id, "hello, world\n"]} for a request frame (its first {@link #ID_BYTES} bytes). */
    static ByteBuffer answerFrame(ByteBuffer request) {
        byte[] r = new byte[ID_BYTES + HELLO.length];
        request.get(r, 0, ID_BYTES);
        System.arraycopy(HELLO, 0, r, ID_BYTES, HELLO.length);
        return ByteBuffer.wrap(r);
    }

    /** Answers each whole binary message at once; sends go out in order through one queue. */
    static final class Answerer implements WebSocket.Listener {
        final CompletableFuture<String> closed = new CompletableFuture<>();
        private final ConcurrentLinkedQueue<ByteBuffer> queue = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean sending = new AtomicBoolean();
        private volatile WebSocket ws;
        private byte[] parts;
        private int partsLength;

        @Override
        public void onOpen(WebSocket webSocket) {
            ws = webSocket;
            // as the SDK's transport: the server bounds what arrives (one message per open request)
            webSocket.request(Long.MAX_VALUE);
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            if (parts == null && last) {
                answer(data);
                return null;
            }
            int n = data.remaining();
            if (parts == null) {
                parts = new byte[Math.max(64, n * 2)];
                partsLength = 0;
            }
            if (partsLength + n > parts.length) {
                parts = java.util.Arrays.copyOf(parts, Math.max(partsLength + n, parts.length * 2));
            }
            data.get(parts, partsLength, n);
            partsLength += n;
            if (last) {
                ByteBuffer whole = ByteBuffer.wrap(parts, 0, partsLength);
                parts = null;
                answer(whole);
            }
            return null;
        }

        private void answer(ByteBuffer message) {
            if (message.remaining() >= ID_BYTES) {
                queue.add(answerFrame(message)); // copies the id now: `message` is only valid during onBinary
                drain();
            }
        }

        /** java.net.http allows one outstanding send: the next goes out when the previous is written. */
        private void drain() {
            WebSocket w = ws;
            while (sending.compareAndSet(false, true)) {
                ByteBuffer next;
                while ((next = queue.poll()) != null) {
                    CompletableFuture<WebSocket> sent = w.sendBinary(next, true);
                    if (!sent.isDone()) {
                        sent.whenCompleteAsync((ok, e) -> {
                            if (e != null) {
                                closed.complete("send failed: " + e);
                                w.abort();
                                return;
                            }
                            sending.set(false);
                            drain();
                        }, Runnable::run);
                        return;
                    }
                    if (sent.isCompletedExceptionally()) {
                        closed.complete("send failed");
                        w.abort();
                        return;
                    }
                }
                sending.set(false);
                if (queue.isEmpty()) {
                    return;
                }
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            return null; // the server sends none
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(statusCode + (reason == null || reason.isEmpty() ? "" : " " + reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.complete("error: " + error);
        }
    }
}
