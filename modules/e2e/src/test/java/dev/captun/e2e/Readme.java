package dev.captun.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's README as a new user reads it: its fenced code blocks, found by the text before them. */
final class Readme {
    private Readme() {}

    static Path root() {
        return CliProcessTest.repoRoot();
    }

    static String text() throws IOException {
        return Files.readString(root().resolve("README.md"));
    }

    /** The body of the first {@code ```lang} block after the first occurrence of {@code anchor}. */
    static String block(String anchor, String lang) throws IOException {
        String s = text();
        int a = s.indexOf(anchor);
        assertTrue(a >= 0, "README has no '" + anchor + "'");
        String fence = "```" + lang + "\n";
        int start = s.indexOf(fence, a);
        assertTrue(start >= 0, "README has no ```" + lang + " block after '" + anchor + "'");
        start += fence.length();
        int end = s.indexOf("```\n", start);
        assertTrue(end > start, "unterminated code block after '" + anchor + "'");
        return s.substring(start, end);
    }

    /** A shell line without its trailing comment ({@code # ...} after whitespace) and surrounding blanks. */
    static String command(String line) {
        int i = line.indexOf(" #");
        return (i >= 0 ? line.substring(0, i) : line).strip();
    }
}
