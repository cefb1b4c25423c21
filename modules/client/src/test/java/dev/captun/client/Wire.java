package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.DataFrame;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** In-memory gateway side for driving a {@link TunnelCore}: feeds frames in, sorts frames out per stream. */
class Wire implements TunnelCore.Outbound, AutoCloseable {
    static final long WAIT_SECONDS = 20;

    final LinkedBlockingQueue<Object> session = new LinkedBlockingQueue<>();
    final ConcurrentHashMap<Integer, LinkedBlockingQueue<Object>> streams = new ConcurrentHashMap<>();
    final LinkedBlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();
    final ExecutorService workers = Executors.newCachedThreadPool();
    final TunnelCore core;

    Wire(TunnelHandler handler, int window) throws ProtocolException {
        core = new TunnelCore(this, handler, workers, events::add);
        core.onText(ControlCodec.encode(new Control.Ready(1, "demo", "http://gw/demo", window, 15)));
    }

    LinkedBlockingQueue<Object> stream(int id) {
        return streams.computeIfAbsent(id, k -> new LinkedBlockingQueue<>());
    }

    @Override
    public void sendText(String text) {
        Control c;
        try {
            c = ControlCodec.decode(text);
        } catch (ProtocolException e) {
            throw new AssertionError("client sent a bad control frame: " + text, e);
        }
        int id = c instanceof Control.Response r ? r.id() : c instanceof Control.End e ? e.id()
                : c instanceof Control.Credit cr ? cr.id() : c instanceof Control.Reset rs ? rs.id() : 0;
        (id == 0 ? session : stream(id)).add(c);
    }

    @Override
    public void sendBinary(ByteBuffer frame) {
        try {
            DataFrame f = DataFrame.decode(frame);
            assertTrue(f.payload().remaining() > 0, "empty DATA frame sent");
            assertTrue(f.payload().remaining() <= 64 * 1024, "DATA frame over 64 KiB");
            stream(f.streamId()).add(new DataFrame(f.kind(), f.fin(), f.streamId(), ByteBuffer.wrap(f.payloadBytes())));
        } catch (ProtocolException e) {
            throw new AssertionError(e);
        }
    }

    // ---- gateway → client ----

    void request(int id, String method, String path, List<Header> headers, boolean end) throws ProtocolException {
        core.onText(ControlCodec.encode(new Control.Request(id, method, path, headers, end, false)));
    }

    void data(int id, byte[] bytes) throws ProtocolException {
        core.onBinary(DataFrame.encode(DataFrame.DATA, false, id, bytes, 0, bytes.length));
    }

    void data(int id, String s) throws ProtocolException {
        data(id, s.getBytes(StandardCharsets.UTF_8));
    }

    void control(Control c) throws ProtocolException {
        core.onText(ControlCodec.encode(c));
    }

    // ---- client → gateway ----

    Object next(int id) throws InterruptedException {
        Object o = stream(id).poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(o, "no frame for stream " + id + " within " + WAIT_SECONDS + " s");
        return o;
    }

    /** Next frame of stream {@code id} that is not a credit. */
    Object nextNonCredit(int id) throws InterruptedException {
        while (true) {
            Object o = next(id);
            if (!(o instanceof Control.Credit)) {
                return o;
            }
        }
    }

    Control.Response response(int id) throws InterruptedException {
        Object o = nextNonCredit(id);
        if (!(o instanceof Control.Response r)) {
            fail("expected a response head on stream " + id + ", got " + o);
            return null;
        }
        return r;
    }

    /** Reads DATA frames until {@code end}; grants credit back as a gateway would, so any size completes. */
    byte[] bodyUntilEnd(int id) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            Object o = nextNonCredit(id);
            if (o instanceof Control.End) {
                return out.toByteArray();
            }
            if (o instanceof DataFrame f) {
                byte[] b = f.payloadBytes();
                out.write(b);
                control(new Control.Credit(id, b.length));
            } else {
                fail("unexpected frame on stream " + id + ": " + o);
            }
        }
    }

    Control.Pong pong() throws InterruptedException {
        Object o = session.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertTrue(o instanceof Control.Pong, "expected pong, got " + o);
        return (Control.Pong) o;
    }

    TunnelEvent.Request event() throws InterruptedException {
        while (true) {
            TunnelEvent e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(e, "no request event");
            if (e instanceof TunnelEvent.Request r) {
                return r;
            }
        }
    }

    static String header(List<Header> headers, String name) {
        return headers.stream().filter(h -> h.name().equalsIgnoreCase(name)).map(Header::value).findFirst().orElse(null);
    }

    static void assertBody(String expected, byte[] actual) {
        assertEquals(expected, new String(actual, StandardCharsets.UTF_8));
    }

    /** Discards everything. */
    static final class NoOp implements TunnelCore.Outbound {
        @Override
        public void sendText(String text) {}

        @Override
        public void sendBinary(ByteBuffer frame) {}
    }

    @Override
    public void close() {
        core.shutdown("test over");
        workers.shutdownNow();
    }
}
