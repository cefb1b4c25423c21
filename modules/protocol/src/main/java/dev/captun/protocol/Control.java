package dev.captun.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import java.util.List;

/**
 * JSON control frames, sent as WebSocket text messages. The {@code type} property names the
 * record. Unknown properties are ignored so a newer minor peer can add fields.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(Control.Ready.class),
    @JsonSubTypes.Type(Control.Request.class),
    @JsonSubTypes.Type(Control.Response.class),
    @JsonSubTypes.Type(Control.End.class),
    @JsonSubTypes.Type(Control.Credit.class),
    @JsonSubTypes.Type(Control.Reset.class),
    @JsonSubTypes.Type(Control.WsClose.class),
    @JsonSubTypes.Type(Control.Ping.class),
    @JsonSubTypes.Type(Control.Pong.class),
    @JsonSubTypes.Type(Control.Close.class),
    @JsonSubTypes.Type(Control.Drain.class),
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface Control {

    /** Gateway → client, once, after the tunnel entity registered the session. */
    @JsonTypeName("ready")
    record Ready(int version, String name, String url, int window, int heartbeatSeconds, String policy) implements Control {
        /** Without the admission policy ({@code trusted} or {@code public}; older gateways do not send it). */
        public Ready(int version, String name, String url, int window, int heartbeatSeconds) {
            this(version, name, url, window, heartbeatSeconds, null);
        }
    }

    /**
     * Gateway → client: a new stream. {@code path} includes the query. {@code end} is true when the
     * request has no body (no DATA or {@code end} frame follows). {@code websocket} marks a public
     * WebSocket upgrade: the client answers 101 to accept it or any other status to refuse it.
     * Since protocol 2, {@code body} (base64 in JSON) may carry the whole request body inline, with
     * {@code end} true: a small request is then one frame, not head + DATA + end.
     */
    @JsonTypeName("request")
    record Request(int id, String method, String path, List<Header> headers, boolean end, boolean websocket, byte[] body)
            implements Control {
        /** A head whose body (if any) follows as DATA frames. */
        public Request(int id, String method, String path, List<Header> headers, boolean end, boolean websocket) {
            this(id, method, path, headers, end, websocket, null);
        }
    }

    /**
     * Client → gateway: the response head for stream {@code id}; {@code end} = no body follows.
     * Since protocol 2, {@code body} (base64 in JSON) may carry the whole body inline, with {@code end} true.
     */
    @JsonTypeName("response")
    record Response(int id, int status, List<Header> headers, boolean end, byte[] body) implements Control {
        /** A head whose body (if any) follows as DATA frames. */
        public Response(int id, int status, List<Header> headers, boolean end) {
            this(id, status, headers, end, null);
        }
    }

    /** Either way: the sender's body for stream {@code id} is complete. */
    @JsonTypeName("end")
    record End(int id) implements Control {}

    /** Either way: the receiver consumed {@code bytes} of stream {@code id}; the sender may send that many more. */
    @JsonTypeName("credit")
    record Credit(int id, int bytes) implements Control {}

    /**
     * Either way: abandon stream {@code id} (public client went away, handler failed, limit hit).
     * A reset before the response head makes the gateway answer 502.
     */
    @JsonTypeName("reset")
    record Reset(int id, String reason) implements Control {}

    /** Either way: close a forwarded WebSocket with a close code and reason. */
    @JsonTypeName("ws-close")
    record WsClose(int id, int code, String reason) implements Control {}

    /**
     * Gateway → client, just before the gateway ends the tunnel WebSocket: the close code and reason
     * that apply (e.g. 4000 replaced). Pekko HTTP's public server API can only close a WebSocket
     * with 1000, so the code travels here; the SDK treats it as the socket's close code.
     */
    @JsonTypeName("close")
    record Close(int code, String reason) implements Control {}

    /**
     * Gateway → client, since protocol 2 ({@link Protocol#drainFrames}): this gateway node is
     * draining (shutting down or leaving the cluster). The client should connect to another gateway
     * from its list and, once that connection is {@code ready}, let this one go: the new session
     * replaces this one at the tunnel entity, requests already in flight here finish, and the gateway
     * then ends this socket (1001). A client that does nothing is closed with 1001 at the end of the
     * gateway's drain grace and reconnects as after any drop.
     */
    @JsonTypeName("drain")
    record Drain(String reason) implements Control {}

    @JsonTypeName("ping")
    record Ping(long nonce) implements Control {}

    @JsonTypeName("pong")
    record Pong(long nonce) implements Control {}
}
