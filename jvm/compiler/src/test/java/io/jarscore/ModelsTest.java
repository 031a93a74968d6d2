package io.jarscore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jarscore.registry.TestRepository;
import io.jarscore.runtime.ArtifactException;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.ScoringException;

/** The public library API on real artifacts: the Iris decision tree (v1) and logistic regression (v2). */
class ModelsTest {

    private static Path root;

    @BeforeAll
    static void publish() throws Exception {
        root = Files.createTempDirectory("jarscore-models-");
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
    }

    @AfterAll
    static void cleanUp() {
        TestRepository.deleteTree(root);
    }

    @Test
    void loadsAnArtifactWithItsMetadata() {
        try (ScoringModel model = Models.load(root.resolve("iris/2"))) {
            assertEquals("iris", model.name());
            assertEquals(2, model.version());
            assertEquals(List.of("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"),
                model.inputs().stream().map(FieldSpec::name).toList());
            assertTrue(model.inputs().stream().allMatch(FieldSpec::numeric));
            assertEquals(List.of("Species", "probability(setosa)", "probability(versicolor)", "probability(virginica)"),
                model.outputs().stream().map(FieldSpec::name).toList());
            assertEquals(List.of("setosa", "versicolor", "virginica"), model.outputs().get(0).values());
        }
    }

    @Test
    void scoresEveryIrisRowAsTheRuntimeDoesFromMapsAndArrays() throws Exception {
        for (int version : new int[]{1, 2}) {
            List<Map<String, Object>> expected = TestRepository.expectedOutputs(version);
            try (ScoringModel model = Models.load(root.resolve("iris/" + version))) {
                List<Map<String, Object>> rows = TestRepository.irisRows();
                for (int r = 0; r < rows.size(); r++) {
                    Map<String, Object> row = rows.get(r);
                    assertEquals(expected.get(r), model.score(row), "v" + version + " row " + r);
                    double[] values = inputValues(model, row);
                    assertEquals(expected.get(r), model.score(values), "v" + version + " row " + r + " as double[]");
                }
            }
        }
    }

    @Test
    void scoresThroughTheVerifiedKernelFromMapsAndArrays() throws Exception {
        for (int version : new int[]{1, 2}) {
            List<Map<String, Object>> expected = TestRepository.expectedOutputs(version);
            List<Map<String, Object>> rows = TestRepository.irisRows();
            try (ScoringModel model = Models.load(root.resolve("iris/" + version))) {
                assertEquals("active", model.kernelStatus(), "v" + version);
                io.jarscore.runtime.Model runtime = ((ArtifactModel) model).runtime();
                assertTrue(runtime.kernelTakesArrays(), "v" + version + ": numeric inputs go to the kernel as they are");
                long before = runtime.kernelRowsScored();
                for (int r = 0; r < rows.size(); r++) {
                    Map<String, Object> row = rows.get(r);
                    double[] values = inputValues(model, row);
                    assertEquals(expected.get(r), model.score(row), "v" + version + " row " + r);
                    assertEquals(expected.get(r), model.score(values), "v" + version + " row " + r + " as double[]");
                }
                assertEquals(2L * rows.size(), runtime.kernelRowsScored() - before,
                    "v" + version + ": every row, from a Map and from an array, went through the kernel");
            }
        }
    }

    /** A row of numbers as the kernel takes it: the model's inputs in order. */
    private static double[] inputValues(ScoringModel model, Map<String, Object> row) {
        return model.inputs().stream().mapToDouble(f -> (Double) row.get(f.name())).toArray();
    }

