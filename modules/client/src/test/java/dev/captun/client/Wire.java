package dev.captun.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
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

/**
 * In-memory gateway side for driving a {@link TunnelCore}: feeds protocol 3 messages in, decodes
 * what the client sends ({@link WireFrame}) and sorts the frames per stream.
 */
class Wire implements TunnelCore.Outbound, AutoCloseable {
    static final long WAIT_SECONDS = 20;
    static final String URL = "http://gw/demo";

    final LinkedBlockingQueue<WireFrame> session = new LinkedBlockingQueue<>();
    final ConcurrentHashMap<Integer, LinkedBlockingQueue<WireFrame>> streams = new ConcurrentHashMap<>();
    /** Every message the client sent, as its frames (one {@code sendBinary} call each). */
    final LinkedBlockingQueue<List<WireFrame>> messages = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<TunnelEvent> events = new LinkedBlockingQueue<>();
    final ExecutorService workers = Executors.newCachedThreadPool();
    final TunnelCore core;
    final int window;
    /** Per stream: WS bytes sent to the client minus credit it granted (guarded by {@code this}). */
    private final java.util.HashMap<Integer, Long> wsOutstanding = new java.util.HashMap<>();

    Wire(TunnelHandler handler, int window) throws ProtocolException {
        this.window = window;
        core = new TunnelCore(this, handler, workers, events::add);
        send(new FrameWriter().ready(new Control.Ready(Protocol.VERSION, "demo", URL, window, 15, "trusted")));
    }

    LinkedBlockingQueue<WireFrame> stream(int id) {
        return streams.computeIfAbsent(id, k -> new LinkedBlockingQueue<>());
    }

    @Override
    public void sendBinary(ByteBuffer frames) {
        List<WireFrame> decoded;
        try {
            decoded = WireFrame.decode(frames.duplicate());
        } catch (ProtocolException e) {
            throw new AssertionError("client sent a bad message", e);
        }
        messages.add(decoded);
        for (WireFrame f : decoded) {
            assertTrue(!(f instanceof WireFrame.Data d) || d.payload().length > 0 || d.end(), "empty DATA frame without END");
            if (f instanceof WireFrame.Credit cr) {
                synchronized (this) {
                    wsOutstanding.merge(cr.stream(), (long) -cr.bytes(), Long::sum);
                    notifyAll();
                }
            }
            (f.stream() == 0 ? session : stream(f.stream())).add(f);
        }
    }

    // ---- gateway → client ----

    /** One message made of the frames written into {@code w}. */
    void send(FrameWriter w) throws ProtocolException {
        core.onMessage(ByteBuffer.wrap(w.toByteArray()));
    }

    void request(int id, String method, String path, List<Header> headers, boolean end) throws ProtocolException {
        send(new FrameWriter().request(id, method, path, headers, end, false));
    }

    void wsRequest(int id, String path, List<Header> headers) throws ProtocolException {
        send(new FrameWriter().request(id, "GET", path, headers, true, true));
    }

    /** One WS fragment gateway → client. */
    void wsFragment(int id, boolean text, boolean fin, byte[] bytes, int off, int len) throws ProtocolException {
        synchronized (this) {
            wsOutstanding.merge(id, (long) len, Long::sum);
        }
        send(new FrameWriter().wsFragment(id, text, bytes, off, len, fin));
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
        send(new FrameWriter().wsFragment(id, text, bytes, off, len, fin));
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
        Boolean text = null;
        while (true) {
            WireFrame o = nextNonCredit(id);
            if (o instanceof WireFrame.WsClose c) {
                assertEquals(0, out.size(), "ws-close in the middle of a message");
                return new WsMsg(false, new byte[0], c);
            }
            if (!(o instanceof WireFrame.WsFragment f)) {
                fail("expected a WS fragment on stream " + id + ", got " + o);
                return null;
            }
            if (text != null) {
                assertEquals(text, f.text(), "fragments of one message change kind");
            }
            text = f.text();
            out.write(f.payload());
            if (f.payload().length > 0) {
                credit(id, f.payload().length);
            }
            if (f.fin()) {
                return new WsMsg(text, out.toByteArray(), null);
            }
        }
    }

