package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Transpiles the cases of the JPMML-Transpiler conformance corpus, scores each case's
 * input through {@link Model#scoreColumns} and compares every expected column with the rules of the
 * corpus README. A missing corpus fails the test (it is never skipped).
 */
class ConformanceTest {

    /** Cases that must be in the corpus and in this run (the rest of cases.json comes along). */
    static final List<String> REQUIRED = List.of(
        "LightGBMAudit",
        "LightGBMAutoNA",
        "XGBoostAudit",
        "RandomForestIris",
        "LogisticRegressionSentiment",
        "GradientBoostingAuto");

    /**
     * Every case of cases.json. Vectorized cases take their x_0 ... x_3 columns as separate inputs;
     * the runtime folds them into the list-valued field the transpiled model expects.
     */
    static Stream<Corpus.Case> cases() {
        REQUIRED.forEach(Corpus::get); // fails when one is missing
        return Corpus.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transpiledModelMatchesExpectedOutput(Corpus.Case testCase) throws Exception {
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            assertTrue(model.isTranspiled());
            assertMatchesExpected(testCase, model);
        }
    }

    /**
     * The JAR the converter writes by default: the kernel alone where there is one (checked against
     * JPMML interpreting the case's PMML, which then scores the rows the kernel leaves to it), else
     * JPMML-Transpiler's classes beside it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelOnlyJarMatchesExpectedOutput(Corpus.Case testCase) throws Exception {
        Path jar = Corpus.kernelOnly(testCase.name());
        boolean classes;
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            classes = zip.getEntry("META-INF/services/org.dmg.pmml.PMML") != null;
        }
        // folded x_N inputs: their order comes from the transpiled classes, which then stay
        assertEquals(KernelConformanceTest.WITHOUT_KERNEL.contains(testCase.name()) || testCase.vectorizedInput(), classes,
            "JPMML-Transpiler's classes are in the JAR exactly when there is no kernel or the inputs are folded");
        Corpus.Table input = Corpus.readCsv(testCase.input());
        try (Model model = Model.loadJar(jar)) {
            if (!classes) {
                assertEquals("active", model.verifyKernel(Corpus.inputColumns(model, input), input.rows().size()));
            }
            if (!INTERPRETER_DIFFERS.contains(testCase.name())) {
                assertMatchesExpected(testCase, model);
                return;
            }
            try (Model interpreter = Model.loadPmml(testCase.pmml())) {
                List<String> differ = mismatches(testCase, interpreter);
                assertFalse(differ.isEmpty(), testCase.name() + ": JPMML-Evaluator's interpreter is within tolerance now;"
                    + " take the case out of INTERPRETER_DIFFERS");
                assertEquals(differ, mismatches(testCase, model), "the kernel-only JAR gives what the interpreter gives");
            }
        }
    }

    /**
     * Cases whose expected values JPMML-Evaluator's interpreter, and so the kernel that follows it,
     * misses by more than the corpus allows: XGBoost sums its trees in float32 in an order the
     * transpiled classes reproduce and the PMML's Segmentation does not (tens of float32 ULPs apart).
     * On these the kernel-only JAR must give exactly the interpreter's values.
     */
    static final java.util.Set<String> INTERPRETER_DIFFERS = java.util.Set.of(
        "XGBoostAudit", "XGBoostAuditNA", "XGBoostAuto", "XGBoostAutoNA");

    private static void assertMatchesExpected(Corpus.Case testCase, Model model) {
        List<String> mismatches = mismatches(testCase, model);
        if (!mismatches.isEmpty()) {
            fail(mismatches.get(0) + " (" + describe(testCase) + "): " + String.join("; ", mismatches.subList(1, Math.min(11, mismatches.size()))));
        }
    }

    /** Empty when every expected value is within tolerance; else a summary line, then the first mismatches. */
    private static List<String> mismatches(Corpus.Case testCase, Model model) {
        Corpus.Table input = Corpus.readCsv(testCase.input());
        Corpus.Table expected = Corpus.readCsv(testCase.expected());
        assertEquals(input.rows().size(), expected.rows().size(), "input and expected row counts");
        Object[] actual = model.scoreColumns(Corpus.inputColumns(model, input), input.rows().size());
        List<String> resultNames = model.resultFields().stream().map(FieldSpec::name).toList();

        List<String> mismatches = new ArrayList<>();
        int compared = 0;
        for (String column : expected.header()) {
            if (testCase.excludeColumns().contains(column)) {
                continue;
            }
            int j = resultNames.indexOf(column);
            if (j < 0) {
                fail("the model has no result field '" + column + "' (it has " + resultNames + ")");
            }
            int e = expected.column(column);
            for (int r = 0; r < expected.rows().size(); r++) {
                String want = expected.rows().get(r)[e];
                Object got = actual[j] instanceof double[] d ? (Object) d[r] : ((String[]) actual[j])[r];
                if (!matches(testCase, want, got)) {
                    mismatches.add("row " + r + " " + column + ": expected " + want + ", got " + got);
                }
                compared++;
            }
        }
        assertTrue(compared > 0, "no values compared");
        if (!mismatches.isEmpty()) {
            mismatches.add(0, mismatches.size() + " of " + compared + " values outside tolerance");
        }
        return mismatches;
    }

    /** The README's rules: numbers within abs + rel * |expected| or within ulps float32 ULPs; strings equal. */
    static boolean matches(Corpus.Case testCase, String expected, Object actual) {
        if (expected == null) {
            return actual == null || (actual instanceof Double d && d.isNaN());
        }
        if (actual instanceof String s) {
            return expected.equals(s);
        }
        double e = Double.parseDouble(expected);
        double a = (Double) actual;
        if (testCase.kind().equals("float_ulps")) {
            float ef = (float) e;
            float af = (float) a;
            return Math.abs(ef - af) <= testCase.ulps() * Math.ulp(ef);
        }
        assertEquals("pmml", testCase.kind(), "unknown tolerance kind");
        return Math.abs(e - a) <= testCase.abs() + testCase.rel() * Math.abs(e);
    }

    @Test
    void toleranceRules() {
        Corpus.Case pmml = new Corpus.Case("t", null, null, null, "pmml", 1e-13, 1e-13, 0, List.of(), false);
        assertTrue(matches(pmml, "1.0", 1.0 + 1e-13));
        assertFalse(matches(pmml, "1.0", 1.0 + 1e-12));
        assertTrue(matches(pmml, "1000", 1000 + 1e-11));
        assertFalse(matches(pmml, "1000", 1000 + 1e-9));
        assertTrue(matches(pmml, "setosa", "setosa"));
        assertFalse(matches(pmml, "setosa", "virginica"));
        assertFalse(matches(pmml, "0.5", Double.NaN));

        Corpus.Case ulps = new Corpus.Case("t", null, null, null, "float_ulps", 0, 0, 2, List.of(), false);
        float expected = 0.0047299224f;
        assertTrue(matches(ulps, Float.toString(expected), (double) Math.nextUp(Math.nextUp(expected))));
        assertFalse(matches(ulps, Float.toString(expected), (double) Math.nextUp(Math.nextUp(Math.nextUp(expected)))));
        assertTrue(matches(ulps, Float.toString(expected), (double) expected + 1e-12)); // same float32
    }

    private static String describe(Corpus.Case testCase) {
        return testCase.kind().equals("float_ulps") ? testCase.ulps() + " float32 ULPs"
            : "abs " + testCase.abs() + ", rel " + testCase.rel();
    }
}
