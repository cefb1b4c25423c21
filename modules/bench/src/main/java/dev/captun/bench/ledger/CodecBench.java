package dev.captun.bench.ledger;

import dev.captun.edge.session.SessionCommands.Answered;
import dev.captun.edge.session.SessionCommands.Body;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.FrameWriter;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.util.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Protocol 3's binary codec for one small exchange, each direction on the side that does it:
 * the gateway encodes the REQUEST head and the client decodes it; the client encodes RESPONSE +
 * DATA(END) in one message and the gateway decodes it into a strict answer. Writers are reused
 * across operations, as the gateway's Outbox reuses one per socket.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class CodecBench {
    private final FrameWriter writer = new FrameWriter(1024);
    private byte[] requestMessage;
    private ByteString responseMessage;
    private final ClientSide client = new ClientSide();
    private final GatewaySide gateway = new GatewaySide();

    @Setup
    public void encodeOnce() throws ProtocolException {
        requestMessage = requestEncode().toArray();
        responseMessage = ByteString.fromByteBuffer(responseEncode());
        // A ledger of the wrong work is worse than none: check both decodes give the inputs back.
        client.read(ByteBuffer.wrap(requestMessage));
        if (!Inputs.TUNNEL_REQUEST.equals(client.headers) || !Inputs.PATH.equals(client.path)) {
            throw new IllegalStateException("request did not round-trip: " + client.headers);
        }
        Answered a = gateway.read(responseMessage);
        if (a.status() != Inputs.STATUS || !a.headers().equals(Inputs.RESPONSE)
                || !a.body().strictBytes().equals(ByteString.fromArray(Inputs.BODY))) {
            throw new IllegalStateException("response did not round-trip: " + a);
        }
    }

    /** Gateway: the REQUEST head of a bodyless GET, cut into the message the socket gets (Outbox.begin().request, Outbox.cut). */
    @Benchmark
    public ByteString requestEncode() {
        writer.reset();
        writer.request(1, Inputs.METHOD, Inputs.PATH, Inputs.TUNNEL_REQUEST, true, false);
        return ByteString.fromArray(writer.array(), 0, writer.size());
    }

    /** Client: that message read back into method, path and headers. */
    @Benchmark
    public void requestDecode(Blackhole bh) throws ProtocolException {
        client.read(ByteBuffer.wrap(requestMessage));
        bh.consume(client.method);
        bh.consume(client.path);
        bh.consume(client.headers);
    }

    /** Client: RESPONSE (4 headers) and DATA(END, 13 bytes) in one message, copied out for the socket. */
    @Benchmark
    public ByteBuffer responseEncode() {
        writer.reset();
        writer.response(1, Inputs.STATUS, Inputs.RESPONSE, false);
        writer.data(1, Inputs.BODY, 0, Inputs.BODY.length, true);
        return writer.toByteBuffer();
    }

    /** Gateway: that message (a Pekko ByteString, read through asByteBuffer) into the strict answer SessionStage makes of it. */
    @Benchmark
    public Answered responseDecode() throws ProtocolException {
        return gateway.read(responseMessage);
    }

    /** The client's reading of a REQUEST: keeps the decoded fields. */
    static final class ClientSide extends FrameAdapter {
        String method;
        String path;
        List<Header> headers;

        void read(ByteBuffer message) throws ProtocolException {
            FrameReader.read(message, this);
        }

        @Override
        public void onRequest(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) {
            this.method = method;
            this.path = path;
            this.headers = headers;
        }
    }

    /**
     * SessionStage's reading of a response message, minus the stream table: the head waits for the
     * rest of the message, DATA payloads are slices of it, a body that ends in it makes a strict answer.
     */
    static final class GatewaySide extends FrameAdapter {
        private ByteString reading;
        private int status;
        private List<Header> headers;
        private ByteString collected;
        private boolean bodyEnded;

        Answered read(ByteString message) throws ProtocolException {
            reading = message;
            collected = ByteString.emptyByteString();
            bodyEnded = false;
            FrameReader.read(message.asByteBuffer(), this);
            reading = null;
            if (!bodyEnded) {
                throw new IllegalStateException("body did not end in the message");
            }
            return new Answered(0, status, headers, new Body.Strict(collected));
        }

        @Override
        public void onResponse(int stream, int status, List<Header> headers, boolean end) {
            this.status = status;
            this.headers = headers;
        }

        @Override
        public void onData(int stream, int offset, int length, boolean end) {
            collected = collected.concat(reading.slice(offset, offset + length));
            bodyEnded = end;
        }
    }
}
