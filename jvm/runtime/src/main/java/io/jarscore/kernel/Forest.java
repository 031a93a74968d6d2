package io.jarscore.kernel;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * Decision trees as flat arrays, walked without data-dependent branches: the table form
 * {@code KernelCompiler} (jarscore-compiler) gives every tree whose splits are numeric comparisons.
 * Generated if/else code is fast only while the CPU predicts its branches, and on varied rows it
 * mispredicts at most splits. Here every step is
 * {@code node = first[node] + (x <= threshold[node] ? 0 : 1)}, one 16-byte load per node, and the
 * trees of a sum are walked eight at a time, so their memory loads overlap (a whole forest in
 * order of depth, so that the eight need about the same number of steps).
 *
 * <p>Every split is normalized to {@code x <= threshold} (false for a missing x, as PMML's
 * missingValueStrategy "none" treats an unknown predicate): lessOrEqual keeps the threshold,
 * lessThan uses the next double below it, greaterThan and greaterOrEqual compare the negated
 * input with the negated threshold. A leaf steps to itself, so walking further than a tree is
 * deep changes nothing: a group of trees is walked for as many steps as its deepest tree needs.
 */
public final class Forest {

    /** "JSF3": thresholds of ±MAX_VALUE mean what {@link #known} says; a table of another version is refused. */
    private static final int MAGIC = 0x4A53_4633;
    /** Trees walked together: independent chains of loads the CPU overlaps. */
    private static final int GROUP = 8;
    private static final long NEGATIVE_ZERO = Double.doubleToRawLongBits(-0.0);

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
    /** The trees in model order, and sorted by depth (the order a whole-forest walk takes). */
    private final Order inOrder;
    private final Order byDepth;
    /**
     * Per range of trees a call reads (key {@code from << 32 | to}): its scan, or empty where the
     * walk is expected to be faster. Filled by the first call for each range, so a kernel pays only
     * for the ranges it reads: the whole forest, a sum per class, 100-tree parts of a vote.
     */
    private final ConcurrentHashMap<Long, Optional<LeafScan>> scans = new ConcurrentHashMap<>();
    /** Per input slot, the median of the known values {@link #learn} saw (NaN: not learned); null before. */
    private volatile double[] learnedMedians;
    /** Known values a slot needs in {@link #learn}'s rows for its median to count. */
    static final int LEARN_LEAST = 8;

    Forest(long[] node, double[] value, int[] label, double[] probability, int classes, int width, int[] roots, int[] depth) {
        for (int n = 0; n < value.length; n++) {
            if (node[2 * n] == NEGATIVE_ZERO) {
                node[2 * n] = 0L; // -0.0 - 0.0 is -0.0: a threshold of -0.0 would send x = 0 the "greater" way
            }
        }
        this.node = node;
        this.value = value;
        this.label = label;
        this.probability = probability;
        this.classes = classes;
        this.width = width;
        this.roots = roots;
        this.depth = depth;
        this.inOrder = Order.of(IntStream.range(0, roots.length).toArray(), roots, depth);
        this.byDepth = Order.of(IntStream.range(0, roots.length).boxed()
            .sorted(Comparator.comparingInt(t -> depth[t])).mapToInt(Integer::intValue).toArray(), roots, depth);
    }

    /**
     * Whether the leaves of trees {@code from..to-1} have been found by scanning their splits
     * ({@link LeafScan}) rather than walking: true once a call for that range was made and the cost
     * model chose the scan.
     */
    public boolean scans(int from, int to) {
        Optional<LeafScan> scan = scans.get(rangeKey(from, to));
        return scan != null && scan.isPresent();
    }

    /** {@link #scans} of the whole forest. */
    public boolean scansWholeForest() {
        return scans(0, roots.length);
    }

    private static long rangeKey(int from, int to) {
        return (long) from << 32 | to;
    }

    /** The scan of trees {@code from..to-1} if it is expected to beat walking them. */
    private Optional<LeafScan> scanFor(int from, int to) {
        Order order = from == 0 && to == roots.length ? byDepth : inOrder;
        return LeafScan.suits(this, from, to, walkSteps(order, from, to))
            ? Optional.of(LeafScan.of(this, from, to)) : Optional.empty();
    }

    /** The steps {@link #walk} takes over positions {@code from..to-1} of {@code order}. */
    private int walkSteps(Order order, int from, int to) {
        int steps = 0;
        for (int k = from; k < to; ) {
            int end = Math.min(to, (k / GROUP + 1) * GROUP);
            if (end - k == GROUP) {
                steps += GROUP * order.steps[k / GROUP];
            } else {
                for (int i = k; i < end; i++) {
                    steps += depth[order.tree[i]];
                }
            }
            k = end;
        }
        return steps;
    }