    /** A WS message or, with {@code close} set, the ws-close. */
    record WsMsg(boolean isText, byte[] data, WireFrame.WsClose close) {
        String text() {
            assertTrue(close == null && isText, "not a text message");
            return new String(data, StandardCharsets.UTF_8);
        }

        byte[] binary() {
            assertTrue(close == null && !isText, "not a binary message");
            return data;
        }
    }

    /** The next ws-close of stream {@code id}, skipping credits. */
    WireFrame.WsClose wsClose(int id) throws InterruptedException {
        WireFrame o = nextNonCredit(id);
        if (!(o instanceof WireFrame.WsClose c)) {
            fail("expected ws-close on stream " + id + ", got " + o);
            return null;
        }
        return c;
    }

    /** A DATA frame (no END) gateway → client. */
    void data(int id, byte[] bytes) throws ProtocolException {
        send(new FrameWriter().data(id, bytes, 0, bytes.length, false));
    }

    void data(int id, String s) throws ProtocolException {
        data(id, s.getBytes(StandardCharsets.UTF_8));
    }

    /** The request body's end: DATA with END and no payload. */
    void end(int id) throws ProtocolException {
        send(new FrameWriter().data(id, new byte[0], 0, 0, true));
    }

    void credit(int id, int bytes) throws ProtocolException {
        send(new FrameWriter().credit(id, bytes));
    }

    void reset(int id, String reason) throws ProtocolException {
        send(new FrameWriter().reset(id, reason));
    }

    void wsCloseToClient(int id, int code, String reason) throws ProtocolException {
        send(new FrameWriter().wsClose(id, code, reason));
    }

    void ping(long nonce) throws ProtocolException {
        send(new FrameWriter().ping(nonce));
    }

    // ---- client → gateway ----

    WireFrame next(int id) throws InterruptedException {
        WireFrame o = stream(id).poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(o, "no frame for stream " + id + " within " + WAIT_SECONDS + " s");
        return o;
    }

    /** Next frame of stream {@code id} that is not a credit. */
    WireFrame nextNonCredit(int id) throws InterruptedException {
        while (true) {
            WireFrame o = next(id);
            if (!(o instanceof WireFrame.Credit)) {
                return o;
            }
        }
    }

    WireFrame.Response response(int id) throws InterruptedException {
        WireFrame o = nextNonCredit(id);
        if (!(o instanceof WireFrame.Response r)) {
            fail("expected a response head on stream " + id + ", got " + o);
            return null;
        }
        return r;
    }

    /** The next DATA frame of stream {@code id}, skipping credits. */
    WireFrame.Data nextData(int id) throws InterruptedException {
        WireFrame o = nextNonCredit(id);
        if (!(o instanceof WireFrame.Data d)) {
            fail("expected DATA on stream " + id + ", got " + o);
            return null;
        }
        return d;
    }

    /** Reads DATA frames until one with END; grants credit back as a gateway would, so any size completes. */
    byte[] bodyUntilEnd(int id) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            WireFrame.Data d = nextData(id);
            out.write(d.payload());
            if (d.end()) {
                return out.toByteArray(); // no credit for a body that has ended
            }
            if (d.payload().length > 0) {
                credit(id, d.payload().length);
            }
        }
    }

    WireFrame.Pong pong() throws InterruptedException {
        WireFrame o = session.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertTrue(o instanceof WireFrame.Pong, "expected pong, got " + o);
        return (WireFrame.Pong) o;
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
        public void sendBinary(ByteBuffer frames) {}
    }

    @Override
    public void close() {
        core.shutdown("test over");
        workers.shutdownNow();
    }
}
