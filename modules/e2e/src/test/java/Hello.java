import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelResponse;

public class Hello {
    public static void main(String[] args) throws Exception {
        String gateway = System.getenv().getOrDefault("CAPTUN_GATEWAY", "http://127.0.0.1:8080");
        try (CaptunTunnel tunnel = CaptunTunnel.builder()
                .gateway(gateway)
                .name("hello")                                      // optional: random if absent
                .handler(req -> TunnelResponse.text(200, "hello from " + req.path()))
                // or .target("http://127.0.0.1:3000") to proxy to a local service
                .listener(event -> System.out.println(event))       // connected, reconnecting, requests...
                .connect()) {                                       // CaptunConnectException(status, body) when refused
            System.out.println("serving at " + tunnel.url());
            Thread.currentThread().join();
        }
    }
}
