package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Protocol;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link WsTransport} against a java.net.http WebSocket whose sends complete when the test says so. */
class WsTransportTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final FakeSocket socket = new FakeSocket();
    private WsTransport transport;
    private TunnelCore core;

    /** Records what the transport sends; a binary send stays outstanding until {@link #completeNext}. */
    static final class FakeSocket implements WebSocket {
        final LinkedBlockingQueue<Object> sent = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<CompletableFuture<WebSocket>> outstanding = new LinkedBlockingQueue<>();
        volatile boolean aborted;

        @Override
        public CompletableFuture<WebSocket> sendBinary(ByteBuffer data, boolean last) {
            assertTrue(last, "one binary message per send");
            byte[] b = new byte[data.remaining()];
            data.duplicate().get(b);
            sent.add(b);
            CompletableFuture<WebSocket> cf = new CompletableFuture<>();
            outstanding.add(cf);
            return cf;
        }

        @Override
        public CompletableFuture<WebSocket> sendText(CharSequence data, boolean last) {
            throw new AssertionError("the client sent text");
        }

        @Override
        public CompletableFuture<WebSocket> sendPing(ByteBuffer message) {
            sent.add("ping");
            return CompletableFuture.completedFuture(this);
        }

        @Override
        public CompletableFuture<WebSocket> sendPong(ByteBuffer message) {
            return CompletableFuture.completedFuture(this);
        }

        @Override
        public CompletableFuture<WebSocket> sendClose(int statusCode, String reason) {
            sent.add("close " + statusCode);
            return CompletableFuture.completedFuture(this);
        }

        @Override
        public void request(long n) {}

        @Override
        public String getSubprotocol() {
            return "captun";
        }

        @Override
        public boolean isOutputClosed() {
            return false;
        }

        @Override
        public boolean isInputClosed() {
            return false;
        }

        @Override
        public void abort() {
            aborted = true;
        }

        void completeNext() {
            outstanding.remove().complete(this);
        }

        Object next() throws InterruptedException {
            Object o = sent.poll(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(o, "nothing sent");
            return o;
        }

        List<WireFrame> nextMessage() throws Exception {
            Object o = next();
            assertTrue(o instanceof byte[], "expected a binary message, got " + o);
            return WireFrame.decode((byte[]) o);
        }
    }

    @BeforeEach
    void open() {
        transport = new WsTransport(scheduler);
        core = new TunnelCore(transport, req -> TunnelResponse.empty(204), Runnable::run, null);
        transport.bind(core);
        transport.onOpen(socket);
    }

    @AfterEach
    void stop() {
        transport.abort(1000, "test over");
        scheduler.shutdownNow();
    }

    private static ByteBuffer credit(int stream) {
        return new FrameWriter().credit(stream, 1).toByteBuffer();
    }

    @Test
    void framesQueuedWhileASendIsUnderWayLeaveAsOneMessage() throws Exception {
        transport.sendBinary(credit(1));
        assertEquals(List.of(new WireFrame.Credit(1, 1)), socket.nextMessage());
        transport.sendBinary(credit(2)); // the first send is still under way: these wait ...
        transport.sendBinary(credit(3));
        transport.sendBinary(credit(4));
        assertTrue(socket.sent.isEmpty(), "one outstanding send at a time");
        socket.completeNext(); // ... and leave together
        assertEquals(List.of(new WireFrame.Credit(2, 1), new WireFrame.Credit(3, 1), new WireFrame.Credit(4, 1)), socket.nextMessage());
        socket.completeNext();
        transport.sendBinary(credit(5));
        assertEquals(List.of(new WireFrame.Credit(5, 1)), socket.nextMessage());
    }

    @Test
    void aBatchStaysWithinTheMessageLimit() throws Exception {
        transport.sendBinary(credit(1));
        socket.nextMessage();
        byte[] payload = new byte[Protocol.MAX_DATA_PAYLOAD];
        for (int i = 0; i < 5; i++) {
            transport.sendBinary(new FrameWriter().data(i + 1, payload, 0, payload.length, false).toByteBuffer());
        }
        int perMessage = Protocol.MAX_MESSAGE_BYTES / (FrameType.HEADER_BYTES + Protocol.MAX_DATA_PAYLOAD); // 3
        socket.completeNext();
        Object first = socket.next();
        assertTrue(((byte[]) first).length <= Protocol.MAX_MESSAGE_BYTES);
        assertEquals(perMessage, WireFrame.decode((byte[]) first).size());
        socket.completeNext();
        List<WireFrame> second = socket.nextMessage();
        assertEquals(5 - perMessage, second.size());
        assertEquals(5, second.get(second.size() - 1).stream(), "order kept");
    }

    @Test
    void aMessageInPartsIsReassembled() throws Exception {
        byte[] ready = new FrameWriter().ready(new Control.Ready(Protocol.VERSION, "demo", "http://gw/demo", 4096, 15)).toByteArray();
        int cut = ready.length / 2;
        transport.onBinary(socket, ByteBuffer.wrap(ready, 0, cut), false);
        assertFalse(core.ready().isDone());
        transport.onBinary(socket, ByteBuffer.wrap(ready, cut, ready.length - cut), true);
        assertEquals("http://gw/demo", core.ready().getNow(null).url());
        assertEquals(4096, core.window());
    }

    @Test
    void aMessageOverTheLimitIsAProtocolError() throws Exception {
        byte[] part = new byte[Protocol.MAX_MESSAGE_BYTES / 2];
        transport.onBinary(socket, ByteBuffer.wrap(part), false);
        transport.onBinary(socket, ByteBuffer.wrap(part), false); // exactly the limit: still fine
        assertFalse(transport.closed().isDone());
        transport.onBinary(socket, ByteBuffer.wrap(new byte[1]), true);
        assertEquals("close " + Protocol.CLOSE_PROTOCOL_ERROR, socket.next());
        assertEquals(Protocol.CLOSE_PROTOCOL_ERROR, transport.closed().get(Wire.WAIT_SECONDS, TimeUnit.SECONDS).code());
    }

    @Test
    void aTextMessageIsAProtocolError() throws Exception {
        transport.onText(socket, "{\"type\":\"ping\",\"nonce\":1}", true);
        assertEquals("close " + Protocol.CLOSE_PROTOCOL_ERROR, socket.next());
        WsTransport.CloseInfo info = transport.closed().get(Wire.WAIT_SECONDS, TimeUnit.SECONDS);
        assertEquals(Protocol.CLOSE_PROTOCOL_ERROR, info.code());
        assertTrue(info.reason().startsWith("text message"), info.reason());
    }

    @Test
    void livenessPingsAreWebSocketPings() throws Exception {
        transport.startHeartbeat(1);
        assertEquals("ping", socket.next());
    }
}
