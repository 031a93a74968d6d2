package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.jarscore.Models;
import io.jarscore.ScoringModel;
import io.jarscore.runtime.ArtifactException;

/**
 * docs/artifact-format.md on the Java side, the same cases as Python's tests/test_artifact_checks.py: an
 * artifact is whole or refused (every listed file's size and sha256, the manifest's name and version
 * against a repository's folder, the recorded verification outputs), and a version refused while it
 * was being copied serves once the copy finishes, whatever the copy's file order.
 */
class ArtifactChecksTest {

    private static final String NAME = TestRepository.NAME;

    @TempDir
    Path work;

    private Path root;
    private ModelRegistry registry;
    private final List<Exception> errors = new CopyOnWriteArrayList<>();

    @BeforeEach
    void registry() throws IOException {
        root = Files.createDirectories(work.resolve("repo"));
        registry = new ModelRegistry(root).onError(errors::add);
    }

    @AfterEach
    void close() {
        registry.close();
    }

    /** A lone artifact folder holding version {@code version}'s files, outside the repository. */
    private Path loneCopy(int version) throws Exception {
        Path published = TestRepository.publish(work.resolve("sources-" + version), version);
        return TestRepository.copyArtifact(published, work.resolve("copy"));
    }

    private SortedSet<Integer> served() {
        return registry.versions(NAME);
    }

    private static SortedSet<Integer> versions(Integer... versions) {
        return new TreeSet<>(Arrays.asList(versions));
    }

    // the files ----------------------------------------------------------------------------------

