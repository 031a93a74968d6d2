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
 * split whose threshold lies in the lower half of its slot's thresholds is kept mirrored: its false
 * successor comes first in the leaf order, and it strikes when it holds ({@code x <= t}, a suffix
 * of the slot's splits sorted by descending threshold). If the thresholds follow the data, as the
 * trainers' quantile bins make them, each split then acts on the rarer side, about a quarter of all
 * splits per row in all. On LightGBM's leaf-wise trees (31 leaves, about 8 levels deep) that beats
 * the walk; on XGBoost's balanced depth-6 trees (63 splits each) the walk wins, so {@link #suits}
 * decides per range of trees.
 *
 * <p>Slot values arrive as the walk reads them ({@link Forest}'s widened row: a missing value is
 * +infinity, an infinite one ±MAX_VALUE, -0.0 is +0.0) and no threshold is -0.0 (Forest rewrites
 * it), so {@code t < x} here is exactly the walk's "sign of t - x" and both find the same leaf for
 * every row.
 */
final class LeafScan {

    /** Leaves one {@code long} holds. */
    static final int MAX_LEAVES = 64;
    /**
     * Cost model, in nanoseconds a row, from same-JVM runs on lgbm500 and xgb500 (AMD EPYC): the walk
     * costs about 1.9 a step (eight trees in lockstep). The scan costs about 1.1 a split ruled on
     * (with mirroring, about a quarter of all splits), 10 a slot that has splits (the ends of its
     * two scans), and 0.6 a tree (its bits, cleared, then its leaf looked up). The scan must win by
     * {@link #MARGIN}.
     */
    private static final double WALK_STEP = 1.9;
    private static final double SCAN_SPLIT = 1.1;
    private static final double SCAN_SLOT = 10;
    private static final double SCAN_TREE = 0.6;
    private static final double MARGIN = 1.2;

    private final int trees;
    /** The slots that have splits, and per such slot k: its plain splits at {@code first[k]..mirrored[k]-1}
     * (ascending thresholds), its mirrored ones up to {@code first[k+1]} (descending). */
    private final int[] slots;
    private final int[] first;
    private final int[] mirrored;
    private final double[] threshold;
    private final int[] tree;
    /** The leaves (bits) a split rules out, as positions in its tree's leaf order. */
    private final long[] strike;
    /** Per tree: where its leaves start in {@link #leafNode}; the forest's node of each leaf. */
    private final int[] leafStart;
    private final int[] leafNode;

    private LeafScan(int trees, int[] slots, int[] first, int[] mirrored, double[] threshold, int[] tree, long[] strike,
                     int[] leafStart, int[] leafNode) {
        this.trees = trees;
        this.slots = slots;
        this.first = first;
        this.mirrored = mirrored;
        this.threshold = threshold;
        this.tree = tree;
        this.strike = strike;
        this.leafStart = leafStart;
        this.leafNode = leafNode;
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
        int slots = 0;
        for (boolean r : read) {
            slots += r ? 1 : 0;
        }
        double scan = SCAN_SPLIT * splits / 4.0 + SCAN_SLOT * slots + SCAN_TREE * (to - from);
        return scan * MARGIN < WALK_STEP * walkSteps;
    }

    /** One split as the scan keeps it; it strikes the leaf positions set in {@code strike}. */
    private record Split(int slot, double threshold, int tree, long strike, boolean mirrored) {
    }

    /** The scan of trees {@code from..to-1} of {@code forest}, of at most 64 leaves each ({@link #suits} checks). */
    static LeafScan of(Forest forest, int from, int to) {
        int slots = 2 * forest.width + 1;
        int trees = to - from;
        double[] median = medianThresholds(forest, from, to, slots);
        int[] leafStart = new int[trees + 1];
        int[] leafNode = new int[forest.nodes()];
        List<Split> splits = new ArrayList<>();
        for (int t = 0; t < trees; t++) {
            int[] position = {leafStart[t]};
            orderSplits(forest, forest.roots[from + t], t, median, leafStart[t], position, leafNode, splits);
            leafStart[t + 1] = position[0];
            if (position[0] - leafStart[t] > MAX_LEAVES) {
                throw new IllegalArgumentException("tree " + (from + t) + " has " + (position[0] - leafStart[t])
                    + " leaves; a scan handles trees of at most " + MAX_LEAVES);
            }
        }
        // by slot; in a slot plain splits by ascending threshold, then mirrored ones by descending
        splits.sort((a, b) -> a.slot != b.slot ? Integer.compare(a.slot, b.slot)
            : a.mirrored != b.mirrored ? Boolean.compare(a.mirrored, b.mirrored)
            : a.mirrored ? Double.compare(b.threshold, a.threshold) : Double.compare(a.threshold, b.threshold));
        int[] read = splits.stream().mapToInt(Split::slot).distinct().toArray(); // sorted, as the splits are
        int[] first = new int[read.length + 1];
        int[] mirrored = new int[read.length];
        double[] threshold = new double[splits.size()];
        int[] tree = new int[splits.size()];
        long[] strike = new long[splits.size()];
        int k = -1;
        for (int i = 0; i < splits.size(); i++) {
            Split split = splits.get(i);
            if (k < 0 || read[k] != split.slot) {
                k++;
                first[k] = i;
                mirrored[k] = -1;
            }
            if (split.mirrored && mirrored[k] < 0) {
                mirrored[k] = i;
            }
            threshold[i] = split.threshold;
            tree[i] = split.tree;
            strike[i] = split.strike;
        }
        first[read.length] = splits.size();
        for (k = 0; k < read.length; k++) {
            if (mirrored[k] < 0) {
                mirrored[k] = first[k + 1]; // no mirrored splits in this slot
            }
        }
        return new LeafScan(trees, read, first, mirrored, threshold, tree, strike, leafStart,
            Arrays.copyOf(leafNode, leafStart[trees]));
    }

    /** Per slot, the median threshold of the splits of trees {@code from..to-1} (NaN for a slot none reads). */
    private static double[] medianThresholds(Forest forest, int from, int to, int slots) {
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
        double[] median = new double[slots];
        for (int s = 0; s < slots; s++) {
            double[] ts = Arrays.copyOf(bySlot[s], count[s]);
            Arrays.sort(ts);
            median[s] = ts.length == 0 ? Double.NaN : ts[ts.length / 2];
        }
        return median;
    }

    /**
     * The leaf each of its trees reaches for the widened row {@code w}, in tree order: the same
     * leaves {@link Forest#leaves} finds by walking.
     */
    int[] leaves(double[] w) {
        double[] threshold = this.threshold;
        int[] tree = this.tree;
        long[] strike = this.strike;
        int[] slots = this.slots;
        int[] first = this.first;
        int[] mirrored = this.mirrored;
        long[] struck = new long[trees];
        for (int k = 0, read = slots.length; k < read; k++) {
            double x = w[slots[k]];
            int i = first[k];
            for (int end = mirrored[k]; i < end && threshold[i] < x; i++) {
                struck[tree[i]] |= strike[i];
            }
            i = mirrored[k];
            for (int end = first[k + 1]; i < end && x <= threshold[i]; i++) {
                struck[tree[i]] |= strike[i];
            }
        }
        int[] leaves = new int[trees];
        for (int t = 0; t < trees; t++) {
            leaves[t] = leafNode[leafStart[t] + Long.numberOfTrailingZeros(~struck[t])];
        }
        return leaves;
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
     * successor first, except that a mirrored split (threshold below its slot's median) puts its
     * false successor first; and records every split with the leaves it strikes, those of the
     * successor it puts first, as bits counted from {@code base}, the tree's first leaf.
     */
    private static void orderSplits(Forest forest, int n, int t, double[] median, int base, int[] position,
                                    int[] leafNode, List<Split> splits) {
        if (isLeaf(forest, n)) {
            leafNode[position[0]++] = n;
            return;
        }
        int slot = forest.slot(n);
        double threshold = forest.threshold(n);
        boolean mirror = threshold < median[slot];
        int whenTrue = forest.successor(n);
        int from = position[0];
        orderSplits(forest, mirror ? whenTrue + 1 : whenTrue, t, median, base, position, leafNode, splits);
        long strike = 0;
        for (int leaf = from; leaf < position[0] && leaf - base < MAX_LEAVES; leaf++) {
            strike |= 1L << (leaf - base);
        }
        splits.add(new Split(slot, threshold, t, strike, mirror));
        orderSplits(forest, mirror ? whenTrue : whenTrue + 1, t, median, base, position, leafNode, splits);
    }
}
