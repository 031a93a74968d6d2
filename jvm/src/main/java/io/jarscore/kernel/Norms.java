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

    /** Adds one segment's vote for its label. */
    public static boolean vote(double[] acc, double[] p, int label, double weight) {
        if (label < 0) {
            return false;
        }
        acc[label] += weight;
        return true;
    }

    /** p = acc / total; returns the first class with the highest probability. */
    public static int divide(double[] acc, double[] p, double total) {
        int best = 0;
        for (int k = 0; k < acc.length; k++) {
            p[k] = acc[k] / total;
            if (p[k] > p[best]) {
                best = k;
            }
        }
        return best;
    }
}
