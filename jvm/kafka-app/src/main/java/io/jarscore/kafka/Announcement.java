package io.jarscore.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.VersionPolicy;

/**
 * A message on the control topic: {@code {"model": "churn", "version": 4}} makes every instance load
 * and serve version 4 of churn (pinned: the watcher keeps it until the next announcement);
 * {@code {"model": "churn", "version": "latest"}} goes back to the newest complete version.
 * The registry's {@code beforeSwap} validators run first; a refused version leaves the current one serving.
 */
public record Announcement(String model, int version) {

    /** {@link #version()} of an announcement that asks for the latest version. */
    public static final int LATEST = 0;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static Announcement parse(byte[] value) {
        JsonNode node;
        try {
            node = JSON.readTree(value);
        } catch (Exception e) {
            throw new IllegalArgumentException("a control message must be JSON like {\"model\": \"name\", \"version\": 3},"
                + " got " + new String(value, StandardCharsets.UTF_8) + ": " + e.getMessage(), e);
        }
        if (node == null || !node.isObject() || !node.path("model").isTextual()) {
            throw new IllegalArgumentException("a control message needs a string 'model', got " + node);
        }
        JsonNode version = node.path("version");
        if (version.isTextual() && version.asText().equals("latest")) {
            return new Announcement(node.get("model").asText(), LATEST);
        }
        if (!version.canConvertToInt() || !version.isIntegralNumber() || version.asInt() <= 0) {
            throw new IllegalArgumentException("a control message's 'version' must be a positive integer or \"latest\","
                + " got " + version + " in " + node);
        }
        return new Announcement(node.get("model").asText(), version.asInt());
    }

    public byte[] toJson() {
        Object v = version == LATEST ? "latest" : version;
        try {
            return JSON.writeValueAsBytes(Map.of("model", model, "version", v));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Makes {@code registry} serve what this announces; throws if the version cannot load or is refused. */
    public void applyTo(ModelRegistry registry, VersionPolicy configured) {
        if (version == LATEST) {
            registry.policy(model, configured);
            registry.reload();
            return;
        }
        if (registry.currentVersion(model) == version && registry.versions(model).size() == 1) {
            registry.policy(model, VersionPolicy.specific(version));
            return;
        }
        VersionPolicy before = registry.policyFor(model);
        registry.policy(model, VersionPolicy.specific(version));
        try {
            registry.load(model, version);
        } catch (RuntimeException e) {
            registry.policy(model, before);
            throw e;
        }
        for (int served : registry.versions(model)) {
            if (served != version) {
                registry.unload(model, served);
            }
        }
    }
}
