package io.jarscore.transpile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jarscore.runtime.ArtifactException;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.sun.codemodel.JCodeModel;
import com.sun.codemodel.JDefinedClass;
import com.sun.codemodel.JMod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A transpile that cannot succeed says why: the PMML limit it breaks, or javac's own diagnostics. */
class TranspileCommandFailuresTest {

    @TempDir
    Path dir;

    @Test
    void a32MegabyteAttributeIsRefusedBeforeJaxbNamingTheLimit() throws IOException {
        String pmml = Files.readString(conformanceDir().resolve("pmml/DecisionTreeIris.pmml"));
        int at = pmml.indexOf("<Header") + "<Header".length();
        Path file = dir.resolve("hostile.pmml");
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(pmml, 0, at);
            out.write(" description=\"");
            char[] chunk = "x".repeat(65536).toCharArray();
            for (int i = 0; i < 512; i++) {
                out.write(chunk);
            }
            out.write('"');
            out.write(pmml, at, pmml.length() - at);
        }
        Path jar = dir.resolve("out/model.jar");
        ArtifactException refused = assertThrows(ArtifactException.class,
            () -> TranspileCommand.transpile(file, jar, "test.Hostile", null, true));
        assertTrue(refused.getMessage().contains("maxAttributeLength = 1048576"), refused.getMessage());
        assertTrue(refused.getMessage().contains("-Djarscore.pmml.maxAttributeLength=N"), refused.getMessage());
        assertFalse(Files.exists(jar));
    }

    @Test
    void aJavacFailureCarriesJavacsDiagnostics() throws Exception {
        JCodeModel codeModel = new JCodeModel();
        JDefinedClass broken = codeModel._class("test.Broken");
        broken.method(JMod.PUBLIC, codeModel.INT, "answer"); // no body statement: "missing return statement"
        TranspileCommand.CompileFailedException failed =
            assertThrows(TranspileCommand.CompileFailedException.class, () -> TranspileCommand.compile(codeModel));
        assertTrue(failed.getMessage().startsWith("javac failed on the transpiled code:\n"), failed.getMessage());
        assertTrue(failed.getMessage().contains("missing return statement"), failed.getMessage());
        assertTrue(failed.getMessage().contains("Broken"), failed.getMessage());
    }

    @Test
    void diagnosticsAreCutToTheirFirstLines() {
        StringBuilder many = new StringBuilder();
        for (int i = 1; i <= 100; i++) {
            many.append("line ").append(i).append('\n');
        }
        String kept = TranspileCommand.firstLines(many.toString());
        assertTrue(kept.startsWith("line 1\nline 2\n"), kept);
        assertTrue(kept.contains("line 20\n... (80 more lines)"), kept);
        assertFalse(kept.contains("line 21\n"), kept);

        String huge = TranspileCommand.firstLines("y".repeat(100_000) + "\nnext");
        assertTrue(huge.length() <= TranspileCommand.MAX_DIAGNOSTIC_CHARS + 40, String.valueOf(huge.length()));
        assertTrue(huge.endsWith("... (1 more lines)"), huge.substring(huge.length() - 40));

        assertEquals("(javac reported nothing)", TranspileCommand.firstLines("  \n"));
    }

    @Test
    void theDiagnosticsBufferKeepsOnlyItsCapacity() {
        TranspileCommand.BoundedBuffer buffer = new TranspileCommand.BoundedBuffer(10);
        buffer.write("0123456789abcdef".getBytes(StandardCharsets.UTF_8), 0, 16);
        buffer.write('z');
        assertEquals("0123456789", buffer.text());
    }

    private static Path conformanceDir() {
        String value = System.getProperty("jarscore.conformanceDir");
        if (value == null || value.isBlank()) {
            fail("system property jarscore.conformanceDir is not set; run the tests through Maven");
        }
        return Path.of(value);
    }
}