    private static String readPmml(Path dir) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(dir.resolve(Artifact.PMML_GZ)))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void writePmml(Path dir, String pmml) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve(Artifact.PMML_GZ)))) {
            out.write(pmml.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** One split threshold of the decision tree moves: the PMML differs, the JAR is untouched. */
    private static void tamperPmml(Path dir) throws IOException {
        String pmml = readPmml(dir);
        int predicate = pmml.indexOf("<SimplePredicate");
        int value = pmml.indexOf("value=\"", predicate) + "value=\"".length();
        assertTrue(predicate >= 0 && value > predicate, "a SimplePredicate with a value in the tree");
        writePmml(dir, pmml.substring(0, value) + "1" + pmml.substring(value));
    }

    @Test
    void aChangedPmmlIsRefusedByModelsLoad() throws Exception {
        Path copy = loneCopy(1);
        tamperPmml(copy);
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().contains(copy.resolve(Artifact.PMML_GZ) + " does not match its manifest ("), e.getMessage());
        assertTrue(e.getMessage().contains(" bytes, manifest says "), e.getMessage());
    }

    @Test
    void aPmmlOfTheSameSizeButOtherBytesIsRefusedBySha256() throws Exception {
        Path copy = loneCopy(1);
        byte[] packed = Files.readAllBytes(copy.resolve(Artifact.PMML_GZ));
        packed[4] ^= 1; // the gzip header's modification time: the same PMML, other bytes
        Files.write(copy.resolve(Artifact.PMML_GZ), packed);
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().contains("model.pmml.gz does not match its manifest (sha256 "), e.getMessage());
    }

    @Test
    void aChangedPmmlIsRefusedByTheRegistry() throws Exception {
        TestRepository.publish(root, 1);
        Path v2 = TestRepository.publish(root, 2, 1);
        tamperPmml(v2);
        registry.reload();
        assertEquals(versions(1), served());
        assertEquals(1, errors.size());
        VersionLoadException e = assertInstanceOf(VersionLoadException.class, errors.get(0));
        assertEquals(2, e.version());
        assertTrue(e.getMessage().contains("model.pmml.gz does not match its manifest"), e.getMessage());
    }

    @Test
    void aFileTheManifestListsMustBeThere() throws Exception {
        Path copy = loneCopy(1);
        Files.delete(copy.resolve(Artifact.PMML_GZ));
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().contains("model.pmml.gz is missing; the artifact is incomplete"), e.getMessage());
    }

    @Test
    void aListedFileMustBeARegularFile() throws Exception {
        Path copy = loneCopy(1);
        Files.delete(copy.resolve(Artifact.PMML_GZ));
        Files.createDirectory(copy.resolve(Artifact.PMML_GZ));
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().contains("model.pmml.gz is not a regular file"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../secret", "sub/file", "sub\\file", "..", ".", ""})
    void aManifestThatListsAPathOutsideTheArtifactIsRefused(String listed) throws Exception {
        Path copy = loneCopy(1);
        TestRepository.rewriteManifest(copy, manifest -> files(manifest).put(listed,
            Map.of("sha256", "0".repeat(64), "bytes", 1)));
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().contains("names '" + listed + "', which is not a file of the artifact"), e.getMessage());
    }

    @Test
    void bothModelFilesMustBeListedEachWithASha256AndASize() throws Exception {
        Path copy = loneCopy(1);
        TestRepository.rewriteManifest(copy, manifest -> files(manifest).remove(Artifact.PMML_GZ));
        ArtifactException unlisted = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(unlisted.getMessage().contains("'files' does not list model.pmml.gz"), unlisted.getMessage());

        TestRepository.rewriteManifest(copy, manifest -> files(manifest).put(Artifact.PMML_GZ,
            Map.of("sha256", "0".repeat(64))));
        ArtifactException noSize = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(noSize.getMessage().contains("the entry of model.pmml.gz needs a 'sha256' string and a 'bytes' integer"),
            noSize.getMessage());

        TestRepository.rewriteManifest(copy, manifest -> files(manifest).put(Artifact.PMML_GZ,
            Map.of("sha256", "0".repeat(64), "bytes", "12")));
        assertThrows(ArtifactException.class, () -> Models.load(copy));
        TestRepository.rewriteManifest(copy, manifest -> manifest.put("format", 1));
        ArtifactException plain = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(plain.getMessage().endsWith("'files' does not list model.pmml"), plain.getMessage());
        TestRepository.rewriteManifest(copy, manifest -> manifest.put("format", 3));
        ArtifactException format = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(format.getMessage().contains("unsupported manifest (expected format 1 or 2, got 3)"), format.getMessage());
    }

    /**
     * Moves every recorded verification output by 1e-10 relative: within the 1e-9 the whole model is
     * held to, beyond the 1e-12 the kernel is, like a format 1 output of the transpiled classes an ulp
     * from the kernel's float32 sum.
     */
    @SuppressWarnings("unchecked")
    private static void nudgeRecordedOutputs(Map<String, Object> manifest) {
        for (Object output : (List<Object>) ((Map<String, Object>) manifest.get("verification")).get("outputs")) {
            ((Map<String, Object>) output).replaceAll((field, value) ->
                value instanceof Number n ? n.doubleValue() * (1 + 1e-10) : value);
        }
    }

    @Test
    void aFormat2ArtifactChecksItsKernelAgainstTheRecordedOutputs() throws Exception {
        Path copy = loneCopy(3); // a random forest: its kernel has a table of trees
        try (io.jarscore.runtime.Model model = Artifact.read(copy).load()) {
            assertEquals("active", model.kernelStatus(), "verified against the recorded outputs");
            List<Map<String, Object>> expected = TestRepository.expectedOutputs(3);
            List<Map<String, Object>> rows = TestRepository.irisRows();
            for (int r = 0; r < rows.size(); r++) {
                assertEquals(expected.get(r), model.score(rows.get(r)), "row " + r);
            }
        }
        try (io.jarscore.runtime.Model interpreted = io.jarscore.runtime.Model.loadPmml(copy.resolve(Artifact.PMML_GZ))) {
            assertEquals(TestRepository.expectedOutputs(3).get(0), interpreted.score(TestRepository.irisRows().get(0)));
        }
        TestRepository.rewriteManifest(copy, ArtifactChecksTest::nudgeRecordedOutputs);
        try (ScoringModel model = Models.load(copy)) {
            assertTrue(model.kernelStatus().startsWith("refused: "), model.kernelStatus());
        }
    }

    @Test
    void aFormat1ArtifactWithAPlainPmmlStillLoadsAndChecksItsKernelAgainstJpmml() throws Exception {
        Path copy = loneCopy(3);
        Path plain = copy.resolve(Artifact.PMML);
        Files.writeString(plain, readPmml(copy));
        Files.delete(copy.resolve(Artifact.PMML_GZ));
        TestRepository.rewriteManifest(copy, manifest -> {
            manifest.put("format", 1);
            files(manifest).remove(Artifact.PMML_GZ);
            try {
                files(manifest).put(Artifact.PMML, TestRepository.fileEntry(plain));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            nudgeRecordedOutputs(manifest);
        });
        try (ScoringModel model = Models.load(copy)) {
            assertEquals("active", model.kernelStatus(), "verified against JPMML interpreting model.pmml");
            List<Map<String, Object>> expected = TestRepository.expectedOutputs(3);
            List<Map<String, Object>> rows = TestRepository.irisRows();
            for (int r = 0; r < rows.size(); r++) {
                assertEquals(expected.get(r), model.score(rows.get(r)), "row " + r);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> files(Map<String, Object> manifest) {
        return (Map<String, Object>) manifest.get("files");
    }

    @Test
    void modelsLoadChecksTheRecordedVerificationOutputs() throws Exception {
        Path copy = loneCopy(1);
        TestRepository.rewriteManifest(copy, manifest -> {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> outputs = (List<Map<String, Object>>) ((Map<String, Object>) manifest
                .get("verification")).get("outputs");
            for (Map<String, Object> recorded : outputs) {
                recorded.replaceAll((field, value) -> value instanceof Number n ? n.doubleValue() + 0.5 : value);
            }
        });
        ArtifactException e = assertThrows(ArtifactException.class, () -> Models.load(copy));
        assertTrue(e.getMessage().matches("(?s).*verification row 0: '[^']+' is .*, the manifest recorded .*"),
            e.getMessage());
    }

    @Test
    void aLoneArtifactIsNotCheckedAgainstItsFolderName() throws Exception {
        Path copy = loneCopy(1); // a folder named "copy" holding iris version 1
        try (ScoringModel model = Models.load(copy)) {
            assertEquals(NAME, model.name());
            assertEquals(1, model.version());
        }
    }

    // the repository -----------------------------------------------------------------------------

    @Test
    void aCopyOfAnotherVersionIsRefused() throws Exception {
        Path v1 = TestRepository.publish(root, 1);
        TestRepository.copyArtifact(v1, root.resolve(NAME).resolve("2")); // v1's files, manifest and all, as version 2
        registry.reload();
        assertEquals(versions(1), served());
        assertEquals(1, errors.size());
        VersionLoadException e = assertInstanceOf(VersionLoadException.class, errors.get(0));
        assertEquals(2, e.version());
        assertTrue(e.getMessage().contains("says version 1, but the folder holds version 2"), e.getMessage());
    }

    @Test
    void aCopyOfAnotherModelIsRefused() throws Exception {
        Path v1 = TestRepository.publish(root, 1);
        TestRepository.copyArtifact(v1, root.resolve("other").resolve("1"));
        registry.reload();
        assertEquals(Set.of(NAME), registry.modelNames());
        assertEquals(1, errors.size());
        assertTrue(errors.get(0).getMessage().contains("says name 'iris', but the folder holds name 'other'"),
            errors.get(0).getMessage());
    }

    /** Writes {@code source} to {@code target} in {@code chunks} pieces, polling after each. */
    private void writeInChunks(Path source, Path target, int chunks) throws IOException {
        byte[] data = Files.readAllBytes(source);
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int i = 0; i < chunks; i++) {
                out.write(data, i * data.length / chunks, (i + 1) * data.length / chunks - i * data.length / chunks);
                out.flush();
                registry.poll();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "manifest.json,model.jar,model.pmml.gz", // manifest first (cp, rsync), the pmml last in chunks
        "model.jar,model.pmml.gz,manifest.json", // jar first
        "model.pmml.gz,manifest.json,model.jar", // pmml first
    })
    void aVersionCopiedInAnyOrderServesWithinTwoPollsOfTheCopyFinishing(String order) throws Exception {
        TestRepository.publish(root, 1);
        registry.poll();
        Path source = root.resolve(NAME).resolve(".source-2");
        Files.move(TestRepository.publish(root, 2), source); // v2, its manifest saying 2, to copy from
        Path target = Files.createDirectory(root.resolve(NAME).resolve("2"));
        for (String file : order.split(",")) {
            writeInChunks(source.resolve(file), target.resolve(file), 3);
            assertTrue(served().equals(versions(1)) || served().equals(versions(2)), served().toString());
        }
        TestRepository.deleteTree(source);
        registry.poll();
        registry.poll();
        assertEquals(versions(2), served(), "copied " + order);
        assertEquals(2, registry.score(NAME, TestRepository.irisRows().get(0)).version());
    }

    @Test
    void aFileTruncatedThenCompletedServes() throws Exception {
        Path target = TestRepository.publish(root, 2);
        byte[] jar = Files.readAllBytes(target.resolve(Artifact.JAR));
        Files.write(target.resolve(Artifact.JAR), Arrays.copyOf(jar, jar.length / 3));
        registry.poll();
        assertEquals(versions(), served());
        Files.write(target.resolve(Artifact.JAR), jar);
        registry.poll();
        registry.poll();
        assertEquals(versions(2), served());
    }

    @Test
    void anUnchangedRefusalIsReportedOnceAndRetriedAfterABackOffAndOnReload() throws Exception {
        TestRepository.publish(root, 1);
        Path v2 = TestRepository.publish(root, 2);
        AtomicLong now = new AtomicLong(System.nanoTime());
        registry.clock = now::get;
        List<Integer> asked = new CopyOnWriteArrayList<>();
        AtomicBoolean allow = new AtomicBoolean();
        registry.beforeSwap(candidate -> {
            asked.add(candidate.version());
            return candidate.version() != 2 || allow.get();
        });
        int[] tries = {0};
        Runnable countTries = () -> tries[0] = (int) asked.stream().filter(v -> v == 2).count();

        registry.poll();
        countTries.run();
        assertEquals(versions(1), served());
        assertEquals(1, tries[0]);
        assertEquals(1, errors.size());
        for (int i = 0; i < 3; i++) {
            registry.poll();
        }
        now.addAndGet(ModelRegistry.RETRY_FIRST_NANOS - 1);
        registry.poll();
        countTries.run();
        assertEquals(1, tries[0], "an unchanged refused version waits for its back-off");

        now.addAndGet(1);
        registry.poll();
        countTries.run();
        assertEquals(2, tries[0], "tried again once the back-off passed");
        assertEquals(1, errors.size(), "the same refusal of the same unchanged folder is reported once");
        assertEquals(2 * ModelRegistry.RETRY_FIRST_NANOS, registry.refusal(v2).delay(), "the back-off doubles");

        // doubling up to 5 minutes
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            now.addAndGet(registry.refusal(v2).delay());
            registry.poll();
            delays.add(TimeUnit.NANOSECONDS.toSeconds(registry.refusal(v2).delay()));
        }
        assertEquals(List.of(20L, 40L, 80L, 160L, 300L, 300L, 300L), delays);
        countTries.run();
        assertEquals(9, tries[0]);

        registry.reload();
        countTries.run();
        assertEquals(10, tries[0], "reload() tries refused versions again");
        assertEquals(1, errors.size());
        allow.set(true);
        registry.reload();
        assertEquals(versions(2), served());
        assertEquals(1, errors.size());
        assertEquals(1L, ((Map<?, ?>) ((Map<?, ?>) registry.metrics().get("models")).get(NAME)).get("load_errors"));
        assertEquals(null, registry.refusal(v2), "a version that serves is no longer refused");
    }

    @Test
    void aRefusalThatChangesIsReportedAgain() throws Exception {
        Path v2 = TestRepository.publish(root, 2);
        byte[] jar = Files.readAllBytes(v2.resolve(Artifact.JAR));
        Files.write(v2.resolve(Artifact.JAR), Arrays.copyOf(jar, 100));
        registry.poll();
        Files.write(v2.resolve(Artifact.JAR), Arrays.copyOf(jar, 200));
        registry.poll();
        assertEquals(2, errors.size(), errors.toString());
        assertTrue(errors.get(1).getMessage().contains("(200 bytes, manifest says " + jar.length + ")"),
            errors.get(1).getMessage());
    }

    @Test
    void everyFileOfTheFolderCountsForARetry() throws Exception {
        Path v2 = TestRepository.publish(root, 2);
        byte[] pmml = Files.readAllBytes(v2.resolve(Artifact.PMML_GZ));
        Files.write(v2.resolve(Artifact.PMML_GZ), new byte[0]); // refused: 0 bytes
        registry.poll();
        assertEquals(versions(), served());
        assertEquals(1, errors.size());
        Files.write(v2.resolve(Artifact.PMML_GZ), pmml); // only the pmml changes
        registry.poll();
        assertEquals(versions(2), served());

        // a file the manifest does not list counts as well
        Path v3 = TestRepository.publish(root, 3);
        List<Integer> asked = new CopyOnWriteArrayList<>();
        AtomicBoolean allow = new AtomicBoolean();
        registry.beforeSwap(candidate -> {
            asked.add(candidate.version());
            return allow.get();
        });
        registry.poll();
        registry.poll();
        assertEquals(List.of(3), asked);
        allow.set(true);
        Files.writeString(v3.resolve("notes.txt"), "approved", StandardCharsets.UTF_8);
        registry.poll();
        assertEquals(List.of(3, 3), asked);
        assertEquals(versions(3), served());
    }

    @Test
    void theFingerprintSeesModificationTimesFinerThanMilliseconds() throws Exception {
        Path v1 = TestRepository.publish(root, 1);
        Path jar = v1.resolve(Artifact.JAR);
        FileTime base = FileTime.from(1_700_000_000_000_000L, TimeUnit.MICROSECONDS);
        FileTime later = FileTime.from(1_700_000_000_000_001L, TimeUnit.MICROSECONDS);
        Files.setLastModifiedTime(jar, base);
        String before = ModelRegistry.fingerprint(v1);
        Files.setLastModifiedTime(jar, later);
        Assumptions.assumeTrue(Files.getLastModifiedTime(jar).equals(later),
            "this file system keeps modification times to the microsecond");
        String after = ModelRegistry.fingerprint(v1);
        assertNotEquals(before, after);
        assertTrue(after.contains("model.jar:" + Files.size(jar) + "@1700000000000001000"), after);
        assertTrue(after.contains("manifest.json:") && after.contains("model.pmml.gz:"), after);
        assertNotNull(ModelRegistry.fingerprint(root.resolve("nothing")));
    }

    @Test
    void theWatcherPollsAndDoesNotRetryAnUnchangedRefusal() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        List<Integer> asked = new CopyOnWriteArrayList<>();
        registry.beforeSwap(candidate -> {
            asked.add(candidate.version());
            return candidate.version() != 2;
        });
        registry.watch(java.time.Duration.ofMillis(10));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (registry.currentVersion(NAME) != 1) {
            assertTrue(System.nanoTime() < deadline, "the watcher did not load version 1 within 60 s");
            Thread.sleep(10);
        }
        Thread.sleep(300); // some 30 polls, well within the first back-off
        registry.close();
        assertEquals(1, asked.stream().filter(v -> v == 2).count(), asked.toString());
        assertEquals(1, errors.size());
    }

    @Test
    void float32OutputsMayDifferByAnUlpDoubleOutputsMayNot() {
        double recorded = 0.37795770168304443;   // a float32 value, as XGBoost's PMML computes
        double nextDown = Math.nextDown((float) recorded);   // one float32 ulp below
        assertTrue(VerificationValidator.same(recorded, (float) nextDown, VerificationValidator.FLOAT32_TOLERANCE));
        assertTrue(!VerificationValidator.same(recorded, nextDown, VerificationValidator.TOLERANCE));
        assertTrue(!VerificationValidator.same(recorded, recorded * (1 + 1e-5), VerificationValidator.FLOAT32_TOLERANCE));
    }
}
