package dev.captun.client;

import dev.captun.protocol.FrameType;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one stream on a worker thread: runs the handler, then sends the RESPONSE head and the
 * body (a known body joins the head in one message; a streamed one goes as DATA under credit and
 * ends with DATA END), or RESET when the handler fails; or installs the WebSocket bridge after a 101.
 */
final class StreamRunner {
    private static final Logger log = LoggerFactory.getLogger(StreamRunner.class);

    private final TunnelCore core;
    private final TunnelHandler handler;
    private final Executor workers;

    StreamRunner(TunnelCore core, TunnelHandler handler, Executor workers) {
        this.core = core;
        this.handler = handler;
        this.workers = workers;
    }

    void run(TunnelStream s) {
        TunnelRequest req = s.request;
        int id = req.streamId();
        long start = System.nanoTime();
        int status = 0;
        boolean headSent = false;
        TunnelResponse resp = null;
        boolean handedOff = false;
        try {
            resp = handler.handle(req);
            if (resp == null) {
                throw new IllegalStateException("handler returned no response");
            }
            if (resp.isWebSocket() != (req.isWebSocket() && resp.status() == 101)) {
                throw new IllegalStateException(req.isWebSocket()
                        ? "accept a WebSocket with TunnelResponse.webSocket(...), not a bare 101"
                        : "TunnelResponse.webSocket(...) answers only WebSocket upgrade requests");
            }
            if (s.isAborted()) {
                return;
            }
            if (resp.isWebSocket()) {
                handedOff = startWebSocket(s, resp);
                status = 101;
                return;
            }
            byte[] bytes = resp.bodyBytes();
            status = resp.status();
            boolean noBody = bytes != null && bytes.length == 0;
            FrameWriter head = head(id, status, withLength(resp.headers(), bytes), noBody,
                    bytes == null ? 0 : Math.min(bytes.length, Protocol.MAX_DATA_PAYLOAD) + FrameType.HEADER_BYTES);
            if (bytes != null && !noBody) {
                headSent = true; // leaves with the first part of the body (unless reset first)
                s.response.writeFixed(head, bytes);
                return;
            }
            core.send(head);
            headSent = true;
            if (noBody) {
                return;
            }
            resp.writer().writeTo(s.response);
            if (!s.isAborted()) {
                s.response.end();
            }
        } catch (Throwable e) {
            if (!s.isAborted()) {
                log.debug("stream {} ({} {}) failed", id, req.method(), req.path(), e);
                if (!headSent) {
                    status = 502;
                }
                s.abort("handler failed");
                core.send(new FrameWriter(64).reset(id, "handler failed: " + e.getClass().getSimpleName()));
            }
            if (e instanceof Error && !(e instanceof StackOverflowError)) {
                throw (Error) e;
            }
        } finally {
            if (!handedOff) { // else the WsStream ends the stream and logs it
                finish(s, resp, status, start);
            }
        }
    }

    private void finish(TunnelStream s, TunnelResponse resp, int status, long start) {
        core.remove(s);
        s.body.close();
        if (resp != null && resp.resource() != null) {
            try {
                resp.resource().close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (status == 0) {
            status = s.isAborted() ? 499 : 502;
        }
        TunnelRequest req = s.request;
        core.emit(new TunnelEvent.Request(req.method(), req.path(), status, (System.nanoTime() - start) / 1_000_000));
    }

    /**
     * The RESPONSE frame, with room for {@code extra} more bytes. A head the gateway would refuse
     * (over {@link Protocol#MAX_HEAD_BYTES}) would close the whole tunnel: it fails this stream instead.
     */
    private static FrameWriter head(int id, int status, List<Header> headers, boolean end, int extra) {
        FrameWriter w = new FrameWriter(256 + extra).response(id, status, headers, end);
        int length = w.size() - FrameType.HEADER_BYTES;
        if (length > Protocol.MAX_HEAD_BYTES) {
            throw new IllegalStateException("response head of " + length + " bytes exceeds " + Protocol.MAX_HEAD_BYTES);
        }
        return w;
    }

    /** A fixed body's length travels as content-length, so the public response is not chunked (and HEAD/range clients see it). */
    private static List<Header> withLength(List<Header> headers, byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return headers;
        }
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("content-length") || h.name().equalsIgnoreCase("transfer-encoding")) {
                return headers;
            }
        }
        List<Header> out = new ArrayList<>(headers.size() + 1);
        out.addAll(headers);
        out.add(new Header("content-length", Integer.toString(bytes.length)));
        return out;
    }

    /** Installs the WebSocket bridge, sends the 101, then lets the socket run; false if reset meanwhile. */
    private boolean startWebSocket(TunnelStream s, TunnelResponse resp) {
        TunnelRequest req = s.request;
        int id = req.streamId();
        WsStream ws = new WsStream(core, id, s.window, req, resp.subprotocol(), resp.webSocketSink(), workers);
        if (!s.attach(ws)) {
            return false;
        }
        s.body.close();
        core.send(head(id, 101, resp.headers(), false, 0)); // not END: the socket's frames follow
        ws.start();
        return true;
    }
}
