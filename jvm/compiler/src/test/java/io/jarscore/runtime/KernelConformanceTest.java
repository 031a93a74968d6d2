package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fast kernel against JPMML-Evaluator on the conformance corpus: every case the kernel compiler
 * supports gets a kernel, the kernel passes verification on the case's input rows, and agrees with
 * JPMML again on the same rows with each field in turn made missing.
 */
class KernelConformanceTest {

    /** Cases without a kernel, on purpose: constructs outside {@link io.jarscore.kernel.Supported}. */
    static final Set<String> WITHOUT_KERNEL = Set.of(
        "AdaBoostAuto",                 // weightedMedian
        "ConstantPredicateTest",        // no target field
        "IsolationForestAuto",          // no target field
        "IsotonicRegressionAuto",       // NormContinuous outliers asExtremeValues
        "LinearDiscriminantAnalysisSentiment", "LinearSVCSentiment", "LogisticRegressionSentiment",
        "RandomForestSentiment", "XGBoostSentiment", // text functions (DefineFunction, TextIndex)
        "SelectFirstAudit", "SelectFirstAuto");      // selectFirst with missingPredictionTreatment continue

    /**
     * Cases whose kernel is refused at verification, on purpose: JPMML-Transpiler turns XGBoost's
     * one-split trees into running float sums (root score plus deltas) whose rounding differs from
     * the PMML's leaf scores by an ulp; the kernel follows the PMML, so the scorer keeps the JPMML path.
     */
    static final Set<String> REFUSED = Set.of();

    /** Rows of a case scored with each field in turn made missing in every other row. */
    static final int FIELD_ROWS = 200;

    static Stream<Corpus.Case> cases() {
        return Corpus.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelAgreesWithJpmml(Corpus.Case testCase) throws Exception {
        Corpus.Table input = Corpus.readCsv(testCase.input());
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            if (WITHOUT_KERNEL.contains(testCase.name())) {
                assertTrue(model.kernelStatus().startsWith("absent: "), model.kernelStatus());
                return;
            }
            assertTrue(model.kernelStatus().startsWith("unverified"), model.kernelStatus());
            int rows = input.rows().size();
            Object[] columns = Corpus.inputColumns(model, input);
            String status = model.verifyKernel(columns, rows);
            if (REFUSED.contains(testCase.name())) {
                assertTrue(status.startsWith("refused: verification row"), status);
                assertNull(model.kernel());
                return;
            }
            assertEquals("active", status, testCase.name());
            assertNotNull(model.kernel());
            try (Model reference = Model.loadPmml(testCase.pmml())) {
                assertMapsAgree(model, reference, columns, rows);
                assertColumnsAgree(testCase, model, reference, columns, rows, "all rows");
                assertColumnsAgree(testCase, model, reference, staggered(columns, rows), rows,
                    "row r missing field r % fields");
                // one field at a time on the first FIELD_ROWS rows: JPMML scores them one by one, and
                // on the Audit cases (integer fields, fractional thresholds) each of its comparisons
                // throws and catches a NumberFormatException
                int fieldRows = Math.min(rows, FIELD_ROWS);
                for (int f = 0; f < columns.length; f++) {
                    Object[] holed = new Object[columns.length];
                    for (int c = 0; c < columns.length; c++) {
                        holed[c] = columns[c] instanceof double[] d ? Arrays.copyOf(d, fieldRows)
                            : Arrays.copyOf((String[]) columns[c], fieldRows);
                    }
                    holed[f] = holed[f] instanceof double[] d ? every(d, fieldRows) : every((String[]) holed[f], fieldRows);
                    assertAgree(model, reference, holed, fieldRows,
                        "field " + model.inputFields().get(f).name() + " missing in every other row");
                }
            }
        }
    }

    /**
     * score(Map) on the kernel path gives what JPMML-Evaluator gives: the same keys, the same Java
     * type per value (Integer labels stay Integer, float32 outputs Float), numbers within 1e-12
     * relative, and the same refusal where JPMML refuses the row.
     */
    static void assertMapsAgree(Model model, Model reference, Object[] columns, int rows) {
        long before = model.kernelRowsScored();
        int scored = 0;
        for (int r = 0; r < Math.min(rows, 50); r++) {
            java.util.Map<String, Object> row = new java.util.HashMap<>();
            for (int c = 0; c < columns.length; c++) {
                Object v = columns[c] instanceof double[] d ? (Double.isNaN(d[r]) ? null : (Object) d[r]) : ((String[]) columns[c])[r];
                if (v != null) {
                    row.put(model.inputFields().get(c).name(), v);
                }
            }
            java.util.Map<String, Object> want;
            try {
                want = reference.score(row);
            } catch (ScoringException e) {
                int at = r;
                assertThrows(ScoringException.class, () -> model.score(row), "row " + at + ": JPMML refuses it");
                continue;
            }
            java.util.Map<String, Object> got = model.score(row);
            assertEquals(want.keySet(), got.keySet(), "row " + r);
            for (String key : want.keySet()) {
                Object w = want.get(key);
                Object g = got.get(key);
                assertEquals(w.getClass(), g.getClass(), "row " + r + " '" + key + "': " + g + " vs JPMML " + w);
                if (w instanceof Number n) {
                    assertTrue(Model.agrees(((Number) g).doubleValue(), n.doubleValue()), "row " + r + " '" + key + "': " + g + " vs JPMML " + w);
                } else {
                    assertEquals(w, g, "row " + r + " '" + key + "'");
                }
            }
            scored++;
        }
        assertTrue(model.kernelRowsScored() - before >= scored, "the Map rows went through the kernel");
    }