    /**
     * Learns from typical rows (the kernel's slots, as its {@code score} fills them) where each
     * input's values lie, so that a scan strikes on the rarer side of each split ({@link LeafScan}):
     * the median of each slot's known values. Scores never change, only the work a scan does: a typical
     * row rules on fewer splits than with the median thresholds. A slot with fewer
     * than {@link #LEARN_LEAST} known values keeps its median threshold. Scans built before are
     * dropped and built again at their next call.
     */
    public void learn(double[][] rows) {
        for (double[] row : rows) {
            if (row.length < width) {
                throw new IllegalArgumentException("a row of " + row.length + " values to learn from; the forest reads "
                    + width + " slots");
            }
        }
        double[] medians = new double[width];
        double[] column = new double[rows.length];
        for (int s = 0; s < width; s++) {
            int known = 0;
            for (double[] row : rows) {
                double x = row[s];
                if (x == x) {
                    column[known++] = known(x);
                }
            }
            Arrays.sort(column, 0, known);
            medians[s] = known < LEARN_LEAST ? Double.NaN : column[known / 2];
        }
        learnedMedians = medians;
        scans.clear();
    }

    /** The input slots {@link #learn} found a median for (0 before it is called). */
    public int learnedSlots() {
        double[] medians = learnedMedians;
        int learned = 0;
        for (int s = 0; medians != null && s < width; s++) {
            learned += medians[s] == medians[s] ? 1 : 0;
        }
        return learned;
    }

    /**
     * The learned median of what {@code slot} reads (negated for a negated slot), or NaN where
     * {@link #learn} has not seen enough of it.
     */
    double learnedMedian(int slot) {
        double[] medians = learnedMedians;
        if (medians == null || slot >= 2 * width) {
            return Double.NaN;
        }
        return slot < width ? medians[slot] : -medians[slot - width];
    }

    public int trees() {
        return roots.length;
    }

    public int nodes() {
        return value.length;
    }

    /** The kernel's slots, their negations and a zero: what the splits read. */
    double[] widen(double[] v) {
        double[] w = new double[2 * width + 1];
        for (int i = 0; i < width; i++) {
            w[i] = known(v[i]);
            w[width + i] = known(-v[i]);
        }
        return w;
    }

    /**
     * A value as the splits read it. A missing value must fail every comparison, so it reads as
     * +infinity, above every threshold; an infinite value reads as the largest finite double of
     * its sign, which every threshold (strictly between -MAX_VALUE and MAX_VALUE, see
     * {@code KernelCompiler}) orders the same way. "Any known value" then has the threshold
     * MAX_VALUE, and "never" -infinity.
     */
    private static double known(double x) {
        if (x != x) {
            return Double.POSITIVE_INFINITY;
        }
        return Math.max(-Double.MAX_VALUE, Math.min(Double.MAX_VALUE, x)) + 0.0; // -0.0 + 0.0 is +0.0
    }

    /**
     * One split: the first successor when {@code x <= threshold}, else the second. The choice is
     * the sign bit of {@code threshold - x} (exact: two different doubles never subtract to zero,
     * equal ones give +0, and the only infinities, a "never" threshold and a missing input, give
     * -infinity), so there is no branch for the CPU to mispredict.
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
     * An order to walk trees in: position {@code k} holds tree {@code tree[k]}, whose root is
     * {@code root[k]}; {@code steps[g]} is the depth of the deepest tree at positions
     * {@code g*GROUP..g*GROUP+GROUP-1}.
     */
    private record Order(int[] tree, int[] root, int[] steps) {
        static Order of(int[] tree, int[] roots, int[] depth) {
            int[] root = new int[tree.length];
            int[] steps = new int[(tree.length + GROUP - 1) / GROUP];
            for (int k = 0; k < tree.length; k++) {
                root[k] = roots[tree[k]];
                steps[k / GROUP] = Math.max(steps[k / GROUP], depth[tree[k]]);
            }
            return new Order(tree, root, steps);
        }
    }

