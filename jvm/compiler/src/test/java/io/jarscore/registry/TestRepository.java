package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jarscore.runtime.Model;
import io.jarscore.transpile.TranspileCommand;

/**
 * Model repositories for the registry tests, built from two real Iris models of the JPMML conformance
 * corpus (system property {@code jarscore.conformanceDir}): version 1 is a decision tree, version 2 a
 * logistic regression. Same inputs and output fields, different probabilities. The manifests are of
 * format 2 and list model.jar and model.pmml.gz with their sha256 and size, and verification rows
 * with the outputs of JPMML-Evaluator's interpreter (which a converted kernel reproduces), as the
 * converter writes them.
 */
public final class TestRepository {

    public static final String NAME = "iris";
    /** Iris models by number: 1 and 2 are the two versions most tests use; 3 and 4 are larger ones. */
    public static final Map<Integer, String> CASES = Map.of(1, "DecisionTreeIris", 2, "LogisticRegressionIris",
        3, "RandomForestIris", 4, "GradientBoostingIris");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<Integer, Path> TRANSPILED = new HashMap<>();
    private static List<Map<String, Object>> irisRows;

    private TestRepository() {
    }

    public static Path corpus() {
        String value = System.getProperty("jarscore.conformanceDir");
        if (value == null || !Files.isRegularFile(Path.of(value, "cases.json"))) {
            fail("conformance corpus not found (system property jarscore.conformanceDir = " + value
                + "); run the tests through Maven");
        }
        return Path.of(value).toAbsolutePath().normalize();
    }

    /** The Iris rows (150), values as Doubles keyed by field name. */
    public static synchronized List<Map<String, Object>> irisRows() {
        if (irisRows == null) {
            List<String> lines = readLines(corpus().resolve("csv/Iris.csv"));
            String[] header = lines.get(0).split(",");
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) {
                String[] cells = line.split(",");
                Map<String, Object> row = new LinkedHashMap<>();
                for (int c = 0; c < 4; c++) {
                    row.put(header[c], Double.parseDouble(cells[c]));
                }
                rows.add(row);
            }
            irisRows = List.copyOf(rows);
        }
        return irisRows;
    }

    /**
     * The version's model.jar, its PMML as model.pmml and as model.pmml.gz (what an artifact of format 2
     * holds), transpiled once per test run.
     */
    public static synchronized Path transpiled(int version) throws Exception {
        Path dir = TRANSPILED.get(version);
        if (dir == null) {
            dir = Files.createTempDirectory("jarscore-registry-v" + version + "-");
            Path pmml = corpus().resolve("pmml/" + CASES.get(version) + ".pmml");
            TranspileCommand.transpile(pmml, dir.resolve(Artifact.JAR), "jarscore.models.iris_m" + version, null, true);
            Files.copy(pmml, dir.resolve(Artifact.PMML));
            try (OutputStream packed = new GZIPOutputStream(Files.newOutputStream(dir.resolve(Artifact.PMML_GZ)))) {
                Files.copy(pmml, packed);
            }
            Path toDelete = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(toDelete)));
            TRANSPILED.put(version, dir);
        }
        return dir;
    }

    /** Writes ROOT/iris/VERSION as the converter does: a hidden staging directory renamed into place. */
    public static Path publish(Path root, int version) throws Exception {
        return publish(root, version, version, manifest(version));
    }

    /** Writes ROOT/iris/VERSION holding model {@code model} (see {@link #CASES}) with its own manifest. */
    public static Path publish(Path root, int version, int model) throws Exception {
        return publish(root, version, model, manifest(model));
    }

    /**
     * Writes ROOT/iris/VERSION holding the files of version {@code model} and {@code manifest}, whose
     * version is set to VERSION as a conversion to that version would write it (a folder whose manifest
     * names another version is refused; to test that, copy a folder with {@link #copyArtifact}).
     */
    public static Path publish(Path root, int version, int model, Map<String, Object> manifest) throws Exception {
        Path staging = Files.createDirectories(root.resolve(NAME).resolve(".partial-" + version));
        Map<String, Object> renumbered = new LinkedHashMap<>(manifest);
        renumbered.put("version", version);
        writeFiles(staging, model, renumbered);
        Path target = root.resolve(NAME).resolve(Integer.toString(version));
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    public static void writeFiles(Path dir, int version, Map<String, Object> manifest) throws Exception {
        Files.copy(transpiled(version).resolve(Artifact.JAR), dir.resolve(Artifact.JAR), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(transpiled(version).resolve(Artifact.PMML_GZ), dir.resolve(Artifact.PMML_GZ), StandardCopyOption.REPLACE_EXISTING);
        writeManifest(dir, manifest);
    }

    public static void writeManifest(Path dir, Map<String, Object> manifest) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(Artifact.MANIFEST).toFile(), manifest);
    }

    /** Reads DIR/manifest.json, lets {@code change} edit it and writes it back (the other files stay as they are). */
    public static void rewriteManifest(Path dir, Consumer<Map<String, Object>> change) throws IOException {
        Map<String, Object> manifest = JSON.readValue(dir.resolve(Artifact.MANIFEST).toFile(),
            new TypeReference<LinkedHashMap<String, Object>>() { });
        change.accept(manifest);
        writeManifest(dir, manifest);
    }

    /** Copies an artifact folder's files, manifest and all, to {@code target} (created). */
    public static Path copyArtifact(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(source)) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return target;
    }

    /** A manifest's {@code files} entry for {@code file}: its sha256 and size. */
    public static Map<String, Object> fileEntry(Path file) throws IOException {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("sha256", Artifact.sha256(file));
        entry.put("bytes", Files.size(file));
        return entry;
    }

    /** The manifest the converter would write, with 20 verification rows scored by the PMML interpreter. */
    public static Map<String, Object> manifest(int version) throws Exception {
        Path jar = transpiled(version).resolve(Artifact.JAR);
        List<Map<String, Object>> rows = irisRows().subList(0, 20);
        List<Map<String, Object>> outputs = new ArrayList<>();
        try (Model reference = Model.loadPmml(transpiled(version).resolve(Artifact.PMML))) {
            for (Map<String, Object> row : rows) {
                outputs.add(reference.score(row));
            }
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("format", Artifact.FORMAT);
        manifest.put("name", NAME);
        manifest.put("version", version);
        Map<String, Object> files = new LinkedHashMap<>();
        files.put(Artifact.JAR, fileEntry(jar));
        files.put(Artifact.PMML_GZ, fileEntry(transpiled(version).resolve(Artifact.PMML_GZ)));
        manifest.put("files", files);
        manifest.put("verification", Map.of("rows", rows, "outputs", outputs));
        return manifest;
    }

    /** Expected outputs of a version for every Iris row, from its JAR loaded outside any registry. */
    public static List<Map<String, Object>> expectedOutputs(int version) throws Exception {
        List<Map<String, Object>> outputs = new ArrayList<>();
        try (Model model = Model.loadJar(transpiled(version).resolve(Artifact.JAR))) {
            for (Map<String, Object> row : irisRows()) {
                outputs.add(model.score(row));
            }
        }
        return outputs;
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temporary directory
        }
    }
}
