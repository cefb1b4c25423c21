package dev.captun.client.inspect;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.captun.protocol.Header;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/** The JSON the page and scripts read (the API is listed in InspectorServer and the README). */
final class InspectorJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private InspectorJson() {}

    static ObjectNode summary(Exchange e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", e.id);
        if (e.replayOf != 0) {
            n.put("replayOf", e.replayOf);
        }
        n.put("time", e.startedAtMillis);
        n.put("method", e.method);
        n.put("path", e.path);
        n.put("state", e.state().name().toLowerCase(Locale.ROOT));
        int status = e.status();
        if (status != 0) {
            n.put("status", status);
        }
        n.put("durationMs", Math.round(e.durationMillis() * 10) / 10.0);
        BodyCapture rb = e.responseBody();
        n.put("size", rb == null ? 0 : rb.total());
        n.put("webSocket", e.webSocket);
        WsLog log = e.messages();
        if (log != null) {
            n.put("messageCount", log.count());
        }
        return n;
    }

    static ObjectNode detail(Exchange e, int cap) {
        ObjectNode n = summary(e);
        n.put("cap", cap);
        ObjectNode req = n.putObject("request");
        req.set("headers", headers(e.requestHeaders));
        if (e.requestBody != null) {
            req.set("body", body(e.requestBody, contentType(e.requestHeaders)));
        }
        if (e.requestBodyNote != null) {
            req.put("bodyNote", e.requestBodyNote);
        }
        if (e.status() != 0) {
            ObjectNode resp = n.putObject("response");
            resp.put("status", e.status());
            resp.set("headers", headers(e.responseHeaders()));
            BodyCapture rb = e.responseBody();
            if (rb != null) {
                resp.set("body", body(rb, contentType(e.responseHeaders())));
            }
        }
        if (e.error() != null) {
            n.put("error", e.error());
        }
        WsLog log = e.messages();
        if (log != null) {
            ArrayNode ms = n.putArray("messages");
            for (WsLog.Message m : log.messages()) {
                ObjectNode o = ms.addObject();
                o.put("time", m.atMillis());
                o.put("direction", m.fromPublic() ? "in" : "out");
                o.put("type", m.text() ? "text" : "binary");
                o.put("size", m.size());
                o.put("truncated", m.data().length < m.size());
                if (m.text()) {
                    o.put("text", decodeText(m.data(), m.data().length < m.size()));
                } else {
                    o.put("base64", Base64.getEncoder().encodeToString(m.data()));
                }
            }
            n.put("droppedMessages", log.dropped());
            if (e.state() == Exchange.State.CLOSED) {
                ObjectNode c = n.putObject("close");
                c.put("code", e.closeCode());
                c.put("reason", e.closeReason());
            }
        }
        return n;
    }

    static ArrayNode headers(List<Header> headers) {
        ArrayNode a = MAPPER.createArrayNode();
        for (Header h : headers) {
            a.addArray().add(h.name()).add(h.value());
        }
        return a;
    }

    /** Size and captured bytes: as text when they are UTF-8 text, else base64 (the page shows hex). */
    static ObjectNode body(BodyCapture b, String contentType) {
        ObjectNode o = MAPPER.createObjectNode();
        byte[] bytes = b.bytes();
        o.put("size", b.total());
        o.put("captured", bytes.length);
        o.put("truncated", b.isTruncated());
        o.put("complete", b.isComplete());
        if (contentType != null) {
            o.put("contentType", contentType);
        }
        String text = binaryType(contentType) ? null : decodeText(bytes, b.isTruncated() || !b.isComplete());
        if (text != null) {
            o.put("text", text);
        } else {
            o.put("base64", Base64.getEncoder().encodeToString(bytes));
        }
        return o;
    }

    private static boolean binaryType(String ct) {
        if (ct == null) {
            return false;
        }
        String t = ct.toLowerCase(Locale.ROOT);
        return t.startsWith("image/") || t.startsWith("audio/") || t.startsWith("video/") || t.startsWith("font/")
                || t.startsWith("application/octet-stream") || t.startsWith("application/zip")
                || t.startsWith("application/gzip") || t.startsWith("application/pdf") || t.contains("protobuf");
    }

    /**
     * {@code bytes} as a string when they are UTF-8 without control characters (tabs and line breaks
     * allowed), else null. A cut body may end inside a character: up to 3 trailing bytes are dropped.
     */
    static String decodeText(byte[] bytes, boolean cut) {
        for (int drop = 0; drop <= (cut ? 3 : 0) && drop <= bytes.length; drop++) {
            String s = strictUtf8(bytes, bytes.length - drop);
            if (s != null) {
                return s.chars().allMatch(c -> c >= 0x20 || c == '\t' || c == '\n' || c == '\r' || c == '\f') ? s : null;
            }
        }
        return null;
    }

    private static String strictUtf8(byte[] bytes, int len) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer cb = d.decode(ByteBuffer.wrap(bytes, 0, len));
            return cb.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    static String contentType(List<Header> headers) {
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("content-type")) {
                return h.value();
            }
        }
        return null;
    }
}
