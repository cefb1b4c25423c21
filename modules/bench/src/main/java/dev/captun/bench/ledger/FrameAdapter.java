package dev.captun.bench.ledger;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.Header;
import java.util.List;

/** A {@link FrameHandler} that ignores every frame: the benchmarks' handlers override what they read. */
abstract class FrameAdapter implements FrameHandler {
    @Override
    public void onRequest(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) {}

    @Override
    public void onResponse(int stream, int status, List<Header> headers, boolean end) {}

    @Override
    public void onData(int stream, int offset, int length, boolean end) {}

    @Override
    public void onCredit(int stream, int bytes) {}

    @Override
    public void onReset(int stream, String reason) {}

    @Override
    public void onWsFragment(int stream, boolean text, int offset, int length, boolean fin) {}

    @Override
    public void onWsClose(int stream, int code, String reason) {}

    @Override
    public void onReady(Control.Ready ready) {}

    @Override
    public void onPing(long nonce) {}

    @Override
    public void onPong(long nonce) {}

    @Override
    public void onClose(int code, String reason) {}

    @Override
    public void onDrain(String reason) {}
}
