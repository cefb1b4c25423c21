package dev.captun.edge.session;

import dev.captun.protocol.Header;
import dev.captun.tunnel.SessionMessage;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import dev.captun.tunnel.CborSerializable;
import org.apache.pekko.util.ByteString;

/** What the edge asks of a tunnel session (beyond the entity's {@code SessionControl}). */
public final class SessionCommands {
    private SessionCommands() {}

    /** The request as the tunnel client will see it ({@code path} includes the query). */
    public record RequestHead(String method, String path, List<Header> headers, boolean hasBody, boolean websocket) {}

    /**
     * Open a stream for one public request. {@code body} is streamed to the client under credit;
     * the reply is the response head with a streaming body, or a failure status.
     */
    public record Forward(RequestHead head, Source<ByteString, ?> body, ActorRef<ForwardReply> replyTo) implements SessionMessage {}

    /**
     * {@link Forward} for a session on another node: bodies cross the cluster as stream refs
     * (back-pressured, chunked), never as whole payloads. {@code body} is null when there is none.
     */
    public record RemoteForward(RequestHead head, SourceRef<ByteString> body, ActorRef<RemoteReply> replyTo) implements SessionMessage {}

    public sealed interface RemoteReply extends CborSerializable {}

    /** {@code body} is null when the response has no body. */
    public record RemoteResponseHead(int status, List<Header> headers, SourceRef<ByteString> body) implements RemoteReply {}

    public record RemoteFailed(int status, String message) implements RemoteReply {}

    /** The session is closing or gone (replaced, client left): look the tunnel up again. */
    public record RemoteSessionGone() implements RemoteReply {}

    public sealed interface ForwardReply {}

    /** {@code body} is null when the response has no body. */
    public record ResponseHead(int status, List<Header> headers, Source<ByteString, NotUsed> body) implements ForwardReply {}

    public record ForwardFailed(int status, String message) implements ForwardReply {}

    /** The session is closing or gone (replaced, client left); it did not touch the request. */
    public record SessionGone() implements ForwardReply {}
}
