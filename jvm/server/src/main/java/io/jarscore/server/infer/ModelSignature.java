package io.jarscore.server.infer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.jarscore.registry.ModelVersion;
import io.jarscore.runtime.FieldSpec;

/**
 * What one model version takes and gives, as tensors: one input per field (FP64 for numbers, BYTES
 * for strings, BOOL for booleans), and one output per result field (the label under the target's
 * name, each probability, every other output) plus, for a classifier, {@code probabilities}: the
 * class probabilities as one [rows, classes] tensor in the order of the manifest's classes.
 */
public final class ModelSignature {

    /** The synthetic output holding every class probability of a row. */
    public static final String PROBABILITIES = "probabilities";

    /** One output tensor: the result columns it is made of (one, or the probabilities) and its type. */
    public record Output(String name, DataType type, int[] columns) {

        /** The tensor's shape for {@code rows} rows: [rows], or [rows, classes] for the probabilities. */
        public long[] shape(long rows) {
            return columns.length == 1 ? new long[]{rows} : new long[]{rows, columns.length};
        }
    }

    private final String name;
    private final int version;
    private final String platform;
    private final List<FieldSpec> inputs;
    private final Map<String, Integer> inputIndex = new HashMap<>();
    /** The native model's training columns (the manifest's features), which may hold unused ones. */
    private final List<String> features;
    private final List<FieldSpec> results;
    private final Map<String, Output> outputs = new LinkedHashMap<>();

    private ModelSignature(ModelVersion version) {
        this.name = version.name();
        this.version = version.version();
        this.inputs = version.model().inputFields();
        this.results = version.model().resultFields();
        for (int i = 0; i < inputs.size(); i++) {
            inputIndex.put(inputs.get(i).name(), i);
        }
        Map<String, Object> manifest = version.manifest();
        this.features = strings(manifest.get("features"));
        this.platform = platform(manifest);
        for (int j = 0; j < results.size(); j++) {
            FieldSpec field = results.get(j);
            outputs.put(field.name(), new Output(field.name(), outputType(field), new int[]{j}));
        }
        List<String> probabilities = strings(manifest.get("probability_fields"));
        if (!probabilities.isEmpty() && !outputs.containsKey(PROBABILITIES)) {
            int[] columns = new int[probabilities.size()];
            boolean allFloat = true;
            for (int k = 0; k < columns.length; k++) {
                Output single = outputs.get(probabilities.get(k));
                if (single == null || !results.get(single.columns()[0]).numeric()) {
                    columns = null;
                    break;
                }
                columns[k] = single.columns()[0];
                allFloat &= single.type() == DataType.FP32;
            }
            if (columns != null) {
                outputs.put(PROBABILITIES, new Output(PROBABILITIES, allFloat ? DataType.FP32 : DataType.FP64, columns));
            }
        }
    }

    /** The signature of a loaded version (cheap; the server keeps one per served version). */
    public static ModelSignature of(ModelVersion version) {
        return new ModelSignature(version);
    }

    public String name() {
        return name;
    }

    public int version() {
        return version;
    }

    /** "jarscore_&lt;family&gt;" from the manifest (e.g. jarscore_lightgbm), for OIP's platform field. */
    public String platform() {
        return platform;
    }

    public List<FieldSpec> inputs() {
        return inputs;
    }

    /** The input's position in {@link #inputs()}, or -1. */
    public int inputIndex(String field) {
        return inputIndex.getOrDefault(field, -1);
    }

    public List<String> features() {
        return features;
    }

    public List<FieldSpec> results() {
        return results;
    }

    /** Every output tensor by name, in order: the result fields, then the probabilities. */
    public Map<String, Output> outputs() {
        return outputs;
    }

    public List<String> inputNames() {
        return inputs.stream().map(FieldSpec::name).toList();
    }

    public List<String> outputNames() {
        return new ArrayList<>(outputs.keySet());
    }

    /** The tensor type an input field is sent as. */
    public static DataType inputType(FieldSpec field) {
        if (field.numeric()) {
            return DataType.FP64;
        }
        return "boolean".equals(field.dataType()) ? DataType.BOOL : DataType.BYTES;
    }

    private static DataType outputType(FieldSpec field) {
        return switch (field.dataType()) {
            case "float" -> DataType.FP32;
            case "double" -> DataType.FP64;
            case "integer" -> DataType.INT64;
            case "boolean" -> DataType.BOOL;
            default -> field.numeric() ? DataType.FP64 : DataType.BYTES;
        };
    }

    private static String platform(Map<String, Object> manifest) {
        if (manifest.get("model") instanceof Map<?, ?> model && model.get("family") instanceof String family) {
            return "jarscore_" + family;
        }
        return "jarscore";
    }

    private static List<String> strings(Object value) {
        List<String> out = new ArrayList<>();
        if (value instanceof List<?> list) {
            for (Object item : list) {
                if (item != null) {
                    out.add(String.valueOf(item));
                }
            }
        }
        return List.copyOf(out);
    }
}
