package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile PMML is refused by a streaming pass before JAXB reads it, with the limit and its property named. */
class PmmlLimitsTest {

    @TempDir
    Path dir;

    @Test
    void anAttributeOverTheLimitIsRefusedNamingTheLimit() throws IOException {
        Path file = withHeaderAttribute(2 << 20);
        String message = assertThrows(ArtifactException.class, () -> Model.loadPmml(file)).getMessage();
        assertTrue(message.contains("an attribute value at line "), message);
        assertTrue(message.contains("maxAttributeLength = 1048576"), message);
        assertTrue(message.contains("-Djarscore.pmml.maxAttributeLength="), message);
    }

    /**
     * A 100 MB attribute is refused by the scoring command in a JVM with a 32 MB heap: the value is
     * stopped at the limit, never read whole (the JDK's StAX parser would need several times its size).
     */
    @Test
    void aHundredMegabyteAttributeIsRefusedInBoundedMemory() throws Exception {
        Path file = withHeaderAttribute(100 << 20);
        Path rows = Files.writeString(dir.resolve("rows.csv"), "Sepal.Length,Petal.Length,Petal.Width\n5.1,1.4,0.2\n");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx32m", "-cp", classpath, ScoreCsvCommand.class.getName(), file.toString(), rows.toString())
            .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, process.waitFor(), output);
        assertTrue(output.contains("over the limit maxAttributeLength = 1048576"), output);
        assertTrue(!output.contains("OutOfMemoryError"), output);
    }

    @Test
    void tooDeepNestingIsRefused() throws IOException {
        String pmml = corpus("DecisionTreeIris.pmml");
        String deep = "<Extension>".repeat(1500) + "</Extension>".repeat(1500);
        Path file = Files.writeString(dir.resolve("deep.pmml"), pmml.replaceFirst("</Header>", deep + "</Header>"));
        ArtifactException refused = assertThrows(ArtifactException.class, () -> Model.loadPmml(file));
        assertTrue(refused.getMessage().contains("is nested 1001 elements deep"), refused.getMessage());
        assertTrue(refused.getMessage().contains("maxDepth = 1000"), refused.getMessage());
        assertTrue(refused.getMessage().contains("-Djarscore.pmml.maxDepth=N"), refused.getMessage());
    }

    @Test
    void tooLongTextIsRefused() throws IOException {
        String pmml = corpus("DecisionTreeIris.pmml");
        Path file = dir.resolve("text.pmml");
        int cut = pmml.indexOf("</Header>");
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(pmml, 0, cut);
            out.write("<Annotation>");
            char[] chunk = "abcdefgh".repeat(8192).toCharArray();
            for (long written = 0; written <= (16L << 20); written += chunk.length) {
                out.write(chunk);
            }
            out.write("</Annotation>");
            out.write(pmml, cut, pmml.length() - cut);
        }
        ArtifactException refused = assertThrows(ArtifactException.class, () -> Model.loadPmml(file));
        assertTrue(refused.getMessage().contains("the text in <Annotation> near line"), refused.getMessage());
        assertTrue(refused.getMessage().contains("maxTextLength = 16777216"), refused.getMessage());
    }

    @Test
    void elementCountAndFileSizeAreLimitedThroughTheirProperties() {
        Path file = conformanceDir().resolve("pmml/RandomForestAudit.pmml");
        String message = withProperty(PmmlLimits.MAX_ELEMENTS, "1000",
            () -> assertThrows(ArtifactException.class, () -> Model.loadPmml(file)).getMessage());
        assertTrue(message.contains("more than 1000 elements"), message);
        assertTrue(message.contains("-Djarscore.pmml.maxElements=N"), message);
        message = withProperty(PmmlLimits.MAX_FILE_BYTES, "1000",
            () -> assertThrows(ArtifactException.class, () -> Model.loadPmml(file)).getMessage());
        assertTrue(message.contains("the file is 3133654 bytes"), message);
        assertTrue(message.contains("maxFileBytes = 1000"), message);
    }

    @Test
    void theCorpusBiggestPmmlLoadsUnderTheDefaults() {
        try (Model model = Model.loadPmml(conformanceDir().resolve("pmml/RandomForestAudit.pmml"))) {
            assertTrue(!model.inputFields().isEmpty());
        }
    }

    @Test
    void raisingALimitLetsABigButLegitimateFileThrough() throws IOException {
        Path file = withHeaderAttribute(2 << 20);
        assertThrows(ArtifactException.class, () -> Model.loadPmml(file));
        String source = withProperty(PmmlLimits.MAX_ATTRIBUTE_LENGTH, String.valueOf(4 << 20), () -> {
            try (Model model = Model.loadPmml(file)) {
                return model.source();
            }
        });
        assertEquals(file.toString(), source);
    }

    @Test
    void aMalformedLimitPropertyIsNamed() {
        Path file = conformanceDir().resolve("pmml/DecisionTreeIris.pmml");
        String message = withProperty(PmmlLimits.MAX_DEPTH, "lots",
            () -> assertThrows(ArtifactException.class, () -> Model.loadPmml(file)).getMessage());
        assertTrue(message.contains("jarscore.pmml.maxDepth must be a positive whole number"), message);
    }

    /** DecisionTreeIris with a Header description of {@code length} characters, written without holding it. */
    private Path withHeaderAttribute(int length) throws IOException {
        String pmml = corpus("DecisionTreeIris.pmml");
        int at = pmml.indexOf("<Header") + "<Header".length();
        Path file = dir.resolve("attribute-" + length + ".pmml");
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(pmml, 0, at);
            out.write(" description=\"");
            char[] chunk = "x".repeat(65536).toCharArray();
            for (int written = 0; written < length; written += chunk.length) {
                out.write(chunk, 0, Math.min(chunk.length, length - written));
            }
            out.write('"');
            out.write(pmml, at, pmml.length() - at);
        }
        return file;
    }

    private static <T> T withProperty(String property, String value, java.util.function.Supplier<T> action) {
        String previous = System.getProperty(property);
        System.setProperty(property, value);
        try {
            return action.get();
        } finally {
            if (previous == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, previous);
            }
        }
    }

    private static String corpus(String name) throws IOException {
        return Files.readString(conformanceDir().resolve("pmml").resolve(name));
    }

    private static Path conformanceDir() {
        String value = System.getProperty("jarscore.conformanceDir");
        if (value == null || value.isBlank()) {
            fail("system property jarscore.conformanceDir is not set; run the tests through Maven");
        }
        return Path.of(value);
    }
}