    /**
     * scoreColumns with the kernel active gives JPMML-Evaluator's columns (numbers within 1e-12
     * relative, labels equal) and the kernel ran. A batch it refuses is one whose rows the kernel
     * leaves to the transpiled classes, which refuse it too: as the batch went before the kernel
     * scored batches. Batches the interpreter refuses are not compared.
     */
    static void assertColumnsAgree(Corpus.Case testCase, Model model, Model reference, Object[] columns, int rows,
                                   String what) throws Exception {
        Object[] want;
        try {
            want = reference.scoreColumns(columns, rows);
        } catch (ScoringException e) {
            return;
        }
        long before = model.kernelRowsScored();
        Object[] got;
        try {
            got = model.scoreColumns(columns, rows);
        } catch (ScoringException e) {
            try (Model withoutKernel = Corpus.loadTranspiled(testCase.name())) {
                assertThrows(ScoringException.class, () -> withoutKernel.scoreColumns(columns, rows),
                    what + ": the kernel's batch failed where the transpiled classes alone do not: " + e.getMessage());
            }
            return;
        }
        assertTrue(model.kernelRowsScored() - before >= rows, what + ": the batch went through the kernel");
        for (int j = 0; j < want.length; j++) {
            for (int r = 0; r < rows; r++) {
                String at = what + ": row " + r + " '" + model.resultFields().get(j).name() + "'";
                if (want[j] instanceof double[] w) {
                    double g = ((double[]) got[j])[r];
                    assertTrue(Model.agrees(g, w[r]), at + ": " + g + " vs JPMML " + w[r]);
                } else {
                    assertEquals(((String[]) want[j])[r], ((String[]) got[j])[r], at);
                }
            }
        }
    }

    /** The columns with row r's field r % fields missing: every field missing somewhere, in one batch. */
    private static Object[] staggered(Object[] columns, int rows) {
        Object[] holed = new Object[columns.length];
        for (int f = 0; f < columns.length; f++) {
            if (columns[f] instanceof double[] d) {
                double[] copy = Arrays.copyOf(d, rows);
                for (int r = f; r < rows; r += columns.length) {
                    copy[r] = Double.NaN;
                }
                holed[f] = copy;
            } else {
                String[] copy = Arrays.copyOf((String[]) columns[f], rows);
                for (int r = f; r < rows; r += columns.length) {
                    copy[r] = null;
                }
                holed[f] = copy;
            }
        }
        return holed;
    }

    private static double[] every(double[] column, int rows) {
        double[] copy = Arrays.copyOf(column, rows);
        for (int r = 0; r < rows; r += 2) {
            copy[r] = Double.NaN;
        }
        return copy;
    }

    private static String[] every(String[] column, int rows) {
        String[] copy = Arrays.copyOf(column, rows);
        for (int r = 0; r < rows; r += 2) {
            copy[r] = null;
        }
        return copy;
    }

    /** Rows JPMML rejects are skipped (the kernel defers those to JPMML by design). */
    static void assertAgree(Model model, Model reference, Object[] columns, int rows, String what) throws Exception {
        KernelRunner k = (KernelRunner) KernelRunner.find(
            (java.net.URLClassLoader) model.kernel().getClass().getClassLoader(),
            model.inputFields().stream().map(FieldSpec::name).toList(),
            model.resultFields().stream().map(FieldSpec::name).toList());
        double[] in = k.encode(columns, rows);
        double[] out = new double[rows * k.outputs];
        k.scoreRaw(in, rows, out, 1);
        for (int r = 0; r < rows; r++) {
            Object[] one = new Object[columns.length];
            for (int c = 0; c < columns.length; c++) {
                one[c] = columns[c] instanceof double[] d ? new double[]{d[r]} : new String[]{((String[]) columns[c])[r]};
            }
            Object[] expected;
            try {
                expected = reference.scoreColumns(one, 1);
            } catch (ScoringException e) {
                continue; // JPMML rejects the row; the kernel's answer there is never used unchecked
            }
            for (int j = 0; j < k.outputs; j++) {
                Object want = expected[j] instanceof double[] d ? (Object) d[0] : ((String[]) expected[j])[0];
                double got = out[r * k.outputs + j];
                if (Double.isNaN(got)) {
                    continue; // deferred to JPMML: correct by construction
                }
                assertTrue(Model.agrees(got, k.encodeResult(want, j)), what + ": row " + r + " output "
                    + model.resultFields().get(j).name() + ": kernel " + got + ", JPMML " + want);
            }
        }
    }
}
