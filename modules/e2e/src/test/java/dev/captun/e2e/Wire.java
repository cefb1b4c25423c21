package dev.captun.e2e;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Protocol 3 frames as plain values, for tests that play the tunnel client by hand: {@link #decode}
 * turns one binary message into its frames (payloads copied out), so assertions compare records.
 * Payload-carrying records keep a {@code byte[]}: compare their {@link #text} or length, not the record.
 */
final class Wire {
    private Wire() {}

    sealed interface Frame permits Request, Response, Data, Credit, Reset, WsFragment, WsClose, Ready, Ping, Pong, Close, Drain,
            TextMessage, Malformed {}

    record Request(int id, String method, String path, List<Header> headers, boolean end, boolean websocket) implements Frame {}

    record Response(int id, int status, List<Header> headers, boolean end) implements Frame {}

    record Data(int id, byte[] payload, boolean end) implements Frame {
        String text() {
            return Wire.text(payload);
        }
    }

    record Credit(int id, int bytes) implements Frame {}

    record Reset(int id, String reason) implements Frame {}

    record WsFragment(int id, boolean text, byte[] payload, boolean fin) implements Frame {}

    record WsClose(int id, int code, String reason) implements Frame {}

    record Ready(int version, String name, String url, int window, int heartbeatSeconds, String policy) implements Frame {}

    record Ping(long nonce) implements Frame {}

    record Pong(long nonce) implements Frame {}

    record Close(int code, String reason) implements Frame {}

    record Drain(String reason) implements Frame {}

    /** Not a frame: a text message, which a protocol 3 gateway must never send. Queued so a test fails on it visibly. */
    record TextMessage(String text) implements Frame {}

    /** Not a frame: a binary message the decoder refused. Queued so a test fails on it visibly. */
    record Malformed(String error) implements Frame {}

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Every frame of one binary message, in order; a message the decoder refuses yields one {@link Malformed}. */
    static List<Frame> decode(ByteBuffer message) {
        List<Frame> out = new ArrayList<>();
        ByteBuffer m = message.duplicate();
        int base = m.position();
        try {
            FrameReader.read(m, new FrameHandler() {
                private byte[] slice(int offset, int length) {
                    byte[] b = new byte[length];
                    m.get(base + offset, b);
                    return b;
                }

                @Override
                public void onRequest(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) {
                    out.add(new Request(stream, method, path, headers, end, websocket));
                }

                @Override
                public void onResponse(int stream, int status, List<Header> headers, boolean end) {
                    out.add(new Response(stream, status, headers, end));
                }

                @Override
                public void onData(int stream, int offset, int length, boolean end) {
                    out.add(new Data(stream, slice(offset, length), end));
                }

                @Override
                public void onCredit(int stream, int bytes) {
                    out.add(new Credit(stream, bytes));
                }

                @Override
                public void onReset(int stream, String reason) {
                    out.add(new Reset(stream, reason));
                }

                @Override
                public void onWsFragment(int stream, boolean text, int offset, int length, boolean fin) {
                    out.add(new WsFragment(stream, text, slice(offset, length), fin));
                }

                @Override
                public void onWsClose(int stream, int code, String reason) {
                    out.add(new WsClose(stream, code, reason));
                }

                @Override
                public void onReady(Control.Ready r) {
                    out.add(new Ready(r.version(), r.name(), r.url(), r.window(), r.heartbeatSeconds(), r.policy()));
                }

                @Override
                public void onPing(long nonce) {
                    out.add(new Ping(nonce));
                }

                @Override
                public void onPong(long nonce) {
                    out.add(new Pong(nonce));
                }

                @Override
                public void onClose(int code, String reason) {
                    out.add(new Close(code, reason));
                }

                @Override
                public void onDrain(String reason) {
                    out.add(new Drain(reason));
                }
            });
        } catch (ProtocolException e) {
            // Frames decoded before the bad one are dropped too: the whole message is broken.
            return List.of(new Malformed(e.getMessage()));
        }
        return out;
    }
}
