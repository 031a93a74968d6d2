package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.dmg.pmml.PMML;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelEvaluatorBuilder;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;
import org.jpmml.evaluator.visitors.AttributeOptimizerBattery;
import org.jpmml.evaluator.visitors.ValueParser;
import org.jpmml.model.PMMLUtil;

import io.jarscore.kernel.Daemons;

/**
 * One loaded model: either a transpiled JAR in a class loader of its own, or a PMML file evaluated
 * by JPMML-Evaluator's interpreter. Thread-safe: JPMML evaluators keep no per-call state.
 */
public final class Model implements AutoCloseable {

    private final String source;
    private final URLClassLoader classLoader;
    private final String miningFunction;
    /** What callers send: one entry per scalar input, folded (list-valued) fields expanded. */
    private final List<FieldSpec> inputSpecs;
    private final List<String> resultNames;
    private final List<FieldSpec> resultSpecs;
    private final List<String> targetNames;

    /**
     * JPMML-Evaluator's side: built with the model, or (a JAR whose kernel recorded its fields) on
     * another thread after the load, for the rows the kernel leaves to it.
     */
    private final CompletableFuture<Jpmml> jpmml;

    /** The fast kernel while it is trusted; null when absent, refused or not yet verified. */
    private volatile KernelRunner kernel;
    private volatile KernelRunner candidate;
    private volatile String kernelStatus = "absent: not a transpiled JAR";
    private final java.util.concurrent.atomic.LongAdder kernelRows = new java.util.concurrent.atomic.LongAdder();

    private Model(String source, ModelFields fields, CompletableFuture<Jpmml> jpmml,
                  URLClassLoader classLoader) {
        this.source = source;
        this.classLoader = classLoader;
        this.miningFunction = fields.miningFunction();
        this.inputSpecs = fields.inputs();
        this.resultSpecs = fields.results();
        this.resultNames = fields.resultNames();
        this.targetNames = fields.targets();
        this.jpmml = jpmml;
    }

    private Model(String source, Jpmml jpmml, URLClassLoader classLoader) {
        this(source, jpmml.fields, CompletableFuture.completedFuture(jpmml), classLoader);
    }

    /**
     * JPMML-Evaluator's evaluator of the model and how the callers' inputs feed its fields: one
     * entry per scalar input, JPMML-Transpiler's folded list fields expanded into their elements.
     */
    private static final class Jpmml {
        final Evaluator evaluator;
        final ModelFields fields;
        final List<InputField> inputFields;
        /** For each caller input: the index of the model field it feeds, and its list element (-1: scalar). */
        final int[] slotField;
        final int[] slotElement;
        /** Per model field: list length for folded fields, 0 for scalar ones. */
        final int[] vectorSize;

        Jpmml(PMML pmml, Map<String, TreeMap<Integer, VectorizedInputs.FieldDeclaration>> vectors) {
            this.evaluator = new ModelEvaluatorBuilder(pmml).build();
            this.inputFields = inDataDictionaryOrder(pmml, evaluator.getInputFields());
            List<FieldSpec> specs = new ArrayList<>();
            List<int[]> slots = new ArrayList<>();
            this.vectorSize = new int[inputFields.size()];
            for (int k = 0; k < inputFields.size(); k++) {
                InputField field = inputFields.get(k);
                TreeMap<Integer, VectorizedInputs.FieldDeclaration> elements = vectors.get(field.getName());
                if (elements == null) {
                    specs.add(describeInput(field));
                    slots.add(new int[]{k, -1});
                    continue;
                }
                vectorSize[k] = elements.lastKey() + 1;
                for (Map.Entry<Integer, VectorizedInputs.FieldDeclaration> e : elements.entrySet()) {
                    VectorizedInputs.FieldDeclaration d = e.getValue();
                    specs.add(new FieldSpec(d.name(), d.dataType(), d.opType(), FieldSpec.isNumeric(d.dataType()), List.of()));
                    slots.add(new int[]{k, e.getKey()});
                }
            }
            this.slotField = slots.stream().mapToInt(s -> s[0]).toArray();
            this.slotElement = slots.stream().mapToInt(s -> s[1]).toArray();
            List<FieldSpec> results = new ArrayList<>();
            for (TargetField target : evaluator.getTargetFields()) {
                if (target.isSynthetic()) {
                    continue; // models without a target (e.g. anomaly detection) report through output fields only
                }
                results.add(describeTarget(target));
            }
            List<String> targets = results.stream().map(FieldSpec::name).toList();
            for (OutputField output : evaluator.getOutputFields()) {
                results.add(describeOutput(output));
            }
            this.fields = new ModelFields(evaluator.getMiningFunction().value(), specs, results, targets);
        }
    }

    /**
     * The fields of a PMML model as {@link #loadJar} reports them, for a kernel JAR to record when it
     * is built; null when JPMML-Transpiler folds some of its inputs into list fields (their order
     * then depends on the transpiled classes, so such a JAR is loaded with them).
     */
    public static ModelFields describe(PMML pmml, Path pmmlFile) {
        if (!VectorizedInputs.fromPmml(pmmlFile).isEmpty()) {
            return null;
        }
        return new Jpmml(pmml, Map.of()).fields;
    }

    /**
     * Loads a JAR written by the transpile tool into a class loader of its own. A JAR whose kernel
     * recorded the model's fields ({@link ModelFields#ENTRY}) scores through the kernel as soon as it
     * is verified; its JPMML side loads on a thread of their own {@link #JPMML_DELAY_MILLIS} later, or
     * as soon as a row the kernel leaves to JPMML comes (which waits for it). Other JARs load their
     * JPMML side first. The JPMML side is JPMML-Transpiler's classes when the JAR holds them, else
     * (a kernel-only JAR) JPMML-Evaluator interpreting the artifact's PMML beside the JAR.
     */
    public static Model loadJar(Path jar) {
        return loadJar(jar, false);
    }

