package dev.captun.client.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The CLI's config file ({@link #defaultPath(Map)}): {@code {"gateway": ..., "token": ...}}, written with mode 0600. */
public final class ConfigFile {
    public static final Set<String> KEYS = Set.of("gateway", "token");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Values from the file; absent keys are null. */
    public record Config(String gateway, String token) {
        public static final Config EMPTY = new Config(null, null);
    }

    private ConfigFile() {}

    public static Path defaultPath() {
        return defaultPath(System.getenv());
    }

    /** {@code $XDG_CONFIG_HOME/captun/config.json} when XDG_CONFIG_HOME is set (XDG base directories), else {@code ~/.config/captun/config.json}. */
    public static Path defaultPath(Map<String, String> env) {
        String xdg = env.get("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("captun").resolve("config.json");
    }

    /** Reads {@code file}; a missing file is an empty config. Unknown keys or non-string values are rejected. */
    public static Config load(Path file) throws IOException {
        Map<String, String> m = read(file);
        return new Config(m.get("gateway"), m.get("token"));
    }

    private static Map<String, String> read(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return out;
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode()) {
            return out;
        }
        if (!root.isObject()) {
            throw new IOException(file + " must hold a JSON object like {\"gateway\": \"...\", \"token\": \"...\"}");
        }
        Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!KEYS.contains(e.getKey())) {
                throw new IOException("unknown key \"" + e.getKey() + "\" in " + file + " (allowed: gateway, token)");
            }
            if (e.getValue().isNull()) {
                continue;
            }
            if (!e.getValue().isTextual()) {
                throw new IOException("key \"" + e.getKey() + "\" in " + file + " must be a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    /** Sets one key, keeping the others; creates the file (and its directory) with owner-only permissions. */
    public static void set(Path file, String key, String value) throws IOException {
        if (!KEYS.contains(key)) {
            throw new IOException("unknown key \"" + key + "\" (allowed: gateway, token)");
        }
        Map<String, String> m = read(file);
        m.put(key, value);
        ObjectNode node = MAPPER.createObjectNode();
        m.forEach(node::put);
        byte[] json = (MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path dir = file.toAbsolutePath().getParent();
        boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        if (!Files.isDirectory(dir)) {
            if (posix) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(dir);
            }
        }
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            if (posix) {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.createFile(tmp);
            }
        } catch (FileAlreadyExistsException e) {
            throw new IOException("cannot create " + tmp, e);
        }
        Files.write(tmp, json);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        if (posix) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }
}
