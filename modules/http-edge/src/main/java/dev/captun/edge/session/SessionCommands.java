package dev.captun.edge.session;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.captun.protocol.Header;
import dev.captun.tunnel.CborSerializable;
import dev.captun.tunnel.SessionMessage;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What the edge asks of a tunnel session, wherever it lives: one {@link Forward} and one
 * {@link Reply} family for sessions on this node and on others. Only the body's form differs: a
 * local {@link Body.Streamed} source cannot cross the network, so toward another node it becomes a
 * {@link Body.Ref} (a stream ref); small bodies travel {@link Body.Inline} in the message itself.
 */
public final class SessionCommands {
    private SessionCommands() {}

    /**
     * The request as the tunnel client will see it ({@code path} includes the query), and who sent
     * it ({@code clientIp}, for the per-IP share of the tunnel's in-flight cap; null when no cap applies).
     */
    public record RequestHead(String method, String path, List<Header> headers, boolean websocket, String clientIp)
            implements CborSerializable {}

    /** A request or response body. */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "t")
    @JsonSubTypes({
        @JsonSubTypes.Type(value = Body.Empty.class, name = "empty"),
        @JsonSubTypes.Type(value = Body.Inline.class, name = "inline"),
        @JsonSubTypes.Type(value = Body.Ref.class, name = "ref"),
    })
    public sealed interface Body extends CborSerializable {
        /** No body at all. */
        record Empty() implements Body {}

        /** The whole body, small enough to travel with the head (at most {@code Protocol.INLINE_BODY_MAX}). */
        record Inline(byte[] bytes) implements Body {}

        /**
         * A whole body on this node, as received (never serialized: toward another node it becomes an
         * {@link Inline} or a {@link Ref}). Lets a small response wrap the tunnel message's bytes without a copy.
         */
        record Strict(ByteString bytes) implements Body {}

        /** A streamed body on this node (never serialized: toward another node it becomes a {@link Ref}). */
        record Streamed(Source<ByteString, ?> source) implements Body {}

        /** A streamed body from or to another node, back-pressured across the cluster. */
        record Ref(SourceRef<ByteString> ref) implements Body {}

        Empty EMPTY = new Empty();

        /** This body as a local source, or null when it has none to stream. */
        default Source<ByteString, ?> asSource() {
            if (this instanceof Streamed s) {
                return s.source();
            }
            if (this instanceof Ref r) {
                return r.ref().getSource();
            }
            ByteString whole = strictBytes();
            return whole == null || whole.isEmpty() ? Source.empty() : Source.single(whole);
        }

        /** The whole body when it is already here (empty for none), or null when it streams. */
        default ByteString strictBytes() {
            if (this instanceof Strict s) {
                return s.bytes();
            }
            if (this instanceof Inline i) {
                return ByteString.fromArrayUnsafe(i.bytes());
            }
            return this instanceof Empty ? ByteString.emptyByteString() : null;
        }
    }

    /**
     * Open a stream for one public request. {@code exchange} is the sender's correlation id, echoed
     * in the {@link Reply}; the body goes to the client under credit (or inline when small).
     */
    public record Forward(long exchange, RequestHead head, Body body, ActorRef<Reply> replyTo) implements SessionMessage {}

    /** A session's answer to a {@link Forward}. */
    public sealed interface Reply extends CborSerializable {
        long exchange();
    }

    /** The response head and its body (for a 101: the local side's WebSocket fragments). */
    public record Answered(long exchange, int status, List<Header> headers, Body body) implements Reply {}

    /** The exchange failed with this plain answer (502, 503, 504). */
    public record Failed(long exchange, int status, String message) implements Reply {}

    /** The session is closing or gone (replaced, client left); it did not touch the request. */
    public record Gone(long exchange) implements Reply {}
}
