package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import io.jarscore.transpile.TranspileCommand;

/**
 * The JPMML-Transpiler conformance corpus (system property {@code jarscore.conformanceDir}, set by
 * surefire): its cases, its CSV files, and its models transpiled once per test run.
 */
final class Corpus {

    static final String PROPERTY = "jarscore.conformanceDir";

    /** One entry of cases.json. {@code kind} is "pmml" (abs, rel) or "float_ulps" (ulps). */
    record Case(String name, Path pmml, Path input, Path expected, String kind, double abs, double rel,
                int ulps, List<String> excludeColumns, boolean vectorizedInput) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A CSV file read as strings; {@code null} marks a missing value (empty cell or N/A). */
    record Table(List<String> header, List<String[]> rows) {
        int column(String name) {
            int index = header.indexOf(name);
            if (index < 0) {
                fail("no column '" + name + "' in " + header);
            }
            return index;
        }
    }

    private static final Map<String, Path> TRANSPILED = new HashMap<>();
    private static Path transpileDir;
    private static Map<String, Case> cases;

    private Corpus() {
    }

    /** The corpus directory; fails the calling test (never skips it) when it is not there. */
    static Path dir() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            fail("system property " + PROPERTY + " is not set; run the tests through Maven (surefire sets it to"
                + " tests/data/jpmml-conformance)");
        }
        Path dir = Path.of(value).toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("cases.json"))) {
            fail("conformance corpus not found: " + dir + " has no cases.json (system property " + PROPERTY + ")");
        }
        return dir;
    }

    static synchronized List<Case> all() {
        if (cases == null) {
            cases = readCases(dir());
        }
        return List.copyOf(cases.values());
    }

    static synchronized Case get(String name) {
        all();
        Case c = cases.get(name);
        if (c == null) {
            fail("cases.json has no case named " + name + "; it has " + cases.keySet());
        }
        return c;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Case> readCases(Path dir) {
        Map<String, Object> root = (Map<String, Object>) MiniJson.parse(readString(dir.resolve("cases.json")));
        Map<String, Case> byName = new java.util.LinkedHashMap<>();
        for (Object entry : (List<Object>) root.get("cases")) {
            Map<String, Object> c = (Map<String, Object>) entry;
            Map<String, Object> tolerance = (Map<String, Object>) c.get("tolerance");
            String name = (String) c.get("name");
            byName.put(name, new Case(name,
                dir.resolve((String) c.get("pmml")),
                dir.resolve((String) c.get("input")),
                dir.resolve((String) c.get("expected")),
                (String) tolerance.get("kind"),
                number(tolerance.get("abs")),
                number(tolerance.get("rel")),
                (int) number(tolerance.get("ulps")),
                ((List<Object>) c.getOrDefault("exclude_columns", List.of())).stream().map(String.class::cast).toList(),
                Boolean.TRUE.equals(c.get("vectorized_input"))));
        }
        return byName;
    }

    private static double number(Object value) {
        return value == null ? 0 : (Double) value;
    }

    /**
     * The case's PMML transpiled into DIR/model.jar (once per test run), with the PMML as DIR/model.pmml:
     * JPMML-Transpiler's classes beside the kernel.
     */
    static Path transpiled(String caseName) throws Exception {
        return jar(caseName, true);
    }

    /** As {@link #transpiled}, but the JAR the converter writes by default: the kernel only, when there is one. */
    static Path kernelOnly(String caseName) throws Exception {
        return jar(caseName, false);
    }

    private static synchronized Path jar(String caseName, boolean transpiledClasses) throws Exception {
        String key = caseName + (transpiledClasses ? "" : "-kernel-only");
        Path jar = TRANSPILED.get(key);
        if (jar == null) {
            if (transpileDir == null) {
                transpileDir = Files.createTempDirectory("jarscore-test-");
                Path dirToDelete = transpileDir;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dirToDelete)));
            }
            // The artifact layout: DIR/model.jar next to DIR/model.pmml (which Model.loadJar reads for
            // the x_0, x_1, ... fields that JPMML-Transpiler folds into one list-valued field x).
            jar = transpileDir.resolve(key).resolve("model.jar");
            TranspileCommand.transpile(get(caseName).pmml(), jar, "jarscore.test." + caseName, null, transpiledClasses);
            Files.copy(get(caseName).pmml(), jar.resolveSibling("model.pmml"));
            TRANSPILED.put(key, jar);
        }
        return jar;
    }

    static Model loadTranspiled(String caseName) throws Exception {
        return Model.loadJar(transpiled(caseName));
    }

    /** Reads a corpus CSV (header row, commas, double-quoted fields, N/A or empty for missing). */
    static Table readCsv(Path file) {
        List<String> lines = List.of(readString(file).split("\r?\n"));
        List<String> header = split(lines.get(0));
        List<String[]> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isEmpty()) {
                continue;
            }
            List<String> cells = split(line);
            if (cells.size() != header.size()) {
                fail(file.getFileName() + ": row " + (rows.size() + 1) + " has " + cells.size() + " cells: " + line);
            }
            rows.add(cells.stream().map(v -> v.isEmpty() || v.equals("N/A") ? null : v).toArray(String[]::new));
        }
        return new Table(header, rows);
    }

    /** One CSV line (the corpus has no line breaks inside quoted fields). */
    private static List<String> split(String line) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cell.append(c);
                }
            } else if (c == '"' && cell.isEmpty()) {
                quoted = true;
            } else if (c == ',') {
                cells.add(cell.toString());
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        cells.add(cell.toString());
        return cells;
    }

    /** The table's columns for {@code model.inputFields()}: double[] (NaN missing) or String[] (null missing). */
    static Object[] inputColumns(Model model, Table table) {
        List<FieldSpec> inputs = model.inputFields();
        Object[] columns = new Object[inputs.size()];
        for (int f = 0; f < columns.length; f++) {
            int c = table.column(inputs.get(f).name());
            int rows = table.rows().size();
            if (inputs.get(f).numeric()) {
                double[] values = new double[rows];
                for (int r = 0; r < rows; r++) {
                    String cell = table.rows().get(r)[c];
                    values[r] = cell == null ? Double.NaN : Double.parseDouble(cell);
                }
                columns[f] = values;
            } else {
                String[] values = new String[rows];
                for (int r = 0; r < rows; r++) {
                    values[r] = table.rows().get(r)[c];
                }
                columns[f] = values;
            }
        }
        return columns;
    }

    /** One input row as a map for {@link Model#score}; values stay strings for the model to convert. */
    static Map<String, Object> inputRow(Model model, Table table, int row) {
        Map<String, Object> values = new HashMap<>();
        for (FieldSpec field : model.inputFields()) {
            values.put(field.name(), table.rows().get(row)[table.column(field.name())]);
        }
        return values;
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temporary directory
        }
    }
}
