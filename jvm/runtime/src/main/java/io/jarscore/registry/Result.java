package io.jarscore.registry;

/** What a version computed, and which model name and version computed it. */
public record Result<T>(String model, int version, T values) {
}
