package io.jarscore.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A second way to find the leaves of a {@link Forest}'s trees (all of them, or the range a kernel
 * reads): instead of walking each tree from its root, scan every slot's splits in threshold order
 * and strike out the leaves each split rules out (the bitvector scheme of Lucchese et al.,
 * "QuickScorer", SIGIR 2015). A tree's leaves are one {@code long} of bits, so only trees of at
 * most 64 leaves qualify.
 *
 * <p>For one slot with value {@code x}, the splits {@code x <= t} that fail are exactly those with
 * {@code t < x}: a prefix of the slot's splits sorted by threshold, found by a scan that stops at the
 * first split that holds. A failed split rules out the leaves under its "true" successor. Once every
 * slot is scanned, a tree's exit leaf is the first leaf, in the order true-before-false, that no
 * split ruled out.
 *
 * <p>The work is the number of splits ruled on, not the depth of the trees. To keep it small, a
 * split whose threshold lies below its slot's pivot is kept mirrored: its false successor comes
 * first in the leaf order, and it strikes when it holds ({@code x <= t}, a suffix of the slot's
 * splits sorted by descending threshold). The pivot is the median of the slot's values in typical
 * rows where the forest has learned them ({@link Forest#learn}: the kernel learns from the
 * artifact's verification rows), else the median of the slot's thresholds. Each split then acts on
 * its rarer side, so a typical row rules on a fraction of the forest's splits, fewer with learned
 * pivots than with the median thresholds. On LightGBM's leaf-wise trees (31 leaves, about 8
 * levels deep) that beats the walk; on XGBoost's balanced depth-6 trees (63 splits each) the walk
 * wins, so {@link #suits} decides per range of trees.
 *
 * <p>A split on a negated input ({@code -x <= u}, how the walk takes {@code x > t} and
 * {@code x >= t}) is scanned with the input itself: for a known x it holds exactly when
 * {@code x > nextDown(-u)}. So each input has one list of splits that strike when {@code t < x}
 * (ascending) and one of splits that strike when {@code x <= t} (descending), whichever slot they
 * read: half the scans, and half the mispredicted ends of scans, of a forest like LightGBM's,
 * whose splits read an input and its negation about equally. A missing input (+infinity in both
 * slots) fails every comparison; its own list holds the splits that strike then.
 *
 * <p>The scan reads the row itself, not {@link Forest}'s widened row: a NaN (missing) input takes
 * its missing list, an infinite one compares as the largest finite double of its sign, and -0.0
 * compares as +0.0 does. No threshold is -0.0 (Forest rewrites it, and {@code nextDown} of a
 * threshold never gives it), so {@code t < x} here is exactly the walk's "sign of t - x" and
 * both find the same leaf for every row.
 */
final class LeafScan {

    /** Leaves one {@code long} holds. */
    static final int MAX_LEAVES = 64;
    /**
     * Cost model, in nanoseconds a row, from same-JVM runs on lgbm500 and xgb500 (AMD EPYC): the walk
     * costs about 1.9 a step (eight trees in lockstep). The scan costs about 1.1 a split ruled on
     * (with mirroring, about a quarter of all splits), 10 an input that has splits (the ends of its
     * two scans; an upper estimate), and 0.6 a tree (its bits, cleared, then its leaf looked up). The scan must
     * win by {@link #MARGIN}.
     */
    private static final double WALK_STEP = 1.9;
    private static final double SCAN_SPLIT = 1.1;
    private static final double SCAN_INPUT = 10;
    private static final double SCAN_TREE = 0.6;
    private static final double MARGIN = 1.2;

    private final int trees;
    /**
     * The inputs (their positions in the row) that splits read, plain or negated, and per such
     * input k: the splits that strike when {@code threshold < x} at {@code first[k]..atMost[k]-1}
     * (ascending thresholds), those that strike when {@code x <= threshold} up to {@code first[k+1]}
     * (descending); at {@code missing[missingFirst[k]..missingFirst[k+1]-1]}, those a missing x strikes.
     */
    private final int[] inputs;
    private final int[] first;
    private final int[] atMost;
    private final double[] threshold;
    private final int[] tree;
    /** The leaves (bits) a split rules out, as positions in its tree's leaf order. */
    private final long[] strike;
    /**
     * Per thread, the struck bits of each tree: reused, because allocating and zeroing a fresh array
     * for every row is a sizeable share of a row's time.
     */
    private final ThreadLocal<long[]> scratch;
    private final int[] missingFirst;
    private final int[] missing;
    /** Per tree: where its leaves start in {@link #leafNode}; the forest's node of each leaf, and its value. */
    private final int[] leafStart;
    private final int[] leafNode;
    private final double[] leafValue;

    private LeafScan(int trees, int[] inputs, int[] first, int[] atMost, double[] threshold, int[] tree, long[] strike,
                     int[] missingFirst, int[] missing, int[] leafStart, int[] leafNode, double[] leafValue) {
        this.trees = trees;
        this.scratch = ThreadLocal.withInitial(() -> new long[trees]);
        this.inputs = inputs;
        this.first = first;
        this.atMost = atMost;
        this.threshold = threshold;
        this.tree = tree;
        this.strike = strike;
        this.missingFirst = missingFirst;
        this.missing = missing;
        this.leafStart = leafStart;
        this.leafNode = leafNode;
        this.leafValue = leafValue;
    }

    /**
     * Whether scanning trees {@code from..to-1} of {@code forest} is expected to beat walking them
     * ({@code walkSteps} steps a row) by {@link #MARGIN}, under the cost model above; never when a
     * tree has more than 64 leaves.
     */
    static boolean suits(Forest forest, int from, int to, int walkSteps) {
        int splits = 0;
        boolean[] read = new boolean[2 * forest.width + 1];
        for (int t = from; t < to; t++) {
            // a tree deeper than 63 has more than 64 leaves; checked first, it bounds the recursion
            if (forest.depth[t] >= MAX_LEAVES) {
                return false;
            }
            int leaves = countLeaves(forest, forest.roots[t], read);
            if (leaves > MAX_LEAVES) {
                return false;
            }
            splits += leaves - 1;
        }
        int inputs = 0;
        for (int i = 0; i < forest.width; i++) {
            inputs += read[i] || read[forest.width + i] ? 1 : 0;
        }
        double scan = SCAN_SPLIT * splits / 4.0 + SCAN_INPUT * inputs + SCAN_TREE * (to - from);
        return scan * MARGIN < WALK_STEP * walkSteps;
    }

    /** One split as the walk reads it; it strikes the leaf positions set in {@code strike}. */
    private record Split(int slot, double threshold, int tree, long strike, boolean mirrored) {
    }

    /**
     * A split as the scan reads it, on input {@code input} (a plain slot): it strikes when
     * {@code threshold < x} ({@code ascending}) or when {@code x <= threshold}, and when x is
     * missing if {@code whenMissing}.
     */
    private record Entry(int input, double threshold, boolean ascending, boolean whenMissing, int tree, long strike) {

        /**
         * A plain split strikes when it fails ({@code t < x}), a mirrored one when it holds. A split
         * {@code -x <= u} on the negated slot holds, for a known x, exactly when
         * {@code x >= -u}, that is {@code x > nextDown(-u)} (no double lies between the two): a
         * mirrored one strikes when {@code nextDown(-u) < x}, a plain one when
         * {@code x <= nextDown(-u)}. A missing x is +infinity in both slots and fails either
         * comparison: the plain splits strike, the mirrored ones do not.
         */
        static Entry of(Split split, int width) {
            if (split.slot < width) {
                return new Entry(split.slot, split.threshold, !split.mirrored, !split.mirrored, split.tree, split.strike);
            }
            return new Entry(split.slot - width, Math.nextDown(-split.threshold), split.mirrored, !split.mirrored,
                split.tree, split.strike);
        }
    }

    /** The scan of trees {@code from..to-1} of {@code forest}, of at most 64 leaves each ({@link #suits} checks). */
    static LeafScan of(Forest forest, int from, int to) {
        int slots = 2 * forest.width + 1;
        int trees = to - from;
        double[] pivot = pivots(forest, from, to, slots);
        int[] leafStart = new int[trees + 1];
        int[] leafNode = new int[forest.nodes()];
        List<Split> splits = new ArrayList<>();
        for (int t = 0; t < trees; t++) {
            int[] position = {leafStart[t]};
            orderSplits(forest, forest.roots[from + t], t, pivot, leafStart[t], position, leafNode, splits);
            leafStart[t + 1] = position[0];
            if (position[0] - leafStart[t] > MAX_LEAVES) {
                throw new IllegalArgumentException("tree " + (from + t) + " has " + (position[0] - leafStart[t])
                    + " leaves; a scan handles trees of at most " + MAX_LEAVES);
            }
        }
        // by input; in an input, the ascending list by ascending threshold, then the other by descending
        List<Entry> entries = new ArrayList<>(splits.size());
        for (Split split : splits) {
            entries.add(Entry.of(split, forest.width));
        }
        entries.sort((a, b) -> a.input != b.input ? Integer.compare(a.input, b.input)
            : a.ascending != b.ascending ? Boolean.compare(b.ascending, a.ascending)
            : a.ascending ? Double.compare(a.threshold, b.threshold) : Double.compare(b.threshold, a.threshold));
        int[] inputs = entries.stream().mapToInt(Entry::input).distinct().toArray(); // sorted, as the entries are
        int[] first = new int[inputs.length + 1];
        int[] atMost = new int[inputs.length];
        int[] missingFirst = new int[inputs.length + 1];
        int[] missing = new int[(int) entries.stream().filter(Entry::whenMissing).count()];
        double[] threshold = new double[entries.size()];
        int[] tree = new int[entries.size()];
        long[] strike = new long[entries.size()];
        int k = -1;
        int m = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            if (k < 0 || inputs[k] != entry.input) {
                k++;
                first[k] = i;
                atMost[k] = -1;
                missingFirst[k] = m;
            }
            if (!entry.ascending && atMost[k] < 0) {
                atMost[k] = i;
            }
            if (entry.whenMissing) {
                missing[m++] = i;
            }
            threshold[i] = entry.threshold;
            tree[i] = entry.tree;
            strike[i] = entry.strike;
        }
        first[inputs.length] = entries.size();
        missingFirst[inputs.length] = m;
        for (k = 0; k < inputs.length; k++) {
            if (atMost[k] < 0) {
                atMost[k] = first[k + 1]; // no splits strike when x <= t on this input
            }
        }
        int leaves = leafStart[trees];
        double[] leafValue = new double[leaves];
        for (int p = 0; p < leaves; p++) {
            leafValue[p] = forest.value[leafNode[p]];
        }
        return new LeafScan(trees, inputs, first, atMost, threshold, tree, strike, missingFirst, missing, leafStart,
            Arrays.copyOf(leafNode, leaves), leafValue);
    }

    /**
     * Per slot, the value splits below which are mirrored: the slot's learned median
     * ({@link Forest#learnedMedian}), else the median threshold of the splits of trees
     * {@code from..to-1} on it (NaN for a slot none reads).
     */
    private static double[] pivots(Forest forest, int from, int to, int slots) {
        double[][] bySlot = new double[slots][8];
        int[] count = new int[slots];
        // a tree's nodes are numbered together, from its root on (ForestBuilder), up to the next root
        int end = to < forest.trees() ? forest.roots[to] : forest.nodes();
        for (int n = forest.roots[from]; n < end; n++) {
            if (!isLeaf(forest, n)) {
                int s = forest.slot(n);
                if (count[s] == bySlot[s].length) {
                    bySlot[s] = Arrays.copyOf(bySlot[s], 2 * count[s]);
                }
                bySlot[s][count[s]++] = forest.threshold(n);
            }
        }
        double[] pivot = new double[slots];
        for (int s = 0; s < slots; s++) {
            double[] ts = Arrays.copyOf(bySlot[s], count[s]);
            Arrays.sort(ts);
            double learned = forest.learnedMedian(s);
            pivot[s] = ts.length == 0 ? Double.NaN : learned == learned ? learned : ts[ts.length / 2];
        }
        return pivot;
    }

    /**
     * The leaf each of its trees reaches for the row {@code v}, in tree order: the same leaves
     * {@link Forest#leaves} finds by walking.
     */
    int[] leaves(double[] v) {
        long[] struck = struck(v);
        int[] leaves = new int[trees];
        for (int t = 0; t < trees; t++) {
            leaves[t] = leafNode[exit(struck, t)];
        }
        return leaves;
    }

    /** {@code acc} plus the values of the leaves {@link #leaves} finds, added in tree order. */
    double sum(double[] v, double acc) {
        long[] struck = struck(v);
        for (int t = 0; t < trees; t++) {
            acc += leafValue[exit(struck, t)];
        }
        return acc;
    }

    /** As {@link #sum} in float32 ({@link Forest#sumFloat}). */
    float sumFloat(double[] v, float acc) {
        long[] struck = struck(v);
        for (int t = 0; t < trees; t++) {
            acc += (float) leafValue[exit(struck, t)];
        }
        return acc;
    }

    /**
     * Tree {@code t}'s exit leaf, as a position in {@link #leafNode}: its first leaf not struck.
     * Clears the tree's bits, so that the thread's array is all zeros again for its next row once
     * every tree's leaf has been taken.
     */
    private int exit(long[] struck, int t) {
        int leaf = leafStart[t] + Long.numberOfTrailingZeros(~struck[t]);
        struck[t] = 0;
        return leaf;
    }

    /**
     * Per tree, the leaves (bits) the splits rule out for the row {@code v}, in this thread's
     * array (all zeros between rows: every caller takes each tree's {@link #exit}).
     */
    private long[] struck(double[] v) {
        double[] threshold = this.threshold;
        int[] tree = this.tree;
        long[] strike = this.strike;
        int[] first = this.first;
        int[] atMost = this.atMost;
        if (inputs.length > 0 && v.length <= inputs[inputs.length - 1]) {
            // checked before the thread's array is touched: a scan stopped halfway would leave it dirty
            throw new IllegalArgumentException("a row of " + v.length + " values; these trees read input "
                + inputs[inputs.length - 1]);
        }
        long[] struck = scratch.get();
        for (int k = 0, read = inputs.length; k < read; k++) {
            double x = v[inputs[k]];
            if (x != x) { // missing
                for (int j = missingFirst[k], end = missingFirst[k + 1]; j < end; j++) {
                    int i = missing[j];
                    struck[tree[i]] |= strike[i];
                }
                continue;
            }
            // an infinite value compares as the largest double of its sign, as in the walk
            x = Math.max(-Double.MAX_VALUE, Math.min(Double.MAX_VALUE, x));
            int i = first[k];
            for (int end = atMost[k]; i < end && threshold[i] < x; i++) {
                struck[tree[i]] |= strike[i];
            }
            i = atMost[k];
            for (int end = first[k + 1]; i < end && x <= threshold[i]; i++) {
                struck[tree[i]] |= strike[i];
            }
        }
        return struck;
    }

    /** The splits the scan rules on for row {@code v} (its work; the pivots set which side of each counts). */
    int ruledOn(double[] v) {
        int ruled = 0;
        for (int k = 0; k < inputs.length; k++) {
            double x = v[inputs[k]];
            if (x != x) {
                ruled += missingFirst[k + 1] - missingFirst[k];
                continue;
            }
            x = Math.max(-Double.MAX_VALUE, Math.min(Double.MAX_VALUE, x));
            for (int i = first[k]; i < atMost[k] && threshold[i] < x; i++) {
                ruled++;
            }
            for (int i = atMost[k]; i < first[k + 1] && x <= threshold[i]; i++) {
                ruled++;
            }
        }
        return ruled;
    }

    private static boolean isLeaf(Forest forest, int n) {
        return forest.successor(n) == n;
    }

    /** The leaves under {@code n}; marks the slots its splits read in {@code read}. */
    private static int countLeaves(Forest forest, int n, boolean[] read) {
        if (isLeaf(forest, n)) {
            return 1;
        }
        read[forest.slot(n)] = true;
        return countLeaves(forest, forest.successor(n), read) + countLeaves(forest, forest.successor(n) + 1, read);
    }

    /**
     * Puts the leaves under {@code n} in {@code leafNode} from {@code position[0]} on, first
     * successor first, except that a mirrored split (threshold below its slot's pivot) puts its
     * false successor first; and records every split with the leaves it strikes, those of the
     * successor it puts first, as bits counted from {@code base}, the tree's first leaf.
     */
    private static void orderSplits(Forest forest, int n, int t, double[] pivot, int base, int[] position,
                                    int[] leafNode, List<Split> splits) {
        if (isLeaf(forest, n)) {
            leafNode[position[0]++] = n;
            return;
        }
        int slot = forest.slot(n);
        double threshold = forest.threshold(n);
        boolean mirror = threshold < pivot[slot];
        int whenTrue = forest.successor(n);
        int from = position[0];
        orderSplits(forest, mirror ? whenTrue + 1 : whenTrue, t, pivot, base, position, leafNode, splits);
        long strike = 0;
        for (int leaf = from; leaf < position[0] && leaf - base < MAX_LEAVES; leaf++) {
            strike |= 1L << (leaf - base);
        }
        splits.add(new Split(slot, threshold, t, strike, mirror));
        orderSplits(forest, mirror ? whenTrue : whenTrue + 1, t, pivot, base, position, leafNode, splits);
    }
}
