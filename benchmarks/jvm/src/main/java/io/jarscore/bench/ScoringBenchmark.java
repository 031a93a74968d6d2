package io.jarscore.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import org.dmg.pmml.PMML;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelEvaluatorBuilder;
import org.jpmml.model.PMMLUtil;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One row per call, cycling through the model's held-out rows, for each engine on the same
 * artifact: jarscore's library ({@code Models.load}, which scores a Map through the verified
 * kernel), the bare kernel on pre-encoded rows, and JPMML-Evaluator used directly on the
 * artifact's PMML (model.pmml.gz, or model.pmml in format 1; interpreted) and on the same PMML through
 * JPMML-Transpiler (transpiled/model.jar beside the artifact, written by the suite).
 *
 * {@code model} is a benchmark cache folder holding {@code artifact/} and {@code rows.csv}
 * (written by {@code jarscore bench}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ScoringBenchmark {

    @Param({""})
    public String model;

    @Param({"jarscore", "jarscore-kernel", "jpmml-interpreted", "jpmml-transpiled"})
    public String engine;

    private List<Map<String, Object>> rows;
    private int next;
    private io.jarscore.ScoringModel jarscore;
    private Evaluator evaluator;
    private URLClassLoader loader;
    private io.jarscore.kernel.Kernel kernel;
    private double[][] kernelRows;
    private double[] kernelOut;

    @Setup(Level.Trial)
    public void load() throws Exception {
        Path folder = Path.of(model);
        Path jar = folder.resolve("artifact/model.jar");
        Path pmmlFile = folder.resolve("artifact/model.pmml.gz");
        if (!Files.isRegularFile(pmmlFile)) {
            pmmlFile = folder.resolve("artifact/model.pmml"); // a format 1 artifact
        }
        try (Model schema = Model.loadPmml(pmmlFile)) {
            rows = RowsCsv.read(folder.resolve("rows.csv"), schema.inputFields());
        }
        switch (engine) {
            // the library as a Java service uses it: Models.load checks and activates the kernel
            case "jarscore" -> jarscore = io.jarscore.Models.load(jar.getParent());
            case "jarscore-kernel" -> loadKernel(jar);
            case "jpmml-interpreted" -> evaluator = build(unmarshal(pmmlFile));
            case "jpmml-transpiled" -> {
                // the artifact's model.jar holds the kernel alone; jvm_side.transpiled_jar writes this one
                Path transpiled = folder.resolve("transpiled/model.jar");
                loader = new URLClassLoader(new URL[]{transpiled.toUri().toURL()}, getClass().getClassLoader());
                evaluator = build(PMMLUtil.load(loader));
            }
            default -> throw new IllegalArgumentException("unknown engine '" + engine
                + "': expected jarscore, jarscore-kernel, jpmml-interpreted or jpmml-transpiled");
        }
    }

    /** The artifact's fast kernel, checked against JPMML on the benchmark rows, each row pre-encoded. */
    private void loadKernel(Path jar) {
        Model model = Model.loadJar(jar);
        List<FieldSpec> fields = model.inputFields();
        Object[] columns = new Object[fields.size()];
        for (int f = 0; f < columns.length; f++) {
            String name = fields.get(f).name();
            if (fields.get(f).numeric()) {
                double[] c = new double[rows.size()];
                for (int r = 0; r < c.length; r++) {
                    Object v = rows.get(r).get(name);
                    c[r] = v == null ? Double.NaN : (Double) v;
                }
                columns[f] = c;
            } else {
                String[] c = new String[rows.size()];
                for (int r = 0; r < c.length; r++) {
                    c[r] = (String) rows.get(r).get(name);
                }
                columns[f] = c;
            }
        }
        String status = model.verifyKernel(columns, rows.size());
        if (!status.equals("active")) {
            throw new IllegalStateException("no fast kernel for " + jar + ": " + status);
        }
        kernel = model.kernel();
        String[][] tables = kernel.inputCategories();
        kernelRows = new double[rows.size()][fields.size()];
        for (int r = 0; r < kernelRows.length; r++) {
            for (int f = 0; f < fields.size(); f++) {
                Object column = columns[f];
                if (column instanceof double[] d) {
                    kernelRows[r][f] = d[r];
                } else {
                    String v = ((String[]) column)[r];
                    int code = v == null ? -1 : java.util.Arrays.asList(tables[f]).indexOf(v);
                    kernelRows[r][f] = v == null ? Double.NaN : code < 0 ? io.jarscore.kernel.Kernel.UNKNOWN : code;
                }
            }
        }
        kernelOut = new double[kernel.outputCount()];
        jarscore = null;
        loader = null;
        this.kernelModel = model;
    }

    private Model kernelModel;

    @TearDown(Level.Trial)
    public void close() throws IOException {
        if (jarscore != null) {
            jarscore.close();
        }
        if (kernelModel != null) {
            kernelModel.close();
        }
        if (loader != null) {
            loader.close();
        }
    }

    @Benchmark
    public Object scoreOneRow() {
        Map<String, Object> row = rows.get(next);
        int current = next;
        next = next + 1 == rows.size() ? 0 : next + 1;
        if (kernel != null) {
            kernel.score(kernelRows[current], 0, kernelOut, 0);
            return kernelOut;
        }
        if (jarscore != null) {
            return jarscore.score(row);
        }
        // The documented JPMML-Evaluator loop: prepare each input field, evaluate, decode.
        Map<String, FieldValue> arguments = new LinkedHashMap<>();
        for (InputField field : evaluator.getInputFields()) {
            arguments.put(field.getName(), field.prepare(row.get(field.getName())));
        }
        return EvaluatorUtil.decodeAll(evaluator.evaluate(arguments));
    }

    private static PMML unmarshal(Path pmmlFile) throws Exception {
        try (InputStream in = io.jarscore.runtime.PmmlLimits.open(pmmlFile)) {
            return PMMLUtil.unmarshal(in);
        }
    }

    private static Evaluator build(PMML pmml) {
        Evaluator built = new ModelEvaluatorBuilder(pmml).build();
        built.verify();
        return built;
    }

    /** Reads rows.csv: a header of field names, then one row per line; an empty cell is missing. */
    static final class RowsCsv {
        static List<Map<String, Object>> read(Path csv, List<FieldSpec> fields) throws IOException {
            Map<String, Boolean> numeric = new HashMap<>();
            for (FieldSpec field : fields) {
                numeric.put(field.name(), field.numeric());
            }
            List<String> lines = Files.readAllLines(csv);
            String[] header = lines.get(0).split(",", -1);
            List<Map<String, Object>> out = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) {
                String[] cells = line.split(",", -1);
                Map<String, Object> row = new HashMap<>();
                for (int i = 0; i < header.length; i++) {
                    if (!numeric.containsKey(header[i]) || cells[i].isEmpty()) {
                        continue;
                    }
                    row.put(header[i], numeric.get(header[i]) ? (Object) Double.valueOf(cells[i]) : cells[i]);
                }
                out.add(row);
            }
            return out;
        }
    }
}
