package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import io.jarscore.transpile.TranspileCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversion's one parse of a PMML file: the kernel JAR written from it on a thread of its own, and
 * JPMML-Evaluator interpreting the same document, which the JAR is then checked against.
 */
class OneParseTest {

    @TempDir
    Path tmp;

    @Test
    void theJarAndTheInterpretedModelComeFromOneParseAndAgree() throws Exception {
        Corpus.Case audit = Corpus.get("LightGBMAudit");
        Path jar = tmp.resolve("model.jar");
        TranspileCommand.OneParse job = TranspileCommand.startFromOneParse(audit.pmml(), jar, "jarscore.test.One", null);
        try (Model interpreted = job.interpreted();
             Model separately = Model.loadPmml(audit.pmml())) {
            assertFalse(interpreted.isTranspiled());
            Corpus.Table input = Corpus.readCsv(audit.input());
            int rows = input.rows().size();
            Object[] columns = Corpus.inputColumns(interpreted, input);
            Object[] expected = interpreted.scoreColumns(columns, rows);
            Object[] parsedAgain = separately.scoreColumns(Corpus.inputColumns(separately, input), rows);
            assertEquals(interpreted.resultFields(), separately.resultFields());
            for (int i = 0; i < expected.length; i++) {
                assertColumnEquals(parsedAgain[i], expected[i]);
            }

            job.awaitJar();
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                assertNotNull(zip.getEntry("jarscore/test/OneKernel.class"), "the kernel is in the JAR");
                assertNull(zip.getEntry("META-INF/services/org.dmg.pmml.PMML"), "no transpiled classes");
            }
            Files.copy(audit.pmml(), jar.resolveSibling("model.pmml"));
            try (Model loaded = Model.loadJar(jar, true)) {
                assertEquals(interpreted.inputFields(), loaded.inputFields());
                assertEquals("active", loaded.verifyKernel(columns, rows, expected));
                Object[] scored = loaded.scoreColumns(columns, rows);
                for (int i = 0; i < expected.length; i++) {
                    assertColumnClose(expected[i], scored[i], audit);
                }
            }
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of("model.jar", "model.pmml"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aModelWithoutAKernelGetsJpmmlTranspilersClasses() throws Exception {
        Corpus.Case select = Corpus.get("SelectFirstAuto");
        Path jar = tmp.resolve("model.jar");
        TranspileCommand.OneParse job = TranspileCommand.startFromOneParse(select.pmml(), jar, "jarscore.test.Two", null);
        try (Model interpreted = job.interpreted()) {
            job.awaitJar();
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                assertNotNull(zip.getEntry("META-INF/services/org.dmg.pmml.PMML"), "JPMML-Transpiler's classes");
            }
            try (Model loaded = Model.loadJar(jar)) {
                assertTrue(loaded.isTranspiled());
                assertTrue(loaded.kernelStatus().startsWith("absent: "), loaded.kernelStatus());
                Corpus.Table input = Corpus.readCsv(select.input());
                int rows = input.rows().size();
                Object[] expected = interpreted.scoreColumns(Corpus.inputColumns(interpreted, input), rows);
                Object[] scored = loaded.scoreColumns(Corpus.inputColumns(loaded, input), rows);
                for (int i = 0; i < expected.length; i++) {
                    assertColumnClose(expected[i], scored[i], select);
                }
            }
        }
    }

    @Test
    void aPmmlThatCannotBeReadFailsAsItsLoadWouldAndWritesNothing() throws Exception {
        Path broken = tmp.resolve("broken.pmml");
        Files.writeString(broken, "<PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\"><Header>");
        Path jar = tmp.resolve("out/model.jar");
        ArtifactException e = assertThrows(ArtifactException.class,
            () -> TranspileCommand.startFromOneParse(broken, jar, "jarscore.test.Three", null));
        assertTrue(e.getMessage().startsWith("cannot read PMML file " + broken), e.getMessage());
        assertFalse(Files.exists(jar.getParent()));
    }

    @Test
    void aCancelledJarIsNotWaitedForAndNothingWritesAfterTheCancel() throws Exception {
        Path jar = tmp.resolve("model.jar");
        TranspileCommand.OneParse job =
            TranspileCommand.startFromOneParse(Corpus.get("RandomForestAudit").pmml(), jar, "jarscore.test.Four", null);
        job.interpreted().close();
        job.cancel();
        assertThrows(CancellationException.class, job::awaitJar);
        List<String> left;
        try (Stream<Path> files = Files.list(tmp)) {
            left = files.map(p -> p.getFileName().toString()).toList();
        }
        // javac may have finished before the cancel: then the JAR is whole, never a temporary file
        assertTrue(left.isEmpty() || left.equals(List.of("model.jar")), left.toString());
        Thread.sleep(200);
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(left, files.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** Within the corpus case's tolerance: JPMML-Transpiler's classes and the kernel may round apart from JPMML. */
    private static void assertColumnClose(Object expected, Object actual, Corpus.Case tolerance) {
        if (!(expected instanceof double[] numbers)) {
            assertColumnEquals(expected, actual);
            return;
        }
        double[] got = (double[]) actual;
        assertEquals(numbers.length, got.length);
        for (int i = 0; i < numbers.length; i++) {
            double allowed = Math.max(tolerance.abs(), tolerance.rel() * Math.abs(numbers[i]));
            assertEquals(numbers[i], got[i], allowed, "row " + i);
        }
    }

    private static void assertColumnEquals(Object expected, Object actual) {
        if (expected instanceof double[] numbers) {
            assertArrayEquals(numbers, (double[]) actual);
        } else {
            assertArrayEquals((Object[]) expected, (Object[]) actual);
        }
    }
}
