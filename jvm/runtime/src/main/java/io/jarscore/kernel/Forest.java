package io.jarscore.kernel;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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

    /**
     * "JSF5", the table {@link #write} writes: plain leaves, complements and empty leaves as bits, values
     * and classes for the other leaves alone.
     */
    private static final int MAGIC = 0x4A53_4635;
    /** "JSF4": plain leaves as bits, values and classes for every leaf; still read. */
    private static final int MAGIC_LEAVES = 0x4A53_4634;
    /** "JSF3": every node in full; still read. A table of another version is refused. */
    private static final int MAGIC_FULL = 0x4A53_4633;
    /** Format 4's and 5's flags: some leaf has a value; some split has one after it a known row never needs. */
    private static final int FLAG_VALUES = 1;
    private static final int FLAG_COPIES = 2;
    /** Trees walked together: independent chains of loads the CPU overlaps. */
    private static final int GROUP = 8;
    /**
     * Average nodes per tree from which a forest is scored in blocks of {@link Block#BIG_TREE_ROWS}:
     * 16 KiB of nodes a tree, a quarter of the core's first-level cache; a forest of such trees
     * does not stay in the second level between two blocks.
     */
    static final int BIG_TREE_NODES = 1024;
    /** What an entry of a kernel's plan ({@link #scoreBlocks}) asks for: {@link #sum}, {@link #sumFloat}, leaves. */
    public static final int SUM = 0;
    public static final int SUM_FLOAT = 1;
    public static final int LEAVES = 2;
    private static final long NEGATIVE_ZERO = Double.doubleToRawLongBits(-0.0);

    /**
     * Two longs per node: the threshold's bits, then the slot it compares (high half) and the first
     * of its two adjacent successors (low half: "true" there, "false" just after). Slots
     * {@code width..2*width-1} hold the negated inputs, slot {@code 2*width} a zero, which a leaf
     * compares with its zero threshold to step to itself. One node is one 16-byte load.
     */
    final long[] node;
    /**
     * Per node: its value when it is a leaf of a regression tree (NaN: no prediction). Read at leaves
     * only; a split's value, class and probabilities are whatever the table was built with.
     */
    final double[] value;
    /** Per node, classification: the leaf's class index (-1: no prediction); probabilities at node * classes. */
    final int[] label;
    final double[] probability;
    final int classes;
    final int width;
    final int[] roots;
    final int[] depth;
    /** Nodes of the table. */
    private final int stored;
    /**
     * The trees for rows without a missing input ({@link Collapsed}), once {@link #copying} has made
     * them; null before, and for a forest without a split to drop. Set once: every array a row reads
     * comes from the one object it read here.
     */
    private volatile Collapsed known;
    /**
     * Completed once {@link #known} is made, null for a forest without copies. The copies are made on
     * {@link #COPIER}'s thread, {@link #COPIES_DELAY_MILLIS} after the load or as soon as a block of
     * rows comes ({@link #makeCopies}): made during the load, they would cost a cold start about as
     * much as reading the table, and on two cores the other one is compiling the load's code.
     */
    private final CompletableFuture<Collapsed> copying;
    private final AtomicBoolean copyStarted = new AtomicBoolean();
    /** How long after its load a forest makes its copies when no block of rows asks for them sooner. */
    static final long COPIES_DELAY_MILLIS = Long.getLong("jarscore.forest.copies.delay.ms", 1_000);
    /** Makes the copies of every forest of the process, one forest at a time: a daemon thread. */
    private static final ScheduledThreadPoolExecutor COPIER = Daemons.scheduler("jarscore-forest-copies");
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
    /** The rows of {@link #scoreBlocks}'s blocks: {@link Block#BIG_TREE_ROWS} for large trees, else {@link Block#ROWS}. */
    final int blockRows;
    /** The block {@link #scoreBlocks} is scoring on this thread, while it calls the kernel row by row. */
    private final ThreadLocal<Block> blocks = new ThreadLocal<>();

    Forest(long[] node, double[] value, int[] label, double[] probability, int classes, int width, int[] roots, int[] depth) {
        this(withoutNegativeZeros(node, value.length), value, label, probability, classes, width, roots, depth,
            Collapsed.anyToDrop(node, width, value.length));
    }

    /**
     * {@code toDrop}: whether some split is followed by one a known row never needs
     * ({@link Collapsed#anyToDrop}), as the table says it; {@code node} holds no threshold of -0.0.
     */
    private Forest(long[] node, double[] value, int[] label, double[] probability, int classes, int width, int[] roots,
                   int[] depth, boolean toDrop) {
        this.node = node;
        this.value = value;
        this.label = label;
        this.probability = probability;
        this.stored = value.length;
        this.classes = classes;
        this.width = width;
        this.roots = roots;
        this.depth = depth;
        this.blockRows = roots.length > 0 && value.length >= (long) BIG_TREE_NODES * roots.length
            ? Block.BIG_TREE_ROWS : Block.ROWS;
        this.inOrder = Order.inModelOrder(roots, depth);
        this.byDepth = Order.byDepth(roots, depth);
        // rows take the stored trees until the copies are there: the same leaves
        copying = toDrop ? new CompletableFuture<>() : null;
        if (toDrop) {
            // the timer does not keep an unloaded model's forest alive
            java.lang.ref.WeakReference<Forest> forest = new java.lang.ref.WeakReference<>(this);
            COPIER.schedule(() -> {
                Forest loaded = forest.get();
                if (loaded != null) {
                    loaded.makeCopies();
                }
            }, COPIES_DELAY_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** Whether the copies for known rows are being made or made (false for a forest without). */
    boolean copiesStarted() {
        return copyStarted.get();
    }

    /** Starts making the copies for known rows on {@link #COPIER}'s thread unless started before. */
    private void makeCopies() {
        // read before the compare-and-set: every block of rows comes here, and once started is enough
        if (copying != null && !copyStarted.get() && copyStarted.compareAndSet(false, true)) {
            COPIER.execute(() -> {
                try {
                    known = Collapsed.of(node, width, roots);
                    copying.complete(known);
                } catch (RuntimeException | Error e) {
                    copying.completeExceptionally(e);
                    System.getLogger("io.jarscore.kernel").log(System.Logger.Level.WARNING, "a forest of " + roots.length
                        + " trees has no copies for rows without a missing input (" + e + "): its rows walk the"
                        + " stored trees, to the same leaves", e);
                }
            });
        }
    }

    /** Whether node {@code n} of {@code node} steps to itself: a leaf. */
    private static boolean isLeaf(long[] node, int n) {
        return (int) node[2 * n + 1] == n;
    }

    /**
     * The second long of a leaf numbered {@code n} that compares the zero slot ({@code 2 * width}):
     * with a threshold of zero or more, a step to itself.
     */
    private static long selfStep(int width, int n) {
        return ((long) (2 * width) << 32) | (n & 0xFFFF_FFFFL);
    }

    private static long[] withoutNegativeZeros(long[] node, int nodes) {
        for (int n = 0; n < nodes; n++) {
            if (node[2 * n] == NEGATIVE_ZERO) {
                node[2 * n] = 0L; // -0.0 - 0.0 is -0.0: a threshold of -0.0 would send x = 0 the "greater" way
            }
        }
        return node;
    }

    /**
     * The copies for rows without a missing input: this starts them if they are not yet started, and
     * waits for them. Null for a forest without.
     */
    Collapsed copies() throws InterruptedException {
        if (copying == null) {
            return null;
        }
        makeCopies();
        try {
            return copying.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the copies for known rows failed", e.getCause());
        }
    }

    /**
     * The trees again, for rows whose inputs are all known, without the splits such a row always
     * passes the same way. A PMML tree node's children are tried in turn, so scikit-learn's split
     * "x <= t, else x > t" is two table splits: the second sends a missing x to the tree's
     * no-true-child answer, and any known x that failed the first to its own child. A known row
     * never needs that second split; in the copy the first split's "false" is the second's "true".
     * That halves the steps and more than halves the nodes of scikit-learn's trees. The copies are
     * a table of their own, numbered from 0 and laid out as the stored one, except that a leaf's
     * threshold is the number of the stored leaf it copies ({@link #storedLeaf}): a whole number
     * from 0 up, which still keeps a step on the leaf (it compares with the zero slot), and is
     * read from the node the walk has just loaded. The row then takes the stored leaf's value,
     * class and probabilities.
     */
    record Collapsed(long[] node, int[] roots, int[] depth, Order inOrder, Order byDepth) {

        /** Whether a split of the stored table is followed by one that a known row never needs. */
        static boolean anyToDrop(long[] node, int width, int nodes) {
            for (int n = 0; n < nodes; n++) {
                int next = (int) node[2 * n + 1] + 1;
                if (isSplit(node, width, n) && isSplit(node, width, next) && isSplitAfter(node, width, n, next)) {
                    return true;
                }
            }
            return false;
        }

        static Collapsed of(long[] node, int width, int[] roots) {
            // the copies' size first, so that the arrays are made once, at their size
            int total = copyTrees(node, width, roots, null, null);
            long[] copy = new long[2 * total];
            int[] copyRoots = new int[roots.length];
            copyTrees(node, width, roots, copy, copyRoots);
            int[] copyDepth = new int[roots.length];
            for (int t = 0; t < roots.length; t++) {
                copyDepth[t] = depthBelow(copy, copyRoots[t]);
            }
            return new Collapsed(copy, copyRoots, copyDepth, Order.inModelOrder(copyRoots, copyDepth),
                Order.byDepth(copyRoots, copyDepth));
        }

        /**
         * Copies each tree without its droppable splits into {@code out} (from node 0), setting
         * {@code outRoots}; with {@code out} null, only counts. Returns the nodes copied. A copy's
         * successors are placed in pairs, as the stored table's are.
         */
        private static int copyTrees(long[] node, int width, int[] roots, long[] out, int[] outRoots) {
            int count = 0;
            int[] stack = new int[64];
            for (int t = 0; t < roots.length; t++) {
                int root = count++;
                if (out != null) {
                    outRoots[t] = root;
                }
                // pairs of (stored node, its copy) to fill
                int top = 0;
                stack[top++] = roots[t];
                stack[top++] = root;
                while (top > 0) {
                    int copy = stack[--top];
                    int n = stack[--top];
                    long meta = node[2 * n + 1];
                    if (isLeaf(node, n)) {
                        if (out != null) {
                            out[2 * copy] = Double.doubleToRawLongBits(n);
                            out[2 * copy + 1] = selfStep(width, copy);
                        }
                        continue;
                    }
                    int whenTrue = (int) meta;
                    int whenFalse = whenTrue + 1;
                    if (isSplit(node, width, whenFalse) && isSplitAfter(node, width, n, whenFalse)) {
                        whenFalse = (int) node[2 * whenFalse + 1];
                    }
                    int first = count;
                    count += 2;
                    if (out != null) {
                        out[2 * copy] = node[2 * n];
                        out[2 * copy + 1] = (meta & 0xFFFF_FFFF_0000_0000L) | (first & 0xFFFF_FFFFL);
                    }
                    if (top + 4 > stack.length) {
                        stack = Arrays.copyOf(stack, 2 * stack.length);
                    }
                    stack[top++] = whenFalse;
                    stack[top++] = first + 1;
                    stack[top++] = whenTrue;
                    stack[top++] = first;
                }
            }
            return count;
        }

        /** Whether node {@code n} is a split (a leaf is its own successor). */
        private static boolean isSplit(long[] node, int width, int n) {
            return !isLeaf(node, n) && (int) (node[2 * n + 1] >>> 32) < 2 * width;
        }

        /**
         * Whether every known value that fails split {@code a} passes split {@code b}, which reads
         * the same input negated (or plain where {@code a} reads it negated): {@code u > ta} must
         * give {@code -u <= tb}, that is {@code tb >= nextDown(-ta)}.
         */
        private static boolean isSplitAfter(long[] node, int width, int a, int b) {
            int slotA = (int) (node[2 * a + 1] >>> 32);
            int slotB = (int) (node[2 * b + 1] >>> 32);
            boolean mirrored = slotA < width ? slotB == slotA + width : slotB == slotA - width;
            double ta = Double.longBitsToDouble(node[2 * a]);
            double tb = Double.longBitsToDouble(node[2 * b]);
            return mirrored && tb >= Math.nextDown(-ta);
        }

        /** The steps from {@code n} to its deepest leaf. */
        private static int depthBelow(long[] node, int root) {
            int deepest = 0;
            int[] stack = new int[128];
            int top = 0;
            stack[top++] = root;
            stack[top++] = 0;
            while (top > 0) {
                int d = stack[--top];
                int n = stack[--top];
                int first = (int) node[2 * n + 1];
                if (first == n) {
                    deepest = Math.max(deepest, d);
                    continue;
                }
                if (top + 4 > stack.length) {
                    stack = Arrays.copyOf(stack, 2 * stack.length);
                }
                stack[top++] = first;
                stack[top++] = d + 1;
                stack[top++] = first + 1;
                stack[top++] = d + 1;
            }
            return deepest;
        }
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

    /** Nodes of the stored table (the copies for known rows not counted). */
    public int nodes() {
        return stored;
    }

    /** The copies ({@link #known}) when they are made and none of the inputs the splits read is missing, else null. */
    private Collapsed copiesFor(double[] v) {
        Collapsed copies = known;
        if (copies == null) {
            return null;
        }
        for (int i = 0; i < width; i++) {
            if (v[i] != v[i]) {
                return null;
            }
        }
        return copies;
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
    private static int step(long[] table, int n, double[] w) {
        long meta = table[2 * n + 1];
        double difference = Double.longBitsToDouble(table[2 * n]) - w[(int) (meta >>> 32)];
        return (int) meta + (int) (Double.doubleToRawLongBits(difference) >>> 63);
    }

    /** The leaf of {@code table} a tree from {@code root}, {@code steps} deep, reaches for the widened row {@code w}. */
    private static int leaf(long[] table, int root, int steps, double[] w) {
        int n = root;
        for (int d = steps; d > 0; d--) {
            n = step(table, n, w);
        }
        return n;
    }

    /** The stored leaf for {@code leaf} of {@code table}: itself, or the one it copies where {@code copies} ({@link Collapsed}). */
    private static int storedLeaf(long[] table, int leaf, boolean copies) {
        return copies ? (int) Double.longBitsToDouble(table[2 * leaf]) : leaf;
    }

    /** The value of regression tree {@code t} (NaN when it predicts nothing). */
    public double value(int t, double[] v) {
        return value[leaf(node, roots[t], depth[t], widen(v))];
    }

    /** Classification tree {@code t}: fills {@code p} with the leaf's probabilities, returns its class or -1. */
    public int label(int t, double[] v, double[] p) {
        int n = leaf(node, roots[t], depth[t], widen(v));
        System.arraycopy(probability, n * classes, p, 0, classes);
        return label[n];
    }

    /**
     * An order to walk trees in: position {@code k} holds tree {@code tree[k]}, whose root is
     * {@code root[k]}; {@code steps[g]} is the depth of the deepest tree at positions
     * {@code g*GROUP..g*GROUP+GROUP-1}.
     */
    private record Order(int[] tree, int[] root, int[] depth, int[] steps) {
        static Order inModelOrder(int[] roots, int[] depth) {
            int[] tree = new int[roots.length];
            for (int t = 0; t < tree.length; t++) {
                tree[t] = t;
            }
            return of(tree, roots, depth);
        }

        /** Shallowest first; trees of one depth in model order. Primitive sorts: no lambda to link at load. */
        static Order byDepth(int[] roots, int[] depth) {
            long[] keyed = new long[roots.length];
            for (int t = 0; t < keyed.length; t++) {
                keyed[t] = (long) depth[t] << 32 | t;
            }
            Arrays.sort(keyed);
            int[] tree = new int[keyed.length];
            for (int k = 0; k < tree.length; k++) {
                tree[k] = (int) keyed[k];
            }
            return of(tree, roots, depth);
        }

        static Order of(int[] tree, int[] roots, int[] depth) {
            int[] root = new int[tree.length];
            int[] depthAt = new int[tree.length];
            int[] steps = new int[(tree.length + GROUP - 1) / GROUP];
            for (int k = 0; k < tree.length; k++) {
                root[k] = roots[tree[k]];
                depthAt[k] = depth[tree[k]];
                steps[k / GROUP] = Math.max(steps[k / GROUP], depth[tree[k]]);
            }
            return new Order(tree, root, depthAt, steps);
        }
    }

    /**
     * Walks the trees of {@code table} at positions {@code from..end-1} of {@code order} (within
     * one group) and puts the (stored) leaf tree {@code t} reaches in {@code leaves[t - base]}; the
     * table is the copies' where {@code copies}. A full group goes in lockstep, for as many steps
     * as its deepest tree needs.
     */
    private static void walk(long[] table, boolean copies, double[] w, Order order, int from, int end, int[] leaves,
                             int base) {
        int[] tree = order.tree;
        if (end - from < GROUP) {
            for (int k = from; k < end; k++) {
                leaves[tree[k] - base] = storedLeaf(table, leaf(table, order.root[k], order.depth[k], w), copies);
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
            a = step(table, a, w);
            b = step(table, b, w);
            c = step(table, c, w);
            d = step(table, d, w);
            e = step(table, e, w);
            f = step(table, f, w);
            g = step(table, g, w);
            h = step(table, h, w);
        }
        leaves[tree[from] - base] = storedLeaf(table, a, copies);
        leaves[tree[from + 1] - base] = storedLeaf(table, b, copies);
        leaves[tree[from + 2] - base] = storedLeaf(table, c, copies);
        leaves[tree[from + 3] - base] = storedLeaf(table, d, copies);
        leaves[tree[from + 4] - base] = storedLeaf(table, e, copies);
        leaves[tree[from + 5] - base] = storedLeaf(table, f, copies);
        leaves[tree[from + 6] - base] = storedLeaf(table, g, copies);
        leaves[tree[from + 7] - base] = storedLeaf(table, h, copies);
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
        return scan != null ? scan.leaves(v) : walked(widen(v), from, to, copiesFor(v));
    }

    /** The scan of trees {@code from..to-1}, or null where they are walked (decided at the range's first call). */
    private LeafScan scan(int from, int to) {
        return scans.computeIfAbsent(rangeKey(from, to), key -> scanFor(from, to)).orElse(null);
    }

    /** {@link #leaves} by walking the stored trees, for the widened row {@code w}. */
    int[] walked(double[] w, int from, int to) {
        return walked(w, from, to, null);
    }

    /**
     * {@link #leaves} by walking, for the widened row {@code w}: through {@code copies} when not
     * null ({@link #copiesFor}); the leaves are the stored ones either way.
     */
    int[] walked(double[] w, int from, int to, Collapsed copies) {
        int[] leaves = new int[to - from];
        boolean whole = from == 0 && to == roots.length;
        long[] table = copies == null ? node : copies.node;
        Order order = copies != null ? (whole ? copies.byDepth : copies.inOrder) : whole ? byDepth : inOrder;
        for (int k = from; k < to; ) {
            int end = Math.min(to, (k / GROUP + 1) * GROUP);
            walk(table, copies != null, w, order, k, end, leaves, from);
            k = end;
        }
        return leaves;
    }

    /** {@code acc} plus the values of trees {@code from..to-1}, added one by one in tree order. */
    public double sum(double[] v, int from, int to, double acc) {
        Block block = blockOf(v);
        if (block != null) {
            int entry = block.entry(SUM, from, to);
            if (entry >= 0 && Double.doubleToRawLongBits(acc) == 0) {
                return block.sums[entry][block.current];
            }
            entry = block.entry(LEAVES, from, to);
            if (entry >= 0) {
                int[] leaves = block.leaves[entry];
                for (int i = block.current * (to - from), end = i + to - from; i < end; i++) {
                    acc += value[leaves[i]];
                }
                return acc;
            }
        }
        LeafScan scan = scan(from, to);
        if (scan != null) {
            return scan.sum(v, acc); // the same additions, without the array of leaves
        }
        double[] w = widen(v);
        for (int leaf : walked(w, from, to, copiesFor(v))) {
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
        Block block = blockOf(v);
        if (block != null) {
            int entry = block.entry(SUM_FLOAT, from, to);
            if (entry >= 0 && Double.doubleToRawLongBits(acc) == 0) {
                return block.sums[entry][block.current];
            }
            entry = block.entry(LEAVES, from, to);
            if (entry >= 0) {
                int[] leaves = block.leaves[entry];
                float sum = (float) acc;
                for (int i = block.current * (to - from), end = i + to - from; i < end; i++) {
                    sum += (float) value[leaves[i]];
                }
                return sum;
            }
        }
        LeafScan scan = scan(from, to);
        if (scan != null) {
            return scan.sumFloat(v, (float) acc);
        }
        double[] w = widen(v);
        float sum = (float) acc;
        for (int leaf : walked(w, from, to, copiesFor(v))) {
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
        Block block = blockOf(v);
        int entry = block == null ? -1 : block.entry(LEAVES, from, to);
        int[] leaves = entry < 0 ? leaves(v, from, to) : block.leaves[entry];
        int first = entry < 0 ? 0 : block.current * (to - from);
        for (int i = first, end = first + to - from; i < end; i++) {
            int leaf = leaves[i];
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

    // blocks of rows -----------------------------------------------------------------------------

    /**
     * Scores rows {@code fromRow..toRow-1} of {@code in} through {@code kernel} a block of
     * {@link #blockRows} rows at a time: the slots of the block's rows first, then, for each entry
     * of {@code plan} (triples: {@link #SUM}, {@link #SUM_FLOAT} or {@link #LEAVES}, then a range
     * of trees), what the forest finds for all of them at once (sums from zero, or leaves, which a
     * sum onto a running total adds up in tree order), then each row's
     * {@link BlockKernel#finish}, whose calls of {@link #sum}, {@link #sumFloat} and
     * {@link #addAll} for that row take the block's results. A block is scanned with SIMD where
     * {@link Vectorization} has it, and walked tree by tree (a tree's nodes stay in cache while
     * every row of the block goes through it). The results are those of scoring row by row, bit
     * for bit: the same leaves, added in the same order. Fewer than {@link Block#LEAST_ROWS} rows
     * are scored one by one.
     */
    public void scoreBlocks(BlockKernel kernel, int[] plan, double[] in, int fromRow, int toRow, double[] out) {
        int inputs = kernel.inputCount();
        int outputs = kernel.outputCount();
        if (toRow - fromRow < Block.LEAST_ROWS) {
            for (int r = fromRow; r < toRow; r++) {
                kernel.score(in, r * inputs, out, r * outputs);
            }
            return;
        }
        makeCopies(); // a block of rows is worth them now; this call takes them if they are there
        Block block = blocks.get();
        if (block == null || block.slots != kernel.slotCount()) {
            block = new Block(kernel.slotCount(), blockRows);
            blocks.set(block);
        }
        block.plan(plan, roots.length);
        int[] rowOf = new int[block.capacity];
        for (int start = fromRow; start < toRow; start += block.capacity) {
            int end = Math.min(toRow, start + block.capacity);
            int count = 0;
            for (int r = start; r < end; r++) {
                block.clear(count);
                if (kernel.slots(in, r * inputs, block.rows[count], out, r * outputs)) {
                    rowOf[count++] = r;
                }
            }
            block.count = count;
            for (int e = 0; e < plan.length / 3; e++) {
                findAll(block, e, plan[3 * e], plan[3 * e + 1], plan[3 * e + 2]);
            }
            try {
                for (int i = 0; i < count; i++) {
                    block.current = i;
                    kernel.finish(block.rows[i], out, rowOf[i] * outputs);
                }
            } finally {
                block.current = -1;
            }
        }
    }

    /** This thread's block while {@code v} is the row it finishes, else null. */
    private Block blockOf(double[] v) {
        Block block = blocks.get();
        return block != null && block.current >= 0 && block.rows[block.current] == v ? block : null;
    }

    /** Fills the block's entry {@code e}: per row, the sum from +0.0 of trees {@code from..to-1}, or their leaves. */
    private void findAll(Block block, int e, int kind, int from, int to) {
        LeafScan scan = scan(from, to);
        if (scan != null) {
            scan.block(block.rows, block.count, kind, block.sums[e], block.leaves[e]);
            return;
        }
        int trees = to - from;
        int[] leaves = kind == LEAVES ? block.leaves[e] : new int[block.count * trees];
        walkBlock(block, from, to, leaves);
        if (kind != LEAVES) {
            addInOrder(leaves, block.count, trees, kind == SUM_FLOAT, block.sums[e]);
        }
    }

    /**
     * The leaves of trees {@code from..to-1} for every row of the block, at
     * {@code leaves[row * (to - from) + tree - from]}: each tree in turn, {@link #GROUP} rows in
     * lockstep through it, for as many steps as the tree is deep.
     */
    private void walkBlock(Block block, int from, int to, int[] leaves) {
        int count = block.count;
        int stride = 2 * width + 1;
        if (block.widened == null || block.widened.length < block.capacity * stride) {
            block.widened = new double[block.capacity * stride];
        }
        double[] w = block.widened;
        boolean missing = false; // in any row: then the block walks the stored trees
        for (int r = 0; r < count; r++) {
            double[] v = block.rows[r];
            for (int i = 0, o = r * stride; i < width; i++) {
                missing |= v[i] != v[i];
                w[o + i] = known(v[i]);
                w[o + width + i] = known(-v[i]);
            }
            w[r * stride + 2 * width] = 0.0;
        }
        Collapsed copies = missing ? null : known;
        long[] table = copies == null ? node : copies.node;
        int[] rootOf = copies == null ? roots : copies.roots;
        int[] depthOf = copies == null ? depth : copies.depth;
        boolean copied = copies != null;
        int trees = to - from;
        for (int t = from; t < to; t++) {
            int root = rootOf[t];
            int steps = depthOf[t];
            int r = 0;
            for (; r + GROUP <= count; r += GROUP) {
                int o = r * stride;
                int a = root;
                int b = root;
                int c = root;
                int d = root;
                int e = root;
                int f = root;
                int g = root;
                int h = root;
                for (int s = steps; s > 0; s--) {
                    a = step(table, a, w, o);
                    b = step(table, b, w, o + stride);
                    c = step(table, c, w, o + 2 * stride);
                    d = step(table, d, w, o + 3 * stride);
                    e = step(table, e, w, o + 4 * stride);
                    f = step(table, f, w, o + 5 * stride);
                    g = step(table, g, w, o + 6 * stride);
                    h = step(table, h, w, o + 7 * stride);
                }
                int at = r * trees + t - from;
                leaves[at] = storedLeaf(table, a, copied);
                leaves[at + trees] = storedLeaf(table, b, copied);
                leaves[at + 2 * trees] = storedLeaf(table, c, copied);
                leaves[at + 3 * trees] = storedLeaf(table, d, copied);
                leaves[at + 4 * trees] = storedLeaf(table, e, copied);
                leaves[at + 5 * trees] = storedLeaf(table, f, copied);
                leaves[at + 6 * trees] = storedLeaf(table, g, copied);
                leaves[at + 7 * trees] = storedLeaf(table, h, copied);
            }
            for (; r < count; r++) {
                int n = root;
                for (int s = steps; s > 0; s--) {
                    n = step(table, n, w, r * stride);
                }
                leaves[r * trees + t - from] = storedLeaf(table, n, copied);
            }
        }
    }

    /**
     * Per row, +0.0 plus the values of its leaves in tree order (in float32 when {@code floats}),
     * four rows at a time: each row's additions are one chain of dependent adds, and four chains
     * side by side keep the adder busy.
     */
    private void addInOrder(int[] leaves, int count, int trees, boolean floats, double[] sums) {
        int r = 0;
        for (; r + 4 <= count; r += 4) {
            int o = r * trees;
            if (floats) {
                float a = 0f;
                float b = 0f;
                float c = 0f;
                float d = 0f;
                for (int t = 0; t < trees; t++) {
                    a += (float) value[leaves[o + t]];
                    b += (float) value[leaves[o + trees + t]];
                    c += (float) value[leaves[o + 2 * trees + t]];
                    d += (float) value[leaves[o + 3 * trees + t]];
                }
                sums[r] = a;
                sums[r + 1] = b;
                sums[r + 2] = c;
                sums[r + 3] = d;
            } else {
                double a = 0.0;
                double b = 0.0;
                double c = 0.0;
                double d = 0.0;
                for (int t = 0; t < trees; t++) {
                    a += value[leaves[o + t]];
                    b += value[leaves[o + trees + t]];
                    c += value[leaves[o + 2 * trees + t]];
                    d += value[leaves[o + 3 * trees + t]];
                }
                sums[r] = a;
                sums[r + 1] = b;
                sums[r + 2] = c;
                sums[r + 3] = d;
            }
        }
        for (; r < count; r++) {
            double a = 0.0;
            float f = 0f;
            for (int t = 0, o = r * trees; t < trees; t++) {
                a += value[leaves[o + t]];
                f += (float) value[leaves[o + t]];
            }
            sums[r] = floats ? f : a;
        }
    }

    /** {@link #step} on the widened row at {@code w[offset..]}. */
    private static int step(long[] table, int n, double[] w, int offset) {
        long meta = table[2 * n + 1];
        double difference = Double.longBitsToDouble(table[2 * n]) - w[offset + (int) (meta >>> 32)];
        return (int) meta + (int) (Double.doubleToRawLongBits(difference) >>> 63);
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
        // One read of the whole table and bulk copies out of it: read value by value, a large table costs
        // a cold start a tenth of a second (the JVM still interprets the loop then).
        byte[] bytes;
        try (InputStream in = raw) {
            bytes = readAll(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel table " + resource, e);
        }
        return parse(bytes, resource);
    }

    /**
     * The rest of {@code in}. A JAR entry's stream says how much it holds ({@code available()}): the
     * table is inflated into an array of its size in large steps, without the copies and the small
     * steps of {@link InputStream#readAllBytes} (a quarter of the time for rf200's 8 MB in a cold JVM).
     */
    private static byte[] readAll(InputStream in) throws IOException {
        int expected = in.available();
        if (expected <= 0) {
            return in.readAllBytes();
        }
        byte[] bytes = new byte[expected];
        int read = in.readNBytes(bytes, 0, expected);
        byte[] rest = in.readAllBytes();
        if (read == expected && rest.length == 0) {
            return bytes;
        }
        byte[] all = Arrays.copyOf(bytes, read + rest.length);
        System.arraycopy(rest, 0, all, read, rest.length);
        return all;
    }

    /** The forest {@link #write} wrote into {@code bytes}; {@code resource} names it in errors. */
    static Forest parse(byte[] bytes, String resource) {
        ByteBuffer in = ByteBuffer.wrap(bytes); // big-endian, as DataOutputStream writes it
        try {
            int magic = in.getInt();
            if (magic != MAGIC && magic != MAGIC_LEAVES && magic != MAGIC_FULL) {
                throw new IllegalStateException("kernel table " + resource + (magic >>> 8 == MAGIC >>> 8
                    ? " was written by another jarscore version (format " + (char) (magic & 0xFF) + ", this one reads "
                        + (char) (MAGIC_FULL & 0xFF) + " to " + (char) (MAGIC & 0xFF) + "): convert the model again"
                    : " is not a jarscore forest"));
            }
            int nodes = in.getInt();
            int trees = in.getInt();
            int classes = in.getInt();
            int width = in.getInt();
            if (nodes < 0 || trees < 0 || classes < 0) {
                throw new java.nio.BufferUnderflowException();
            }
            Forest forest = magic == MAGIC_FULL ? parseFull(in, nodes, trees, classes, width)
                : parseLeavesApart(in, nodes, trees, classes, width, magic == MAGIC);
            if (in.hasRemaining()) {
                throw new IllegalStateException("kernel table " + resource + " has " + in.remaining()
                    + " bytes after its last tree: the model JAR is damaged; convert the model again");
            }
            return forest;
        } catch (Damaged e) {
            throw new IllegalStateException("kernel table " + resource + " is damaged (" + e.getMessage()
                + "): convert the model again", e);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException
                 | IndexOutOfBoundsException e) {
            throw new IllegalStateException("kernel table " + resource + " ends early (" + bytes.length
                + " bytes): the model JAR is damaged; convert the model again", e);
        }
    }

    /** Format 3: every node's two longs, then every node's value, class and probabilities. */
    private static Forest parseFull(ByteBuffer in, int nodes, int trees, int classes, int width) {
        need(in, 16L * nodes + 8L * nodes * classes + 8L * trees);
        long[] node = longs(in, 2 * nodes);
        double[] value = doubles(in, nodes);
        int[] label = ints(in, classes > 0 ? nodes : 0);
        double[] probability = doubles(in, nodes * classes);
        return new Forest(node, value, label, probability, classes, width, ints(in, trees), ints(in, trees));
    }

    /**
     * Formats 4 and 5 ({@link #write}): the plain leaves as bits, the other nodes' two longs, and the value,
     * class and probabilities of the leaves alone; format 5 also leaves out complements and empty leaves.
     * The arrays the walk reads are rebuilt from them in passes over the bitmaps' set bits, each a short
     * loop: a cold JVM runs them interpreted until its compilers, busy with the load's other code, get to
     * them.
     */
    private static Forest parseLeavesApart(ByteBuffer in, int nodes, int trees, int classes, int width, boolean implied) {
        int flags = in.getInt();
        int words = (int) ((nodes + 63L) / 64);
        need(in, 8L * words * (implied ? 4 : 1) + 8L * trees);
        long[] plain = longs(in, words);
        long[] complement = implied ? longs(in, words) : new long[words];
        long[] hasComplement = implied ? longs(in, words) : new long[words];
        long[] empty = implied ? longs(in, words) : new long[words];
        long last = nodes % 64 == 0 ? -1L : (1L << nodes) - 1; // the nodes of the last word
        int stored = 0;
        int complements = 0;
        for (int w = 0; w < words; w++) {
            long beyond = w == words - 1 ? ~last : 0L;
            if ((plain[w] & complement[w]) != 0 || ((plain[w] | complement[w] | hasComplement[w] | empty[w]) & beyond) != 0) {
                throw new Damaged("its bitmaps overlap or name nodes it does not have");
            }
            stored += 64 - Long.bitCount(plain[w] | complement[w] | beyond);
            complements += Long.bitCount(complement[w]);
        }
        need(in, 16L * stored + 4L * complements);
        long[] others = longs(in, 2 * stored);
        int[] complementFirst = ints(in, complements);
        long[] node = new long[2 * nodes];
        long[] leaf = plain.clone();
        for (int w = 0; w < words; w++) {
            for (long bits = plain[w]; bits != 0; bits &= bits - 1) {
                int n = w << 6 | Long.numberOfTrailingZeros(bits);
                node[2 * n + 1] = selfStep(width, n); // and a threshold of +0.0
            }
        }
        for (int w = 0, o = 0; w < words; w++) {
            for (long bits = ~(plain[w] | complement[w]) & (w == words - 1 ? last : -1L); bits != 0; bits &= bits - 1) {
                int n = w << 6 | Long.numberOfTrailingZeros(bits);
                node[2 * n] = others[o++];
                long meta = others[o++];
                node[2 * n + 1] = meta;
                if ((int) meta == n) {
                    leaf[w] |= 1L << n;
                }
            }
        }
        int filled = 0;
        for (int w = 0; w < words; w++) {
            for (long bits = hasComplement[w]; bits != 0; bits &= bits - 1) {
                int n = w << 6 | Long.numberOfTrailingZeros(bits);
                int next = (int) node[2 * n + 1] + 1;
                if (isSet(complement, n) || isSet(leaf, n) || next <= n || next >= nodes || !isSet(complement, next)
                    || node[2 * next + 1] != 0L) {
                    throw new Damaged("split " + n + " has no complement of its own after it");
                }
                node[2 * next] = complementThreshold(node, n);
                node[2 * next + 1] = ((long) mirrorSlot(node, width, n) << 32) | (complementFirst[filled++] & 0xFFFF_FFFFL);
            }
        }
        if (filled != complements) {
            throw new Damaged((complements - filled) + " complements without a split before them");
        }
        int kept = 0;
        for (int w = 0; w < words; w++) {
            if ((empty[w] & ~leaf[w]) != 0) {
                throw new Damaged("a split is marked as an empty leaf");
            }
            kept += Long.bitCount(leaf[w] & ~empty[w]);
        }
        boolean values = (flags & FLAG_VALUES) != 0;
        need(in, (values ? 8L * kept : 0) + (classes > 0 ? 4L * kept + 8L * kept * classes : 0));
        double[] leafValue = doubles(in, values ? kept : 0);
        int[] leafLabel = ints(in, classes > 0 ? kept : 0);
        double[] leafProbability = doubles(in, classes > 0 ? kept * classes : 0);
        // empty leaves (and splits, whose are never read) predict nothing: NaN, class -1, probabilities zero
        double[] value = new double[nodes];
        Arrays.fill(value, Double.NaN);
        int[] label = new int[classes > 0 ? nodes : 0];
        Arrays.fill(label, -1);
        double[] probability = new double[nodes * classes];
        for (int w = 0, k = 0; w < words; w++) {
            for (long bits = leaf[w] & ~empty[w]; bits != 0; bits &= bits - 1, k++) {
                int n = w << 6 | Long.numberOfTrailingZeros(bits);
                if (values) {
                    value[n] = leafValue[k];
                }
                if (classes > 0) {
                    label[n] = leafLabel[k];
                    // a loop, not System.arraycopy: a native call per leaf while the loop is interpreted
                    for (int c = 0, from = k * classes, to = n * classes; c < classes; c++) {
                        probability[to + c] = leafProbability[from + c];
                    }
                }
            }
        }
        return new Forest(node, value, label, probability, classes, width, ints(in, trees), ints(in, trees),
            (flags & FLAG_COPIES) != 0);
    }

    /** A table whose parts do not fit together: {@link #parse} says so, naming the table. */
    private static final class Damaged extends RuntimeException {
        Damaged(String message) {
            super(message, null, false, false);
        }
    }

    private static boolean isSet(long[] bits, int n) {
        return (bits[n >>> 6] & (1L << n)) != 0;
    }

    /** The threshold of the complement of split {@code n}: {@code u > t} read as {@code -u <= nextDown(-t)}. */
    private static long complementThreshold(long[] node, int n) {
        return Double.doubleToRawLongBits(Math.nextDown(-Double.longBitsToDouble(node[2 * n])));
    }

    /** The slot a complement of split {@code n} compares: the negated input where n reads it plain, and back. */
    private static int mirrorSlot(long[] node, int width, int n) {
        int slot = (int) (node[2 * n + 1] >>> 32);
        return slot < width ? slot + width : slot - width;
    }

    /** A {@link java.nio.BufferUnderflowException} unless {@code in} holds {@code bytes} more (negative: never). */
    private static void need(ByteBuffer in, long bytes) {
        if (bytes < 0 || bytes > in.remaining()) {
            throw new java.nio.BufferUnderflowException();
        }
    }

    /**
     * Writes format 5: a header; four bitmaps of a bit per node: the plain leaves (threshold +0.0
     * against the zero slot, stepping to itself: every leaf {@link ForestBuilder} makes), the
     * complements, the splits with a complement and the empty leaves; the two longs of every other
     * node; the "true" successor of every complement, in the order of their splits; then per leaf
     * that is not empty its value (when any leaf has one), class and probabilities; and the trees'
     * roots and depths. A complement is the split just after a split's "true" successor that reads
     * the same input the other way round with the threshold that makes it "greater than"
     * (scikit-learn's second split, {@link Collapsed}): all but its "true" successor follows from
     * the split before it. An empty leaf predicts nothing (value NaN, class
     * -1, probabilities zero: the no-true-child answer after a complement). What a split holds there
     * (NaN, -1, zeros) is not stored: no walk ends on a split. A large table inflates at load, so what
     * it does not store is what a cold start does not read: rf200's is 8.2 MB instead of 14.1 MB.
     */
    void write(OutputStream target) throws IOException {
        DataOutputStream out = new DataOutputStream(target);
        int words = (stored + 63) / 64;
        long[] plain = new long[words];
        long[] complement = new long[words];
        long[] hasComplement = new long[words];
        long[] empty = new long[words];
        // the complements' "true" successors, in the order of their splits
        int[] complementFirst = new int[stored];
        int complements = 0;
        boolean values = false;
        for (int n = 0; n < stored; n++) {
            if (isLeaf(node, n)) {
                if (node[2 * n] == 0L && node[2 * n + 1] == selfStep(width, n)) {
                    plain[n >>> 6] |= 1L << n;
                }
                if (isEmpty(n)) {
                    empty[n >>> 6] |= 1L << n;
                } else {
                    values |= !Double.isNaN(value[n]);
                }
                continue;
            }
            int next = (int) node[2 * n + 1] + 1;
            if (!isSet(complement, n) && next > n && next < stored && !isSet(complement, next) && !isLeaf(node, next)
                && node[2 * next] == complementThreshold(node, n)
                && (int) (node[2 * next + 1] >>> 32) == mirrorSlot(node, width, n)) {
                complement[next >>> 6] |= 1L << next;
                hasComplement[n >>> 6] |= 1L << n;
                complementFirst[complements++] = (int) node[2 * next + 1];
            }
        }
        out.writeInt(MAGIC);
        out.writeInt(stored); // the copies for known rows are made again after a load
        out.writeInt(roots.length);
        out.writeInt(classes);
        out.writeInt(width);
        out.writeInt((values ? FLAG_VALUES : 0) | (copying != null ? FLAG_COPIES : 0));
        for (long[] bits : new long[][] {plain, complement, hasComplement, empty}) {
            for (long word : bits) {
                out.writeLong(word);
            }
        }
        for (int n = 0; n < stored; n++) {
            if (!isSet(plain, n) && !isSet(complement, n)) {
                out.writeLong(node[2 * n]);
                out.writeLong(node[2 * n + 1]);
            }
        }
        for (int c = 0; c < complements; c++) {
            out.writeInt(complementFirst[c]);
        }
        for (int n = 0; values && n < stored; n++) {
            if (isLeaf(node, n) && !isSet(empty, n)) {
                out.writeDouble(value[n]);
            }
        }
        for (int n = 0; classes > 0 && n < stored; n++) {
            if (isLeaf(node, n) && !isSet(empty, n)) {
                out.writeInt(label[n]);
            }
        }
        for (int n = 0; classes > 0 && n < stored; n++) {
            if (isLeaf(node, n) && !isSet(empty, n)) {
                for (int c = 0; c < classes; c++) {
                    out.writeDouble(probability[n * classes + c]);
                }
            }
        }
        for (int x : roots) {
            out.writeInt(x);
        }
        for (int x : depth) {
            out.writeInt(x);
        }
        out.flush();
    }

    /** Whether leaf {@code n} predicts nothing: value NaN (as read back), class -1, probabilities +0.0. */
    private boolean isEmpty(int n) {
        if (Double.doubleToRawLongBits(value[n]) != Double.doubleToRawLongBits(Double.NaN)
            || classes > 0 && label[n] != -1) {
            return false;
        }
        for (int c = 0; c < classes; c++) {
            if (Double.doubleToRawLongBits(probability[n * classes + c]) != 0L) {
                return false;
            }
        }
        return true;
    }

    private static long[] longs(ByteBuffer in, int n) {
        long[] a = new long[n];
        in.asLongBuffer().get(a);
        in.position(in.position() + Long.BYTES * n);
        return a;
    }

    private static int[] ints(ByteBuffer in, int n) {
        int[] a = new int[n];
        in.asIntBuffer().get(a);
        in.position(in.position() + Integer.BYTES * n);
        return a;
    }

    private static double[] doubles(ByteBuffer in, int n) {
        double[] a = new double[n];
        in.asDoubleBuffer().get(a);
        in.position(in.position() + Double.BYTES * n);
        return a;
    }
}
