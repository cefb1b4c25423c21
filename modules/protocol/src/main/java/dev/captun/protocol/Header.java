package dev.captun.protocol;

/** One HTTP header field; order and repeats are kept. */
public record Header(String name, String value) {}
