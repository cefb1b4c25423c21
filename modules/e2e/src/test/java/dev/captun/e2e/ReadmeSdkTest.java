package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.edge.node.GatewayNode;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's SDK example is {@code src/test/java/Hello.java} word for word, compiles against the
 * SDK, and serves a real request through a real node when run on the SDK's own runtime classpath
 * (no Pekko). Its dependency snippet names the client module's real coordinates.
 */
@Timeout(120)
class ReadmeSdkTest {

    @Test
    void readmeExampleIsHelloJava() throws Exception {
        Path hello = Readme.root().resolve("modules/e2e/src/test/java/Hello.java");
        assertEquals(Files.readString(hello), Readme.block("<!-- sdk-example", "java"),
                "the README's SDK example and modules/e2e/src/test/java/Hello.java must stay equal");
    }

    @Test
    void readmeDependencyIsTheClientModule() throws Exception {
        String xml = Readme.block("## Embed the SDK", "xml");
        assertEquals("dev.captun", tag(xml, "groupId"));
        assertEquals("captun-client", tag(xml, "artifactId"));
        String pom = Files.readString(Readme.root().resolve("modules/client/pom.xml"));
        assertTrue(pom.contains("<artifactId>" + tag(xml, "artifactId") + "</artifactId>"));
        assertEquals(System.getProperty("captun.version"), tag(xml, "version"), "README's version is the project's");
        String install = Readme.block("## Embed the SDK", "sh");
        assertEquals("./mvnw -B -DskipTests install -pl modules/client -am", Readme.command(install.strip()));
    }

    private static String tag(String xml, String name) {
        Matcher m = Pattern.compile("<" + name + ">([^<]+)</" + name + ">").matcher(xml);
        assertTrue(m.find(), "no <" + name + "> in " + xml);
        return m.group(1);
    }

    @Test
    void helloServesARequestThroughARealNode() throws Exception {
        Path root = Readme.root();
        Path client = root.resolve("modules/client/target");
        Path testClasses = Path.of(ReadmeSdkTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String cp = testClasses + File.pathSeparator + client.resolve("classes") + File.pathSeparator
                + Files.readString(client.resolve("runtime-classpath.txt")).strip();
        assertFalse(cp.contains("pekko"), "the SDK's runtime classpath has no Pekko");
        try (GatewayNode node = Gateways.start()) {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp, "Hello");
            pb.environment().put("CAPTUN_GATEWAY", Gateways.url(node));
            try (CliProcessTest.Proc hello = new CliProcessTest.Proc(pb)) {
                String line = hello.await("serving at ");
                String url = line.substring(line.indexOf("serving at ") + "serving at ".length()).strip();
                assertEquals(Gateways.url(node) + "/hello", url);
                HttpResponse<String> r = PublicClient.get(url + "/from/the/readme?x=1");
                assertEquals(200, r.statusCode());
                assertEquals("hello from /from/the/readme?x=1", r.body());
                assertEquals("text/plain; charset=utf-8", r.headers().firstValue("content-type").orElse("").toLowerCase(java.util.Locale.ROOT));
                hello.await("Request[method=GET, path=/from/the/readme?x=1, status=200");
            }
        }
    }
}
