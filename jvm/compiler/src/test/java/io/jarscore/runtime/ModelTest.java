package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.dmg.pmml.PMML;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input, bad artifacts and concurrent use of {@link Model}. */
class ModelTest {

    /** Audit rows; Employment is categorical with the default invalidValueTreatment (returnInvalid). */
    private static Model audit;
    /** The same features, but every MiningField says invalidValueTreatment="asMissing". */
    private static Model auditNA;
    private static Corpus.Table auditInput;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws Exception {
        audit = Corpus.loadTranspiled("LightGBMAudit");
        auditNA = Corpus.loadTranspiled("LightGBMAuditNA");
        auditInput = Corpus.readCsv(Corpus.get("LightGBMAudit").input());
    }

    @AfterAll
    static void close() {
        audit.close();
        auditNA.close();
    }

    private static Map<String, Object> firstAuditRow() {
        return new HashMap<>(Corpus.inputRow(audit, auditInput, 0));
    }

    @Test
    void fieldsAreDescribed() {
        assertEquals(List.of("Employment", "Education", "Marital", "Occupation", "Gender", "Age", "Income", "Hours"),
            audit.inputFields().stream().map(FieldSpec::name).toList());
        FieldSpec age = audit.inputFields().get(5);
        assertEquals(new FieldSpec("Age", "integer", "continuous", true, List.of()), age);
        assertTrue(audit.inputFields().get(0).values().contains("Private"));
        assertEquals(List.of("Adjusted", "probability(0)", "probability(1)"),
            audit.resultFields().stream().map(FieldSpec::name).toList());
        assertEquals(List.of("Adjusted"), audit.targetNames());
        assertEquals("classification", audit.miningFunction());
    }

    @Test
    void scoreAndScoreColumnsAgree() {
        Map<String, Object> row = audit.score(Corpus.inputRow(audit, auditInput, 0));
        Object[] columns = audit.scoreColumns(Corpus.inputColumns(audit, auditInput), auditInput.rows().size());
        assertEquals(((String[]) columns[0])[0], row.get("Adjusted").toString());
        assertEquals(((double[]) columns[1])[0], (Double) row.get("probability(0)"));
        assertEquals(((double[]) columns[2])[0], (Double) row.get("probability(1)"));
    }

    @Test
    void textWhereANumberBelongsNamesFieldAndValue() {
        Map<String, Object> row = firstAuditRow();
        row.put("Age", "forty");
        ScoringException e = assertThrows(ScoringException.class, () -> audit.score(row));
        assertMessageNames(e, "Age", "forty");

        Object[] columns = Corpus.inputColumns(audit, auditInput);
        String[] ages = new String[auditInput.rows().size()];
        java.util.Arrays.fill(ages, "38");
        ages[3] = "forty";
        columns[5] = ages; // Age given as text; the model converts the valid ones
        ScoringException batch = assertThrows(ScoringException.class, () -> audit.scoreColumns(columns, ages.length));
        assertMessageNames(batch, "row 3", "Age", "forty");
    }

    @Test
    void unknownCategoryIsRejectedWhenTheModelSaysReturnInvalid() {
        Map<String, Object> row = firstAuditRow();
        row.put("Employment", "Astronaut");
        ScoringException e = assertThrows(ScoringException.class, () -> audit.score(row));
        assertMessageNames(e, "Employment", "Astronaut");
        assertTrue(e.getMessage().contains("Private"), "lists the valid values: " + e.getMessage());
    }

    @Test
    void unknownCategoryCountsAsMissingWhenTheModelSaysAsMissing() {
        Map<String, Object> row = new HashMap<>(Corpus.inputRow(auditNA, auditInput, 0));
        row.put("Employment", "Astronaut");
        Map<String, Object> unknown = auditNA.score(row);
        row.put("Employment", null);
        Map<String, Object> missing = auditNA.score(row);
        assertEquals(missing, unknown);
    }

    @Test
    void wrongNumberOfColumnsIsAScoringException() {
        Object[] columns = Corpus.inputColumns(audit, auditInput);
        Object[] tooFew = java.util.Arrays.copyOf(columns, columns.length - 1);
        ScoringException e = assertThrows(ScoringException.class, () -> audit.scoreColumns(tooFew, 2));
        assertMessageNames(e, "expected 8 input columns", "got 7");
        Object[] tooMany = java.util.Arrays.copyOf(columns, columns.length + 1);
        tooMany[columns.length] = new double[auditInput.rows().size()];
        assertThrows(ScoringException.class, () -> audit.scoreColumns(tooMany, 2));
    }

