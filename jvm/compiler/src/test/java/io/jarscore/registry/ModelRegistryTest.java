package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's hooks, failure handling, routing, shadowing, metrics and watcher on real JARs. */
class ModelRegistryTest {

    private static List<Map<String, Object>> rows;
    private static Map<Integer, List<Map<String, Object>>> expected;

    @TempDir
    Path root;

    private final List<Exception> errors = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void models() throws Exception {
        rows = TestRepository.irisRows();
        expected = Map.of(1, TestRepository.expectedOutputs(1), 2, TestRepository.expectedOutputs(2));
    }

    private ModelRegistry registry(VersionPolicy policy) {
        return new ModelRegistry(root, policy).onError(errors::add);
    }

    private static void assertScoredBy(ModelRegistry registry, int version) {
        for (int r : new int[]{0, 60, 120}) {
            Result<Map<String, Object>> result = registry.score(TestRepository.NAME, rows.get(r));
            assertEquals(version, result.version());
            assertEquals(TestRepository.NAME, result.model());
            assertEquals(expected.get(version).get(r), result.values());
        }
    }

    @Test
    void reloadServesTheLatestCompleteVersionAndIgnoresStagingAndOtherDirectories() throws Exception {
        TestRepository.publish(root, 1);
        Path model = root.resolve(TestRepository.NAME);
        Files.createDirectories(model.resolve(".iris.partial-abc"));
        TestRepository.writeFiles(model.resolve(".iris.partial-abc"), 2, TestRepository.manifest(2));
        Files.createDirectories(model.resolve("latest"));
        Files.createDirectories(model.resolve("7")); // being copied: no manifest yet
        Files.copy(TestRepository.transpiled(2).resolve(Artifact.JAR), model.resolve("7").resolve(Artifact.JAR));
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.reload();
            assertEquals(new TreeSet<>(List.of(1)), registry.versions(TestRepository.NAME));
            assertScoredBy(registry, 1);
            assertEquals(List.of(), errors, "a directory without a manifest is not a version yet, not an error");

            ModelVersion v1 = registry.load(TestRepository.NAME, 1);
            TestRepository.publish(root, 2);
            registry.reload();
            assertEquals(new TreeSet<>(List.of(2)), registry.versions(TestRepository.NAME));
            assertScoredBy(registry, 2);
            assertTrue(v1.isRetired() && v1.isClosed(), "the version the policy dropped is closed");
        }
    }

    @Test
    void applyScoresOnThePinnedVersionAndHandsTheFunctionTheVersionItHolds() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.all())) {
            registry.reload();
            for (int version : new int[]{1, 2}) {
                Result<Map<String, Object>> result = registry.apply(TestRepository.NAME, null, version, held -> {
                    assertEquals(version, held.version());
                    assertFalse(held.isClosed());
                    return held.model().score(rows.get(60));
                });
                assertEquals(version, result.version());
                assertEquals(expected.get(version).get(60), result.values());
            }
            assertEquals(2, registry.apply(TestRepository.NAME, null, 0, ModelVersion::version).values(),
                "version 0: the default version");
            ModelNotServedException missing = assertThrows(ModelNotServedException.class,
                () -> registry.apply(TestRepository.NAME, null, 3, ModelVersion::version));
            assertTrue(missing.getMessage().contains("version 3 is not serving"), missing.getMessage());
            Map<String, Object> metrics = registry.metrics();
            assertTrue(metrics.toString().contains("requests=1"), "pinned calls are counted per version: " + metrics);
        }
    }

    @Test
    void anUnloadedModelStaysUnloadedAcrossReloadsUntilLoadedAgain() throws Exception {
        TestRepository.publish(root, 1);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.reload();
            assertTrue(registry.unloadModel(TestRepository.NAME));
            assertFalse(registry.unloadModel(TestRepository.NAME), "nothing left to unload");
            registry.reload();
            TestRepository.publish(root, 2);
            registry.poll();
            assertEquals(new TreeSet<>(), registry.versions(TestRepository.NAME), "polls leave an unloaded model alone");
            assertEquals(new TreeSet<>(List.of(2)), registry.loadModel(TestRepository.NAME));
            assertScoredBy(registry, 2);
            assertEquals(new TreeSet<>(), registry.loadModel("absent"), "a model with no folder loads nothing");
        }
    }

    @Test
    void halfCopiedVersionIsNeverLoadedAndTheServingVersionStays() throws Exception {
        TestRepository.publish(root, 1);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.reload();
            // A copy that wrote the manifest and the PMML first and has half of the JAR so far.
            Path copy = Files.createDirectories(root.resolve(TestRepository.NAME).resolve("2"));
            TestRepository.writeManifest(copy, TestRepository.manifest(2));
            Files.copy(TestRepository.transpiled(2).resolve(Artifact.PMML_GZ), copy.resolve(Artifact.PMML_GZ));
            byte[] jar = Files.readAllBytes(TestRepository.transpiled(2).resolve(Artifact.JAR));
            Files.write(copy.resolve(Artifact.JAR), java.util.Arrays.copyOf(jar, jar.length / 2));

            registry.reload();
            assertEquals(1, registry.currentVersion(TestRepository.NAME));
            assertScoredBy(registry, 1);
            assertEquals(1, errors.size());
            VersionLoadException error = assertInstanceOf(VersionLoadException.class, errors.get(0));
            assertEquals(2, error.version());
            assertTrue(error.getMessage().contains("does not match its manifest"), error.getMessage());
            assertTrue(error.getMessage().contains(copy.toString()), error.getMessage());

            registry.poll();
            assertEquals(1, errors.size(), "an unchanged failed version is not retried on every poll");
            registry.reload();
            assertEquals(1, errors.size(), "reload() retries it, and the same refusal is reported once");

            Files.write(copy.resolve(Artifact.JAR), jar); // the copy finishes
            registry.reload();
            assertEquals(2, registry.currentVersion(TestRepository.NAME));
            assertScoredBy(registry, 2);
            assertEquals(1L, ((Map<?, ?>) ((Map<?, ?>) registry.metrics().get("models")).get(TestRepository.NAME))
                .get("load_errors"));
        }
    }

    @Test
    void corruptJarIsRefusedAndTheServingVersionStays() throws Exception {
        TestRepository.publish(root, 1);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.load(TestRepository.NAME, 1);

            // Garbage whose size and checksum the manifest agrees with: passes the integrity check, fails to load.
            Path garbage = Files.createDirectories(root.resolve(TestRepository.NAME).resolve(".staging"));
            Files.write(garbage.resolve(Artifact.JAR), "not a zip file".getBytes());
            Files.copy(TestRepository.transpiled(2).resolve(Artifact.PMML_GZ), garbage.resolve(Artifact.PMML_GZ));
            Map<String, Object> manifest = TestRepository.manifest(2);
            manifest.put("files", Map.of(Artifact.JAR, TestRepository.fileEntry(garbage.resolve(Artifact.JAR)),
                Artifact.PMML_GZ, TestRepository.fileEntry(garbage.resolve(Artifact.PMML_GZ))));
            TestRepository.writeManifest(garbage, manifest);
            Files.move(garbage, root.resolve(TestRepository.NAME).resolve("2"));

            VersionLoadException e = assertThrows(VersionLoadException.class, () -> registry.load(TestRepository.NAME, 2));
            assertTrue(e.getMessage().contains("cannot load its JAR"), e.getMessage());
            assertEquals(List.of(e), errors);
            assertScoredBy(registry, 1);

            // A flipped byte the manifest does not agree with: refused before any class is loaded.
            TestRepository.publish(root, 3, 2);
            Path jar = root.resolve(TestRepository.NAME).resolve("3").resolve(Artifact.JAR);
            byte[] bytes = Files.readAllBytes(jar);
            bytes[bytes.length / 2] ^= 0x5a;
            Files.write(jar, bytes);
            registry.reload();
            assertEquals(2, errors.size());
            assertTrue(errors.get(1).getMessage().contains("version 3"), errors.get(1).getMessage());
            assertTrue(errors.get(1).getMessage().contains("sha256"), errors.get(1).getMessage());
            assertEquals(new TreeSet<>(List.of(1)), registry.versions(TestRepository.NAME));
            assertScoredBy(registry, 1);
        }
    }

    @Test
    void validatorSayingNoKeepsTheServingVersion() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.load(TestRepository.NAME, 1);
            List<Integer> asked = new ArrayList<>();
            registry.beforeSwap(candidate -> {
                asked.add(candidate.version());
                return candidate.version() != 2;
            });
            VersionLoadException e = assertThrows(VersionLoadException.class, () -> registry.load(TestRepository.NAME, 2));
            assertTrue(e.getMessage().contains("said no"), e.getMessage());
            assertEquals(List.of(e), errors);
            assertEquals(List.of(2), asked);
            assertScoredBy(registry, 1);

            registry.reload(); // the policy wants 2, which is refused and unchanged: 1 keeps serving
            assertEquals(1, registry.currentVersion(TestRepository.NAME));
        }
    }

    @Test
    void defaultValidatorRefusesAVersionThatDoesNotReproduceItsVerificationRows() throws Exception {
        TestRepository.publish(root, 1);
        Map<String, Object> wrong = TestRepository.manifest(2);
        wrong.put("verification", TestRepository.manifest(1).get("verification")); // v1's outputs for v2's JAR
        TestRepository.publish(root, 2, 2, wrong);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.reload();
            assertEquals(1, registry.currentVersion(TestRepository.NAME), "falls back to the latest version that loads");
            assertEquals(1, errors.size());
            assertTrue(errors.get(0).getMessage().contains("verification row"), errors.get(0).getMessage());
            assertScoredBy(registry, 1);
        }
    }

    @Test
    void afterSwapSeesOldAndNewAndUnloadClosesTheVersion() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            List<String> swaps = new ArrayList<>();
            registry.afterSwap((old, now) -> swaps.add(old + " -> " + now));
            ModelVersion v1 = registry.load(TestRepository.NAME, 1);
            ModelVersion v2 = registry.load(TestRepository.NAME, 2);
            assertTrue(v1.isClosed());
            assertTrue(registry.unload(TestRepository.NAME, 2));
            assertFalse(registry.unload(TestRepository.NAME, 2));
            assertTrue(v2.isClosed());
            assertEquals(List.of("null -> iris v1", "iris v1 -> iris v2", "iris v2 -> null"), swaps);
            ModelNotServedException e = assertThrows(ModelNotServedException.class,
                () -> registry.score(TestRepository.NAME, rows.get(0)));
            assertTrue(e.getMessage().contains("load(\"iris\", version)"), e.getMessage());
        }
    }

    @Test
    void retiredVersionClosesOnlyAfterItsRequestsDrain() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            ModelVersion v1 = registry.load(TestRepository.NAME, 1);
            assertTrue(v1.tryAcquire()); // a request in flight on version 1
            registry.load(TestRepository.NAME, 2);
            assertTrue(v1.isRetired());
            assertFalse(v1.isClosed());
            assertEquals(expected.get(1).get(5), v1.model().score(rows.get(5)), "the request finishes on version 1");
            // its JPMML side, which a kernel JAR loads lazily, is still there for a row the kernel leaves to it
            v1.model().loadJpmml();
            v1.release();
            assertTrue(v1.isClosed());
            assertFalse(v1.tryAcquire(), "a closed version takes no new request");
        }
    }

    @Test
    void policiesAllAndSpecificServeSeveralVersions() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        TestRepository.publish(root, 3, 1);
        try (ModelRegistry all = registry(VersionPolicy.all()); ModelRegistry some = registry(VersionPolicy.specific(1, 3))) {
            all.reload();
            some.reload();
            assertEquals(new TreeSet<>(List.of(1, 2, 3)), all.versions(TestRepository.NAME));
            assertEquals(new TreeSet<>(List.of(1, 3)), some.versions(TestRepository.NAME));
            assertEquals(3, all.currentVersion(TestRepository.NAME));
            assertTrue(all.unload(TestRepository.NAME, 3));
            assertScoredBy(all, 2);
        }
    }

    @Test
    void routingIsWeightedStickyAndTheSameOnEveryInstance() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry a = registry(VersionPolicy.all()); ModelRegistry b = registry(VersionPolicy.all())) {
            a.reload();
            b.reload();
            a.route(TestRepository.NAME, Map.of(1, 80, 2, 20));
            b.route(TestRepository.NAME, Map.of(2, 20, 1, 80));
            int toVersion2 = 0;
            int keys = 4000;
            for (int k = 0; k < keys; k++) {
                String key = "customer-" + k;
                Map<String, Object> row = rows.get(k % rows.size());
                Result<Map<String, Object>> first = a.score(TestRepository.NAME, key, row);
                assertEquals(first.version(), a.score(TestRepository.NAME, key, row).version(), "sticky per key");
                assertEquals(first.version(), b.score(TestRepository.NAME, key, row).version(), "same on every instance");
                assertEquals(expected.get(first.version()).get(k % rows.size()), first.values());
                toVersion2 += first.version() == 2 ? 1 : 0;
            }
            double share = toVersion2 / (double) keys;
            assertTrue(share > 0.17 && share < 0.23, "about 20% of keys go to version 2, got " + share);
            assertEquals(2, a.score(TestRepository.NAME, rows.get(0)).version(), "no key: the current version");

            a.unload(TestRepository.NAME, 2); // a routed version that is not served: its traffic goes to the others
            assertEquals(1, a.score(TestRepository.NAME, "customer-1", rows.get(0)).version());
        }
    }

    @Test
    void routingHashMatchesThePythonImplementation() {
        for (Object[] entry : RouterHashes.TABLE) {
            assertEquals(Long.parseUnsignedLong((String) entry[1]), Router.hash((String) entry[0]), "key " + entry[0]);
        }
        Router router = new Router(Map.of(1, 1, 2, 3));
        for (Object[] entry : RouterHashes.TABLE) {
            assertEquals((int) entry[2], router.pick((String) entry[0], java.util.Set.of(1, 2)), "route of key " + entry[0]);
        }
    }

    @Test
    void shadowResultsGoToTheCallbackNeverToTheCaller() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.all())) {
            registry.reload();
            int requests = 50;
            CountDownLatch done = new CountDownLatch(requests);
            List<String> pairs = new CopyOnWriteArrayList<>();
            registry.shadow(TestRepository.NAME, 1, (primary, shadow) -> {
                pairs.add(primary.version() + "/" + shadow.version());
                done.countDown();
            });
            for (int r = 0; r < requests; r++) {
                Result<Map<String, Object>> result = registry.score(TestRepository.NAME, rows.get(r));
                assertEquals(2, result.version());
                assertEquals(expected.get(2).get(r), result.values());
            }
            assertTrue(done.await(30, TimeUnit.SECONDS), "the shadow callback ran for every request");
            assertEquals(requests, pairs.size());
            assertTrue(pairs.stream().allMatch("2/1"::equals), pairs.toString());
            Map<?, ?> v1 = version(registry.metrics(), 1);
            assertEquals(0L, v1.get("requests"), "shadow scoring is not caller traffic");
            assertEquals((long) requests, v1.get("shadow_requests"));
        }
    }

    @Test
    void metricsCountRequestsErrorsAndLatencyPerVersion() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            registry.load(TestRepository.NAME, 1);
            for (int r = 0; r < 7; r++) {
                registry.score(TestRepository.NAME, rows.get(r));
            }
            Map<String, Object> bad = new LinkedHashMap<>(rows.get(0));
            bad.put("Sepal.Length", "long");
            assertThrows(RuntimeException.class, () -> registry.score(TestRepository.NAME, bad));
            registry.load(TestRepository.NAME, 2);
            registry.score(TestRepository.NAME, rows.get(0));

            Map<String, Object> metrics = registry.metrics();
            Map<?, ?> v1 = version(metrics, 1);
            assertEquals(8L, v1.get("requests"));
            assertEquals(1L, v1.get("errors"));
            Map<?, ?> latency = (Map<?, ?>) v1.get("latency_seconds");
            assertEquals(8L, latency.get("count"));
            assertEquals(8L, ((Map<?, ?>) latency.get("buckets")).get("+Inf"));
            assertEquals(1L, version(metrics, 2).get("requests"));
            assertEquals(2, ((Map<?, ?>) ((Map<?, ?>) metrics.get("models")).get(TestRepository.NAME)).get("current_version"));

            String text = registry.prometheus();
            assertTrue(text.contains("# TYPE jarscore_requests_total counter\n"), text);
            assertTrue(text.contains("jarscore_requests_total{model=\"iris\",version=\"1\"} 8\n"), text);
            assertTrue(text.contains("jarscore_errors_total{model=\"iris\",version=\"1\"} 1\n"), text);
            assertTrue(text.contains("jarscore_request_duration_seconds_bucket{model=\"iris\",version=\"1\",le=\"0.00025\"} "), text);
            assertTrue(text.contains("jarscore_request_duration_seconds_count{model=\"iris\",version=\"2\"} 1\n"), text);
            assertTrue(text.contains("jarscore_current_version{model=\"iris\"} 2\n"), text);
        }
    }

    @Test
    void watcherLoadsNewVersionsAndUnloadsRetiredOnes() throws Exception {
        TestRepository.publish(root, 1);
        try (ModelRegistry registry = registry(VersionPolicy.latest())) {
            List<Integer> swappedTo = new CopyOnWriteArrayList<>();
            registry.afterSwap((old, now) -> swappedTo.add(now == null ? -1 : now.version()));
            Watcher watcher = registry.watch(Duration.ofMillis(20));
            awaitVersion(registry, 1);
            TestRepository.publish(root, 2);
            awaitVersion(registry, 2);
            assertEquals(new TreeSet<>(List.of(2)), registry.versions(TestRepository.NAME));
            assertScoredBy(registry, 2);
            registry.close();
            assertFalse(watcher.isRunning(), "close() stops the watcher");
            assertEquals(List.of(1, 2), swappedTo);
        }
    }

    private static void awaitVersion(ModelRegistry registry, int version) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (registry.currentVersion(TestRepository.NAME) != version) {
            assertTrue(System.nanoTime() < deadline, "the watcher did not load version " + version + " within 60 s");
            Thread.sleep(10);
        }
    }

    private static Map<?, ?> version(Map<String, Object> metrics, int version) {
        Map<?, ?> model = (Map<?, ?>) ((Map<?, ?>) metrics.get("models")).get(TestRepository.NAME);
        return (Map<?, ?>) ((Map<?, ?>) model.get("versions")).get(version);
    }

}
