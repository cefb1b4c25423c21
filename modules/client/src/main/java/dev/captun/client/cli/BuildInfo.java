package dev.captun.client.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The version and build time the build wrote into {@code build.properties} (client pom: resources-filtered). */
record BuildInfo(String version, String built) {

    static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // fall through to "unknown": --version must not fail
        }
        return new BuildInfo(p.getProperty("version", "unknown"), p.getProperty("built", "unknown"));
    }

    String line() {
        return "captun " + version + " (built " + built + ", Java " + Runtime.version() + ")";
    }
}