    @Test
    void columnsShorterThanRowsAreAScoringException() {
        Object[] columns = Corpus.inputColumns(audit, auditInput);
        columns[6] = new double[]{81838, 72099};
        ScoringException e = assertThrows(ScoringException.class, () -> audit.scoreColumns(columns, 3));
        assertMessageNames(e, "Income", "2 values", "3 rows");
        assertThrows(ScoringException.class, () -> audit.scoreColumns(columns, -1));
        assertEquals(2, ((double[]) audit.scoreColumns(columns, 2)[1]).length); // longer columns: the first rows
    }

    @Test
    void columnOfTheWrongJavaTypeIsAScoringException() {
        Object[] columns = Corpus.inputColumns(audit, auditInput);
        columns[5] = new int[auditInput.rows().size()];
        ScoringException e = assertThrows(ScoringException.class, () -> audit.scoreColumns(columns, 2));
        assertMessageNames(e, "Age", "double[] or String[]");
    }

    @Test
    void missingJarIsAnArtifactException() {
        ArtifactException e = assertThrows(ArtifactException.class, () -> Model.loadJar(tmp.resolve("none.jar")));
        assertMessageNames(e, "none.jar");
    }

    @Test
    void garbageFileAsJarIsAnArtifactException() throws Exception {
        Path garbage = tmp.resolve("garbage.jar");
        byte[] bytes = new byte[4096];
        new Random(7).nextBytes(bytes);
        Files.write(garbage, bytes);
        assertMessageNames(assertThrows(ArtifactException.class, () -> Model.loadJar(garbage)), "garbage.jar");

        Path text = tmp.resolve("text.jar");
        Files.writeString(text, "not a jar\n");
        assertThrows(ArtifactException.class, () -> Model.loadJar(text));
    }

    @Test
    void jarWithoutAModelIsAnArtifactException() throws Exception {
        Path jar = tmp.resolve("empty-model.jar");
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("readme.txt"));
            zip.write("nothing here".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        assertMessageNames(assertThrows(ArtifactException.class, () -> Model.loadJar(jar)), "empty-model.jar");
    }

    @Test
    void pmmlThatIsNotXmlIsAnArtifactException() throws Exception {
        Path pmml = tmp.resolve("model.pmml");
        Files.writeString(pmml, "{\"this\": \"is json\"}\n");
        assertMessageNames(assertThrows(ArtifactException.class, () -> Model.loadPmml(pmml)), "model.pmml");

        Path truncated = tmp.resolve("truncated.pmml");
        String full = Files.readString(Corpus.get("LightGBMAudit").pmml());
        Files.writeString(truncated, full.substring(0, full.length() / 2));
        assertThrows(ArtifactException.class, () -> Model.loadPmml(truncated));

        assertThrows(ArtifactException.class, () -> Model.loadPmml(tmp.resolve("absent.pmml")));
    }

    @Test
    void aValueThatDoesNotParseAsItsFieldsTypeIsReadAsBefore() throws Exception {
        // JPMML-Evaluator's optimizers parse predicate values once at load; one that does not parse
        // stays as written, so the model loads and only a row that reaches it fails, as it did
        // without them.
        Path pmml = tmp.resolve("model.pmml");
        Files.writeString(pmml, """
            <PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
              <Header/>
              <DataDictionary>
                <DataField name="x" optype="continuous" dataType="double"/>
                <DataField name="y" optype="continuous" dataType="double"/>
              </DataDictionary>
              <TreeModel functionName="regression" noTrueChildStrategy="returnLastPrediction">
                <MiningSchema>
                  <MiningField name="x"/>
                  <MiningField name="y" usageType="target"/>
                </MiningSchema>
                <Node score="0">
                  <True/>
                  <Node score="1"><SimplePredicate field="x" operator="lessThan" value="1"/></Node>
                  <Node score="2"><SimplePredicate field="x" operator="greaterThan" value="ten"/></Node>
                </Node>
              </TreeModel>
            </PMML>
            """);
        try (Model model = Model.loadPmml(pmml)) {
            assertEquals(1.0, ((Number) model.score(Map.of("x", 0.5)).get("y")).doubleValue());
            ScoringException e = assertThrows(ScoringException.class, () -> model.score(Map.of("x", 5.0)));
            assertTrue(e.getMessage().contains("ten"), e.getMessage());
        }
    }

    @Test
    void theOneParseDescribesTheFieldsAsAParseOfItsOwn() throws Exception {
        Path pmml = Corpus.get("LightGBMAudit").pmml();
        List<PMML> seen = new ArrayList<>();
        try (Model model = Model.loadPmml(pmml, seen::add)) {
            assertEquals(1, seen.size());
            PMML own;
            try (var in = Files.newInputStream(pmml)) {
                own = org.jpmml.model.PMMLUtil.unmarshal(in);
            }
            assertEquals(Model.describe(own, pmml), Model.describe(model, pmml));
        }
    }

