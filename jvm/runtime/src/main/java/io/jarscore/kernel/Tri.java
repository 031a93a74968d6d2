package io.jarscore.kernel;

/**
 * Three-valued predicate logic used by generated kernels, as PMML defines it: 1 true, 0 false,
 * -1 unknown (a missing value met a comparison). Small static methods the JIT inlines.
 */
public final class Tri {

    private Tri() {
    }

    public static int lt(double x, double t) {
        return x != x ? -1 : (x < t ? 1 : 0);
    }

    public static int le(double x, double t) {
        return x != x ? -1 : (x <= t ? 1 : 0);
    }

    public static int gt(double x, double t) {
        return x != x ? -1 : (x > t ? 1 : 0);
    }

    public static int ge(double x, double t) {
        return x != x ? -1 : (x >= t ? 1 : 0);
    }

    public static int eq(double x, double t) {
        return x != x ? -1 : (x == t ? 1 : 0);
    }

    public static int ne(double x, double t) {
        return x != x ? -1 : (x != t ? 1 : 0);
    }

    public static int missing(double x) {
        return x != x ? 1 : 0;
    }

    public static int present(double x) {
        return x != x ? 0 : 1;
    }

    public static int in(double x, double[] set) {
        if (x != x) {
            return -1;
        }
        for (double v : set) {
            if (v == x) {
                return 1;
            }
        }
        return 0;
    }

    public static int notIn(double x, double[] set) {
        int r = in(x, set);
        return r < 0 ? r : 1 - r;
    }

    public static int and(int a, int b) {
        if (a == 0 || b == 0) {
            return 0;
        }
        return (a < 0 || b < 0) ? -1 : 1;
    }

    public static int or(int a, int b) {
        if (a == 1 || b == 1) {
            return 1;
        }
        return (a < 0 || b < 0) ? -1 : 0;
    }

    public static int xor(int a, int b) {
        return (a < 0 || b < 0) ? -1 : (a ^ b);
    }

    public static int surrogate(int a, int b) {
        return a < 0 ? b : a;
    }

    /** Space-separated numbers, for the value sets of generated kernels. */
    public static double[] set(String values) {
        String[] parts = values.trim().split(" +");
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Double.parseDouble(parts[i]);
        }
        return out;
    }

    public static double f(double x) {
        return (double) (float) x;
    }

    /** JPMML-Evaluator's float exp (FloatValue.exp): pow of a float-rounded e, rounded to float. */
    public static double fexp(double x) {
        return (double) (float) Math.pow(2.7182817d, (double) (float) x);
    }

    /** JPMML-Evaluator's FloatValue.inverseLogit: 1f / (1f + exp(-x)) in float. */
    public static double flogit(double x) {
        float e = (float) Math.pow(2.7182817d, (double) -(float) x);
        return (double) (1f / (1f + e));
    }

    /** JPMML-Evaluator's DoubleValue.inverseLogit. */
    public static double logit(double x) {
        return 1d / (1d + Math.exp(-x));
    }
}
