package io.jarscore.kernel;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Decision trees as flat arrays, walked without data-dependent branches: the table form
 * {@link KernelCompiler} gives every tree whose splits are numeric comparisons. Generated
 * if/else code is fast only while the CPU predicts its branches; on real rows it mispredicts at
 * most splits, which made it 8x slower than on a repeated row. Here every step is
 * {@code node = first[node] + (x <= threshold[node] ? 0 : 1)}, one 16-byte load per node, and the
 * trees of a sum are walked four at a time, so their memory loads overlap.
 *
 * <p>Every split is normalized to {@code x <= threshold} (false for a missing x, as PMML's
 * missingValueStrategy "none" treats an unknown predicate): lessOrEqual keeps the threshold,
 * lessThan uses the next double below it, greaterThan and greaterOrEqual compare the negated
 * input with the negated threshold. A leaf steps to itself, so walking further than a tree is
 * deep changes nothing: a group of trees is walked for as many steps as its deepest tree needs.
 */
public final class Forest {

    private static final int MAGIC = 0x4A53_4632; // "JSF2"
    /** Trees walked together: independent chains of loads the CPU overlaps. */
    private static final int GROUP = 8;

    /**
     * Two longs per node: the threshold's bits, then the slot it compares (high half) and the first
     * of its two adjacent successors (low half: "true" there, "false" just after). Slots
     * {@code width..2*width-1} hold the negated inputs, slot {@code 2*width} a zero, which a leaf
     * compares with its zero threshold to step to itself. One node is one 16-byte load.
     */
    final long[] node;
    /** Per node: its value when it is a leaf of a regression tree (NaN: no prediction). */
    final double[] value;
    /** Per node, classification: the leaf's class index (-1: no prediction); probabilities at node * classes. */
    final int[] label;
    final double[] probability;
    final int classes;
    final int width;
    final int[] roots;
    final int[] depth;
    /** Per group of {@link #GROUP} trees: the deepest of them. */
    final int[] groupDepth;

    Forest(long[] node, double[] value, int[] label, double[] probability, int classes, int width, int[] roots, int[] depth) {
        this.node = node;
        this.value = value;
        this.label = label;
        this.probability = probability;
        this.classes = classes;
        this.width = width;
        this.roots = roots;
        this.depth = depth;
        this.groupDepth = new int[(roots.length + GROUP - 1) / GROUP];
        for (int t = 0; t < roots.length; t++) {
            groupDepth[t / GROUP] = Math.max(groupDepth[t / GROUP], depth[t]);
        }
    }

    public int trees() {
        return roots.length;
    }

    public int nodes() {
        return value.length;
    }

    /** The kernel's slots, their negations and a zero: what the splits read. */
    private double[] widen(double[] v) {
        double[] w = new double[2 * width + 1];
        for (int i = 0; i < width; i++) {
            double x = v[i];
            // A missing value fails every comparison: as +infinity it exceeds every (finite) threshold.
            w[i] = x != x ? Double.POSITIVE_INFINITY : x;
            w[width + i] = x != x ? Double.POSITIVE_INFINITY : -x;
        }
        return w;
    }

    /**
     * One split: the first successor when {@code x <= threshold}, else the second. The choice is
     * the sign bit of {@code threshold - x} (exact: two different doubles never subtract to zero,
     * and equal ones give +0), so there is no branch for the CPU to mispredict.
     */
    private int step(int n, double[] w) {
        long meta = node[2 * n + 1];
        double difference = Double.longBitsToDouble(node[2 * n]) - w[(int) (meta >>> 32)];
        return (int) meta + (int) (Double.doubleToRawLongBits(difference) >>> 63);
    }

    private int leaf(int t, double[] w) {
        int n = roots[t];
        for (int d = depth[t]; d > 0; d--) {
            n = step(n, w);
        }
        return n;
    }

    /** The value of regression tree {@code t} (NaN when it predicts nothing). */
    public double value(int t, double[] v) {
        return value[leaf(t, widen(v))];
    }

    /** Classification tree {@code t}: fills {@code p} with the leaf's probabilities, returns its class or -1. */
    public int label(int t, double[] v, double[] p) {
        int n = leaf(t, widen(v));
        System.arraycopy(probability, n * classes, p, 0, classes);
        return label[n];
    }

    /**
     * Walks trees {@code from..end-1} (within one group of {@link #GROUP}) and puts the leaf each
     * reaches in {@code leaves[0..]}. A whole group goes in lockstep, for its deepest tree's steps.
     */
    private void walk(double[] w, int from, int end, int[] leaves) {
        if (end - from < GROUP) {
            for (int t = from; t < end; t++) {
                leaves[t - from] = leaf(t, w);
            }
            return;
        }
        int a = roots[from];
        int b = roots[from + 1];
        int c = roots[from + 2];
        int d = roots[from + 3];
        int e = roots[from + 4];
        int f = roots[from + 5];
        int g = roots[from + 6];
        int h = roots[from + 7];
        for (int s = groupDepth[from / GROUP]; s > 0; s--) {
            a = step(a, w);
            b = step(b, w);
            c = step(c, w);
            d = step(d, w);
            e = step(e, w);
            f = step(f, w);
            g = step(g, w);
            h = step(h, w);
        }
        leaves[0] = a;
        leaves[1] = b;
        leaves[2] = c;
        leaves[3] = d;
        leaves[4] = e;
        leaves[5] = f;
        leaves[6] = g;
        leaves[7] = h;
    }

