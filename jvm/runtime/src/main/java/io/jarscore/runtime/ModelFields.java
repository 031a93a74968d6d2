package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What callers see of a model: its mining function, the inputs they send (folded list fields
 * expanded), its results (targets first, then outputs) and which of those are targets. A JAR with a
 * fast kernel records them ({@value #ENTRY}) when it is built, so that loading it starts scoring
 * through the kernel without first loading the JPMML-Transpiler classes (hundreds of classes for a
 * large forest: the bulk of a cold start). JPMML, for the rows the kernel leaves to it, loads on a
 * thread of its own when the first such row comes or a couple of seconds after the model.
 */
public record ModelFields(String miningFunction, List<FieldSpec> inputs, List<FieldSpec> results, List<String> targets) {

    /** The JAR entry holding the fields as JSON. */
    public static final String ENTRY = "META-INF/jarscore-fields.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelFields {
        inputs = List.copyOf(inputs);
        results = List.copyOf(results);
        targets = List.copyOf(targets);
    }

    public List<String> inputNames() {
        return inputs.stream().map(FieldSpec::name).toList();
    }

    public List<String> resultNames() {
        return results.stream().map(FieldSpec::name).toList();
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the model's fields: " + e.getMessage(), e);
        }
    }

    /** The fields recorded in a model JAR, or null when it records none (JARs without a kernel). */
    static ModelFields read(ClassLoader loader) throws IOException {
        try (InputStream in = loader.getResourceAsStream(ENTRY)) {
            if (in == null) {
                return null;
            }
            // The tree, not a binding to the record: a cold JVM spends tens of milliseconds
            // introspecting a record for Jackson, and this runs on every load.
            JsonNode root = JSON.readTree(in);
            String miningFunction = root.path("miningFunction").textValue();
            if (miningFunction == null) {
                throw new IOException(ENTRY + " names no miningFunction");
            }
            List<String> targets = new ArrayList<>();
            root.path("targets").forEach(name -> targets.add(name.asText()));
            return new ModelFields(miningFunction, specs(root, "inputs"), specs(root, "results"), targets);
        }
    }

    private static List<FieldSpec> specs(JsonNode root, String key) throws IOException {
        JsonNode list = root.get(key);
        if (list == null || !list.isArray()) {
            throw new IOException(ENTRY + " has no list of " + key);
        }
        List<FieldSpec> specs = new ArrayList<>();
        for (JsonNode spec : list) {
            String name = spec.path("name").textValue();
            String dataType = spec.path("dataType").textValue();
            String opType = spec.path("opType").textValue();
            if (name == null || dataType == null || opType == null || !spec.path("numeric").isBoolean()) {
                throw new IOException(ENTRY + ": " + key + " entry " + specs.size() + " lacks name, dataType, opType or numeric");
            }
            List<String> values = new ArrayList<>();
            spec.path("values").forEach(value -> values.add(value.asText()));
            specs.add(new FieldSpec(name, dataType, opType, spec.get("numeric").booleanValue(), List.copyOf(values)));
        }
        return specs;
    }
}
