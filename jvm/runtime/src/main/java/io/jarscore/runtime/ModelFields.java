package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
            // made here, not once for the class: loading a model reads its fields with JsonTree
            return new ObjectMapper().writeValueAsBytes(this);
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
            Map<?, ?> root = JsonTree.parse(in) instanceof Map<?, ?> object ? object : Map.of();
            if (!(root.get("miningFunction") instanceof String miningFunction)) {
                throw new IOException(ENTRY + " names no miningFunction");
            }
            List<String> targets = new ArrayList<>();
            if (root.get("targets") instanceof List<?> names) {
                names.forEach(name -> targets.add(String.valueOf(name)));
            }
            return new ModelFields(miningFunction, specs(root, "inputs"), specs(root, "results"), targets);
        }
    }

    private static List<FieldSpec> specs(Map<?, ?> root, String key) throws IOException {
        if (!(root.get(key) instanceof List<?> list)) {
            throw new IOException(ENTRY + " has no list of " + key);
        }
        List<FieldSpec> specs = new ArrayList<>();
        for (Object entry : list) {
            Map<?, ?> spec = entry instanceof Map<?, ?> m ? m : Map.of();
            if (!(spec.get("name") instanceof String name) || !(spec.get("dataType") instanceof String dataType)
                || !(spec.get("opType") instanceof String opType) || !(spec.get("numeric") instanceof Boolean numeric)) {
                throw new IOException(ENTRY + ": " + key + " entry " + specs.size() + " lacks name, dataType, opType or numeric");
            }
            List<String> values = new ArrayList<>();
            if (spec.get("values") instanceof List<?> given) {
                given.forEach(value -> values.add(String.valueOf(value)));
            }
            specs.add(new FieldSpec(name, dataType, opType, numeric, List.copyOf(values)));
        }
        return specs;
    }
}
