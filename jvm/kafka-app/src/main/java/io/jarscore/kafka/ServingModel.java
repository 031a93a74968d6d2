package io.jarscore.kafka;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.ModelVersion;
import io.jarscore.registry.Result;
import io.jarscore.runtime.FieldSpec;

/**
 * Embedded scoring: the version of one model serving now in the app's registry. Records are
 * checked against its input fields and scored by it.
 */
final class ServingModel implements RecordScorer {

    private final String name;
    private final ModelRegistry registry;

    ServingModel(String name, ModelRegistry registry) {
        this.name = name;
        this.registry = registry;
    }

    String name() {
        return name;
    }

    List<FieldSpec> inputs() {
        ModelVersion current = registry.current(name);
        return current == null ? List.of() : current.model().inputFields();
    }

    List<String> targets() {
        ModelVersion current = registry.current(name);
        return current == null ? List.of() : current.model().targetNames();
    }

    @Override
    public byte[] score(byte[] key, byte[] value) {
        Map<String, Object> row = RecordCodec.parseRow(value, inputs());
        String routingKey = key == null ? null : new String(key, StandardCharsets.UTF_8);
        Result<Map<String, Object>> result = registry.score(name, routingKey, row);
        return RecordCodec.result(result, targets());
    }
}
