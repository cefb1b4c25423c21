package dev.captun.edge.session;

import dev.captun.edge.metrics.GatewayMetrics;
import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.util.ByteString;

/**
 * The frames the tunnel client sends, read one whole message at a time: response heads answer their
 * public request, bodies and WebSocket fragments flow to the public side under each stream's
 * receive window (credit is granted back as the public side takes them), credit lets
 * {@link Uploads} send more. A body that ends in the message of its head becomes one strict
 * response. Part of the stage's logic: runs on its thread.
 */
final class ClientFrames implements FrameHandler {
    private record Consumed(int id, int bytes) {}

    private final StagePort stage;
    private final StreamTable table;
    private final Outbox outbox;
    private final Uploads uploads;
    private final GatewayMetrics metrics;
    private final int window;
    private final List<TunnelStream> headsInMessage = new ArrayList<>(4);
    private final AsyncCallback<Consumed> consumed;
    private final AsyncCallback<Integer> publicDone;
    private ByteString reading; // the message being decoded: payloads are slices of it

    /** Made with the stage's logic, and its two callbacks with it (bytes taken by the public side, its end). */
    ClientFrames(StagePort stage, StreamTable table, Outbox outbox, Uploads uploads, TunnelSession.Setup setup) {
        this.stage = stage;
        this.table = table;
        this.outbox = outbox;
        this.uploads = uploads;
        this.metrics = setup.metrics();
        this.window = setup.window();
        this.consumed = stage.callback(this::onConsumed);
        this.publicDone = stage.callback(this::onPublicDone);
    }

    /** One whole binary message from the client; a protocol error leaves the rest of it unread. */
    void read(ByteString message) throws ProtocolException {
        reading = message;
        try {
            FrameReader.read(message.asByteBuffer(), this);
            settleHeads();
        } finally {
            reading = null;
            headsInMessage.clear();
        }
    }

    @Override
    public void onResponse(int id, int status, List<Header> headers, boolean end) throws ProtocolException {
        TunnelStream s = table.get(id);
        if (s == null) {
            return; // raced with a reset
        }
        if (s.phase != TunnelStream.Phase.AWAITING_HEAD) {
            throw new ProtocolException("second response head for stream " + id);
        }
        s.window = new ReceiveWindow(window);
        if (s.websocketRequest && status == 101) {
            s.phase = TunnelStream.Phase.WEBSOCKET;
            table.answer(s, new Answered(0, 101, headers, new Body.Streamed(startDownload(s))));
        } else if (end) {
            table.answer(s, new Answered(0, status, headers, Body.EMPTY));
            table.finish(s);
        } else {
            // Wait for the rest of this message: a body that ends in it makes one strict response.
            s.phase = TunnelStream.Phase.HEAD_IN_MESSAGE;
            s.status = status;
            s.headers = headers;
            headsInMessage.add(s);
        }
    }

    @Override
    public void onData(int id, int offset, int length, boolean end) throws ProtocolException {
        TunnelStream s = table.get(id);
        if (s == null || s.phase == TunnelStream.Phase.AWAITING_HEAD) {
            return; // raced with a reset, or data before a head: ignored
        }
        if (s.phase == TunnelStream.Phase.WEBSOCKET) {
            throw new ProtocolException("DATA frame on WebSocket stream " + id);
        }
        if (!s.window.receive(length)) {
            overrun(s);
            return;
        }
        metrics.bytesFromClient(length);
        ByteString payload = reading.slice(offset, offset + length);
        if (s.phase == TunnelStream.Phase.HEAD_IN_MESSAGE) {
            s.collected = s.collected.concat(payload);
            s.bodyEnded = end;
            return;
        }
        if (!payload.isEmpty() && s.download.offer(payload) != QueueOfferResult.enqueued()) {
            overflow(s);
            return;
        }
        if (end) {
            s.completeDownload();
            table.finish(s);
        }
    }

    @Override
    public void onWsFragment(int id, boolean text, int offset, int length, boolean fin) throws ProtocolException {
        TunnelStream s = table.get(id);
        if (s == null || s.phase == TunnelStream.Phase.AWAITING_HEAD) {
            return;
        }
        if (s.phase != TunnelStream.Phase.WEBSOCKET) {
            throw new ProtocolException("WebSocket frame on HTTP stream " + id);
        }
        if (!s.window.receive(length)) {
            overrun(s);
            return;
        }
        metrics.bytesFromClient(length);
        if (s.download.offer(WsFragments.fragment(text, fin, reading.slice(offset, offset + length))) != QueueOfferResult.enqueued()) {
            overflow(s);
        }
    }

