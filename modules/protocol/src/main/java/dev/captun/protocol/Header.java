package dev.captun.protocol;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** One HTTP header field, sent as {@code ["name","value"]}; order and repeats are kept. */
@JsonFormat(shape = JsonFormat.Shape.ARRAY)
@JsonPropertyOrder({"name", "value"})
public record Header(String name, String value) {}
