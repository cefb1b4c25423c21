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
    final int window;
    /** Per stream: WS bytes sent to the client minus credit it granted (guarded by {@code this}). */
    private final java.util.HashMap<Integer, Long> wsOutstanding = new java.util.HashMap<>();

    /** A gateway speaking protocol 1 (no inline bodies): every body travels as DATA frames. */
    Wire(TunnelHandler handler, int window) throws ProtocolException {
        this(handler, window, 1);
    }

    Wire(TunnelHandler handler, int window, int version) throws ProtocolException {
        this.window = window;
        core = new TunnelCore(this, handler, workers, events::add);
        core.onText(ControlCodec.encode(new Control.Ready(version, "demo", "http://gw/demo", window, 15)));
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
                : c instanceof Control.Credit cr ? cr.id() : c instanceof Control.Reset rs ? rs.id()
                : c instanceof Control.WsClose wc ? wc.id() : 0;
        if (c instanceof Control.Credit cr) {
            synchronized (this) {
                wsOutstanding.merge(cr.id(), (long) -cr.bytes(), Long::sum);
                notifyAll();
            }
        }
        (id == 0 ? session : stream(id)).add(c);
    }

    @Override
    public void sendBinary(ByteBuffer frame) {
        try {
            DataFrame f = DataFrame.decode(frame);
            assertTrue(f.kind() != DataFrame.DATA || f.payload().remaining() > 0, "empty DATA frame sent");
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

    void wsRequest(int id, String path, List<Header> headers) throws ProtocolException {
        core.onText(ControlCodec.encode(new Control.Request(id, "GET", path, headers, true, true)));
    }

    /** One WS fragment gateway → client. */
    void wsFragment(int id, boolean text, boolean fin, byte[] bytes, int off, int len) throws ProtocolException {
        synchronized (this) {
            wsOutstanding.merge(id, (long) len, Long::sum);
        }
        core.onBinary(DataFrame.encode(text ? DataFrame.WS_TEXT : DataFrame.WS_BINARY, fin, id, bytes, off, len));
    }

    /** Like {@link #wsFragment} but first waits (like the gateway) until the client's credit covers it. */
    void wsFragmentUnderCredit(int id, boolean text, boolean fin, byte[] bytes, int off, int len) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        synchronized (this) {
            while (wsOutstanding.getOrDefault(id, 0L) + len > window) {
                long left = deadline - System.nanoTime();
                assertTrue(left > 0, "no credit for stream " + id + " within " + WAIT_SECONDS + " s");
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            wsOutstanding.merge(id, (long) len, Long::sum);
        }
        core.onBinary(DataFrame.encode(text ? DataFrame.WS_TEXT : DataFrame.WS_BINARY, fin, id, bytes, off, len));
    }

    /** A whole WS message gateway → client, in fragments of {@code piece} bytes, each sent once the client's credit covers it. */
    void wsMessage(int id, boolean text, byte[] bytes, int piece) throws Exception {
        if (bytes.length == 0) {
            wsFragmentUnderCredit(id, text, true, bytes, 0, 0);
        }
        for (int off = 0; off < bytes.length; off += piece) {
            int n = Math.min(piece, bytes.length - off);
            wsFragmentUnderCredit(id, text, off + n == bytes.length, bytes, off, n);
        }
    }

    void wsText(int id, String s) throws Exception {
        wsMessage(id, true, s.getBytes(StandardCharsets.UTF_8), 64 * 1024);
    }

    /** A whole WS message client → gateway; credits the fragments back (as the gateway does). */
    WsMsg wsRead(int id) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int kind = 0;
        while (true) {
            Object o = nextNonCredit(id);
            if (o instanceof Control.WsClose c) {
                assertEquals(0, out.size(), "ws-close in the middle of a message");
                return new WsMsg(-1, new byte[0], c);
            }
            if (!(o instanceof DataFrame f) || f.kind() == DataFrame.DATA) {
                fail("expected a WS fragment on stream " + id + ", got " + o);
                return null;
            }
            if (kind != 0) {
                assertEquals(kind, f.kind(), "fragments of one message change kind");
            }
            kind = f.kind();
            byte[] b = f.payloadBytes();
            out.write(b);
            if (b.length > 0) {
                control(new Control.Credit(id, b.length));
            }
            if (f.fin()) {
                return new WsMsg(kind, out.toByteArray(), null);
            }
        }
    }

    /** A WS message ({@code kind} WS_TEXT/WS_BINARY) or, with kind -1, the ws-close. */
    record WsMsg(int kind, byte[] data, Control.WsClose close) {
        String text() {
            assertEquals(DataFrame.WS_TEXT, kind, "not a text message");
            return new String(data, StandardCharsets.UTF_8);
        }

        byte[] binary() {
            assertEquals(DataFrame.WS_BINARY, kind, "not a binary message");
            return data;
        }
    }

    /** The next ws-close of stream {@code id}, skipping credits. */
    Control.WsClose wsClose(int id) throws InterruptedException {
        Object o = nextNonCredit(id);
        if (!(o instanceof Control.WsClose c)) {
            fail("expected ws-close on stream " + id + ", got " + o);
            return null;
        }
        return c;
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
