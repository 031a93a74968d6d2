package io.jarscore.spark;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.regex.Pattern;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import io.jarscore.runtime.ScoringException;

/**
 * Scores one partition, {@link #BLOCK} rows at a time. With an active kernel, each row's cells are
 * read from Spark's internal row straight into a block of doubles (strings as the kernel's codes) and
 * the block goes to the kernel in one call. A row the kernel cannot take as it is (a category not in
 * its tables, text in a numeric column) is scored by name through {@link Model#score(Map)}, which
 * judges the value as JPMML-Evaluator does; without a kernel every row is. A row that fails gets the
 * error message in the error column and no results, or fails the task with {@code failOnError}.
 */
final class PartitionScorer implements Iterator<InternalRow> {

    /** Rows per kernel call: big enough that a call's overhead vanishes, small enough to stay in cache. */
    static final int BLOCK = 1024;
    /** The runtime's messages count rows within its call: meaningless for a row of a DataFrame. */
    private static final Pattern ROW_PREFIX = Pattern.compile("^row \\d+: ");

    private final ScoringPlan plan;
    private final Iterator<InternalRow> source;
    private final LoadedArtifact loaded;
    private final Model model;
    private final List<FieldSpec> fields;
    private final List<String> resultNames;
    private final int width;
    private final int results;

    private final InternalRow[] block = new InternalRow[BLOCK];
    private final InternalRow[] scored = new InternalRow[BLOCK];
    private final double[] in;
    private final double[] out;
    private final int[] kernelRows = new int[BLOCK];
    private int size;
    private int next;

    PartitionScorer(ScoringPlan plan, LoadedArtifact loaded, Iterator<InternalRow> source) {
        this.plan = plan;
        this.source = source;
        this.loaded = loaded;
        this.model = loaded.model();
        this.fields = model.inputFields();
        this.resultNames = model.resultFields().stream().map(FieldSpec::name).toList();
        this.width = fields.size();
        this.results = resultNames.size();
        this.in = loaded.kernelActive() ? new double[BLOCK * width] : null;
        this.out = loaded.kernelActive() ? new double[BLOCK * results] : null;
    }

    @Override
    public boolean hasNext() {
        if (next < size) {
            return true;
        }
        fill();
        return size > 0;
    }

    @Override
    public InternalRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        InternalRow row = new JoinedRow(block[next], scored[next]);
        block[next] = null;
        scored[next] = null;
        next++;
        return row;
    }

    private void fill() {
        size = 0;
        next = 0;
        while (size < BLOCK && source.hasNext()) {
            block[size++] = source.next().copy(); // Spark reuses the row object it hands out
        }
        if (size == 0) {
            return;
        }
        if (!loaded.kernelActive()) {
            scoreAllByName();
            return;
        }
        int taken = readKernelBlock();
        if (taken > 0) {
            scoreKernelBlock(taken);
        }
    }

    /**
     * Reads the block's rows into {@link #in} (row-major, the kernel's encoding), those it can take;
     * scores the others by name at once. Returns how many rows went into {@link #in}.
     */
    private int readKernelBlock() {
        List<Map<String, Integer>> codes = loaded.codes();
        int taken = 0;
        rows:
        for (int r = 0; r < size; r++) {
            InternalRow row = block[r];
            int at = taken * width;
            for (int c = 0; c < width; c++) {
                InputColumn input = plan.inputs[c];
                Map<String, Integer> table = codes.get(c);
                double value;
                if (table != null) {
                    String category = input.category(row, fields.get(c).values());
                    Integer code = category == null ? null : table.get(category);
                    if (category != null && code == null) {
                        scoreByName(r);  // not in the kernel's table: JPMML judges the value
                        continue rows;
                    }
                    value = category == null ? Double.NaN : code;
                } else if (input.isText()) {
                    String text = input.text(row);
                    Double parsed = InputColumn.parse(text);
                    if (text != null && parsed == null) {
                        scoreByName(r);  // text that is no number: JPMML names the field and the value
                        continue rows;
                    }
                    value = parsed == null ? Double.NaN : parsed;
                } else {
                    value = input.number(row);
                }
                in[at + c] = value;
            }
            kernelRows[taken++] = r;
        }
        return taken;
    }

    private void scoreKernelBlock(int taken) {
        try {
            model.scoreKernelInto(in, taken, out, 1);
        } catch (ScoringException blockFailed) {
            // A row the kernel deferred failed in JPMML (a missing value the model cannot take, say):
            // score the rows one by one so the others keep their results.
            double[] one = new double[width];
            double[] result = new double[results];
            for (int k = 0; k < taken; k++) {
                System.arraycopy(in, k * width, one, 0, width);
                try {
                    model.scoreKernelInto(one, 1, result, 1);
                    System.arraycopy(result, 0, out, k * results, results);
                } catch (ScoringException e) {
                    fail(kernelRows[k], e);
                    kernelRows[k] = -1;
                }
            }
        }
        String[][] labels = loaded.outputLabels();
        for (int k = 0; k < taken; k++) {
            if (kernelRows[k] < 0) {
                continue;
            }
            Object[] values = new Object[results];
            for (int j = 0; j < results; j++) {
                double v = out[k * results + j];
                values[j] = labels[j] == null ? (Object) v : labels[j][(int) v];
            }
            scored[kernelRows[k]] = plan.outputs.row(values, null, loaded.version());
        }
    }

    /** Scores block row {@code r} through {@link Model#score(Map)}, values read by field name. */
    private void scoreByName(int r) {
        InternalRow row = block[r];
        Map<String, Object> named = new HashMap<>(width * 2);
        for (int c = 0; c < width; c++) {
            FieldSpec field = fields.get(c);
            named.put(field.name(), plan.inputs[c].value(row, field.numeric(), field.values()));
        }
        Map<String, Object> result;
        try {
            result = model.score(named);
        } catch (ScoringException e) {
            fail(r, e);
            return;
        }
        Object[] values = new Object[results];
        for (int j = 0; j < results; j++) {
            values[j] = result.get(resultNames.get(j));
        }
        scored[r] = plan.outputs.row(values, null, loaded.version());
    }

    private void fail(int r, ScoringException e) {
        String message = ROW_PREFIX.matcher(String.valueOf(e.getMessage())).replaceFirst("");
        if (plan.failOnError) {
            throw new ScoringException(loaded.name() + " v" + loaded.version() + " could not score a row (failOnError"
                + " is set): " + message, e);
        }
        scored[r] = plan.outputs.row(null, message, loaded.version());
    }

    private void scoreAllByName() {
        for (int r = 0; r < size; r++) {
            scoreByName(r);
        }
    }
}
