package dev.captun.bench.ledger;

import dev.captun.protocol.Control;
import dev.captun.protocol.ControlCodec;
import dev.captun.protocol.ProtocolException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The "before" of {@link CodecBench}: the same exchange in protocol 2's JSON frames (Jackson with a
 * polymorphic type, the body inline as base64), encoded and decoded by the codec protocol 2 used.
 * Kept only to price what protocol 3 replaced; the JSON codec leaves the build after this is recorded.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class JsonCodecBench {
    private final String request = ControlCodec.encode(new Control.Request(1, Inputs.METHOD, Inputs.PATH, Inputs.TUNNEL_REQUEST, true, false));
    private final String response = ControlCodec.encode(new Control.Response(1, Inputs.STATUS, Inputs.RESPONSE, true, Inputs.BODY));

    @Benchmark
    public String requestEncode() {
        return ControlCodec.encode(new Control.Request(1, Inputs.METHOD, Inputs.PATH, Inputs.TUNNEL_REQUEST, true, false));
    }

    @Benchmark
    public Control requestDecode() throws ProtocolException {
        return ControlCodec.decode(request);
    }

    @Benchmark
    public String responseEncode() {
        return ControlCodec.encode(new Control.Response(1, Inputs.STATUS, Inputs.RESPONSE, true, Inputs.BODY));
    }

    @Benchmark
    public Control responseDecode() throws ProtocolException {
        return ControlCodec.decode(response);
    }
}