    /**
     * As {@link #loadJar(Path)}; with {@code jpmmlOnDemand}, a kernel JAR's JPMML side loads only when
     * a row needs it or {@link #loadJpmml} is called, never on the timer: for a short check of a JAR
     * by a caller that holds JPMML-Evaluator on the same PMML already (conversion does), where the
     * timer would parse the PMML once more for nothing.
     */
    public static Model loadJar(Path jar, boolean jpmmlOnDemand) {
        if (!Files.isRegularFile(jar)) {
            throw new ArtifactException("model JAR not found: " + jar);
        }
        URLClassLoader loader;
        try {
            loader = new ModelClassLoader(jar.toUri().toURL(), Model.class.getClassLoader());
        } catch (IOException e) {
            throw new ArtifactException("cannot open model JAR " + jar + ": " + e.getMessage(), e);
        }
        try {
            ModelFields recorded = ModelFields.read(loader);
            Object found = recorded == null ? null
                : KernelRunner.find(loader, recorded.inputNames(), recorded.resultNames());
            Model model;
            if (found instanceof KernelRunner) {
                CompletableFuture<Jpmml> later = new CompletableFuture<>();
                model = new Model(jar.toString(), recorded, later, loader);
                model.jpmmlBuild = () -> jpmmlSide(loader, jar, recorded);
                later.whenComplete((ready, failure) -> model.reportJpmml(failure));
                if (!jpmmlOnDemand) {
                    model.jpmmlTimer = JPMML_LOADER.schedule(model::startJpmml, JPMML_DELAY_MILLIS,
                        TimeUnit.MILLISECONDS);
                }
            } else {
                model = new Model(jar.toString(), jpmmlSide(loader, jar, recorded), loader);
                if (found == null) {
                    found = KernelRunner.find(loader, model.inputNames(), model.resultNames);
                }
            }
            if (found instanceof KernelRunner runner) {
                model.candidate = runner;
                model.kernelStatus = "unverified: call verifyKernel with rows to check it against JPMML";
                runner.describeResults(model.resultSpecs);
            } else {
                model.kernelStatus = (String) found;
            }
            return model;
        } catch (Exception | LinkageError e) {
            closeQuietly(loader);
            throw new ArtifactException("cannot load a transpiled model from " + jar
                + " (expected a JAR written by 'jarscore convert'): " + describe(e), e);
        }
    }

