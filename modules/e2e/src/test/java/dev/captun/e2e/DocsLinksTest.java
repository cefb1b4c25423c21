package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The repository is self-contained: every relative link in its documents resolves to a file inside it. */
class DocsLinksTest {
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @Test
    void relativeLinksResolveInsideTheRepository() throws IOException {
        Path root = Readme.root().toRealPath();
        List<Path> docs = new ArrayList<>(List.of(root.resolve("README.md")));
        try (Stream<Path> s = Files.list(root.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).forEach(docs::add);
        }
        assertTrue(docs.stream().anyMatch(p -> p.endsWith("docs/SPEC.md")), "the behaviour contract lives in docs/SPEC.md");
        List<String> broken = new ArrayList<>();
        int links = 0;
        for (Path doc : docs) {
            // code (fenced blocks and `spans`) is not prose: a regex there is no link
            String prose = Files.readString(doc).replaceAll("(?s)```.*?```", "").replaceAll("`[^`\\n]*`", "");
            Matcher m = LINK.matcher(prose);
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^[a-z]+:.*") || target.startsWith("#")) {
                    continue; // web links and anchors
                }
                links++;
                Path resolved = doc.getParent().resolve(target.replaceAll("#.*$", "")).normalize();
                if (!resolved.startsWith(root) || !Files.exists(resolved)) {
                    broken.add(root.relativize(doc) + " -> " + target);
                }
            }
        }
        assertTrue(links > 5, "expected relative links between the documents, found " + links);
        assertEquals(List.of(), broken, "links that leave the repository or point nowhere");
    }

    @Test
    void nothingPointsOutsideTheRepository() throws IOException {
        Path root = Readme.root();
        String outside = "../" + "shared"; // split so this file does not match itself
        List<String> hits = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile)
                    .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/") && !p.toString().contains("/.captun-cluster/"))
                    .filter(p -> p.toString().matches(".*\\.(md|java|xml|conf|properties)$") || p.getParent().endsWith("bin"))
                    .forEach(p -> {
                        try {
                            if (Files.readString(p).contains(outside)) {
                                hits.add(root.relativize(p).toString());
                            }
                        } catch (IOException e) {
                            hits.add(root.relativize(p) + " (unreadable: " + e + ")");
                        }
                    });
        }
        assertEquals(List.of(), hits);
        assertTrue(Files.isRegularFile(root.resolve("LICENSE")) && Files.readString(root.resolve("LICENSE")).contains("Apache License"));
        assertTrue(Files.isExecutable(root.resolve("mvnw")), "./mvnw is the README's build command");
    }
}