    @Override
    public void onWsClose(int id, int code, String reason) {
        TunnelStream s = table.get(id);
        if (s != null && s.phase == TunnelStream.Phase.WEBSOCKET) {
            s.download.offer(WsFragments.close(code, reason));
            s.completeDownload();
            table.finish(s);
        }
    }

    @Override
    public void onCredit(int id, int bytes) {
        TunnelStream s = table.get(id);
        if (s != null) {
            s.sendCredit += bytes;
            uploads.send(s);
        }
    }

    @Override
    public void onReset(int id, String reason) {
        TunnelStream s = table.get(id);
        if (s != null) {
            table.fail(s, "reset by tunnel client: " + reason);
        }
    }

    @Override
    public void onPing(long nonce) {
        outbox.write(w -> w.pong(nonce));
    }

    @Override
    public void onPong(long nonce) {
        // liveness already recorded
    }

    @Override
    public void onRequest(int id, String method, String path, List<Header> headers, boolean end, boolean websocket)
            throws ProtocolException {
        throw new ProtocolException("request frame from the client");
    }

    @Override
    public void onReady(Control.Ready ready) throws ProtocolException {
        throw new ProtocolException("ready frame from the client");
    }

    @Override
    public void onClose(int code, String reason) throws ProtocolException {
        throw new ProtocolException("close frame from the client");
    }

    @Override
    public void onDrain(String reason) throws ProtocolException {
        throw new ProtocolException("drain frame from the client");
    }

    /** Heads whose body was being collected from the message just read: whole → strict, else streamed. */
    private void settleHeads() {
        for (TunnelStream s : headsInMessage) {
            if (s.phase != TunnelStream.Phase.HEAD_IN_MESSAGE) {
                continue; // failed meanwhile
            }
            if (s.bodyEnded) {
                table.answer(s, new Answered(0, s.status, s.headers, new Body.Strict(s.collected)));
                table.finish(s);
            } else {
                s.phase = TunnelStream.Phase.STREAMING;
                Source<ByteString, NotUsed> body = startDownload(s);
                if (!s.collected.isEmpty()) {
                    s.download.offer(s.collected);
                }
                s.collected = ByteString.emptyByteString();
                table.answer(s, new Answered(0, s.status, s.headers, new Body.Streamed(body)));
            }
        }
    }

    /** The response body (or WebSocket fragments) as a source for the public side, under this stream's window. */
    private Source<ByteString, NotUsed> startDownload(TunnelStream s) {
        // Capacity in elements = window in bytes: a client within its credit can never overflow it.
        var pair = Source.<ByteString>queue(Math.max(16, window)).preMaterialize(stage.materializer());
        s.download = pair.first();
        int id = s.id;
        boolean ws = s.phase == TunnelStream.Phase.WEBSOCKET;
        return pair.second()
                .map(chunk -> {
                    consumed.invoke(new Consumed(id, ws ? WsFragments.weight(chunk) : chunk.size()));
                    return chunk;
                })
                .watchTermination((nu, done) -> {
                    done.whenCompleteAsync((d, e) -> publicDone.invoke(id), Runnable::run);
                    return NotUsed.getInstance();
                });
    }

    private void onConsumed(Consumed c) {
        TunnelStream s = table.get(c.id());
        if (s != null && s.window != null) {
            int grant = s.window.consume(c.bytes());
            if (grant > 0) {
                outbox.write(w -> w.credit(s.id, grant));
                stage.flush();
            }
        }
    }

    private void onPublicDone(int id) {
        TunnelStream s = table.get(id);
        if (s != null && s.phase == TunnelStream.Phase.WEBSOCKET) {
            return; // the public socket ended; its close element reaches the client through the upload, and ends the stream
        }
        if (s != null) {
            reset(s.id, "public client disconnected"); // stop the local side
            table.fail(s, "public client disconnected");
        }
        stage.flush();
    }

    private void overrun(TunnelStream s) {
        table.fail(s, "client exceeded its credit window");
        reset(s.id, "credit window exceeded");
    }

    private void overflow(TunnelStream s) {
        table.fail(s, "response buffer overflow");
        reset(s.id, "response buffer overflow");
    }

    private void reset(int id, String reason) {
        outbox.write(w -> w.reset(id, reason));
    }
}
