package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** labels.json read by the cases Python's reader is tested on too (tests/data/labels-cases.json). */
class LabelsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void readsEveryCaseAsPythonDoes() throws Exception {
        Path cases = Path.of(System.getProperty("jarscore.conformanceDir")).resolveSibling("labels-cases.json");
        JsonNode all = JSON.readTree(cases.toFile()).get("cases");
        assertTrue(all.size() > 10, "the shared cases are there: " + cases);
        for (JsonNode c : all) {
            String text = c.get("text").asText();
            if (c.has("error")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Labels.parse(text, "labels.json"), text);
                for (JsonNode part : c.get("error")) {
                    assertTrue(e.getMessage().contains(part.asText()), text + " -> " + e.getMessage());
                }
                assertTrue(e.getMessage().startsWith("labels.json: "), e.getMessage());
            } else {
                Labels labels = Labels.parse(text, "labels.json");
                Map<String, Integer> expected = new TreeMap<>();
                c.get("labels").fields().forEachRemaining(e -> expected.put(e.getKey(), e.getValue().asInt()));
                Map<String, List<Integer>> history = new TreeMap<>();
                c.get("history").fields().forEachRemaining(e -> {
                    List<Integer> versions = new ArrayList<>();
                    e.getValue().forEach(v -> versions.add(v.asInt()));
                    history.put(e.getKey(), versions);
                });
                assertEquals(expected, labels.labels(), text);
                assertEquals(history, labels.history(), text);
            }
        }
    }

    @Test
    void aModelWithoutLabelsJsonHasNoLabels(@TempDir Path dir) throws Exception {
        assertEquals(Labels.NONE, Labels.read(dir));
        Files.writeString(dir.resolve(Labels.FILE), "{\"labels\": {\"stable\": 2}}");
        assertEquals(Map.of("stable", 2), Labels.read(dir).labels());
    }

    @Test
    void labelPolicySelectsTheLabelledVersionOrTheLatest() {
        VersionPolicy policy = VersionPolicy.label("stable");
        java.util.SortedSet<Integer> available = new java.util.TreeSet<>(List.of(1, 2, 3));
        assertEquals(new java.util.TreeSet<>(List.of(2)), policy.select(available, Map.of("stable", 2)));
        assertEquals(new java.util.TreeSet<>(List.of(3)), policy.select(available, Map.of("canary", 2)));
        assertEquals(new java.util.TreeSet<>(List.of(3)), policy.select(available, Map.of("stable", 7)));
        assertThrows(IllegalArgumentException.class, () -> VersionPolicy.label("a=b"));
    }
}