    /**
     * Walks the trees at positions {@code from..end-1} of {@code order} (within one group) and
     * puts the leaf tree {@code t} reaches in {@code leaves[t - base]}. A full group goes in
     * lockstep, for as many steps as its deepest tree needs.
     */
    private void walk(double[] w, Order order, int from, int end, int[] leaves, int base) {
        int[] tree = order.tree;
        if (end - from < GROUP) {
            for (int k = from; k < end; k++) {
                leaves[tree[k] - base] = leaf(tree[k], w);
            }
            return;
        }
        int[] root = order.root;
        int a = root[from];
        int b = root[from + 1];
        int c = root[from + 2];
        int d = root[from + 3];
        int e = root[from + 4];
        int f = root[from + 5];
        int g = root[from + 6];
        int h = root[from + 7];
        for (int s = order.steps[from / GROUP]; s > 0; s--) {
            a = step(a, w);
            b = step(b, w);
            c = step(c, w);
            d = step(d, w);
            e = step(e, w);
            f = step(f, w);
            g = step(g, w);
            h = step(h, w);
        }
        leaves[tree[from] - base] = a;
        leaves[tree[from + 1] - base] = b;
        leaves[tree[from + 2] - base] = c;
        leaves[tree[from + 3] - base] = d;
        leaves[tree[from + 4] - base] = e;
        leaves[tree[from + 5] - base] = f;
        leaves[tree[from + 6] - base] = g;
        leaves[tree[from + 7] - base] = h;
    }

    /**
     * The leaf node each of trees {@code from..to-1} reaches for row {@code v}, in tree order. The
     * whole forest is walked {@link #byDepth}, so each lockstep group holds trees of about the
     * same depth and wastes few steps on trees already at their leaf (in model order a fifth of
     * the steps on LightGBM's leaf-wise trees); the leaves are still added in tree order. Where
     * {@link LeafScan#suits} says so, the range is scanned instead: same leaves, less work.
     */
    int[] leaves(double[] v, int from, int to) {
        LeafScan scan = scan(from, to);
        return scan != null ? scan.leaves(v) : walked(widen(v), from, to);
    }

    /** The scan of trees {@code from..to-1}, or null where they are walked (decided at the range's first call). */
    private LeafScan scan(int from, int to) {
        return scans.computeIfAbsent(rangeKey(from, to), key -> scanFor(from, to)).orElse(null);
    }

    /** {@link #leaves} by walking, for the widened row {@code w}. */
    int[] walked(double[] w, int from, int to) {
        int[] leaves = new int[to - from];
        Order order = from == 0 && to == roots.length ? byDepth : inOrder;
        for (int k = from; k < to; ) {
            int end = Math.min(to, (k / GROUP + 1) * GROUP);
            walk(w, order, k, end, leaves, from);
            k = end;
        }
        return leaves;
    }

    /** {@code acc} plus the values of trees {@code from..to-1}, added one by one in tree order. */
    public double sum(double[] v, int from, int to, double acc) {
        LeafScan scan = scan(from, to);
        if (scan != null) {
            return scan.sum(v, acc); // the same additions, without the array of leaves
        }
        double[] w = widen(v);
        for (int leaf : walked(w, from, to)) {
            acc += value[leaf];
        }
        return acc;
    }

    /**
     * As {@link #sum} in float32, as JPMML-Evaluator adds float values: {@code acc} and every leaf
     * value are floats. A float addition rounds the exact sum once, as the double one rounded again
     * to float would (a double's 53 bits make that second rounding harmless), without the
     * conversions in the chain of additions.
     */
    public double sumFloat(double[] v, int from, int to, double acc) {
        LeafScan scan = scan(from, to);
        if (scan != null) {
            return scan.sumFloat(v, (float) acc);
        }
        double[] w = widen(v);
        float sum = (float) acc;
        for (int leaf : walked(w, from, to)) {
            sum += (float) value[leaf];
        }
        return sum;
    }

    /**
     * Classification trees {@code from..to-1} added to {@code acc} in tree order, as
     * {@link Norms#add} (probabilities) or {@link Norms#vote} (one vote each) would; false when a
     * tree predicts nothing. {@code p} (classes long) is what {@link Norms#vote} sizes its tallies by.
     */
    public boolean addAll(double[] v, double[] acc, double[] p, int from, int to, boolean vote) {
        for (int leaf : leaves(v, from, to)) {
            int predicted = label[leaf];
            if (predicted < 0) {
                return false;
            }
            if (vote) {
                Norms.vote(acc, p, predicted, 1.0);
            } else {
                // Norms.add at weight 1, read straight from the table
                for (int c = 0, at = leaf * classes; c < classes; c++, at++) {
                    acc[c] += probability[at];
                }
            }
        }
        return true;
    }

    int successor(int n) {
        return (int) node[2 * n + 1];
    }

    int slot(int n) {
        return (int) (node[2 * n + 1] >>> 32);
    }

    double threshold(int n) {
        return Double.longBitsToDouble(node[2 * n]);
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
            int magic = in.readInt();
            if (magic != MAGIC) {
                throw new IllegalStateException("kernel table " + resource + (magic >>> 8 == MAGIC >>> 8
                    ? " was written by another jarscore version (format " + (char) (magic & 0xFF) + ", this one reads "
                        + (char) (MAGIC & 0xFF) + "): convert the model again"
                    : " is not a jarscore forest"));
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
