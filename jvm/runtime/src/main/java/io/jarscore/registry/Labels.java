package io.jarscore.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A model's version labels, {@code ROOT/<name>/labels.json}:
 * {@code {"labels": {"stable": 4, "canary": 5}, "history": {"stable": [3, 2]}}}, the history holding
 * each label's earlier versions, most recent first. Read by the rules of docs/delivery.md, as Python's
 * {@code jarscore.scorer.labels} reads it (both are tested on {@code tests/data/labels-cases.json});
 * written only by the Python label commands, atomically under the model's lock.
 */
public record Labels(Map<String, Integer> labels, Map<String, List<Integer>> history) {

    public static final String FILE = "labels.json";
    /** A letter, then up to 63 letters, digits, '_', '.' or '-'. */
    public static final Pattern LABEL = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
    /** Earlier versions kept per label. */
    public static final int HISTORY_LENGTH = 10;
    private static final int MAX_VERSION = 999_999_999;
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public static final Labels NONE = new Labels(Map.of(), Map.of());

    public Labels {
        labels = Collections.unmodifiableMap(new TreeMap<>(labels));
        history = Collections.unmodifiableMap(new TreeMap<>(history));
    }

    /** The labels of the model in {@code modelDir}; {@link #NONE} if it has no labels.json. */
    public static Labels read(Path modelDir) {
        Path file = modelDir.resolve(FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return NONE;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses a labels.json text; an {@link IllegalArgumentException} names the source, the field and the value. */
    public static Labels parse(String text, String source) {
        JsonNode document;
        try {
            document = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (document == null || document.isMissingNode()) {
            throw new IllegalArgumentException(source + ": not valid JSON (no content)");
        }
        if (!document.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object with 'labels', got " + shorten(document));
        }
        Map<String, Integer> labels = new TreeMap<>();
        JsonNode rawLabels = document.path("labels");
        if (!rawLabels.isMissingNode()) {
            if (!rawLabels.isObject()) {
                throw new IllegalArgumentException(source + ": 'labels' must map each label to a version, got "
                    + shorten(rawLabels));
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = rawLabels.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                checkLabel(entry.getKey(), source, "labels");
                labels.put(entry.getKey(), version(entry.getValue(), source, "labels." + entry.getKey()));
            }
        }
        Map<String, List<Integer>> history = new TreeMap<>();
        JsonNode rawHistory = document.path("history");
        if (!rawHistory.isMissingNode()) {
            if (!rawHistory.isObject()) {
                throw new IllegalArgumentException(source + ": 'history' must map each label to a list of versions, got "
                    + shorten(rawHistory));
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = rawHistory.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                checkLabel(entry.getKey(), source, "history");
                if (!entry.getValue().isArray()) {
                    throw new IllegalArgumentException(source + ": 'history." + entry.getKey()
                        + "' must be a list of versions, got " + shorten(entry.getValue()));
                }
                List<Integer> versions = new ArrayList<>();
                for (JsonNode v : entry.getValue()) {
                    int version = version(v, source, "history." + entry.getKey());
                    if (versions.size() < HISTORY_LENGTH) {
                        versions.add(version);
                    }
                }
                history.put(entry.getKey(), List.copyOf(versions));
            }
        }
        return new Labels(labels, history);
    }

    private static void checkLabel(String label, String source, String where) {
        if (!LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException(source + ": '" + where + "' names " + shorten(label)
                + ", which is not a valid label name (a letter, then letters, digits, '_', '.' or '-')");
        }
    }

    private static int version(JsonNode node, String source, String where) {
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.asLong() <= 0 || node.asLong() > MAX_VERSION) {
            throw new IllegalArgumentException(source + ": '" + where + "' is " + shorten(node)
                + "; expected a version, a positive integer");
        }
        return node.asInt();
    }

    private static String shorten(Object value) {
        // Strings quoted as Python's reader quotes them ('nine'), anything else as JSON.
        String text = value instanceof String s ? "'" + s + "'"
            : value instanceof JsonNode node && node.isTextual() ? "'" + node.asText() + "'" : String.valueOf(value);
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }
}
