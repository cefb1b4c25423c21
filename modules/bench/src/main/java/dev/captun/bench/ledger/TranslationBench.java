package dev.captun.bench.ledger;

import dev.captun.edge.forward.LedgerAccess;
import dev.captun.protocol.Header;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.util.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The gateway's header translation (dev.captun.edge.forward.Translation) for the ledger's exchange:
 * the public Pekko request's headers into the list the tunnel client gets (see
 * {@link Inputs#requestHeaders} for the policy and peer), and the client's response head into the
 * public Pekko response with its strict 13-byte body. The request is built once; only the
 * translation runs per operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class TranslationBench {
    private final ByteString body = ByteString.fromArray(Inputs.BODY);

    /** PublicForwarder.Exchange.of: the request headers toward the tunnel client. */
    @Benchmark
    public List<Header> requestHeaders() {
        return Inputs.requestHeaders(Inputs.PUBLIC_REQUEST);
    }

    /** PublicForwarder.answer: the public status, then the public response with its strict body. */
    @Benchmark
    public HttpResponse response() {
        StatusCode status = LedgerAccess.publicStatus(Inputs.STATUS, false);
        return LedgerAccess.response(status, Inputs.RESPONSE, "bench", false, false, Inputs.HOST, body, null);
    }
}
