package io.jarscore.registry;

import java.util.List;
import java.util.Map;

/**
 * The default {@code beforeSwap} check: the JAR still matches its manifest, and the candidate
 * reproduces the outputs the converter recorded for the manifest's verification rows.
 */
public final class VerificationValidator implements Validator {

    /** Recorded outputs went through JSON; both sides come from the same JAR, so this is generous. */
    static final double TOLERANCE = 1e-9;
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
        if (!(candidate.manifest().get("verification") instanceof Map<?, ?> verification)) {
            LOG.log(System.Logger.Level.INFO, "{0}: the manifest has no verification rows; only its checksum was checked",
                candidate);
            return true;
        }
        List<?> rows = (List<?>) verification.get("rows");
        List<?> outputs = (List<?>) verification.get("outputs");
        if (rows == null || outputs == null || rows.size() != outputs.size()) {
            throw new IllegalStateException("the manifest's verification needs as many 'rows' as 'outputs'");
        }
        for (int r = 0; r < rows.size(); r++) {
            @SuppressWarnings("unchecked")
            Map<String, Object> row = (Map<String, Object>) rows.get(r);
            Map<String, Object> scored = candidate.model().score(row);
            for (Map.Entry<?, ?> recorded : ((Map<?, ?>) outputs.get(r)).entrySet()) {
                Object value = scored.get(String.valueOf(recorded.getKey()));
                if (!same(recorded.getValue(), value)) {
                    throw new IllegalStateException("verification row " + r + ": '" + recorded.getKey() + "' is "
                        + value + ", the manifest recorded " + recorded.getValue());
                }
            }
        }
        return true;
    }

    static boolean same(Object recorded, Object actual) {
        if (recorded == null) {
            return true; // recorded as null: a non-finite value JSON cannot hold
        }
        if (recorded instanceof Number expected && actual instanceof Number number) {
            double a = expected.doubleValue();
            double b = number.doubleValue();
            return Math.abs(a - b) <= TOLERANCE * Math.max(1.0, Math.abs(a));
        }
        return String.valueOf(recorded).equals(String.valueOf(actual));
    }
}
