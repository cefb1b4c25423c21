package dev.captun.edge.session;

import dev.captun.edge.session.SessionCommands.Reply;
import dev.captun.protocol.Header;
import java.util.List;
import java.util.function.Consumer;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * One public request (or public WebSocket) on a tunnel session, owned by its {@link SessionStage}.
 * Its phase says what it holds: a waiting public client ({@link Phase#AWAITING_HEAD}); a response
 * head whose body is being collected from the same message ({@link Phase#HEAD_IN_MESSAGE}: a small
 * response becomes one strict public response, no stream run); a response body streaming to the
 * public client ({@link Phase#STREAMING}); WebSocket fragments both ways ({@link Phase#WEBSOCKET}).
 * The upload (public → client) runs beside any phase until it ends. Kept by {@link StreamTable}, read
 * and written by {@link ClientFrames} and {@link Uploads}, all on the stage's thread.
 */
final class TunnelStream {
    enum Phase { AWAITING_HEAD, HEAD_IN_MESSAGE, STREAMING, WEBSOCKET }

    final int id;
    final boolean websocketRequest;
    final long deadlineNanos;
    /** Counted in the session's per-IP in-flight map while the stream lives (public policy), else null. */
    final String clientIp;
    Phase phase = Phase.AWAITING_HEAD;

    /** AWAITING_HEAD and HEAD_IN_MESSAGE: who gets the answer. */
    private Consumer<Reply> reply;

    // HEAD_IN_MESSAGE: the head and body parts seen so far in this message
    int status;
    List<Header> headers;
    ByteString collected = ByteString.emptyByteString();
    boolean bodyEnded;

    // STREAMING / WEBSOCKET: what the public side takes, under this stream's receive window
    BoundedSourceQueue<ByteString> download;
    ReceiveWindow window;

    // The upload toward the tunnel client: credit left, the sub-stream it is pulled from, a chunk part waiting for credit
    long sendCredit;
    GraphStageLogic.SubSinkInlet<ByteString> upload;
    ByteString uploadPending = ByteString.emptyByteString();
    boolean uploadFinished; // no more bytes will come from the public side (source done, or the body was whole)
    boolean endSent; // the DATA frame with END went out

    TunnelStream(int id, boolean websocketRequest, Consumer<Reply> reply, long deadlineNanos, String clientIp, int window) {
        this.id = id;
        this.websocketRequest = websocketRequest;
        this.reply = reply;
        this.deadlineNanos = deadlineNanos;
        this.clientIp = clientIp;
        this.sendCredit = window;
    }

    boolean awaitingAnswer() {
        return reply != null;
    }

    /** Hands the public side its answer (once; later calls do nothing). */
    void answer(Reply r) {
        Consumer<Reply> to = reply;
        reply = null;
        if (to != null) {
            to.accept(r);
        }
    }

    /** The response body (or the client's WebSocket) ended: so does the public side's source. */
    void completeDownload() {
        try {
            download.complete();
        } catch (IllegalStateException alreadyDone) {
            // cancelled by the public side: nothing to complete
        }
    }

    void failDownload(String why) {
        if (download != null) {
            try {
                download.fail(new TunnelSession.TunnelStreamException(why));
            } catch (IllegalStateException alreadyDone) {
                // the public side already went away or the body completed
            }
        }
    }

    /** No more of the public side's body will be sent (its source is cancelled if it still runs). */
    void cancelUpload() {
        if (upload != null && !upload.isClosed()) {
            upload.cancel();
        }
        uploadFinished = true;
    }
}