    @Test
    void aKernelJarScoresBeforeItsTranspiledClassesLoad() throws Exception {
        // The kernel JAR records the fields callers see, so a load needs none of the transpiled
        // classes: here they cannot load at all (the PMML service entry is gone), and the kernel,
        // checked against the outputs recorded for some rows, scores anyway. A row only JPMML can
        // judge (an unknown category) then gets an error saying why JPMML is not there.
        Path jar = tmp.resolve("model.jar");
        List<String> names = rewriteAuditJar(jar, (name, bytes) -> name.equals("META-INF/services/org.dmg.pmml.PMML") ? null : bytes);
        assertTrue(names.contains(ModelFields.ENTRY), "the kernel JAR records " + ModelFields.ENTRY);
        int rows = 50;
        Object[] columns = Corpus.inputColumns(audit, auditInput);
        Object[] expected = audit.scoreColumns(columns, rows);
        try (Model broken = Model.loadJar(jar)) {
            assertEquals(audit.inputFields(), broken.inputFields());
            assertEquals(audit.resultFields(), broken.resultFields());
            assertEquals("classification", broken.miningFunction());
            assertEquals("active", broken.verifyKernel(columns, rows, expected));
            Object[] got = broken.scoreColumns(columns, rows);
            assertArrayEquals((String[]) expected[0], (String[]) got[0]);
            assertArrayEquals((double[]) expected[2], (double[]) got[2]);

            Map<String, Object> row = firstAuditRow();
            row.put("Employment", "Astronaut");
            ArtifactException e = assertThrows(ArtifactException.class, () -> broken.score(row));
            assertMessageNames(e, "JPMML-Evaluator", "did not load");
        }
        // Without recorded outputs the kernel is checked against JPMML, which is not there: an error, not trust.
        try (Model broken = Model.loadJar(jar)) {
            assertMessageNames(assertThrows(ArtifactException.class, () -> broken.verifyKernel(columns, rows)),
                "did not load");
            assertTrue(broken.kernel() == null, "the kernel is not active");
        }
    }

