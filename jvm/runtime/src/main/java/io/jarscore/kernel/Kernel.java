package io.jarscore.kernel;

/**
 * A model compiled to straight-line Java by {@code KernelCompiler} (jarscore-compiler): primitive
 * doubles in, primitive doubles out, no JPMML at run time. Implementations are stateless and thread-safe.
 *
 * <p>Inputs are one slot per model input field, in the order of the model's input fields. Numeric
 * fields carry their value (NaN: missing); string fields carry a code, the index of the value in
 * {@link #inputCategories()} (NaN: missing, {@link #UNKNOWN}: a value not in the table).
 * Outputs are one slot per result field; a label carries the index of the class in
 * {@link #outputLabels()}. NaN in any output means "no answer here": the caller must score that row
 * through JPMML-Evaluator, which gives the answer or the proper error.
 */
public interface Kernel {

    /** The input code of a string not in the field's table. */
    double UNKNOWN = -2.0;

    String[] inputNames();

    /** Per input: the code table of a string field, or null for a numeric one. */
    String[][] inputCategories();

    String[] outputNames();

    /** Per output: the labels a label-coded output indexes, or null for a numeric output. */
    String[][] outputLabels();

    default int inputCount() {
        return inputNames().length;
    }

    default int outputCount() {
        return outputNames().length;
    }

    void score(double[] in, int inOffset, double[] out, int outOffset);

    /**
     * Learns from typical rows ({@code rows * inputCount()} values, as {@link #score} takes them)
     * where the inputs' values lie, to do less work on such rows; scores never change. A kernel
     * with a table of trees passes them to {@link Forest#learn}, whose scans use them; other
     * kernels, and kernels in artifacts compiled without this method, ignore them. {@code Model} calls it once, with the verification rows, before
     * the kernel scores for callers.
     */
    default void learn(double[] in, int rows) {
    }

    /** Row-major batch: {@code rows * inputCount()} values in, {@code rows * outputCount()} out. */
    default void scoreBatch(double[] in, int rows, double[] out) {
        scoreRange(in, 0, rows, out);
    }

    default void scoreRange(double[] in, int fromRow, int toRow, double[] out) {
        int n = inputCount();
        int m = outputCount();
        for (int r = fromRow; r < toRow; r++) {
            score(in, r * n, out, r * m);
        }
    }
}
