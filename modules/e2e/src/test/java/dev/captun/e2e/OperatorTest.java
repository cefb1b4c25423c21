package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SPEC §8 as an operator runs it: {@code bin/captun-node} with {@code CAPTUN_LOG_FORMAT=json} and
 * {@code CAPTUN_ACCESS_LOG=1} writes one JSON object per line, including one access line per
 * public request with its fields; {@code /metrics} carries JVM and process figures and the build.
 */
@Timeout(180)
class OperatorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void jsonLogsAccessLogAndJvmMetricsFromARealNodeProcess() throws Exception {
        int port = CliProcessTest.freePort();
        int mgmt = CliProcessTest.freePort();
        String gateway = "http://127.0.0.1:" + port;
        ProcessBuilder pb = new ProcessBuilder(CliProcessTest.repoRoot().resolve("bin/captun-node").toString());
        pb.environment().put("CAPTUN_PORT", Integer.toString(port));
        pb.environment().put("CAPTUN_MANAGEMENT_PORT", Integer.toString(mgmt));
        pb.environment().put("CAPTUN_REMOTE_PORT", "0");
        pb.environment().put("CAPTUN_JAVA_OPTS", "-Xms64m -Xmx384m");
        pb.environment().put("CAPTUN_LOG_FORMAT", "json");
        pb.environment().put("CAPTUN_ACCESS_LOG", "1");
        try (CliProcessTest.Proc node = new CliProcessTest.Proc(pb)) {
            // JSON escapes '/', so match the message without the URL
            assertTrue(node.await("captun gateway listening on").contains("127.0.0.1:" + port));
            try (CaptunTunnel t = CaptunTunnel.builder().gateway(gateway).name("ops")
                    .handler(req -> TunnelResponse.streaming(201, out -> out.write("seventeen bytes!!".getBytes(StandardCharsets.UTF_8))))
                    .connect()) {
                HttpResponse<String> r = PublicClient.get(t.url() + "/orders/7?secret=x");
                assertEquals(201, r.statusCode());
                assertEquals("seventeen bytes!!", r.body());
                HttpResponse<String> none = PublicClient.get(gateway + "/nobody/here");
                assertEquals(503, none.statusCode());
                assertEquals("No tunnel client connected\n", none.body());

                Map<String, String> streamed = access(node, "/ops/orders/7");
                assertEquals("127.0.0.1", streamed.get("ip"));
                assertEquals("GET", streamed.get("method"));
                assertEquals("/ops/orders/7", streamed.get("path"), "the path, never the query string");
                assertEquals("201", streamed.get("status"));
                assertEquals("17", streamed.get("bytes"), "body bytes counted as they streamed");
                assertTrue(Long.parseLong(streamed.get("ms")) >= 0);
                Map<String, String> strict = access(node, "/nobody/here");
                assertEquals("503", strict.get("status"));
                assertEquals(Integer.toString("No tunnel client connected\n".length()), strict.get("bytes"));

                HttpResponse<String> m = PublicClient.get("http://127.0.0.1:" + mgmt + "/metrics");
                assertEquals(200, m.statusCode());
                String s = m.body();
                for (String series : new String[] {"jvm_memory_used_bytes{", "jvm_gc_", "jvm_threads_live_threads ",
                        "process_uptime_seconds ", "process_cpu_usage ", "system_cpu_count "}) {
                    assertTrue(s.contains(series), "JVM/process metric " + series + " on /metrics");
                }
                assertTrue(s.contains("captun_build_info{java=\"" + Runtime.version() + "\",version=\"" + System.getProperty("captun.version") + "\"} 1\n"),
                        "build info gauge: " + s.lines().filter(l -> l.contains("build_info")).toList());
            }
            // Every line the node wrote is one JSON object; no token appears anywhere.
            List<String> lines = new ArrayList<>(node.all);
            assertTrue(lines.size() > 5, lines.toString());
            for (String line : lines) {
                JsonNode o = JSON.readTree(line);
                assertTrue(o.isObject() && o.has("level") && o.has("loggerName"), "a JSON log object: " + line);
            }
        }
    }

    /** The next access line for {@code path} (connects and other requests are logged too). */
    private static Map<String, String> access(CliProcessTest.Proc node, String path) throws Exception {
        while (true) {
            Map<String, String> f = fields(node.await("\"captun.access\""));
            if (path.equals(f.get("path"))) {
                return f;
            }
        }
    }

    /** The access line's key-value pairs (logback's JsonEncoder puts them in kvpList). */
    private static Map<String, String> fields(String line) throws Exception {
        JsonNode o = JSON.readTree(line);
        assertEquals("captun.access", o.path("loggerName").asText(), line);
        Map<String, String> out = new HashMap<>();
        for (JsonNode kv : o.path("kvpList")) {
            kv.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        assertFalse(out.isEmpty(), "no kvpList in " + line);
        assertTrue(o.path("formattedMessage").asText().contains(out.get("method") + " " + out.get("path") + " " + out.get("status")), line);
        return out;
    }
}
