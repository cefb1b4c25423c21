package dev.captun.edge;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A lint (PEKKO-NOTES): a CompletionStage callback registered without an executor on a stage Pekko
 * returns runs on ForkJoinPool.commonPool(), which on a 2-core box starts a thread per callback.
 * Gateway code passes an executor every time ({@code thenApplyAsync(fn, Runnable::run)} or the
 * dispatcher).
 */
class NoNakedCallbacksTest {
    private static final Pattern NAKED = Pattern.compile(
            "\\.(thenApply|thenCompose|thenAccept|thenRun|thenCombine|whenComplete|exceptionally)\\(|\\.handle\\(\\(");

    @Test
    void gatewayModulesNeverRegisterCallbacksWithoutAnExecutor() throws IOException {
        Path modules = Path.of("..").toAbsolutePath().normalize();
        List<String> offenders = new ArrayList<>();
        for (String module : List.of("http-edge", "tunnel-actor", "rate-limiter-actor")) {
            Path src = modules.resolve(module).resolve("src/main/java");
            assertTrue(Files.isDirectory(src), src.toString());
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        if (NAKED.matcher(lines.get(i)).find()) {
                            offenders.add(modules.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).trim());
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), offenders, "use the *Async form with an executor");
    }
}
