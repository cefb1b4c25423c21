package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The request inspector as a user sees it: a real node, the real {@code captun} CLI (a process,
 * inspector on), a real local service (HTTP and a WebSocket), and the page in a real headless
 * Chromium driven by Selenium. Debian's chromium and chromedriver are required (.ci/run installs
 * them): without them this test fails rather than skips, so CI can never pass without running it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class InspectorBrowserTest {
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    /** The issue's promise: a request shows in the open page within a second. */
    private static final Duration LIVE = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private GatewayNode node;
    private String gateway;
    private ActorSystem<Void> localSystem;
    private ServerBinding local;
    private final BlockingQueue<String> localSaw = new LinkedBlockingQueue<>();
    private CliProcessTest.Proc cli;
    private String inspectorUrl;
    private String publicUrl;
    private WebDriver browser;

    @BeforeAll
    void start() throws Exception {
        assertTrue(Files.isExecutable(Path.of(CHROMIUM)) && Files.isExecutable(Path.of(CHROMEDRIVER)),
                "this test needs Debian's chromium and chromedriver (" + CHROMIUM + ", " + CHROMEDRIVER
                        + "): apt-get install -y chromium chromium-driver (.ci/run does)");
        node = Gateways.start();
        gateway = Gateways.url(node);
        localSystem = ActorSystem.create(Behaviors.empty(), "inspected",
                com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local\npekko.remote.artery.enabled = off"));
        local = Http.get(localSystem).newServerAt("127.0.0.1", 0).bindSync(this::localService)
                .toCompletableFuture().get(30, TimeUnit.SECONDS);

        Path home = Files.createTempDirectory("captun-home");
        ProcessBuilder pb = new ProcessBuilder(CliProcessTest.repoRoot().resolve("bin/captun").toString(),
                Integer.toString(local.localAddress().getPort()), "--name", "inspected", "--gateway", gateway,
                "--inspect", "127.0.0.1:0");
        pb.environment().put("HOME", home.toString());
        cli = new CliProcessTest.Proc(pb);
        publicUrl = cli.await("Forwarding").strip().split("\\s+")[1]; // the status block aligns its values
        assertEquals(gateway + "/inspected", publicUrl);
        String line = cli.await("Inspector");
        inspectorUrl = line.substring(line.indexOf("http://")).strip();
        assertTrue(inspectorUrl.startsWith("http://127.0.0.1:"), "loopback by default: " + line);

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900");
        // both paths given: Selenium Manager has nothing to look up or download
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER)).build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (cli != null) {
            cli.close();
        }
        if (local != null) {
            local.unbind();
        }
        if (localSystem != null) {
            localSystem.terminate();
        }
        if (node != null) {
            node.close();
        }
    }

    /** The developer's service: /hook answers JSON about the body it got, /chat echoes WebSocket text. */
    private HttpResponse localService(HttpRequest request) {
        var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        Materializer mat = Materializer.matFromSystem(localSystem);
        if (upgrade.isPresent()) {
            Flow<Message, Message, ?> echo = Flow.<Message>create()
                    .filter(Message::isText)
                    .mapAsync(1, m -> m.asTextMessage().toStrict(10_000, mat))
                    .map(m -> (Message) TextMessage.create("echo:" + m.getStrictText()));
            return ((WebSocketUpgrade) upgrade.get()).handleMessagesWith(echo);
        }
        String body;
        try {
            body = request.entity().toStrict(10_000, mat).toCompletableFuture().get(10, TimeUnit.SECONDS)
                    .getData().utf8String();
        } catch (Exception e) {
            return HttpResponse.create().withStatus(StatusCodes.INTERNAL_SERVER_ERROR);
        }
        localSaw.add(request.method().value() + " " + request.getUri().path() + " " + body);
        return HttpResponse.create().withStatus(StatusCodes.OK).withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
                "{\"received\":" + body.length() + ",\"path\":\"" + request.getUri().path() + "\"}"));
    }

    private String post(String path, String json) throws Exception {
        java.net.http.HttpResponse<String> r = PublicClient.send(PublicClient.request(publicUrl + path)
                .header("content-type", "application/json").header("x-hook-signature", "sha256=abc123")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(json)).build());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private String awaitLocal(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String s = localSaw.poll(1, TimeUnit.SECONDS);
            if (s != null && s.startsWith(prefix)) {
                return s;
            }
        }
        throw new AssertionError("the local service never received " + prefix);
    }

    /** The list's rows as shown (read in one script: the page re-renders rows on every change). */
    @SuppressWarnings("unchecked")
    private List<String> rows() {
        return (List<String>) ((JavascriptExecutor) browser).executeScript(
                "return Array.from(document.querySelectorAll('#entries tr.entry')).map(r => r.innerText)");
    }

    private String row(int index) {
        return rows().get(index);
    }

    /** The messages of the open WebSocket, as shown. */
    @SuppressWarnings("unchecked")
    private List<String> messages() {
        return (List<String>) ((JavascriptExecutor) browser).executeScript(
                "return Array.from(document.querySelectorAll('#messages tr.message')).map(r => r.innerText)");
    }

    /** Clicks the row of request {@code id}, again if a re-render replaced it under the click. */
    private void open(int id) throws Exception {
        waitFor(WAIT, d -> {
            d.findElement(By.cssSelector("#entries tr.entry[data-id='" + id + "']")).click();
            return true;
        });
        waitFor(WAIT, d -> text("timing").startsWith("#" + id + " "));
    }

    private String text(String id) {
        return browser.findElement(By.id(id)).getText();
    }

    /** Waits in the browser; on a timeout, says what the page and the API showed. */
    private void waitFor(Duration d, java.util.function.Function<WebDriver, Boolean> condition) throws Exception {
        try {
            new WebDriverWait(browser, d, Duration.ofMillis(25))
                    .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(condition::apply);
        } catch (org.openqa.selenium.TimeoutException e) {
            String api = PublicClient.get(inspectorUrl + "/api/requests").body();
            String open = browser.findElement(By.id("timing")).getText();
            String detail = open.startsWith("#") ? PublicClient.get(inspectorUrl + "/api/requests/"
                    + open.substring(1, open.indexOf(' '))).body() : "";
            throw new AssertionError("not within " + d + ". Page:\n" + browser.findElement(By.tagName("body")).getText()
                    + "\nAPI: " + api + "\nopen request: " + detail, e);
        }
    }

    @Test
    void listsShowsReplaysAndFollowsAWebSocketInTheBrowser() throws Exception {
        browser.get(inspectorUrl);
        assertEquals("captun inspector", browser.getTitle());
        waitFor(WAIT, d -> d.findElement(By.id("live")).getAttribute("class").contains("on")); // the event stream is open
        assertTrue(text("empty").contains("No requests yet"));

        // Live: a request through the public URL appears within a second, with method, path and status.
        assertEquals("{\"received\":28,\"path\":\"/hook\"}", post("/hook?source=ci", "{\"event\":\"push\",\"commits\":3}"));
        assertEquals("POST /hook {\"event\":\"push\",\"commits\":3}", awaitLocal("POST /hook"));
        waitFor(LIVE, d -> rows().size() == 1 && row(0).contains("200"));
        String first = row(0);
        assertTrue(first.contains("POST") && first.contains("/hook?source=ci") && first.contains("30 B"), first);

        java.net.http.HttpResponse<String> hello = PublicClient.get(publicUrl + "/hello");
        assertEquals(200, hello.statusCode());
        assertEquals("{\"received\":0,\"path\":\"/hello\"}", hello.body());
        awaitLocal("GET /hello");
        waitFor(LIVE, d -> rows().size() == 2 && row(0).contains("/hello") && row(0).contains("200"));

        // One request: request line, headers, the JSON body pretty-printed, and the response.
        open(1);
        assertTrue(text("request-line").startsWith("POST /hook?source=ci"), text("request-line"));
        String reqHeaders = text("req-headers");
        assertTrue(reqHeaders.contains("x-hook-signature") && reqHeaders.contains("sha256=abc123"), reqHeaders);
        assertTrue(reqHeaders.contains("content-type") && reqHeaders.contains("application/json"), reqHeaders);
        String reqBody = text("req-body");
        assertTrue(reqBody.contains("\"event\": \"push\",") && reqBody.contains("\"commits\": 3"), "pretty JSON: " + reqBody);
        assertTrue(reqBody.contains("28 B"), reqBody);
        assertEquals("200", text("status-line"));
        assertTrue(text("resp-headers").contains("application/json"), text("resp-headers"));
        assertTrue(text("resp-body").contains("\"received\": 28"), text("resp-body"));
        assertTrue(text("timing").contains("ms"), text("timing"));

        // Replay: the local service gets the request again, and a new entry marked as a replay appears.
        browser.findElement(By.id("replay")).click();
        assertEquals("POST /hook {\"event\":\"push\",\"commits\":3}", awaitLocal("POST /hook"));
        waitFor(WAIT, d -> rows().size() == 3 && row(0).contains("replay") && row(0).contains("200"));
        waitFor(WAIT, d -> text("request-line").contains("(replay of #1)"));
        assertTrue(text("req-headers").contains("sha256=abc123"), "the replay carries the captured headers");
        assertTrue(text("resp-body").contains("\"received\": 28"));

        // Edit & replay: another path and body.
        open(1);
        assertTrue(text("request-line").startsWith("POST /hook?source=ci"), text("request-line"));
        browser.findElement(By.id("edit-replay")).click();
        WebElement path = browser.findElement(By.id("edit-path"));
        path.clear();
        path.sendKeys("/hook/edited");
        WebElement body = browser.findElement(By.id("edit-body"));
        body.clear();
        body.sendKeys("{\"event\":\"edited\"}");
        browser.findElement(By.id("edit-send")).click();
        assertEquals("POST /hook/edited {\"event\":\"edited\"}", awaitLocal("POST /hook/edited"));
        waitFor(WAIT, d -> rows().size() == 4 && row(0).contains("/hook/edited") && row(0).contains("200"));
        waitFor(WAIT, d -> text("resp-body").contains("\"received\": 18"));

        // A WebSocket: its messages both ways, then its close.
        PublicWebSocketEdgeTest.PublicListener pub = new PublicWebSocketEdgeTest.PublicListener();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create(publicUrl.replace("http://", "ws://") + "/chat"), pub).get(30, TimeUnit.SECONDS);
        ws.sendText("hello inspector", true).join();
        assertEquals("text:echo:hello inspector", pub.next());
        waitFor(LIVE, d -> rows().size() == 5 && row(0).contains("/chat") && row(0).contains("ws"));
        open(5);
        waitFor(WAIT, d -> messages().size() == 2);
        List<String> shown = messages();
        assertTrue(shown.get(0).contains("in") && shown.get(0).contains("hello inspector"), shown.get(0));
        assertTrue(shown.get(1).contains("out") && shown.get(1).contains("echo:hello inspector"), shown.get(1));
        ws.sendText("second", true).join();
        assertEquals("text:echo:second", pub.next());
        waitFor(WAIT, d -> messages().size() == 4);
        ws.sendClose(1000, "done").join();
        waitFor(WAIT, d -> text("ws-summary").toLowerCase(java.util.Locale.ROOT).contains("closed 1000")); // the heading is upper-cased by CSS
        assertTrue(row(0).contains("101"), row(0));
        open(1);
        screenshot(); // the README's picture: replays and a WebSocket in the list, the webhook open

        // Filter by path and status, then clear.
        browser.findElement(By.id("filter-path")).sendKeys("/chat");
        waitFor(WAIT, d -> rows().size() == 1);
        browser.findElement(By.id("filter-path")).clear();
        browser.findElement(By.id("filter-path")).sendKeys(" "); // an input event after clear(): back to all
        waitFor(WAIT, d -> rows().size() == 5);
        browser.findElement(By.id("filter-status")).sendKeys("2xx");
        waitFor(WAIT, d -> rows().size() == 4);
        browser.findElement(By.id("filter-status")).clear();
        browser.findElement(By.id("filter-status")).sendKeys(" ");
        browser.findElement(By.id("clear")).click();
        waitFor(WAIT, d -> rows().isEmpty() && d.findElement(By.id("empty")).isDisplayed());
        java.net.http.HttpResponse<String> api = PublicClient.get(inspectorUrl + "/api/requests");
        assertEquals(200, api.statusCode());
        assertTrue(api.body().contains("\"requests\":[]"), api.body());
    }

    /** target/inspector.png always; also the README's docs/inspector.png when -Dcaptun.screenshot=docs is given. */
    private void screenshot() throws Exception {
        Path shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        assertTrue(Files.size(shot) > 10_000, "a real screenshot");
        Files.copy(shot, Path.of("target/inspector.png"), StandardCopyOption.REPLACE_EXISTING);
        if ("docs".equals(System.getProperty("captun.screenshot"))) {
            Files.copy(shot, CliProcessTest.repoRoot().resolve("docs/inspector.png"), StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