    /** The end of the group of {@link #GROUP} trees that {@code t} is in, or {@code to} if sooner. */
    private static int groupEnd(int t, int to) {
        return Math.min(to, (t / GROUP + 1) * GROUP);
    }

    /** {@code acc} plus the values of trees {@code from..to-1}, added one by one in tree order. */
    public double sum(double[] v, int from, int to, double acc) {
        double[] w = widen(v);
        int[] leaves = new int[GROUP];
        for (int t = from; t < to; t = groupEnd(t, to)) {
            int end = groupEnd(t, to);
            walk(w, t, end, leaves);
            for (int i = 0; i < end - t; i++) {
                acc += value[leaves[i]];
            }
        }
        return acc;
    }

    /** As {@link #sum} in float32: each partial sum rounded to float, as JPMML-Evaluator adds float values. */
    public double sumFloat(double[] v, int from, int to, double acc) {
        double[] w = widen(v);
        int[] leaves = new int[GROUP];
        for (int t = from; t < to; t = groupEnd(t, to)) {
            int end = groupEnd(t, to);
            walk(w, t, end, leaves);
            for (int i = 0; i < end - t; i++) {
                acc = (float) (acc + value[leaves[i]]);
            }
        }
        return acc;
    }

    /**
     * Classification trees {@code from..to-1} added to {@code acc} in tree order, as
     * {@link Norms#add} (probabilities) or {@link Norms#vote} (one vote each) would; false when a
     * tree predicts nothing. {@code p} is scratch space.
     */
    public boolean addAll(double[] v, double[] acc, double[] p, int from, int to, boolean vote) {
        double[] w = widen(v);
        int[] leaves = new int[GROUP];
        for (int t = from; t < to; t = groupEnd(t, to)) {
            int end = groupEnd(t, to);
            walk(w, t, end, leaves);
            for (int i = 0; i < end - t; i++) {
                int leaf = leaves[i];
                System.arraycopy(probability, leaf * classes, p, 0, classes);
                if (!(vote ? Norms.vote(acc, p, label[leaf], 1.0) : Norms.add(acc, p, label[leaf], 1.0))) {
                    return false;
                }
            }
        }
        return true;
    }

    // storage ------------------------------------------------------------------------------------

    /** Reads the forest stored beside {@code owner}'s class file as {@code resource}. */
    public static Forest read(Class<?> owner, String resource) {
        InputStream raw = owner.getResourceAsStream(resource);
        if (raw == null) {
            throw new IllegalStateException("kernel table " + resource + " is missing beside " + owner.getName()
                + ": the model JAR is incomplete; convert the model again");
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
            if (in.readInt() != MAGIC) {
                throw new IllegalStateException("kernel table " + resource + " is not a jarscore forest");
            }
            int nodes = in.readInt();
            int trees = in.readInt();
            int classes = in.readInt();
            int width = in.readInt();
            long[] node = new long[2 * nodes];
            for (int i = 0; i < node.length; i++) {
                node[i] = in.readLong();
            }
            double[] value = doubles(in, nodes);
            int[] label = ints(in, classes > 0 ? nodes : 0);
            double[] probability = doubles(in, nodes * classes);
            int[] roots = ints(in, trees);
            int[] depth = ints(in, trees);
            return new Forest(node, value, label, probability, classes, width, roots, depth);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel table " + resource, e);
        }
    }

    void write(OutputStream target) throws IOException {
        DataOutputStream out = new DataOutputStream(target);
        out.writeInt(MAGIC);
        out.writeInt(value.length);
        out.writeInt(roots.length);
        out.writeInt(classes);
        out.writeInt(width);
        for (long x : node) {
            out.writeLong(x);
        }
        for (double x : value) {
            out.writeDouble(x);
        }
        if (classes > 0) {
            for (int x : label) {
                out.writeInt(x);
            }
        }
        for (double x : probability) {
            out.writeDouble(x);
        }
        for (int x : roots) {
            out.writeInt(x);
        }
        for (int x : depth) {
            out.writeInt(x);
        }
        out.flush();
    }

    private static int[] ints(DataInputStream in, int n) throws IOException {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.readInt();
        }
        return a;
    }

    private static double[] doubles(DataInputStream in, int n) throws IOException {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.readDouble();
        }
        return a;
    }
}
