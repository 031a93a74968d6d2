package io.jarscore.kernel;

/** Arithmetic helpers of generated kernels: transformations and aggregation of class distributions. */
public final class Norms {

    private Norms() {
    }

    /** NormContinuous with outliers asIs: piecewise linear, the end pieces extrapolated. */
    public static double linear(double x, double[] orig, double[] norm, double missing) {
        if (x != x) {
            return missing;
        }
        int n = orig.length;
        int i = 0;
        while (i < n - 2 && x > orig[i + 1]) {
            i++;
        }
        return norm[i] + (x - orig[i]) * (norm[i + 1] - norm[i]) / (orig[i + 1] - orig[i]);
    }

    /** 1 when a categorical value equals the code, 0 when not, NaN when missing. */
    public static double indicator(double x, double code) {
        return x != x ? Double.NaN : (x == code ? 1.0 : 0.0);
    }

    /** Adds one segment's distribution (weighted) to the running sums; false for a missing prediction. */
    public static boolean add(double[] acc, double[] p, int label, double weight) {
        if (label < 0) {
            return false;
        }
        for (int k = 0; k < acc.length; k++) {
            acc[k] += weight == 1.0 ? p[k] : weight * p[k];
        }
        return true;
    }

    /**
     * Adds one segment's vote for its label. {@code acc} holds the k vote totals, then the order in
     * which each class got its first vote, then a counter: JPMML-Evaluator keeps votes in insertion
     * order and a tie goes to the class voted for first.
     */
    public static boolean vote(double[] acc, double[] p, int label, double weight) {
        if (label < 0) {
            return false;
        }
        int k = p.length;
        acc[label] += weight;
        if (acc.length > k && acc[k + label] == 0) {
            acc[2 * k] += 1;
            acc[k + label] = acc[2 * k];
        }
        return true;
    }

    /**
     * p = acc / total; returns the class with the highest probability. A tie goes to the class
     * first voted for when {@code acc} records the order ({@link #vote}), else to the first class.
     */
    public static int divide(double[] acc, double[] p, double total) {
        int k = p.length;
        boolean ordered = acc.length > k;
        int best = 0;
        for (int c = 0; c < k; c++) {
            p[c] = acc[c] / total;
            if (p[c] > p[best] || ordered && p[c] == p[best] && acc[k + c] != 0 && (acc[k + best] == 0 || acc[k + c] < acc[k + best])) {
                best = c;
            }
        }
        return best;
    }
}
