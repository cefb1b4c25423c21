package dev.captun.client;

import dev.captun.protocol.Control;
import dev.captun.protocol.FrameHandler;
import dev.captun.protocol.FrameReader;
import dev.captun.protocol.Header;
import dev.captun.protocol.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Tests' readable view of protocol 3 frames: a binary message decoded by {@link FrameReader} into records. */
sealed interface WireFrame {
    /** The stream id (0 for session frames). */
    int stream();

    record Request(int stream, String method, String path, List<Header> headers, boolean end, boolean websocket) implements WireFrame {}

    record Response(int stream, int status, List<Header> headers, boolean end) implements WireFrame {}

    record Data(int stream, byte[] payload, boolean end) implements WireFrame {
        @Override
        public String toString() {
            return "Data[" + stream + ", " + payload.length + " bytes" + (end ? ", END" : "") + "]";
        }
    }

    record Credit(int stream, int bytes) implements WireFrame {}

    record Reset(int stream, String reason) implements WireFrame {}

    record WsFragment(int stream, boolean text, byte[] payload, boolean fin) implements WireFrame {
        @Override
        public String toString() {
            return "WsFragment[" + stream + ", " + (text ? "text " : "binary ") + payload.length + " bytes" + (fin ? ", FIN" : "") + "]";
        }
    }

    record WsClose(int stream, int code, String reason) implements WireFrame {}

    record Ready(Control.Ready ready) implements WireFrame {
        @Override
        public int stream() {
            return 0;
        }
    }

    record Ping(long nonce) implements WireFrame {
        @Override
        public int stream() {
            return 0;
        }
    }

    record Pong(long nonce) implements WireFrame {
        @Override
        public int stream() {
            return 0;
        }
    }

    record Close(int code, String reason) implements WireFrame {
        @Override
        public int stream() {
            return 0;
        }
    }

    record Drain(String reason) implements WireFrame {
        @Override
        public int stream() {
            return 0;
        }
    }

    static List<WireFrame> decode(byte[] message) throws ProtocolException {
        return decode(ByteBuffer.wrap(message));
    }

    /** Every frame of one message, in order (payloads copied out, so the records outlive the buffer). */
    static List<WireFrame> decode(ByteBuffer message) throws ProtocolException {
        List<WireFrame> out = new ArrayList<>();
        int base = message.position();
        FrameReader.read(message, new FrameHandler() {
            private byte[] bytes(int offset, int length) {
                byte[] b = new byte[length];
                message.get(base + offset, b);
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
                out.add(new Data(stream, bytes(offset, length), end));
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
                out.add(new WsFragment(stream, text, bytes(offset, length), fin));
            }

            @Override
            public void onWsClose(int stream, int code, String reason) {
                out.add(new WsClose(stream, code, reason));
            }

            @Override
            public void onReady(Control.Ready ready) {
                out.add(new Ready(ready));
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
        return out;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
