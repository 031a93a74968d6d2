package io.jarscore.registry;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.jarscore.runtime.ArtifactException;
import io.jarscore.runtime.Model;

/**
 * The default {@code beforeSwap} check: the JAR still matches its manifest, and the candidate
 * reproduces the outputs the converter recorded for the manifest's verification rows
 * ({@link #checkRecordedOutputs}, which {@link io.jarscore.Models#load} runs as well).
 */
public final class VerificationValidator implements Validator {

    /** Recorded outputs went through JSON; both sides come from the same JAR, so this is generous. */
    static final double TOLERANCE = 1e-9;
    /**
     * A float32 output (XGBoost's, PMML dataType "float") may come from the kernel or from the
     * transpiled classes, whose float32 sums are ordered differently: an ulp or two apart (6e-8 each).
     */
    static final double FLOAT32_TOLERANCE = 1e-6;
    private static final System.Logger LOG = System.getLogger(VerificationValidator.class.getName());

    @Override
    public boolean accept(ModelVersion candidate) {
        String expected = String.valueOf(((Map<?, ?>) ((Map<?, ?>) candidate.manifest().get("files"))
            .get(Artifact.JAR)).get("sha256"));
        String actual = Artifact.sha256(candidate.directory().resolve(Artifact.JAR));
        if (!expected.equals(actual)) {
            throw new IllegalStateException(Artifact.JAR + " changed after it was checked (sha256 " + actual
                + ", manifest says " + expected + ")");
        }
        checkRecordedOutputs(candidate.model(), candidate.manifest(), candidate.toString());
        return true;
    }

    /**
     * Throws {@link ArtifactException} naming the row and field unless {@code model} reproduces every
     * output the manifest recorded for its verification rows: numbers within 1e-9 relative and absolute
     * (1e-6 for an output whose data_type is "float"), a recorded null (a non-finite value) matches anything, other values compare as strings.
     * {@code what} names the model in the message.
     */
    public static void checkRecordedOutputs(Model model, Map<String, Object> manifest, String what) {
        if (manifest.get("verification") == null
            || manifest.get("verification") instanceof Map<?, ?> empty && empty.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "{0}: the manifest has no verification rows; only its checksums were checked",
                what);
            return;
        }
        if (!(manifest.get("verification") instanceof Map<?, ?> verification
            && verification.get("rows") instanceof List<?> rows && verification.get("outputs") instanceof List<?> outputs
            && rows.size() == outputs.size())) {
            throw new ArtifactException(what + ": the manifest's verification needs as many 'rows' as 'outputs'");
        }
        Set<String> float32 = new HashSet<>();
        if (manifest.get("outputs") instanceof List<?> fields) {
            for (Object field : fields) {
                if (field instanceof Map<?, ?> spec && "float".equals(spec.get("data_type"))) {
                    float32.add(String.valueOf(spec.get("name")));
                }
            }
        }
        for (int r = 0; r < rows.size(); r++) {
            if (!(rows.get(r) instanceof Map<?, ?> row) || !(outputs.get(r) instanceof Map<?, ?> recordedRow)) {
                throw new ArtifactException(what + ": verification row " + r + " and its outputs must be JSON objects");
            }
            Map<String, Object> input = new LinkedHashMap<>();
            row.forEach((k, v) -> input.put(String.valueOf(k), v));
            Map<String, Object> scored;
            try {
                scored = model.score(input);
            } catch (RuntimeException e) {
                throw new ArtifactException(what + ": verification row " + r + " does not score: " + e.getMessage(), e);
            }
            for (Map.Entry<?, ?> recorded : recordedRow.entrySet()) {
                String field = String.valueOf(recorded.getKey());
                Object value = scored.get(field);
                if (!same(recorded.getValue(), value, float32.contains(field) ? FLOAT32_TOLERANCE : TOLERANCE)) {
                    throw new ArtifactException(what + ": verification row " + r + ": '" + recorded.getKey() + "' is "
                        + value + ", the manifest recorded " + recorded.getValue()
                        + "; the artifact does not score as it did when converted");
                }
            }
        }
    }

    static boolean same(Object recorded, Object actual, double tolerance) {
        if (recorded == null) {
            return true; // recorded as null: a non-finite value JSON cannot hold
        }
        if (recorded instanceof Number expected) {
            double b;
            if (actual instanceof Number number) {
                b = number.doubleValue();
            } else {
                try {
                    b = Double.parseDouble(String.valueOf(actual));
                } catch (NumberFormatException e) {
                    return false;
                }
            }
            double a = expected.doubleValue();
            // Python's math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
            return a == b || Math.abs(a - b) <= Math.max(tolerance * Math.max(Math.abs(a), Math.abs(b)), tolerance);
        }
        return String.valueOf(recorded).equals(String.valueOf(actual));
    }
}
