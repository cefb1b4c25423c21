package dev.captun.edge.session;

import dev.captun.edge.routing.PlainResponses;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.edge.session.SessionCommands.Failed;
import dev.captun.edge.session.SessionCommands.RequestHead;
import dev.captun.protocol.FrameType;
import dev.captun.protocol.Protocol;
import java.util.ArrayDeque;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.util.ByteString;

/**
 * Public requests toward the tunnel client: the request frame, then the body (or the public
 * WebSocket's messages) under the stream's send credit. A whole body within the initial credit
 * leaves with its head; any other runs into a sub-sink of the stage, pulled only while credit is
 * left and the socket is not far behind. Part of the stage's logic: runs on its thread.
 */
final class Uploads {
    /** Uploads stop pulling while this much waits for the socket (bodies wait in their sources instead). */
    static final long HIGH_WATER = 1 << 20;

    private final StagePort stage;
    private final StreamTable table;
    private final Outbox outbox;
    private final TunnelSession.Setup setup;
    private final int window;
    private final ArrayDeque<TunnelStream> waitingForRoom = new ArrayDeque<>();

    Uploads(StagePort stage, StreamTable table, Outbox outbox, TunnelSession.Setup setup) {
        this.stage = stage;
        this.table = table;
        this.outbox = outbox;
        this.setup = setup;
        this.window = setup.window();
    }

    /** Opens a stream for {@code f} and starts its body; false when it was refused (and answered) instead. */
    boolean open(SessionHandle.Forwarded f) {
        RequestHead rh = f.head();
        String refusal = table.refusal(rh.clientIp());
        if (refusal != null) {
            refuse(f, 503, refusal);
            return false;
        }
        Body body = f.body();
        ByteString whole = body.strictBytes(); // null: the body streams
        boolean hasBody = rh.websocket() || whole == null || !whole.isEmpty();
        outbox.begin().request(table.nextId(), rh.method(), rh.path(), rh.headers(), !hasBody, rh.websocket());
        if (outbox.frameBytes() - FrameType.HEADER_BYTES > Protocol.MAX_HEAD_BYTES) {
            // The protocol cannot carry this head; refusing it here keeps the tunnel and its other streams intact.
            outbox.abort();
            refuse(f, 431, PlainResponses.HEAD_TOO_LARGE);
            return false;
        }
        outbox.end();
        TunnelStream s = table.open(rh.websocket(), f.reply(), System.nanoTime() + setup.requestTimeout().toNanos(),
                rh.clientIp(), window);
        if (rh.websocket() || whole == null) {
            start(s, body.asSource());
        } else if (hasBody && whole.size() <= window) {
            s.uploadPending = whole; // within the initial credit: all of it goes now, with its head
            s.uploadFinished = true;
            send(s);
        } else if (hasBody) {
            start(s, Source.single(whole));
        }
        return true;
    }

    private void refuse(SessionHandle.Forwarded f, int status, String message) {
        f.reply().accept(new Failed(0, status, message));
        SessionHandle.discard(f.body(), stage.materializer());
    }

    private void start(TunnelStream s, Source<ByteString, ?> source) {
        stage.runUpload(s, source, new InHandler() {
            @Override
            public void onPush() {
                s.uploadPending = s.upload.grab();
                send(s);
            }

            @Override
            public void onUpstreamFinish() {
                s.uploadFinished = true;
                send(s);
            }

            @Override
            public void onUpstreamFailure(Throwable e) {
                s.uploadFinished = true;
                s.uploadPending = ByteString.emptyByteString();
                if (table.holds(s)) {
                    if (s.websocketRequest) {
                        outbox.write(w -> w.wsClose(s.id, 1011, "public socket failed"));
                    } else {
                        outbox.write(w -> w.reset(s.id, "public request body failed"));
                        table.fail(s, "public request body failed");
                    }
                    stage.flush();
                }
            }
        });
        request(s);
    }

    /** The socket took some: uploads that stopped for room pull again once the outbox is half empty. */
    void resume() {
        if (!waitingForRoom.isEmpty() && outbox.queuedBytes() < HIGH_WATER / 2) {
            for (TunnelStream s; (s = waitingForRoom.poll()) != null && outbox.queuedBytes() < HIGH_WATER; ) {
                request(s);
            }
        }
    }

    private void request(TunnelStream s) {
        var sub = s.upload;
        if (sub == null || s.uploadFinished || sub.isClosed() || sub.hasBeenPulled() || !s.uploadPending.isEmpty()
                || s.sendCredit <= 0 || !table.holds(s)) {
            return;
        }
        if (outbox.queuedBytes() >= HIGH_WATER) {
            waitingForRoom.add(s);
            return;
        }
        sub.pull();
    }

    /** Sends what the credit allows of the pending chunk (HTTP) or element (WebSocket), then asks for more. */
    void send(TunnelStream s) {
        if (!table.holds(s)) {
            return;
        }
        if (s.websocketRequest) {
            sendWsElement(s);
        } else {
            ByteString p = s.uploadPending;
            while (!p.isEmpty() && s.sendCredit > 0) {
                int n = (int) Math.min(Math.min(s.sendCredit, Protocol.MAX_DATA_PAYLOAD), p.size());
                boolean last = n == p.size() && s.uploadFinished; // a whole body ends with its last chunk
                outbox.payload(FrameType.DATA, s.id, p.slice(0, n), last);
                setup.metrics().bytesToClient(n);
                s.sendCredit -= n;
                s.endSent = last;
                p = p.drop(n);
            }
            s.uploadPending = p;
            if (p.isEmpty() && s.uploadFinished && !s.endSent) {
                outbox.payload(FrameType.DATA, s.id, ByteString.emptyByteString(), true); // a streamed body's end
                s.endSent = true;
            }
        }
        request(s);
        stage.flush();
    }

    private void sendWsElement(TunnelStream s) {
        ByteString e = s.uploadPending;
        if (e.isEmpty()) {
            return;
        }
        if (WsFragments.type(e) == WsFragments.CLOSE) {
            // The public socket's last word: the stream ends here (its download already ended or is ending).
            s.uploadPending = ByteString.emptyByteString();
            outbox.write(w -> w.wsClose(s.id, WsFragments.closeCode(e), WsFragments.closeReason(e)));
            table.finish(s);
            return;
        }
        int weight = WsFragments.weight(e);
        if (s.sendCredit < weight) {
            return; // whole fragments only: wait for credit
        }
        s.sendCredit -= weight;
        s.uploadPending = ByteString.emptyByteString();
        setup.metrics().bytesToClient(weight);
        outbox.payload(WsFragments.type(e) == WsFragments.TEXT ? FrameType.WS_TEXT : FrameType.WS_BINARY, s.id,
                WsFragments.payload(e), WsFragments.fin(e));
    }
}