    @Test
    void sharedRowScoresFromTheCallersBuffersAndDeclinesInfinities() throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows();
        try (ScoringModel model = Models.load(root.resolve("iris/1"))) {
            io.jarscore.runtime.Model runtime = ((ArtifactModel) model).runtime();
            int inputs = model.inputs().size();
            int outputs = runtime.kernelShape()[1];
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocateDirect(8 * inputs);
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocateDirect(8 * outputs);
            io.jarscore.runtime.SharedRow shared = runtime.sharedRow(in, out);
            java.nio.DoubleBuffer row = in.duplicate().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer();
            java.nio.DoubleBuffer result = out.duplicate().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer();
            for (Map<String, Object> r : rows.subList(0, 20)) {
                double[] values = inputValues(model, r);
                row.put(0, values);
                assertTrue(shared.score());
                double[] got = new double[outputs];
                result.get(0, got);
                assertArrayEquals(runtime.scoreKernel(values, 1, 1), got, 0.0, "row " + r);
            }
            long before = runtime.kernelRowsScored();
            result.put(0, new double[outputs]);
            row.put(1, Double.NEGATIVE_INFINITY);
            assertFalse(shared.score(), "an infinite input is left to the caller's checks");
            assertEquals(before, runtime.kernelRowsScored(), "and is not scored");
            assertEquals(0.0, result.get(0), "nor written");
            assertThrows(IllegalArgumentException.class, () -> runtime.sharedRow(
                java.nio.ByteBuffer.allocateDirect(8), java.nio.ByteBuffer.allocateDirect(8 * outputs)));
        }
    }

    @Test
    void sharedBatchScoresTheCallersBufferInBlocksOnThreads() throws Exception {
        // row-major and column-major (Fortran order) inputs alike
        List<Map<String, Object>> rows = TestRepository.irisRows();
        try (ScoringModel model = Models.load(root.resolve("iris/1"))) {
            io.jarscore.runtime.Model runtime = ((ArtifactModel) model).runtime();
            int inputs = model.inputs().size();
            int outputs = runtime.kernelShape()[1];
            int count = 5_000; // above the parallel threshold, ten blocks, the last one short
            double[] values = new double[count * inputs];
            for (int r = 0; r < count; r++) {
                System.arraycopy(inputValues(model, rows.get(r % rows.size())), 0, values, r * inputs, inputs);
            }
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocateDirect(8 * values.length).order(java.nio.ByteOrder.nativeOrder());
            in.asDoubleBuffer().put(values);
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocateDirect(8 * count * outputs);
            long before = runtime.kernelRowsScored();
            runtime.scoreKernelShared(in, count, out, 3);
            assertEquals(count, runtime.kernelRowsScored() - before, "every row went through the kernel");
            double[] got = new double[count * outputs];
            out.order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer().get(got);
            assertArrayEquals(runtime.scoreKernel(values, count, 1), got, 0.0);
            // the same rows column by column (numpy's Fortran order): the same outputs, row-major
            double[] columns = new double[values.length];
            for (int r = 0; r < count; r++) {
                for (int c = 0; c < inputs; c++) {
                    columns[c * count + r] = values[r * inputs + c];
                }
            }
            java.nio.ByteBuffer byColumn = java.nio.ByteBuffer.allocateDirect(8 * columns.length).order(java.nio.ByteOrder.nativeOrder());
            byColumn.asDoubleBuffer().put(columns);
            java.nio.ByteBuffer columnOut = java.nio.ByteBuffer.allocateDirect(8 * count * outputs);
            runtime.scoreKernelSharedColumns(byColumn, count, columnOut, 3);
            double[] fromColumns = new double[count * outputs];
            columnOut.order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer().get(fromColumns);
            assertArrayEquals(got, fromColumns, 0.0, "column-major inputs score as the row-major ones");
            io.jarscore.runtime.ScoringException small = assertThrows(io.jarscore.runtime.ScoringException.class,
                () -> runtime.scoreKernelShared(in, count + 1, out, 1));
            assertTrue(small.getMessage().contains("5001 rows"), small.getMessage());
            io.jarscore.runtime.ScoringException readOnly = assertThrows(io.jarscore.runtime.ScoringException.class,
                () -> runtime.scoreKernelShared(in, count, out.asReadOnlyBuffer(), 1));
            assertTrue(readOnly.getMessage().contains("read-only"), readOnly.getMessage());
        }
    }

    @Test
    void isThreadSafe() throws Exception {
        List<Map<String, Object>> expected = TestRepository.expectedOutputs(2);
        List<Map<String, Object>> rows = TestRepository.irisRows();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (ScoringModel model = Models.load(root.resolve("iris/2"))) {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int offset = t;
                done.add(pool.submit(() -> {
                    int checked = 0;
                    for (int i = 0; i < 20 * rows.size(); i++) {
                        int r = (i + offset * 37) % rows.size();
                        assertEquals(expected.get(r), model.score(rows.get(r)));
                        checked++;
                    }
                    return checked;
                }));
            }
            for (Future<Integer> f : done) {
                assertEquals(20 * rows.size(), f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aMissingValueInADoubleArrayIsNaN() {
        try (ScoringModel model = Models.load(root.resolve("iris/2"))) {
            double[] row = {5.1, 3.5, Double.NaN, 0.2};
            ScoringException e = assertThrows(ScoringException.class, () -> model.score(row));
            assertTrue(e.getMessage().contains("Petal.Length"), e.getMessage());
        }
    }

    @Test
    void theWrongNumberOfValuesNamesTheInputs() {
        try (ScoringModel model = Models.load(root.resolve("iris/1"))) {
            ScoringException e = assertThrows(ScoringException.class, () -> model.score(new double[]{1, 2}));
            assertTrue(e.getMessage().contains("expected 3 values") && e.getMessage().contains("Petal.Width"),
                e.getMessage());
        }
    }

    @Test
    void aWrongTypeNamesTheFieldAndValue() {
        try (ScoringModel model = Models.load(root.resolve("iris/2"))) {
            ScoringException e = assertThrows(ScoringException.class, () -> model.score(Map.of(
                "Sepal.Length", "long", "Sepal.Width", 3.5, "Petal.Length", 1.4, "Petal.Width", 0.2)));
            assertTrue(e.getMessage().contains("Sepal.Length") && e.getMessage().contains("long"), e.getMessage());
        }
    }

    @Test
    void refusesAModifiedJarBeforeLoadingIt() throws Exception {
        Path copy = root.resolve("tampered/1");
        Files.createDirectories(copy);
        for (String file : new String[]{"manifest.json", "model.jar", "model.pmml.gz"}) {
            Files.copy(root.resolve("iris/1").resolve(file), copy.resolve(file));
        }
        byte[] jar = Files.readAllBytes(copy.resolve("model.jar"));
        jar[jar.length / 2] ^= 0x5a;
        Files.write(copy.resolve("model.jar"), jar);
        ArtifactException flipped = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(flipped.getMessage().contains("model.jar does not match its manifest (sha256 "), flipped.getMessage());
        Files.write(copy.resolve("model.jar"), new byte[]{0}, StandardOpenOption.APPEND);
        ArtifactException longer = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(longer.getMessage().contains("model.jar does not match its manifest (" + (jar.length + 1)
            + " bytes, manifest says " + jar.length + ")"), longer.getMessage());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aLoadThatGoesWellLogsNothingAndARefusedKernelWarns() throws Exception {
        java.util.logging.Logger artifactLog = java.util.logging.Logger.getLogger("io.jarscore.registry.Artifact");
        List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Level before = artifactLog.getLevel();
        artifactLog.setLevel(java.util.logging.Level.ALL);
        artifactLog.addHandler(handler);
        try {
            try (ScoringModel model = Models.load(root.resolve("iris/2"))) {
                assertEquals("active", model.kernelStatus());
            }
            assertEquals(List.of(), records.stream().map(java.util.logging.LogRecord::getMessage).toList(),
                "an active kernel is not logged, at any level");

            // recorded outputs the model does not give: the kernel is refused (a warning), then the load
            Path copy = root.resolve("misrecorded/2");
            Files.createDirectories(copy);
            for (String file : new String[]{"manifest.json", "model.jar", "model.pmml.gz"}) {
                Files.copy(root.resolve("iris/2").resolve(file), copy.resolve(file));
            }
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            Map<String, Object> manifest = json.readValue(copy.resolve("manifest.json").toFile(), Map.class);
            Map<String, Object> first = ((List<Map<String, Object>>) ((Map<String, Object>) manifest.get("verification"))
                .get("outputs")).get(0);
            first.put("probability(setosa)", ((Number) first.get("probability(setosa)")).doubleValue() + 0.5);
            json.writeValue(copy.resolve("manifest.json").toFile(), manifest);
            assertThrows(ArtifactException.class, () -> Models.load(copy));
            assertEquals(1, records.size(), records.stream().map(java.util.logging.LogRecord::getMessage).toList().toString());
            assertEquals(java.util.logging.Level.WARNING, records.get(0).getLevel());
            assertTrue(records.get(0).getMessage().contains("fast kernel"), records.get(0).getMessage());
        } finally {
            artifactLog.removeHandler(handler);
            artifactLog.setLevel(before);
        }
    }

    @Test
    void aMissingDirectorySaysWhatWasExpected() {
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(root.resolve("nothing/9")));
        assertTrue(e.getMessage().contains("not found") && e.getMessage().contains("jarscore convert"), e.getMessage());
    }
}
