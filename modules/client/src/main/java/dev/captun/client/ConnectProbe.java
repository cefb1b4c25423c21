package dev.captun.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** The diagnostic probe of SPEC §3: asks the gateway what a connect would get. */
final class ConnectProbe {
    static final Duration TIMEOUT = Duration.ofMillis(500);

    private ConnectProbe() {}

    /** The typed error for a failed connect: the gateway's rejection, or "WebSocket connection failed". */
    static CaptunConnectException diagnose(HttpClient http, URI connectUri, String token, Throwable cause) {
        try {
            HttpRequest req = HttpRequest.newBuilder(connectUri)
                    .timeout(TIMEOUT)
                    .header("x-captun-connect-diagnostic", "1")
                    .header("x-captun-connect-token", token)
                    .GET()
                    .build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (resp.statusCode() >= 200 && resp.statusCode() < 300) {
                return CaptunConnectException.connectionFailed(cause);
            }
            return CaptunConnectException.rejected(resp.statusCode(), resp.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CaptunConnectException.connectionFailed(cause);
        } catch (Exception e) {
            return CaptunConnectException.connectionFailed(cause);
        }
    }
}
