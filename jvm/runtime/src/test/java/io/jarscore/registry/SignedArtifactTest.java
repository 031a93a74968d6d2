package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.jarscore.Models;
import io.jarscore.ScoringModel;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Signed artifacts on the Java side, from the fixtures Python made and its tests read as well
 * (tests/data/signing, its regenerate.py and cases.json): a Python signature verifies here, and every
 * tampered copy is refused before any class of it loads, by Models.load and by the registry alike.
 */
class SignedArtifactTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Object> ROW = Map.of("Sepal.Length", 6.3, "Petal.Length", 4.9, "Petal.Width", 1.8);

    @TempDir
    Path work;

    static Path signingDir() {
        String value = System.getProperty("jarscore.signingDir");
        if (value == null || value.isBlank()) {
            fail("system property jarscore.signingDir is not set; run the tests through Maven");
        }
        return Path.of(value).toAbsolutePath().normalize();
    }

    static Stream<Map<String, Object>> cases() throws IOException {
        Map<?, ?> spec = JSON.readValue(signingDir().resolve("cases.json").toFile(), Map.class);
        List<Map<String, Object>> cases = new ArrayList<>();
        for (Object entry : (List<?>) spec.get("cases")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> testCase = (Map<String, Object>) entry;
            cases.add(testCase);
        }
        return cases.stream();
    }

    private static TrustedKeys keys(List<?> names) throws IOException {
        Map<?, ?> files = (Map<?, ?>) JSON.readValue(signingDir().resolve("cases.json").toFile(), Map.class).get("keys");
        return TrustedKeys.of(names.stream().map(n -> signingDir().resolve((String) files.get(n))).toList());
    }

    private static Path key(String name) {
        return signingDir().resolve("keys").resolve(name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theSharedCases(Map<String, Object> testCase) throws IOException {
        Path artifact = signingDir().resolve((String) testCase.get("artifact"));
        TrustedKeys trusted = keys((List<?>) testCase.get("trusted"));
        String refused = (String) testCase.get("refused");
        if (refused == null) {
            try (ScoringModel model = Models.load(artifact, trusted)) {
                assertEquals("virginica", model.score(ROW).get("Species"));
            }
        } else {
            ArtifactSignatureException e = assertThrows(ArtifactSignatureException.class, () -> Models.load(artifact, trusted));
            assertTrue(e.getMessage().startsWith("artifact " + artifact + " is refused: "), e.getMessage());
            assertTrue(e.getMessage().contains(refused), e.getMessage());
        }
        // Without trusted keys only sizes and sha256 are checked: every fixture loads, the one whose
        // model.pmml changed and whose manifest was fixed up to match included.
        try (ScoringModel model = Models.load(artifact, TrustedKeys.none())) {
            assertEquals("iris", model.name());
        }
    }

    @Test
    void keyIdsAgreeWithPython() throws IOException {
        Map<?, ?> signature = JSON.readValue(signingDir().resolve("repo/iris/1/signature.json").toFile(), Map.class);
        assertEquals(Set.of(signature.get("key_id")), TrustedKeys.of(key("test.pub")).keyIds());
    }

    @Test
    void aRegistryWithTrustedKeysServesAVersionOnceItIsSigned() throws IOException {
        Path version = copy(signingDir().resolve("tampered/unsigned"), work.resolve("repo/iris/1"));
        List<Exception> errors = new CopyOnWriteArrayList<>();
        try (ModelRegistry registry = new ModelRegistry(work.resolve("repo")).trustedKeys(TrustedKeys.of(key("test.pub")))
                .onError(errors::add)) {
            registry.reload();
            assertTrue(registry.versions("iris").isEmpty());
            assertEquals(1, errors.size(), errors.toString());
            VersionLoadException refused = assertInstanceOf(VersionLoadException.class, errors.get(0));
            assertInstanceOf(ArtifactSignatureException.class, refused.getCause());
            assertTrue(refused.getMessage().contains("it is not signed"), refused.getMessage());
            // The signed fixture's signature is over the same manifest bytes.
            Files.copy(signingDir().resolve("repo/iris/1/signature.json"), version.resolve("signature.json"));
            registry.poll();
            assertEquals(Set.of(1), registry.versions("iris"));
        }
    }

    @Test
    void theDefaultKeysComeFromTheProperty() {
        System.setProperty(TrustedKeys.PROPERTY, key("other.pub") + "," + key("test.pub"));
        try {
            Models.load(signingDir().resolve("repo/iris/1")).close();
            assertThrows(ArtifactSignatureException.class, () -> Models.load(signingDir().resolve("tampered/unsigned")));
            System.setProperty(TrustedKeys.PROPERTY, work.resolve("missing.pub").toString());
            assertTrue(assertThrows(RuntimeException.class, () -> Models.load(signingDir().resolve("repo/iris/1")))
                .getMessage().contains("cannot read trusted key " + work.resolve("missing.pub")));
        } finally {
            System.clearProperty(TrustedKeys.PROPERTY);
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, to.resolve(file.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return to;
    }
}
