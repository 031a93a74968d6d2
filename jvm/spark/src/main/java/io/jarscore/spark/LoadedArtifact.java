package io.jarscore.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.jarscore.registry.Artifact;
import io.jarscore.runtime.ArtifactException;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;

/**
 * One artifact loaded in this JVM as {@code Models.load} loads it: every listed file checked against
 * the manifest's size and sha256 before a class of the JAR loads, the fast kernel checked against
 * JPMML-Evaluator on the verification rows, and the recorded outputs reproduced. Shared by every task
 * of the JVM ({@link Model} is thread-safe); see {@link ModelCache}.
 */
public final class LoadedArtifact {

    private final String manifestSha256;
    private final Path directory;
    private final String name;
    private final int version;
    private final Model model;
    private final List<String> probabilityFields;
    /** Per kernel input: string to code, or null for a number; null when the kernel is not active. */
    private final List<Map<String, Integer>> codes;
    private final String[][] outputLabels;

    private LoadedArtifact(String manifestSha256, Artifact artifact, Model model) {
        this.manifestSha256 = manifestSha256;
        this.directory = artifact.directory();
        this.name = artifact.name();
        this.version = artifact.version();
        this.model = model;
        this.probabilityFields = probabilityFields(artifact.manifest(), model.resultFields());
        if (model.kernelStatus().equals("active")) {
            List<Map<String, Integer>> tables = new ArrayList<>();
            for (String[] table : model.kernelInputTables()) {
                Map<String, Integer> index = null;
                if (table != null) {
                    index = new HashMap<>(table.length * 2);
                    for (int i = 0; i < table.length; i++) {
                        index.put(table[i], i);
                    }
                }
                tables.add(index);
            }
            this.codes = tables;
            this.outputLabels = model.kernelOutputLabels();
        } else {
            this.codes = null;
            this.outputLabels = null;
        }
    }

    /**
     * Loads and checks the artifact in {@code dir}, whose manifest hashed to {@code manifestSha256};
     * {@code kernel} false scores every row through JPMML-Evaluator.
     */
    static LoadedArtifact load(Path dir, String manifestSha256, boolean kernel) {
        Artifact artifact = Artifact.read(dir);
        String checked = ModelCache.manifestSha256(dir);
        if (!checked.equals(manifestSha256)) {
            throw new ArtifactException(dir.resolve(Artifact.MANIFEST) + " changed while it was loaded; try again once"
                + " the artifact is written");
        }
        Model model = artifact.loadChecked();
        if (!kernel) {
            model.refuseKernel("turned off (useKernel=false)");
        }
        return new LoadedArtifact(manifestSha256, artifact, model);
    }

    /** The manifest's probability fields (the classes' order), else the outputs named probability(...). */
    private static List<String> probabilityFields(Map<String, Object> manifest, List<FieldSpec> results) {
        List<String> names = results.stream().map(FieldSpec::name).toList();
        if (manifest.get("probability_fields") instanceof List<?> listed) {
            List<String> fields = listed.stream().map(String::valueOf).toList();
            if (names.containsAll(fields)) {
                return fields;
            }
        }
        return names.stream().filter(n -> n.startsWith("probability(") && n.endsWith(")")).toList();
    }

    public String manifestSha256() {
        return manifestSha256;
    }

    public Path directory() {
        return directory;
    }

    public String name() {
        return name;
    }

    public int version() {
        return version;
    }

    public Model model() {
        return model;
    }

    public List<String> probabilityFields() {
        return probabilityFields;
    }

    /** Whether rows go to the fast kernel in blocks ({@link #codes()} and {@link #outputLabels()} are set). */
    public boolean kernelActive() {
        return codes != null;
    }

    List<Map<String, Integer>> codes() {
        return codes;
    }

    String[][] outputLabels() {
        return outputLabels;
    }
}
