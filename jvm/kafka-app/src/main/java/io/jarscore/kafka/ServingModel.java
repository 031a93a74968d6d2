package io.jarscore.kafka;

import java.util.List;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.ModelVersion;
import io.jarscore.runtime.FieldSpec;

/** The input fields and target names of the version of one model serving now; records are checked against them. */
final class ServingModel {

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
}
