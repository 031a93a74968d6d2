package io.jarscore.registry;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * What the registry knows of each model's labels: the labels labels.json named when last read validly,
 * the labels honoured (each naming a served version), and the problems reported, each once. The
 * registry calls it under its swap lock; {@link #honoured} is read by requests without a lock.
 */
final class LabelTracker {

    private static final String FILE_PROBLEM = "(" + Labels.FILE + ")";

    /** A labelled version that cannot serve: its folder and why. */
    record Target(Path directory, String why) {
    }

    private final Consumer<Exception> reporter;
    private final Map<String, Map<String, Integer>> named = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Integer>> honoured = new ConcurrentHashMap<>();
    /** (model, label) to the problem reported for it. */
    private final Map<String, Map<String, String>> problems = new ConcurrentHashMap<>();

    LabelTracker(Consumer<Exception> reporter) {
        this.reporter = reporter;
    }

    /** The labels honoured now (immutable). */
    Map<String, Integer> honoured(String name) {
        return honoured.getOrDefault(name, Map.of());
    }

    /** labels.json's labels; an invalid file is reported once and the labels last read stay. */
    Map<String, Integer> read(String name, Path modelDir) {
        try {
            Map<String, Integer> labels = Labels.read(modelDir).labels();
            named.put(name, labels);
            problems(name).remove(FILE_PROBLEM);
            return labels;
        } catch (IllegalArgumentException e) {
            Map<String, Integer> before = named.getOrDefault(name, Map.of());
            String problem = e.getMessage() + "; keeping the labels read before (" + (before.isEmpty() ? "none" : before) + ")";
            report(name, FILE_PROBLEM, problem, new IllegalArgumentException(problem, e));
            return before;
        }
    }

    /**
     * The version each label should name: the one labels.json names if it can serve ({@code usable});
     * else the one it named before if that still serves (serving goes on as it was); else none.
     */
    Map<String, Integer> targets(String name, Map<String, Integer> labels, Collection<Integer> usable,
                                 Set<Integer> current) {
        Map<String, Integer> before = honoured(name);
        Map<String, Integer> targets = new TreeMap<>();
        labels.forEach((label, version) -> {
            if (usable.contains(version)) {
                targets.put(label, version);
            } else if (before.containsKey(label) && current.contains(before.get(label))) {
                targets.put(label, before.get(label));
            }
        });
        return targets;
    }

    /**
     * Records the labels honoured (the targets whose version serves) and reports, once each, a label
     * that names a version that cannot serve; {@code problem} says why a version cannot.
     */
    void honour(String name, Map<String, Integer> labels, Map<String, Integer> targets, Set<Integer> served,
                IntFunction<Target> problem) {
        Map<String, Integer> now = new TreeMap<>();
        targets.forEach((label, version) -> {
            if (served.contains(version)) {
                now.put(label, version);
            }
        });
        honoured.put(name, Map.copyOf(now));
        Map<String, String> reported = problems(name);
        reported.keySet().removeIf(label -> !label.equals(FILE_PROBLEM) && !labels.containsKey(label));
        labels.forEach((label, version) -> {
            if (version.equals(now.get(label))) {
                reported.remove(label);
                return;
            }
            Target target = problem.apply(version);
            Integer kept = now.get(label);
            String message = "label '" + label + "' names it, but " + target.why() + "; the label is ignored"
                + (kept != null ? " and stays at version " + kept : "");
            report(name, label, message, new VersionLoadException(name, version, target.directory(), message, null));
        });
    }

    private void report(String name, String label, String problem, Exception e) {
        if (problem.equals(problems(name).put(label, problem))) {
            return;
        }
        reporter.accept(e);
    }

    private Map<String, String> problems(String name) {
        return problems.computeIfAbsent(name, n -> new ConcurrentHashMap<>());
    }
}
