package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry follows labels.json as the label, rollback and retire commands write it: at its next
 * poll, keeping labelled versions loaded, reporting a label to a missing version once and ignoring it.
 */
class LabelledRegistryTest {

    private static final String NAME = TestRepository.NAME;

    @TempDir
    Path root;

    private final List<Exception> errors = new CopyOnWriteArrayList<>();

    /** As `jarscore label` writes it: a temporary file in the same folder renamed over labels.json. */
    private void writeLabels(String json) throws Exception {
        Path model = root.resolve(NAME);
        Path temporary = model.resolve(".labels.json.test.tmp");
        Files.writeString(temporary, json);
        Files.move(temporary, model.resolve(Labels.FILE), StandardCopyOption.ATOMIC_MOVE);
    }

    private static void assertServes(ModelRegistry registry, int version, Set<Integer> loaded) throws Exception {
        assertEquals(new TreeSet<>(loaded), registry.versions(NAME));
        assertEquals(version, registry.currentVersion(NAME));
        Result<Map<String, Object>> result = registry.score(NAME, TestRepository.irisRows().get(70));
        assertEquals(version, result.version());
    }

    private static Set<Integer> routed(ModelRegistry registry) {
        Set<Integer> versions = new HashSet<>();
        for (int key = 0; key < 40; key++) {
            versions.add(registry.score(NAME, "key-" + key, TestRepository.irisRows().get(0)).version());
        }
        return versions;
    }

    @Test
    void labelPolicyFollowsLabelRollbackAndRetireAndIgnoresAMissingVersion() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        TestRepository.publish(root, 3, 1);
        try (ModelRegistry registry = new ModelRegistry(root, VersionPolicy.label("stable")).onError(errors::add)) {
            registry.reload();
            assertServes(registry, 3, Set.of(3)); // no labels.json yet: the latest
            assertEquals(Map.of(), registry.labels(NAME));
            assertThrows(ModelNotServedException.class, () -> registry.versionForLabel(NAME, "stable"));

            writeLabels("{\"labels\": {\"stable\": 2, \"canary\": 3}}");
            registry.poll();
            assertServes(registry, 2, Set.of(2, 3));
            assertEquals(Map.of("stable", 2, "canary", 3), registry.labels(NAME));
            assertEquals(3, registry.versionForLabel(NAME, "canary"));

            registry.routeLabels(NAME, Map.of("stable", 1, "canary", 1));
            assertEquals(Set.of(2, 3), routed(registry), "keys are routed to both labels' versions");

            // jarscore rollback: stable goes back to the version before; the registry follows at its next poll.
            writeLabels("{\"labels\": {\"stable\": 1, \"canary\": 3}, \"history\": {\"stable\": []}}");
            registry.poll();
            assertServes(registry, 1, Set.of(1, 3));
            assertEquals(Set.of(1, 3), routed(registry), "label routes follow the labels");

            // jarscore retire: removes an unlabelled version's folder; nothing serving changes.
            TestRepository.deleteTree(root.resolve(NAME).resolve("2"));
            registry.poll();
            assertServes(registry, 1, Set.of(1, 3));
            assertEquals(List.of(), errors);

            // A label edited by hand to a version that is not there: reported once, ignored.
            writeLabels("{\"labels\": {\"stable\": 9, \"canary\": 3}}");
            registry.poll();
            registry.poll();
            assertServes(registry, 1, Set.of(1, 3));
            assertEquals(Map.of("stable", 1, "canary", 3), registry.labels(NAME));
            assertEquals(1, errors.size(), errors.toString());
            VersionLoadException error = assertInstanceOf(VersionLoadException.class, errors.get(0));
            assertEquals(9, error.version());
            assertTrue(error.getMessage().contains("label 'stable' names it, but it is not in the repository")
                && error.getMessage().contains("stays at version 1"), error.getMessage());

            // Once version 9 is published, the label serves it at the next poll.
            TestRepository.publish(root, 9, 2);
            registry.poll();
            assertServes(registry, 9, Set.of(3, 9));
            assertEquals(1, errors.size());

            // An invalid labels.json is reported once; the labels read before stay.
            writeLabels("{\"labels\": {\"stable\": \"nine\"}}");
            registry.poll();
            registry.poll();
            assertServes(registry, 9, Set.of(3, 9));
            assertEquals(2, errors.size(), errors.toString());
            assertTrue(errors.get(1).getMessage().contains("'labels.stable' is 'nine'"), errors.get(1).getMessage());
        }
    }

    @Test
    void latestPolicyKeepsTheLabelledVersionsLoaded() throws Exception {
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);
        writeLabels("{\"labels\": {\"stable\": 1}}");
        try (ModelRegistry registry = new ModelRegistry(root, VersionPolicy.latest()).onError(errors::add)) {
            registry.reload();
            assertServes(registry, 2, Set.of(1, 2));
            assertEquals(1, registry.versionForLabel(NAME, "stable"));
            writeLabels("{\"labels\": {}}");
            registry.poll();
            assertServes(registry, 2, Set.of(2));
            assertEquals(List.of(), errors);
        }
    }
}
