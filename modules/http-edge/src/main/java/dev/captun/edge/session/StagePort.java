package dev.captun.edge.session;

import org.apache.pekko.japi.function.Procedure;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.InHandler;
import org.apache.pekko.util.ByteString;

/**
 * What the parts of {@link SessionStage}'s logic ({@link ClientFrames}, {@link Uploads}) ask of it:
 * GraphStageLogic's own API may only be used from inside the logic. Called on the stage's thread only.
 */
interface StagePort {
    /** Hands the socket what it can take now; every part calls it after writing frames. */
    void flush();

    /** Runs {@code source} into a new sub-sink of the stage as {@code s}'s upload (fused: no async boundary). */
    void runUpload(TunnelStream s, Source<ByteString, ?> source, InHandler handler);

    Materializer materializer();

    /** An async callback into the stage: the public side's threads reach it only this way. */
    <T> AsyncCallback<T> callback(Procedure<T> handler);
}
