package dev.captun.edge.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.session.WsFragments;
import dev.captun.protocol.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.io.Inet;
import org.apache.pekko.io.TcpSO;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link PublicSocket} behind a real Pekko HTTP server with real public WebSocket clients: long
 * messages from the session arrive whole, a client that does not read holds the session's side
 * back after a bounded number of fragments, and the node-wide budget still closes with 1013.
 */
@Timeout(120)
class PublicSocketStreamingTest {
    private static final ActorTestKit testKit = ActorTestKit.create();
    private static final ActorSystem classic = Adapter.toClassic(testKit.system());
    private static final Materializer mat = Materializer.matFromSystem(testKit.system());
    private static final int K64 = Protocol.MAX_DATA_PAYLOAD;

    /** What the next public socket is bridged to (one test at a time). */
    private static final AtomicReference<Source<ByteString, NotUsed>> fromSession = new AtomicReference<>();
    private static final AtomicReference<ByteBudget> budget = new AtomicReference<>();
    private static final List<ByteString> toSession = new CopyOnWriteArrayList<>();
    private static ServerBinding binding;

    @BeforeAll
    static void start() throws Exception {
        // Small kernel buffers toward the public client, so what the edge holds for it is what is measured.
        binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0)
                .adaptSettings(s -> s.withSocketOptions(List.<Inet.SocketOption>of(TcpSO.sendBufferSize(64 * 1024))))
                .bindSync(request -> {
            var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade).orElseThrow();
            Sink<ByteString, NotUsed> sink = Sink.<ByteString>foreach(toSession::add).mapMaterializedValue(x -> NotUsed.getInstance());
            return PublicSocket.accept(upgrade, null, sink, fromSession.get(), budget.get(), classic, mat);
        }).toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    private static int port() {
        return binding.localAddress().getPort();
    }

    /** Records what a public WebSocket client (the JDK's, which reads as fast as it can) sees. */
    static final class PublicListener implements WebSocket.Listener {
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final ByteArrayOutputStream bin = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                events.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            bin.writeBytes(b);
            if (last) {
                events.add(ByteString.fromArray(bin.toByteArray()));
                bin.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            events.add("close:" + code + ":" + reason);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            events.add("error:" + error);
        }

        Object next() throws InterruptedException {
            Object e = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(e, "no public WebSocket event within 30 s");
            return e;
        }
    }

    private static PublicListener connect() throws Exception {
        PublicListener listener = new PublicListener();
        HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
                .buildAsync(URI.create("ws://127.0.0.1:" + port() + "/"), listener).get(30, TimeUnit.SECONDS);
        return listener;
    }

    @Test
    void messagesOfManyFragmentsArriveWholeAndByteExact() throws Exception {
        byte[] bin = new byte[3 * K64 + 123];
        new Random(7).nextBytes(bin);
        // Cut points that fall inside 2-, 3- and 4-byte characters.
        String text = "x".repeat(K64 - 1) + "é€😀".repeat(20_000) + "ü";
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        List<ByteString> fragments = new ArrayList<>();
        for (int i = 0; i < bin.length; i += K64) {
            int end = Math.min(bin.length, i + K64);
            fragments.add(WsFragments.fragment(false, end == bin.length, ByteString.fromArray(bin, i, end - i)));
        }
        for (int i = 0, size = K64; i < utf8.length; i += size, size = size == K64 ? K64 - 1 : size - 1) {
            int end = Math.min(utf8.length, i + size);
            fragments.add(WsFragments.fragment(true, end == utf8.length, ByteString.fromArray(utf8, i, end - i)));
        }
        fragments.add(WsFragments.fragment(true, true, ByteString.fromString("small ✓")));
        fragments.add(WsFragments.close(4001, "done"));
        budget.set(new ByteBudget(1024 * 1024));
        fromSession.set(Source.from(fragments));

        PublicListener client = connect();
        assertEquals(ByteString.fromArray(bin), client.next());
        assertEquals(text, client.next());
        assertEquals("small ✓", client.next());
        assertEquals("close:4001:done", client.next());
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
            assertEquals(0, budget.get().used());
            return null;
        });
    }

    @Test
    void aPublicClientThatDoesNotReadHoldsTheSessionBackAfterABoundedNumberOfFragments() throws Exception {
        int fragments = Protocol.MAX_TUNNELED_WS_MESSAGE / K64; // one whole 16 MiB message
        AtomicLong pulled = new AtomicLong(); // bytes the edge has taken from the session
        AtomicLong read = new AtomicLong(); // payload bytes the public client has read
        AtomicLong maxLead = new AtomicLong();
        // Checked at every pull, so no moment of reading ahead escapes, without waiting for things to settle.
        Iterator<ByteString> session = new Iterator<>() {
            int n;

            @Override
            public boolean hasNext() {
                return n < fragments;
            }

            @Override
            public ByteString next() {
                byte[] payload = new byte[K64];
                java.util.Arrays.fill(payload, (byte) n);
                n++;
                maxLead.accumulateAndGet(pulled.addAndGet(K64) - read.get(), Math::max);
                return WsFragments.fragment(false, n == fragments, ByteString.fromArrayUnsafe(payload));
            }
        };
        budget.set(new ByteBudget(1024 * 1024));
        fromSession.set(Source.fromIterator(() -> session));

        try (java.net.Socket socket = new java.net.Socket()) {
            socket.setReceiveBufferSize(16 * 1024); // before connect: a small, fixed window
            socket.connect(new InetSocketAddress("127.0.0.1", port()), 20_000);
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 101"), head);

            // The client reads nothing at first. Every pull above checks the lead, so there is nothing to wait for
            // but the edge having started: an edge that assembled or read ahead would be far past the bound by then.
            testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
                assertTrue(pulled.get() >= 4L * K64, "the edge starts sending");
                return null;
            });
            assertTrue(budget.get().used() <= K64, "the budget holds at most the one fragment in the stage");

            // Then it reads: the whole message, byte-exact.
            long got = 0;
            int expectedIndex = 0;
            boolean fin = false;
            while (!fin) {
                int b0 = in.readUnsignedByte();
                int b1 = in.readUnsignedByte();
                long len = b1 & 0x7f;
                if (len == 126) {
                    len = in.readUnsignedShort();
                } else if (len == 127) {
                    len = in.readLong();
                }
                int opcode = b0 & 0x0f;
                byte[] data = new byte[(int) len];
                in.readFully(data);
                if (opcode >= 8) {
                    fail("unexpected control frame " + opcode);
                }
                for (byte d : data) {
                    assertEquals((byte) (expectedIndex++ / K64), d, "byte " + (expectedIndex - 1));
                }
                got += len;
                read.addAndGet(len);
                fin = (b0 & 0x80) != 0;
            }
            assertEquals((long) fragments * K64, got);
        }
        // Measured: 6 fragments (one in the stage, the rest in Pekko's writer stages and the two sockets' buffers);
        // the bound leaves room for kernels that size buffers differently and is far below the 256 of the message.
        assertTrue(maxLead.get() <= 32L * K64, "the edge took " + maxLead.get() / K64 + " fragments ahead of the client");
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed in the head: " + head);
            }
            head.append((char) c);
        }
        return head.toString();
    }

    @Test
    void theNodeWideBudgetStillClosesWith1013AndTellsTheSession() throws Exception {
        budget.set(new ByteBudget(K64 - 1)); // less than one fragment: the socket's first long message cannot be taken
        toSession.clear();
        fromSession.set(Source.from(List.of(
                WsFragments.fragment(true, true, ByteString.fromString("fits")),
                WsFragments.fragment(false, false, ByteString.fromArray(new byte[K64])),
                WsFragments.fragment(false, true, ByteString.fromArray(new byte[10])))));

        PublicListener client = connect();
        assertEquals("fits", client.next());
        assertEquals("close:1013:Gateway WebSocket buffers full", client.next());
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
            assertTrue(toSession.stream().anyMatch(e -> WsFragments.type(e) == WsFragments.CLOSE && WsFragments.closeCode(e) == 1013),
                    "the tunnel client is told too");
            assertEquals(0, budget.get().used());
            return null;
        });
    }
}
