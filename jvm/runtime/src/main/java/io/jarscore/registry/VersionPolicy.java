package io.jarscore.registry;

import java.util.Arrays;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which of a model's complete versions the registry serves: the latest, a fixed list, or all of
 * them at once (as TensorFlow Serving's model version policy).
 */
public sealed interface VersionPolicy {

    /** The versions to serve out of {@code available}, the complete versions in the repository. */
    SortedSet<Integer> select(SortedSet<Integer> available);

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
