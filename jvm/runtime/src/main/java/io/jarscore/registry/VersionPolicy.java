package io.jarscore.registry;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which of a model's complete versions the registry serves: the latest, a fixed list, all of them at
 * once (as TensorFlow Serving's model version policy), or the version a label names. Whatever the
 * policy, the registry also keeps the versions that labels name loaded (docs/delivery.md).
 */
public sealed interface VersionPolicy {

    /** The versions to serve out of {@code available}, the complete versions in the repository. */
    SortedSet<Integer> select(SortedSet<Integer> available);

    /** As {@link #select(SortedSet)}, knowing the labels the registry can honour (label to version). */
    default SortedSet<Integer> select(SortedSet<Integer> available, Map<String, Integer> labels) {
        return select(available);
    }

    /** Serves one version (latest, label): loading another one replaces it. */
    default boolean single() {
        return false;
    }

    /** Serves only the highest complete version. */
    static VersionPolicy latest() {
        return new Latest();
    }

    /** Serves these versions, whichever of them are complete. */
    static VersionPolicy specific(int... versions) {
        if (versions.length == 0) {
            throw new IllegalArgumentException("VersionPolicy.specific needs at least one version");
        }
        TreeSet<Integer> wanted = new TreeSet<>();
        Arrays.stream(versions).forEach(wanted::add);
        return new Specific(Collections.unmodifiableSortedSet(wanted));
    }

    /** Serves every complete version. */
    static VersionPolicy all() {
        return new All();
    }

    /** Serves the version that {@code label} names in labels.json; the latest while the label is not set. */
    static VersionPolicy label(String label) {
        if (label == null || !Labels.LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException("'" + label + "' is not a valid label name: expected a letter, then up"
                + " to 63 letters, digits, '_', '.' or '-' (e.g. stable)");
        }
        return new Label(label);
    }

    /**
     * A policy as configuration spells it: {@code latest}, {@code all}, {@code specific:3} /
     * {@code specific:2,3}, or {@code label:stable}; an IllegalArgumentException saying so otherwise.
     */
    static VersionPolicy parse(String text) {
        String trimmed = text == null ? "" : text.trim();
        if (trimmed.equals("latest")) {
            return latest();
        }
        if (trimmed.equals("all")) {
            return all();
        }
        try {
            if (trimmed.startsWith("label:")) {
                return label(trimmed.substring("label:".length()).trim());
            }
            if (trimmed.startsWith("specific:")) {
                return specific(Arrays.stream(trimmed.substring("specific:".length()).split(","))
                    .map(String::trim).mapToInt(Integer::parseInt).toArray());
            }
        } catch (IllegalArgumentException e) {
            // NumberFormatException included: reported below
        }
        throw new IllegalArgumentException("'" + text + "' is not a version policy; expected latest, all,"
            + " specific:<version>[,<version>...] or label:<label> (e.g. label:stable)");
    }

    record Latest() implements VersionPolicy {
        @Override
        public SortedSet<Integer> select(SortedSet<Integer> available) {
            TreeSet<Integer> chosen = new TreeSet<>();
            if (!available.isEmpty()) {
                chosen.add(available.last());
            }
            return chosen;
        }

        @Override
        public boolean single() {
            return true;
        }

        @Override
        public String toString() {
            return "latest";
        }
    }

    record Specific(SortedSet<Integer> versions) implements VersionPolicy {
        @Override
        public SortedSet<Integer> select(SortedSet<Integer> available) {
            TreeSet<Integer> chosen = new TreeSet<>(available);
            chosen.retainAll(versions);
            return chosen;
        }

        @Override
        public String toString() {
            return "specific " + versions;
        }
    }

    record Label(String label) implements VersionPolicy {
        @Override
        public SortedSet<Integer> select(SortedSet<Integer> available) {
            return new Latest().select(available);
        }

        @Override
        public SortedSet<Integer> select(SortedSet<Integer> available, Map<String, Integer> labels) {
            Integer named = labels.get(label);
            return named != null && available.contains(named) ? new TreeSet<>(Set.of(named)) : select(available);
        }

        @Override
        public boolean single() {
            return true;
        }

        @Override
        public String toString() {
            return "label " + label;
        }
    }

    record All() implements VersionPolicy {
        @Override
        public SortedSet<Integer> select(SortedSet<Integer> available) {
            return new TreeSet<>(available);
        }

        @Override
        public String toString() {
            return "all";
        }
    }
}