    /** Made when first needed: a load that goes well sets up no logging (see {@code Artifact}'s). */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(Model.class.getName());
    }

    /**
     * Builds the JPMML side of kernel JARs after their load: one daemon thread for the process. A
     * closed model's pending start leaves the queue, and with it the last reference to its classes.
     */
    private static final ScheduledThreadPoolExecutor JPMML_LOADER = Daemons.scheduler("jarscore-jpmml-loader");

    /** The service entry through which JPMML-Model finds a JAR's transpiled PMML class. */
    private static final String PMML_SERVICE = "META-INF/services/" + PMML.class.getName();

    /**
     * JPMML-Evaluator's side of a JAR: over its transpiled classes when it holds them, else (a
     * kernel-only JAR, which records its fields) interpreting the PMML beside it. With {@code recorded} (the fields the kernel
     * JAR was built with, which callers were already given), the two must name the same fields in the
     * same order.
     */
    private static Jpmml jpmmlSide(URLClassLoader loader, Path jar, ModelFields recorded) {
        Jpmml jpmml;
        try {
            if (loader.findResource(PMML_SERVICE) != null) {
                PMML pmml = withOwnContextLoader(() -> PMMLUtil.load(loader));
                jpmml = new Jpmml(pmml, VectorizedInputs.fromPmml(siblingPmml(jar)));
            } else if (recorded != null) {
                jpmml = interpreted(jar);
            } else {
                throw new ArtifactException("it holds neither JPMML-Transpiler's classes (" + PMML_SERVICE
                    + ") nor a kernel with the model's fields (" + ModelFields.ENTRY + ")");
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new ArtifactException(describe(e), e);
        }
        if (recorded != null && (!recorded.inputNames().equals(jpmml.fields.inputNames())
                || !recorded.resultNames().equals(jpmml.fields.resultNames()))) {
            throw new ArtifactException("the fields recorded in " + ModelFields.ENTRY + " (inputs " + recorded.inputNames()
                + ", results " + recorded.resultNames() + ") differ from the transpiled model's (inputs "
                + jpmml.fields.inputNames() + ", results " + jpmml.fields.resultNames() + ")");
        }
        return jpmml;
    }

    private volatile boolean closed;
    /** Builds the JPMML side of a kernel JAR loaded without it; null once started (or for other models). */
    private Supplier<Jpmml> jpmmlBuild;

    /**
     * How long a kernel JAR waits before loading its JPMML side when no row needs it sooner: long
     * enough to keep it off a process's cold start (the first prediction is out well before), short
     * enough that a service has it by the time a row the kernel cannot judge comes in.
     */
    static final long JPMML_DELAY_MILLIS = Long.getLong("jarscore.jpmml.delay.ms", 2_000);

    /** The pending delayed start of the JPMML side, cancelled by {@link #close}. */
    private volatile ScheduledFuture<?> jpmmlTimer;

    /** Starts building the JPMML side on its own thread unless that has started already. */
    private void startJpmml() {
        Supplier<Jpmml> build;
        synchronized (jpmml) {
            build = jpmmlBuild;
            jpmmlBuild = null;
        }
        if (build != null && !closed) {
            JPMML_LOADER.execute(() -> {
                try {
                    jpmml.complete(build.get());
                } catch (Throwable e) { // whatever it is, callers waiting for JPMML must hear of it
                    jpmml.completeExceptionally(e);
                }
            });
        } else if (build != null) {
            jpmml.completeExceptionally(new ArtifactException("the model was closed"));
        }
    }

    private void reportJpmml(Throwable failure) {
        if (failure != null && !closed) {
            Log.LOG.log(System.Logger.Level.WARNING, "{0}: the JPMML side did not load; rows the kernel leaves to it"
                + " will fail: {1}", source, describe(unwrap(failure)));
        }
    }

    /**
     * Loads the JPMML side now unless it is loaded already, and waits for it: for a caller that would
     * rather pay for it before its first request than on the first row the kernel leaves to JPMML
     * (see {@link #loadJar}). Throws {@link ArtifactException} saying why when it cannot load.
     */
    public void loadJpmml() {
        jpmml();
    }

    /** JPMML-Evaluator interpreting the PMML beside a kernel-only JAR. */
    private static Jpmml interpreted(Path jar) throws Exception {
        Path pmmlFile = siblingPmml(jar);
        if (pmmlFile == null) {
            throw new ArtifactException(jar.getFileName() + " holds the fast kernel only, and the rows the kernel"
                + " leaves to JPMML-Evaluator need the model's PMML beside it (model.pmml.gz or model.pmml in "
                + jar.toAbsolutePath().getParent() + "), which is not there");
        }
        PmmlLimits.check(pmmlFile);
        return interpret(pmmlFile);
    }

    /** JPMML-Evaluator's interpreter over {@code pmmlFile}, which {@link PmmlLimits#check} has passed. */
    private static Jpmml interpret(Path pmmlFile) throws Exception {
        return new Jpmml(optimized(unmarshal(pmmlFile)), Map.of());
    }

    /**
     * {@code pmml}, changed in place for JPMML-Evaluator to interpret faster: the attribute optimizers
     * of JPMML-Evaluator's own loader (predicate values, node scores and target categories parsed once,
     * as the fields' types say, rather than at every row). Values that do not parse stay as they were,
     * to be read as before. Only a document that JPMML-Evaluator alone reads from then on, and over
     * which no evaluator was built yet, is passed here: the kernel compiler reads the values as
     * written, and an evaluator keeps what it has read (docs/kernel.md, "What a load does").
     */
    static PMML optimized(PMML pmml) {
        ValueParser.Mode previous = ValueParser.MODE_PROVIDER.get();
        ValueParser.MODE_PROVIDER.set(ValueParser.Mode.LOOSE);
        try {
            new AttributeOptimizerBattery().applyTo(pmml);
        } finally {
            ValueParser.MODE_PROVIDER.set(previous);
        }
        return pmml;
    }

    /** The PMML document in {@code pmmlFile}, which {@link PmmlLimits#check} has passed. */
    private static PMML unmarshal(Path pmmlFile) throws Exception {
        try (InputStream in = PmmlLimits.open(pmmlFile)) {
            return withOwnContextLoader(() -> PMMLUtil.unmarshal(in));
        }
    }

    /** JPMML's side, waiting for a kernel JAR's background load to finish. */
    private Jpmml jpmml() {
        if (!jpmml.isDone()) {
            startJpmml();
        }
        try {
            return jpmml.join();
        } catch (CompletionException | CancellationException e) {
            throw new ArtifactException("model " + source + ": JPMML-Evaluator, which scores the rows the kernel"
                + " leaves to it, did not load: " + describe(unwrap(e)), unwrap(e));
        }
    }

    private static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /** The artifact's PMML beside {@code jar}: model.pmml.gz (format 2) or model.pmml (format 1), or null. */
    static Path siblingPmml(Path jar) {
        for (String name : new String[]{"model.pmml.gz", "model.pmml"}) {
            Path pmml = jar.resolveSibling(name);
            if (Files.isRegularFile(pmml)) {
                return pmml;
            }
        }
        return null;
    }

    /**
     * JAXB looks its implementation up through the thread's context class loader. Where that loader
     * does not see jarscore's jars (a JVM another library started, with jarscore in a class loader of
     * its own; an application server; a Spark executor), it finds another JAXB or none, so PMML is
     * read with jarscore's own loader as the context.
     */
    static <T> T withOwnContextLoader(Callable<T> action) throws Exception {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(Model.class.getClassLoader());
        try {
            return action.call();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /** Loads a PMML file for JPMML-Evaluator's interpreter (the reference the JAR is checked against). */
    public static Model loadPmml(Path pmmlFile) {
        return interpreted(pmmlFile, parsePmml(pmmlFile));
    }

    /** What reads a PMML document besides JPMML-Evaluator, from the one parse of {@link #loadPmml(Path, AlsoReads)}. */
    @FunctionalInterface
    public interface AlsoReads {
        /**
         * Reads {@code pmml} as parsed, without changing it, before JPMML-Evaluator reads it and its
         * optimizers change it ({@link #optimized}).
         */
        void read(PMML pmml) throws Exception;
    }

    /**
     * As {@link #loadPmml(Path)}, with the parsed document handed to {@code alsoReads} first: one pass
     * over the XML for a caller that builds something else from it too (conversion compiles the fast
     * kernel from it). When {@code alsoReads} fails, its exception is thrown as it is, and no model is
     * made. {@link #describe(Model, Path)} then gives the document's fields.
     */
    public static Model loadPmml(Path pmmlFile, AlsoReads alsoReads) throws Exception {
        PMML pmml = parsePmml(pmmlFile);
        alsoReads.read(pmml);
        return interpreted(pmmlFile, pmml);
    }

    /**
     * {@link #describe(PMML, Path)} for the document {@code model} interprets, read from
     * {@code pmmlFile} by {@link #loadPmml(Path, AlsoReads)}: from the evaluator it has, as another
     * evaluator over that document would keep what it reads before the optimizers change it.
     */
    public static ModelFields describe(Model model, Path pmmlFile) {
        return VectorizedInputs.fromPmml(pmmlFile).isEmpty() ? model.jpmml().fields : null;
    }

    private static PMML parsePmml(Path pmmlFile) {
        if (!Files.isRegularFile(pmmlFile)) {
            throw new ArtifactException("PMML file not found: " + pmmlFile);
        }
        PmmlLimits.check(pmmlFile);
        try {
            return unmarshal(pmmlFile);
        } catch (Exception | LinkageError e) {
            throw unreadable(pmmlFile, e);
        }
    }

    /** JPMML-Evaluator interpreting {@code pmml}, read from {@code pmmlFile}, which no one else reads from now on. */
    private static Model interpreted(Path pmmlFile, PMML pmml) {
        try {
            return new Model(pmmlFile.toString(), new Jpmml(optimized(pmml), Map.of()), null);
        } catch (Exception | LinkageError e) {
            throw unreadable(pmmlFile, e);
        }
    }

    private static ArtifactException unreadable(Path pmmlFile, Throwable e) {
        return new ArtifactException("cannot read PMML file " + pmmlFile + ": " + describe(e), e);
    }

    public String source() {
        return source;
    }

    public boolean isTranspiled() {
        return classLoader != null;
    }

    public String miningFunction() {
        return miningFunction;
    }

    public List<FieldSpec> inputFields() {
        return inputSpecs;
    }

    /** Target fields first, then output fields, in the model's order. */
    public List<FieldSpec> resultFields() {
        return resultSpecs;
    }

    /** Names of the model's target fields (at the front of {@link #resultFields()}); empty for models without one. */
    public List<String> targetNames() {
        return targetNames;
    }

    /**
     * Scores one row given by field name. Missing keys count as missing values. Uses the fast
     * kernel when it is active and the row fits its encoding (numbers, and strings from its
     * tables); otherwise, or where the kernel has no answer, JPMML-Evaluator.
     */
    public Map<String, Object> score(Map<String, ?> row) {
        KernelRunner k = kernel;
        if (k != null && k.mapsResults) {
            double[] in = k.encodeRow(row, inputSpecs);
            if (in != null) {
                return kernelRow(k, in);
            }
        }
        Object[] values = new Object[inputSpecs.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = row.get(inputSpecs.get(i).name());
        }
        Object[] results = scoreRow(values, 0);
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < results.length; i++) {
            out.put(resultNames.get(i), results[i]);
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Scores a batch given as columns in {@link #inputFields()} order. Each column is a
     * {@code double[]} (NaN means missing) or a {@code String[]} (null means missing). Returns one
     * column per {@link #resultFields()} entry: {@code double[]} for numeric fields, else {@code String[]}.
     * With an active kernel, the rows it can score go through it, the rest through JPMML-Evaluator.
     */
    public Object[] scoreColumns(Object[] columns, int rows) {
        if (columns.length != inputSpecs.size()) {
            throw new ScoringException("expected " + inputSpecs.size() + " input columns "
                + inputNames() + ", got " + columns.length);
        }
        if (rows < 0) {
            throw new ScoringException("rows must be >= 0, got " + rows);
        }
        for (int c = 0; c < columns.length; c++) {
            int length = columns[c] instanceof double[] d ? d.length : columns[c] instanceof String[] s ? s.length : rows;
            if (length < rows) {
                throw new ScoringException("input column " + c + " ('" + inputSpecs.get(c).name() + "') has "
                    + length + " values for " + rows + " rows");
            }
        }
        Object[] out = new Object[resultSpecs.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = resultSpecs.get(j).numeric() ? new double[rows] : new String[rows];
        }
        KernelRunner k = kernel;
        boolean[] scored = k != null && k.mapsResults ? scoreColumnsKernel(k, columns, rows, out) : null;
        Object[] values = new Object[columns.length];
        for (int r = 0; r < rows; r++) {
            if (scored != null && scored[r]) {
                continue;
            }
            for (int c = 0; c < columns.length; c++) {
                values[c] = cell(columns[c], r, c);
            }
            Object[] results = scoreRow(values, r);
            for (int j = 0; j < results.length; j++) {
                store(out[j], r, results[j], j);
            }
        }
        return out;
    }

    /**
     * The kernel's share of {@link #scoreColumns}: stores the results of the rows it can score and
     * says which those are; null when the columns do not fit its encoding (a column of another type
     * than the input's). A row holding a string outside the input's table, or one the kernel leaves
     * to JPMML, stays for JPMML, which judges the value itself.
     */
    private boolean[] scoreColumnsKernel(KernelRunner k, Object[] columns, int rows, Object[] out) {
        for (int c = 0; c < columns.length; c++) {
            if (k.inputTables[c] == null ? !(columns[c] instanceof double[]) : !(columns[c] instanceof String[])) {
                return null;
            }
        }
        double[] in = k.encode(columns, rows);
        double[] raw = new double[rows * k.outputs];
        k.scoreRaw(in, rows, raw, 1);
        kernelRows.add(rows);
        boolean[] scored = new boolean[rows];
        for (int r = 0; r < rows; r++) {
            boolean usable = true;
            for (int c = 0; c < k.inputs && usable && !k.numericOnly; c++) {
                usable = in[r * k.inputs + c] != io.jarscore.kernel.Kernel.UNKNOWN;
            }
            for (int j = 0; j < k.outputs && usable; j++) {
                usable = !Double.isNaN(raw[r * k.outputs + j]);
            }
            if (usable) {
                for (int j = 0; j < k.outputs; j++) {
                    store(out[j], r, k.resultValue(raw[r * k.outputs + j], j), j);
                }
                scored[r] = true;
            }
        }
        return scored;
    }

    // fast kernel ------------------------------------------------------------------------------------

    /** The kernel in use, or null (see {@link #kernelStatus()}). */
    public io.jarscore.kernel.Kernel kernel() {
        KernelRunner k = kernel;
        return k == null ? null : k.kernel;
    }

    /** "active", "unverified: ...", "absent: why" or "refused: why". */
    public String kernelStatus() {
        return kernelStatus;
    }

    /**
     * Scores the rows (columns as for {@link #scoreColumns}) through the kernel and through JPMML
     * (interpreting the artifact's PMML when it sits beside the JAR, else the transpiled classes);
     * activates the kernel when every output agrees (labels equal, numbers within 1e-12 relative),
     * refuses it for good otherwise. Returns the new status.
     */
    public synchronized String verifyKernel(Object[] columns, int rows) {
        return verifyKernel(columns, rows, null);
    }

    /**
     * As {@link #verifyKernel(Object[], int)}, against {@code expected}: one column per
     * {@link #resultFields()} entry, as {@link #scoreColumns} returns them, holding the outputs
     * recorded for these rows when the artifact was converted (its manifest's verification), where
     * a NaN or null cell was recorded as non-finite and is not compared. The recorded outputs are
     * what this JAR answered once its kernel agreed with JPMML interpreting the PMML, so loading an
     * artifact needs no second JPMML pass. With {@code expected} null, JPMML scores the rows here.
     */
    public synchronized String verifyKernel(Object[] columns, int rows, Object[] expected) {
        KernelRunner k = candidate;
        if (k == null) {
            return kernelStatus;
        }
        if (expected != null) {
            if (expected.length != resultSpecs.size()) {
                return refuseKernel("the recorded outputs have " + expected.length + " columns, the model "
                    + resultSpecs.size() + " results " + resultNames);
            }
        } else {
            expected = referenceOutputs(columns, rows);
        }
        return verifyAgainst(k, columns, rows, expected);
    }

    /** JPMML's outputs for the rows: the artifact's PMML interpreted when it sits beside the JAR, else the transpiled classes. */
    private Object[] referenceOutputs(Object[] columns, int rows) {
        Object[] expected;
        Path pmmlFile = siblingPmml(Path.of(source));
        if (pmmlFile != null) {
            // The reference is JPMML-Evaluator interpreting the PMML: JPMML-Transpiler's classes
            // reorder some float32 sums (XGBoost), which moves results by an ulp.
            try (Model reference = loadPmml(pmmlFile)) {
                expected = reference.scoreColumns(columns, rows);
            }
        } else {
            expected = scoreColumns(columns, rows);
        }
        return expected;
    }

    private String verifyAgainst(KernelRunner k, Object[] columns, int rows, Object[] expected) {
        double[] in = k.encode(columns, rows);
        double[] out = new double[rows * k.outputs];
        try {
            k.scoreRaw(in, rows, out, 1);
            // the verification rows are the user's own held-out rows: typical of what it will score
            k.kernel.learn(in, rows);
        } catch (RuntimeException e) {
            return refuseKernel("the kernel failed on the verification rows: " + describe(e));
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k.outputs; j++) {
                double got = out[r * k.outputs + j];
                Object want = expected[j] instanceof double[] d ? (Object) d[r] : ((String[]) expected[j])[r];
                if (want == null || want instanceof Double d && d.isNaN()) {
                    continue; // recorded as non-finite
                }
                double wanted = k.encodeResult(want, j);
                if (!agrees(got, wanted)) {
                    String shown = k.outputLabels[j] != null && got >= 0 && got < k.outputLabels[j].length
                        ? k.outputLabels[j][(int) got] : String.valueOf(got);
                    return refuseKernel("verification row " + r + ", output '" + resultNames.get(j) + "': kernel "
                        + shown + ", JPMML " + want);
                }
            }
        }
        kernel = k;
        kernelStatus = "active";
        warmUp = in;
        return kernelStatus;
    }

    private volatile double[] warmUp;

    /**
     * Scores the verification rows through the kernel over and over for about {@code millis}, so
     * that HotSpot compiles its methods before the first real call (a cold kernel runs interpreted,
     * tens of times slower). Returns the rows scored.
     */
    public long warmUpKernel(long millis) {
        KernelRunner k = kernel;
        double[] in = warmUp;
        if (k == null || in == null || in.length == 0) {
            return 0;
        }
        // Rows mixed column by column from the verification rows (some cells missing), so that the
        // branch profile HotSpot compiles with covers more paths than the few verification rows take:
        // a narrow profile makes the compiled code deoptimize on the first unseen path.
        int rows = in.length / k.inputs;
        int mixed = 1024;
        double[] sample = new double[mixed * k.inputs];
        java.util.Random random = new java.util.Random(42);
        for (int r = 0; r < mixed; r++) {
            for (int c = 0; c < k.inputs; c++) {
                double v = in[random.nextInt(rows) * k.inputs + c];
                sample[r * k.inputs + c] = random.nextInt(20) == 0 && k.inputTables[c] == null ? Double.NaN : v;
            }
        }
        double[] out = new double[mixed * k.outputs];
        long deadline = System.nanoTime() + millis * 1_000_000L;
        long scored = 0;
        while (System.nanoTime() < deadline) {
            k.scoreRaw(sample, mixed, out, 1);
            scored += mixed;
        }
        return scored;
    }

    /**
     * The code tables of the kernel in the JAR (active or not yet verified), by input field: the
     * strings a caller maps to codes before sending rows to {@link #scoreKernel}. Null without a kernel.
     */
    public Map<String, List<String>> kernelInputCategories() {
        KernelRunner k = kernel != null ? kernel : candidate;
        if (k == null) {
            return null;
        }
        Map<String, List<String>> tables = new LinkedHashMap<>();
        for (int i = 0; i < k.inputs; i++) {
            if (k.inputTables[i] != null) {
                tables.put(inputSpecs.get(i).name(), List.of(k.inputTables[i]));
            }
        }
        return tables;
    }

    /**
     * The active kernel's shape: {inputs, outputs}. Callers outside the JVM use these rather than
     * {@link #kernel()}: a bridge that caches the generated class (JPype does) would keep the
     * model's class loader alive after {@link #close()}.
     */
    public int[] kernelShape() {
        KernelRunner k = requireKernel();
        return new int[]{k.inputs, k.outputs};
    }

    /** Per input of the active kernel: its code table, or null for a numeric input. */
    public String[][] kernelInputTables() {
        return requireKernel().inputTables.clone();
    }

    /** Per output of the active kernel: the labels a label-coded output indexes, or null. */
    public String[][] kernelOutputLabels() {
        return requireKernel().outputLabels.clone();
    }

    /** Stops using the kernel; the JPMML path scores everything from now on. */
    public synchronized String refuseKernel(String why) {
        kernel = null;
        candidate = null;
        kernelStatus = "refused: " + why;
        return kernelStatus;
    }

    static boolean agrees(double got, double wanted) {
        if (got == wanted || Double.isNaN(got) && Double.isNaN(wanted)) {
            return true;
        }
        return Math.abs(got - wanted) <= 1e-12 * Math.max(Math.abs(got), Math.abs(wanted));
    }

    /**
     * Scores a row-major batch through the kernel ({@code rows * inputs} values, strings as codes of
     * the kernel's tables); returns {@code rows * outputs} values (labels as codes). Rows the kernel
     * defers are scored through JPMML, so errors are JPMML's. {@code threads > 1} splits large batches.
     */
    public double[] scoreKernel(double[] in, int rows, int threads) {
        double[] out = new double[rows * requireKernel().outputs];
        scoreKernelInto(in, rows, out, threads);
        return out;
    }

    /**
     * A single-row scorer over two buffers the caller shares (native byte order, 8 bytes per value:
     * the kernel's inputs, then room for its outputs); see {@link SharedRow}.
     */
    public SharedRow sharedRow(java.nio.ByteBuffer in, java.nio.ByteBuffer out) {
        KernelRunner k = requireKernel();
        return new SharedRow(this, in, out, k.inputs, k.outputs);
    }

    /** As {@link #scoreKernel} into a caller's array (a single row reuses its buffers this way). */
    public void scoreKernelInto(double[] in, int rows, double[] out, int threads) {
        KernelRunner k = requireKernel();
        if (in.length < rows * k.inputs || out.length < rows * k.outputs) {
            throw new ScoringException("expected " + rows * k.inputs + " inputs and room for " + rows * k.outputs
                + " outputs, got " + in.length + " and " + out.length);
        }
        scoreKernelRows(k, in, rows, out, threads, 0);
    }

    /** Rows the kernel scores in one go from a shared batch: 512 KB of inputs at 128 values a row. */
    static final int SHARED_BLOCK_ROWS = 512;

    /**
     * As {@link #scoreKernel}, between buffers the caller shares with Java (native byte order, 8
     * bytes a value; the Python scorer passes numpy's own memory): {@code rows * inputs} values are
     * read from {@code in} and {@code rows * outputs} written to {@code out}, both from the buffer's
     * start in native byte order (positions, limits and set orders are ignored), the whole batch in one
     * call with no copy at the boundary. Blocks of {@link #SHARED_BLOCK_ROWS} rows are copied into
     * arrays the kernel reads and scored on up to {@code threads} threads, the calling one included;
     * an error names the row of the whole batch.
     */
    public void scoreKernelShared(java.nio.ByteBuffer in, int rows, java.nio.ByteBuffer out, int threads) {
        scoreKernelShared(in, rows, out, threads, 0);
    }

    /**
     * As {@link #scoreKernelShared(java.nio.ByteBuffer, int, java.nio.ByteBuffer, int)} for one piece
     * of a larger batch (a buffer holds under 2 GiB) that starts at the batch's row {@code firstRow}:
     * errors name rows of the whole batch.
     */
    public void scoreKernelShared(java.nio.ByteBuffer in, int rows, java.nio.ByteBuffer out, int threads, int firstRow) {
        scoreShared(in, rows, out, threads, firstRow, false);
    }

    /**
     * As {@link #scoreKernelShared(java.nio.ByteBuffer, int, java.nio.ByteBuffer, int)} for inputs
     * stored column by column (column-major, numpy's Fortran order, which {@code DataFrame.to_numpy()}
     * gives): {@code rows} values of the first input, then as many of the second, and so on. The
     * outputs are row-major as there. Each block gathers its rows from the columns, so a caller
     * need not transpose the batch first (for a million rows of 50 inputs that copy took 0.1 to 1 s
     * here, mostly in page faults of the new 400 MB).
     */
    public void scoreKernelSharedColumns(java.nio.ByteBuffer in, int rows, java.nio.ByteBuffer out, int threads) {
        scoreShared(in, rows, out, threads, 0, true);
    }

    private void scoreShared(java.nio.ByteBuffer in, int rows, java.nio.ByteBuffer out, int threads, int firstRow,
                             boolean columnMajor) {
        KernelRunner k = requireKernel();
        if (rows < 0 || in.capacity() / 8 < (long) rows * k.inputs || out.capacity() / 8 < (long) rows * k.outputs) {
            throw new ScoringException("a shared batch of " + rows + " rows needs " + (long) rows * k.inputs * 8
                + " bytes of inputs and " + (long) rows * k.outputs * 8 + " of outputs; the buffers hold "
                + in.capacity() + " and " + out.capacity());
        }
        if (out.isReadOnly()) {
            throw new ScoringException("the output buffer of a shared batch is read-only; pass one the kernel can write");
        }
        java.nio.DoubleBuffer source = in.duplicate().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer();
        java.nio.DoubleBuffer target = out.duplicate().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer();
        int blocks = (rows + SHARED_BLOCK_ROWS - 1) / SHARED_BLOCK_ROWS;
        KernelRunner.inParallel(blocks, rows < KernelRunner.PARALLEL_ROWS ? 1 : threads, () -> {
            double[] blockIn = new double[SHARED_BLOCK_ROWS * k.inputs];
            double[] blockOut = new double[SHARED_BLOCK_ROWS * k.outputs];
            double[] column = columnMajor ? new double[SHARED_BLOCK_ROWS] : null;
            return block -> {
                int first = block * SHARED_BLOCK_ROWS;
                int count = Math.min(SHARED_BLOCK_ROWS, rows - first);
                // absolute bulk reads and writes: no buffer state shared between threads
                if (columnMajor) {
                    for (int c = 0; c < k.inputs; c++) {
                        source.get(c * rows + first, column, 0, count);
                        for (int r = 0, at = c; r < count; r++, at += k.inputs) {
                            blockIn[at] = column[r];
                        }
                    }
                } else {
                    source.get(first * k.inputs, blockIn, 0, count * k.inputs);
                }
                scoreKernelRows(k, blockIn, count, blockOut, 1, firstRow + first);
                target.put(first * k.outputs, blockOut, 0, count * k.outputs);
            };
        });
    }

    /** Scores rows through the kernel, and through JPMML those it defers; errors count rows from {@code firstRow}. */
    private void scoreKernelRows(KernelRunner k, double[] in, int rows, double[] out, int threads, int firstRow) {
        k.checkCodes(in, rows, firstRow);
        k.scoreRaw(in, rows, out, threads);
        kernelRows.add(rows);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k.outputs; j++) {
                if (Double.isNaN(out[r * k.outputs + j])) {
                    Object[] results = scoreRow(k.decode(in, r, firstRow), firstRow + r);
                    for (int i = 0; i < k.outputs; i++) {
                        out[r * k.outputs + i] = k.encodeResult(results[i], i);
                    }
                    break;
                }
            }
        }
    }

    /**
     * Whether {@link #scoreArray} takes its row straight to the kernel: the kernel is active, all
     * its inputs are plain numbers (no code tables) and its results convert to {@link #score}'s types.
     */
    public boolean kernelTakesArrays() {
        return takesArrays(kernel);
    }

    private static boolean takesArrays(KernelRunner k) {
        return k != null && k.mapsResults && k.numericOnly;
    }

    /**
     * Scores one row of numbers in {@link #inputFields()} order (NaN: missing) as {@link #score}
     * does, straight through the kernel when {@link #kernelTakesArrays()}.
     */
    public Map<String, Object> scoreArray(double[] row) {
        if (row.length != inputSpecs.size()) {
            throw new ScoringException("expected " + inputSpecs.size() + " values in input order " + inputNames()
                + ", got " + row.length);
        }
        KernelRunner k = kernel;
        if (takesArrays(k)) {
            return kernelRow(k, row);
        }
        Map<String, Object> named = new HashMap<>(row.length * 2);
        for (int i = 0; i < row.length; i++) {
            FieldSpec field = inputSpecs.get(i);
            if (Double.isNaN(row[i])) {
                continue;
            }
            if (!field.numeric()) {
                throw new ScoringException("field '" + field.name() + "' (position " + i + ") is " + field.dataType()
                    + ", not a number, so it cannot come in a double[] (value " + row[i] + "); score it by name instead");
            }
            named.put(field.name(), row[i]);
        }
        return score(named);
    }

    private Map<String, Object> kernelRow(KernelRunner k, double[] in) {
        double[] out = new double[k.outputs];
        scoreKernelInto(in, 1, out, 1);
        Map<String, Object> result = new LinkedHashMap<>();
        for (int j = 0; j < out.length; j++) {
            result.put(resultNames.get(j), k.resultValue(out[j], j));
        }
        return Collections.unmodifiableMap(result);
    }

    /**
     * Activates the kernel after checking it on rows given by field name (the manifest's
     * verification rows): see {@link #verifyKernel(Object[], int)}. Returns the new status.
     */
    public String verifyKernel(List<? extends Map<String, ?>> rows) {
        return verifyKernel(rows, null);
    }

    /**
     * As {@link #verifyKernel(List)} against the outputs recorded for the rows (the manifest's
     * verification outputs, by result field name; a missing or null value is not compared): see
     * {@link #verifyKernel(Object[], int, Object[])}. {@code outputs} null: JPMML scores the rows.
     */
    public String verifyKernel(List<? extends Map<String, ?>> rows, List<? extends Map<String, ?>> outputs) {
        if (rows.isEmpty()) {
            return kernelStatus;
        }
        Object[] expected = null;
        if (outputs != null) {
            if (outputs.size() != rows.size()) {
                return refuseKernel(rows.size() + " verification rows but " + outputs.size() + " recorded outputs");
            }
            expected = new Object[resultSpecs.size()];
            for (int j = 0; j < expected.length; j++) {
                FieldSpec field = resultSpecs.get(j);
                double[] numbers = field.numeric() ? new double[rows.size()] : null;
                String[] strings = field.numeric() ? null : new String[rows.size()];
                for (int r = 0; r < rows.size(); r++) {
                    Object v = outputs.get(r).get(field.name());
                    if (numbers != null) {
                        numbers[r] = v instanceof Number n ? n.doubleValue() : Double.NaN;
                    } else {
                        strings[r] = v == null ? null : String.valueOf(v);
                    }
                }
                expected[j] = numbers != null ? numbers : strings;
            }
        }
        Object[] columns = new Object[inputSpecs.size()];
        for (int c = 0; c < columns.length; c++) {
            FieldSpec field = inputSpecs.get(c);
            if (field.numeric()) {
                double[] column = new double[rows.size()];
                for (int r = 0; r < column.length; r++) {
                    Object v = rows.get(r).get(field.name());
                    if (v != null && !(v instanceof Number)) {
                        return refuseKernel("verification row " + r + ": field '" + field.name() + "' is not a number: " + quote(v));
                    }
                    column[r] = v == null ? Double.NaN : ((Number) v).doubleValue();
                }
                columns[c] = column;
            } else {
                String[] column = new String[rows.size()];
                for (int r = 0; r < column.length; r++) {
                    Object v = rows.get(r).get(field.name());
                    column[r] = v == null ? null : String.valueOf(v);
                }
                columns[c] = column;
            }
        }
        return verifyKernel(columns, rows.size(), expected);
    }

    /** Rows scored through the kernel so far (rows it deferred to JPMML included): proof the fast path ran. */
    public long kernelRowsScored() {
        return kernelRows.sum();
    }

    private KernelRunner requireKernel() {
        KernelRunner k = kernel;
        if (k == null) {
            throw new ScoringException("model " + source + " has no active kernel (" + kernelStatus + ")");
        }
        return k;
    }

    private Object[] scoreRow(Object[] rawValues, int row) {
        Jpmml jpmml = jpmml();
        List<InputField> inputFields = jpmml.inputFields;
        int[] vectorSize = jpmml.vectorSize;
        int[] slotField = jpmml.slotField;
        int[] slotElement = jpmml.slotElement;
        Object[] fieldValues = new Object[inputFields.size()];
        for (int k = 0; k < fieldValues.length; k++) {
            if (vectorSize[k] > 0) {
                fieldValues[k] = new ArrayList<>(Collections.nCopies(vectorSize[k], null));
            }
        }
        for (int c = 0; c < rawValues.length; c++) {
            if (slotElement[c] < 0) {
                fieldValues[slotField[c]] = rawValues[c];
            } else {
                @SuppressWarnings("unchecked")
                List<Object> list = (List<Object>) fieldValues[slotField[c]];
                list.set(slotElement[c], rawValues[c]);
            }
        }
        Map<String, FieldValue> arguments = new LinkedHashMap<>();
        for (int k = 0; k < fieldValues.length; k++) {
            InputField field = inputFields.get(k);
            Object raw = fieldValues[k];
            try {
                arguments.put(field.getName(), field.prepare(raw));
            } catch (RuntimeException e) {
                throw new ScoringException("row " + row + ": field '" + field.getName() + "' value "
                    + quote(raw) + " is not valid" + expectation(describeInput(field)) + ": " + describe(e), e);
            }
        }
        Map<String, ?> decoded;
        try {
            decoded = EvaluatorUtil.decodeAll(jpmml.evaluator.evaluate(arguments));
        } catch (RuntimeException e) {
            throw new ScoringException("row " + row + ": the model could not score " + quoteRow(rawValues)
                + missingHint(inputFields, fieldValues) + ": " + describe(e), e);
        }
        Object[] results = new Object[resultNames.size()];
        for (int j = 0; j < results.length; j++) {
            Object value = decoded.get(resultNames.get(j));
            if (value == null || (value instanceof Double d && d.isNaN())) {
                throw new ScoringException("row " + row + ": the model gave no value for '" + resultNames.get(j)
                    + "' on input " + quoteRow(rawValues) + "; check for missing values in fields the model"
                    + " cannot handle as missing");
            }
            results[j] = value;
        }
        return results;
    }

    /**
     * The fields of a failed row that are missing. A model that cannot take a missing value fails
     * inside JPMML with a NullPointerException whose own message names no field, and the JIT drops
     * that message altogether once the same failure repeats often.
     */
    private static String missingHint(List<InputField> inputFields, Object[] fieldValues) {
        List<String> missing = new ArrayList<>();
        for (int k = 0; k < fieldValues.length; k++) {
            if (fieldValues[k] == null) {
                missing.add("'" + inputFields.get(k).getName() + "'");
            }
        }
        if (missing.isEmpty()) {
            return "";
        }
        return " (missing " + String.join(", ", missing) + ": the model has no rule for a missing value"
            + (missing.size() == 1 ? " in that field" : " in one of these fields") + "; give a value or impute it"
            + " in the pipeline)";
    }

    private Object cell(Object column, int row, int index) {
        if (column instanceof double[] doubles) {
            double v = doubles[row];
            return Double.isNaN(v) ? null : v;
        }
        if (column instanceof String[] strings) {
            return strings[row];
        }
        throw new ScoringException("input column " + index + " ('" + inputSpecs.get(index).name()
            + "') must be double[] or String[], got " + (column == null ? "null" : column.getClass().getSimpleName()));
    }

    private void store(Object column, int row, Object value, int index) {
        if (column instanceof double[] doubles) {
            if (!(value instanceof Number number)) {
                throw new ScoringException("row " + row + ": result '" + resultNames.get(index)
                    + "' is declared numeric but the model gave " + quote(value));
            }
            doubles[row] = number.doubleValue();
        } else {
            ((String[]) column)[row] = value.toString();
        }
    }

    private List<String> inputNames() {
        return inputSpecs.stream().map(FieldSpec::name).toList();
    }

    private String quoteRow(Object[] rawValues) {
        StringBuilder sb = new StringBuilder("{");
        for (int c = 0; c < rawValues.length; c++) {
            if (c > 0) {
                sb.append(", ");
            }
            sb.append(inputSpecs.get(c).name()).append('=').append(quote(rawValues[c]));
        }
        return sb.append('}').toString();
    }

    @Override
    public void close() {
        closed = true;
        ScheduledFuture<?> timer = jpmmlTimer;
        if (timer != null) {
            timer.cancel(false);
        }
        synchronized (jpmml) {
            jpmmlBuild = null;
        }
        jpmml.completeExceptionally(new ArtifactException("model " + source + " is closed"));
        if (classLoader != null) {
            closeQuietly(classLoader);
        }
    }

    /** Input fields in the order the training data had them, so that array rows line up with them. */
    private static List<InputField> inDataDictionaryOrder(PMML pmml, List<InputField> fields) {
        List<String> order = pmml.requireDataDictionary().getDataFields().stream().map(f -> f.requireName()).toList();
        List<InputField> sorted = new ArrayList<>(fields);
        sorted.sort(java.util.Comparator.comparingInt(f -> {
            int index = order.indexOf(f.getName());
            return index < 0 ? Integer.MAX_VALUE : index;
        }));
        return List.copyOf(sorted);
    }

    private static FieldSpec describeInput(InputField field) {
        String dataType = field.getDataType().value();
        List<String> values = new ArrayList<>();
        List<?> domain = field.getOpType() == org.dmg.pmml.OpType.CONTINUOUS ? null : field.getDiscreteDomain();
        if (domain != null) {
            for (Object value : domain) {
                values.add(String.valueOf(value));
            }
        }
        return new FieldSpec(field.getName(), dataType, field.getOpType().value(),
            FieldSpec.isNumeric(dataType), List.copyOf(values));
    }

    private static FieldSpec describeTarget(TargetField field) {
        String dataType = field.getDataType().value();
        List<String> values = new ArrayList<>();
        List<Object> categories = field.getCategories();
        if (categories != null) {
            for (Object value : categories) {
                values.add(String.valueOf(value));
            }
        }
        boolean numeric = FieldSpec.isNumeric(dataType) && values.isEmpty();
        return new FieldSpec(field.getName(), dataType, field.getOpType().value(), numeric, List.copyOf(values));
    }

    private static FieldSpec describeOutput(OutputField field) {
        String dataType = field.getDataType().value();
        return new FieldSpec(field.getName(), dataType, field.getOpType().value(),
            FieldSpec.isNumeric(dataType), List.of());
    }

    private static String expectation(FieldSpec spec) {
        if (!spec.values().isEmpty()) {
            return " (expected one of " + spec.values() + ")";
        }
        return spec.numeric() ? " (expected a number of type " + spec.dataType() + ")" : "";
    }

    private static String quote(Object value) {
        if (value == null) {
            return "<missing>";
        }
        String text = value instanceof String ? "'" + value + "'" : String.valueOf(value);
        return shorten(text);
    }

    /** Error messages quote what the caller sent, but never a whole 100 000-character string. */
    public static String shorten(String text) {
        return shorten(text, MAX_QUOTE);
    }

    private static String shorten(String text, int limit) {
        return text.length() <= limit ? text : text.substring(0, limit - 20) + "... (" + text.length() + " characters)";
    }

    private static final int MAX_QUOTE = 120;
    /** Exception messages name paths and causes: room for those, not for a pasted 100 000-character input. */
    private static final int MAX_MESSAGE = 1000;

    /** The exception and, where it only wraps another (as JAXB does a SAX parse error), the root cause. */
    public static String describe(Throwable e) {
        StringBuilder text = new StringBuilder(e.getClass().getSimpleName());
        if (e.getMessage() != null) {
            text.append(": ").append(shorten(e.getMessage(), MAX_MESSAGE));
        }
        Throwable root = e;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 10; depth++) {
            root = root.getCause();
        }
        if (root != e && (root.getMessage() == null || !text.toString().contains(root.getMessage()))) {
            text.append(" (caused by ").append(root.getClass().getSimpleName());
            if (root.getMessage() != null) {
                text.append(": ").append(shorten(root.getMessage(), MAX_MESSAGE));
            }
            text.append(')');
        }
        return text.toString();
    }

    private static void closeQuietly(URLClassLoader loader) {
        try {
            loader.close();
        } catch (IOException ignored) {
            // Closing only releases the JAR file handle; nothing to recover.
        }
    }
}
