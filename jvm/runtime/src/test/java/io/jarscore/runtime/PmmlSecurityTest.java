package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PMML is data: a DOCTYPE with an external entity is refused before any entity is read. */
class PmmlSecurityTest {

    @TempDir
    Path dir;

    @Test
    void pmmlWithAnExternalEntityIsRefusedUnread() throws IOException {
        Path secret = Files.writeString(dir.resolve("secret.txt"), "TOP-SECRET-VALUE");
        String pmml = Files.readString(conformanceDir().resolve("pmml/DecisionTreeIris.pmml"));
        int declarationEnd = pmml.indexOf("?>") + 2;
        String hostile = pmml.substring(0, declarationEnd)
            + "\n<!DOCTYPE PMML [<!ENTITY secret SYSTEM \"" + secret.toUri() + "\">]>\n"
            + pmml.substring(declarationEnd).replaceFirst("<Header", "<Header description=\"&secret;\"");
        Path file = Files.writeString(dir.resolve("hostile.pmml"), hostile);

        ArtifactException refused = assertThrows(ArtifactException.class, () -> Model.loadPmml(file));
        assertTrue(refused.getMessage().contains("DOCTYPE is disallowed"), refused.getMessage());
        assertFalse(refused.getMessage().contains("TOP-SECRET"), refused.getMessage());
    }

    /** The JPMML conformance corpus; surefire sets the property, and a test without it fails rather than skips. */
    private static Path conformanceDir() {
        String value = System.getProperty("jarscore.conformanceDir");
        if (value == null || value.isBlank()) {
            fail("system property jarscore.conformanceDir is not set; run the tests through Maven");
        }
        return Path.of(value);
    }
}