    @Test
    void aKernelOnlyJarInterpretsItsPmmlForTheRowsTheKernelLeaves() throws Exception {
        Path jar = Corpus.kernelOnly("LightGBMAudit");
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            assertTrue(zip.getEntry("META-INF/services/org.dmg.pmml.PMML") == null, "no transpiled classes");
        }
        Map<String, Object> row = firstAuditRow();
        row.put("Employment", "Astronaut");   // outside the kernel's table: JPMML's to judge
        try (Model model = Model.loadJar(jar)) {
            int rows = 50;
            Object[] columns = Corpus.inputColumns(model, auditInput);
            assertEquals("active", model.verifyKernel(columns, rows));
            // JPMML refuses the value; the interpreter says so as the transpiled classes do
            String refusal = assertThrows(ScoringException.class, () -> audit.score(row)).getMessage();
            assertEquals(refusal, assertThrows(ScoringException.class, () -> model.score(row)).getMessage());
            assertEquals(audit.score(firstAuditRow()), model.score(firstAuditRow()));
            long kernelRows = model.kernelRowsScored();
            model.scoreColumns(columns, rows);
            assertEquals(kernelRows + rows, model.kernelRowsScored(), "rows in the tables are the kernel's");
        }
        // Alone, without the PMML: the kernel's rows score, the others fail saying what is missing.
        Path alone = tmp.resolve("alone/model.jar");
        Files.createDirectories(alone.getParent());
        Files.copy(jar, alone);
        try (Model model = Model.loadJar(alone)) {
            Object[] columns = Corpus.inputColumns(model, auditInput);
            Object[] expected = audit.scoreColumns(columns, 50);
            assertEquals("active", model.verifyKernel(columns, 50, expected));
            assertArrayEquals((double[]) expected[2], (double[]) model.scoreColumns(columns, 50)[2]);
            ArtifactException e = assertThrows(ArtifactException.class, () -> model.score(row));
            assertMessageNames(e, "holds the fast kernel only", "model.pmml.gz", alone.getParent().toString());
        }
    }

    @Test
    void aJarLoadedWithJpmmlOnDemandReadsItsPmmlOnlyWhenARowNeedsIt() throws Exception {
        Path kernelOnly = Corpus.kernelOnly("LightGBMAudit");
        Path pmml = Model.siblingPmml(kernelOnly);
        Map<String, Object> astronaut = firstAuditRow();
        astronaut.put("Employment", "Astronaut");   // outside the kernel's table: JPMML's to judge
        String refusal = assertThrows(ScoringException.class, () -> audit.score(astronaut)).getMessage();

        Path jar = tmp.resolve("on-demand/model.jar");
        Files.createDirectories(jar.getParent());
        Files.copy(kernelOnly, jar);
        Files.copy(pmml, jar.resolveSibling(pmml.getFileName()));
        try (Model model = Model.loadJar(jar, true)) {
            // past the delay after which a default load reads the PMML, the PMML goes away: the row
            // that needs JPMML now finds none, so nothing read it before
            Object[] columns = Corpus.inputColumns(model, auditInput);
            Object[] expected = audit.scoreColumns(columns, 50);
            assertEquals("active", model.verifyKernel(columns, 50, expected));
            Thread.sleep(Model.JPMML_DELAY_MILLIS + 1_000);
            Files.delete(jar.resolveSibling(pmml.getFileName()));
            assertArrayEquals((double[]) expected[2], (double[]) model.scoreColumns(columns, 50)[2]);
            assertMessageNames(assertThrows(ArtifactException.class, () -> model.score(astronaut)),
                "holds the fast kernel only", "model.pmml");
        }
        try (Model model = Model.loadJar(kernelOnly, true)) {
            assertEquals(refusal, assertThrows(ScoringException.class, () -> model.score(astronaut)).getMessage());
        }
    }

    /** The audit model's kernel JAR copied to {@code jar}, each entry through {@code edit} (null drops it); the entry names. */
    private static List<String> rewriteAuditJar(Path jar, java.util.function.BiFunction<String, byte[], byte[]> edit) throws Exception {
        List<String> names = new ArrayList<>();
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(Files.newInputStream(Corpus.transpiled("LightGBMAudit")));
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(jar))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                names.add(e.getName());
                byte[] bytes = edit.apply(e.getName(), in.readAllBytes());
                if (bytes != null) {
                    out.putNextEntry(new ZipEntry(e.getName()));
                    out.write(bytes);
                    out.closeEntry();
                }
            }
        }
        return names;
    }

    @Test
    void interpretedAndTranspiledAgree() throws Exception {
        try (Model interpreted = Model.loadPmml(Corpus.get("LightGBMAudit").pmml())) {
            assertTrue(!interpreted.isTranspiled() && audit.isTranspiled());
            assertEquals(audit.inputFields(), interpreted.inputFields());
            assertEquals(audit.resultFields(), interpreted.resultFields());
            int rows = 300; // the interpreter is slow to warm up
            Object[] a = audit.scoreColumns(Corpus.inputColumns(audit, auditInput), rows);
            Object[] b = interpreted.scoreColumns(Corpus.inputColumns(interpreted, auditInput), rows);
            assertArrayEquals((String[]) a[0], (String[]) b[0]);
            for (int j = 1; j < a.length; j++) {
                double[] x = (double[]) a[j];
                double[] y = (double[]) b[j];
                for (int r = 0; r < rows; r++) {
                    assertEquals(y[r], x[r], 1e-13 + 1e-13 * Math.abs(y[r]), "row " + r);
                }
            }
        }
    }

    @Test
    void concurrentScoringGivesTheSingleThreadedResults() throws Exception {
        int rows = auditInput.rows().size();
        Object[] columns = Corpus.inputColumns(audit, auditInput);
        Object[] reference = audit.scoreColumns(columns, rows);
        List<Map<String, Object>> referenceRows = new ArrayList<>();
        for (int r = 0; r < 200; r++) {
            referenceRows.add(audit.score(Corpus.inputRow(audit, auditInput, r)));
        }

        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t * 50;
                Callable<Void> task = () -> {
                    for (int round = 0; round < 3; round++) {
                        Object[] result = audit.scoreColumns(columns, rows);
                        assertArrayEquals((String[]) reference[0], (String[]) result[0]);
                        assertArrayEquals((double[]) reference[1], (double[]) result[1]);
                        assertArrayEquals((double[]) reference[2], (double[]) result[2]);
                        for (int i = 0; i < referenceRows.size(); i++) {
                            int r = (i + offset) % referenceRows.size(); // threads work on different rows at once
                            assertEquals(referenceRows.get(r), audit.score(Corpus.inputRow(audit, auditInput, r)));
                        }
                    }
                    return null;
                };
                futures.add(pool.submit(task));
            }
            for (Future<Void> future : futures) {
                future.get(); // rethrows an assertion failure of any thread
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertMessageNames(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(part),
                "message should name " + part + ": " + e.getMessage());
        }
    }
}
