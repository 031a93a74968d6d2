package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

import io.jarscore.kernel.Kernel;

/**
 * The fast kernel of one model: found in the model's JAR, checked against the JPMML evaluator, and
 * scoring row-major double arrays on one or several threads. Rows the kernel leaves as NaN
 * (inputs it cannot judge) are scored again through {@link Model}'s JPMML path.
 */
final class KernelRunner {

    static final String KERNEL_ENTRY = "META-INF/jarscore-kernel";
    static final String ABSENT_ENTRY = "META-INF/jarscore-kernel-absent";
    /** Batches smaller than this stay on the calling thread (a split costs tens of microseconds). */
    static final int PARALLEL_ROWS = 4_096;

    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "jarscore-kernel");
        t.setDaemon(true);
        return t;
    });

    final Kernel kernel;
    final String[][] inputTables;
    final String[][] outputLabels;
    final int inputs;
    final int outputs;
    /** No input has a code table: a row of numbers is the kernel's input as it is. */
    final boolean numericOnly;
    /** Per output: the Java type {@link Model#score} gives it; set by {@link #describeResults}. */
    private String[] resultTypes;
    /** Whether every output converts to {@link Model#score}'s type (else Map scoring stays on JPMML). */
    boolean mapsResults;

    private KernelRunner(Kernel kernel) {
        this.kernel = kernel;
        this.inputTables = kernel.inputCategories();
        this.outputLabels = kernel.outputLabels();
        this.inputs = kernel.inputCount();
        this.outputs = kernel.outputCount();
        boolean numeric = true;
        for (String[] table : inputTables) {
            numeric &= table == null;
        }
        this.numericOnly = numeric;
    }

    private static final java.util.Set<String> RESULT_TYPES = java.util.Set.of("double", "float", "integer", "string");

    /** Learns the result fields' data types, the ones JPMML-Evaluator decodes its results to. */
    void describeResults(List<FieldSpec> results) {
        String[] types = new String[outputs];
        boolean all = results.size() == outputs;
        for (int j = 0; j < outputs && all; j++) {
            types[j] = results.get(j).dataType();
            all = RESULT_TYPES.contains(types[j]) && (outputLabels[j] != null || !types[j].equals("string"));
        }
        resultTypes = types;
        mapsResults = all;
    }

    /** Output {@code j} of the kernel as {@link Model#score} returns it: Double, Float, Integer or String. */
    Object resultValue(double value, int j) {
        String type = resultTypes[j];
        if (outputLabels[j] != null) {
            String label = outputLabels[j][(int) value];
            return switch (type) {
                case "integer" -> Integer.valueOf(label);
                case "double" -> Double.valueOf(label);
                case "float" -> Float.valueOf(label);
                default -> label;
            };
        }
        return switch (type) {
            case "float" -> (float) value;
            case "integer" -> (int) value;
            default -> value;
        };
    }

    /**
     * A row given by field name in the kernel's encoding, or null when a value does not fit it (a
     * string outside its tables, a non-number for a number, an explicit NaN): JPMML then scores the
     * row and reports or handles the value as it does.
     */
    double[] encodeRow(java.util.Map<String, ?> row, List<FieldSpec> specs) {
        double[] in = new double[inputs];
        for (int c = 0; c < inputs; c++) {
            Object v = row.get(specs.get(c).name());
            if (v == null) {
                in[c] = Double.NaN;
            } else if (inputTables[c] == null) {
                if (!(v instanceof Number n) || v instanceof Float f && f.isNaN() || Double.isNaN(n.doubleValue())) {
                    return null;
                }
                in[c] = n.doubleValue();
            } else {
                int code = v instanceof String s ? indexOf(inputTables[c], s) : -1;
                if (code < 0) {
                    return null;
                }
                in[c] = code;
            }
        }
        return in;
    }

    private static int indexOf(String[] table, String value) {
        for (int i = 0; i < table.length; i++) {
            if (table[i].equals(value)) {
                return i;
            }
        }
        return -1;
    }

    /** The kernel in {@code loader}'s JAR, or a reason why there is none. */
    static Object find(URLClassLoader loader, List<String> inputNames, List<String> resultNames) {
        URL entry = loader.findResource(KERNEL_ENTRY);
        if (entry == null) {
            URL absent = loader.findResource(ABSENT_ENTRY);
            return "absent: " + (absent == null ? "the JAR was built without a kernel" : read(absent));
        }
        String className = read(entry).trim();
        Kernel kernel;
        try {
            kernel = (Kernel) Class.forName(className, true, loader).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
            return "refused: cannot load kernel class " + className + ": " + Model.describe(e);
        }
        if (!Arrays.asList(kernel.inputNames()).equals(inputNames)) {
            return "refused: kernel inputs " + Arrays.toString(kernel.inputNames()) + " differ from the model's " + inputNames;
        }
        if (!Arrays.asList(kernel.outputNames()).equals(resultNames)) {
            return "refused: kernel outputs " + Arrays.toString(kernel.outputNames()) + " differ from the model's " + resultNames;
        }
        return new KernelRunner(kernel);
    }

    private static String read(URL url) {
        try (InputStream in = url.openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Columns as {@link Model#scoreColumns} takes them, to the kernel's row-major codes. */
    double[] encode(Object[] columns, int rows) {
        double[] in = new double[rows * inputs];
        for (int c = 0; c < inputs; c++) {
            Object column = columns[c];
            if (column instanceof double[] d) {
                for (int r = 0; r < rows; r++) {
                    in[r * inputs + c] = d[r];
                }
            } else {
                String[] s = (String[]) column;
                List<String> table = inputTables[c] == null ? List.of() : Arrays.asList(inputTables[c]);
                for (int r = 0; r < rows; r++) {
                    int code = s[r] == null ? -1 : table.indexOf(s[r]);
                    in[r * inputs + c] = s[r] == null ? Double.NaN : code < 0 ? Kernel.UNKNOWN : code;
                }
            }
        }
        return in;
    }

    /** Scores {@code rows} rows; threads > 1 splits large batches. Leaves NaN where the kernel defers. */
    void scoreRaw(double[] in, int rows, double[] out, int threads) {
        if (threads <= 1 || rows < PARALLEL_ROWS) {
            kernel.scoreRange(in, 0, rows, out);
            return;
        }
        int step = (rows + threads - 1) / threads;
        inParallel(threads, threads, () -> part -> kernel.scoreRange(in, part * step, Math.min(rows, (part + 1) * step), out));
    }

    /** Work on block indices: given to each thread once, it returns what scores one block there. */
    interface BlockWork {
        IntConsumer onThisThread();
    }

    /**
     * Runs blocks {@code 0..blocks-1} on up to {@code threads} threads, the calling one included,
     * each thread taking the next block until none is left (so a slow thread holds no one up).
     * The first failure stops the others taking blocks and is rethrown here.
     */
    static void inParallel(int blocks, int threads, BlockWork work) {
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            IntConsumer scoreBlock = work.onThisThread();
            for (int b = next.getAndIncrement(); b < blocks; b = next.getAndIncrement()) {
                try {
                    scoreBlock.accept(b);
                } catch (RuntimeException | Error e) {
                    next.set(blocks);
                    throw e;
                }
            }
        };
        List<Future<?>> helpers = new ArrayList<>();
        for (int t = 1; t < Math.min(threads, blocks); t++) {
            helpers.add(POOL.submit(worker));
        }
        RuntimeException failure = null;
        try {
            worker.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> helper : helpers) {
            try {
                helper.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ScoringException("interrupted while scoring a batch");
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : new ScoringException(String.valueOf(e.getCause()));
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Refuses a string input whose code names no entry of its table: anything but NaN (missing),
     * {@link Kernel#UNKNOWN} or a whole number below the table's size. The kernel itself would read
     * such a code as some category, or as none, and answer without a word.
     */
    void checkCodes(double[] in, int rows, int firstRow) {
        if (numericOnly) {
            return;
        }
        for (int c = 0; c < inputs; c++) {
            String[] table = inputTables[c];
            if (table == null) {
                continue;
            }
            for (int r = 0; r < rows; r++) {
                double x = in[r * inputs + c];
                if (!(x != x || x == Kernel.UNKNOWN || x >= 0 && x < table.length && x == Math.rint(x))) {
                    throw new ScoringException("row " + (firstRow + r) + ": input " + c + " ('" + kernel.inputNames()[c]
                        + "') carries code " + x + ", which names no value of the field (expected a whole number 0.."
                        + (table.length - 1) + ", " + Kernel.UNKNOWN + " for a value not in the table, or NaN for missing)");
                }
            }
        }
    }

    /** Input row {@code r} decoded for the JPMML path: Double/String, null for missing; errors name row {@code firstRow + r}. */
    Object[] decode(double[] in, int r, int firstRow) {
        Object[] values = new Object[inputs];
        for (int c = 0; c < inputs; c++) {
            double x = in[r * inputs + c];
            if (Double.isNaN(x)) {
                values[c] = null;
            } else if (inputTables[c] == null) {
                values[c] = x;
            } else if (x >= 0 && x < inputTables[c].length && x == Math.rint(x)) {
                values[c] = inputTables[c][(int) x];
            } else {
                // checkCodes let only UNKNOWN through: the kernel deferred a row it cannot name the string of
                throw new ScoringException("row " + (firstRow + r) + ": input " + c + " ('" + kernel.inputNames()[c]
                    + "') carries code " + x + " (a value not in the field's table), which the model cannot score by"
                    + " code; score the row by name (Model.score) so the value itself is judged");
            }
        }
        return values;
    }

    /** A JPMML result in the kernel's encoding: labels as their index. */
    double encodeResult(Object value, int output) {
        if (outputLabels[output] == null) {
            return ((Number) value).doubleValue();
        }
        return Arrays.asList(outputLabels[output]).indexOf(String.valueOf(value));
    }
}
