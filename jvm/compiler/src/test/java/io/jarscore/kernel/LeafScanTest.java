package io.jarscore.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The scan of a whole forest ({@link LeafScan}) against the walk of the same trees, which
 * {@link ForestTest} holds to JPMML-Evaluator: leaf-wise trees of 1 to 64 leaves whose splits read
 * inputs and negated inputs, with "never" (-infinity) and "any known value" (MAX_VALUE) thresholds,
 * an input no split reads and one whose splits share a threshold (no mirrored split), on rows with
 * values exactly on the thresholds, one ulp either side, ±0.0, missing, infinite and ±MAX_VALUE.
 * A split on a negated input is scanned with the input itself ({@code x > nextDown(-u)}), and a
 * missing input strikes from a list of its own: the rows on and beside the thresholds test both.
 */
class LeafScanTest {

    static final int FEATURES = 5;
    static final int CHAIN_FEATURE = 4;
    static final double[] GRID = {-1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5};

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4})
    void scanFindsTheLeavesTheWalkFinds(long seed) {
        Random random = new Random(seed);
        ForestBuilder builder = new ForestBuilder(0);
        int trees = 300;
        for (int t = 0; t < trees; t++) {
            if (t == 1) {
                builder.tree(chain(builder), 63);
            } else {
                // tree 0 is a single leaf: the first bit of a tree's long
                leafWiseTree(builder, random, t == 0 ? 1 : 1 + random.nextInt(64));
            }
        }
        Forest forest = builder.build(FEATURES);
        LeafScan scan = LeafScan.of(forest, 0, trees);
        // a part, as a kernel with one sum per class reads its forest: scanned on its own
        int from = 37;
        int to = 251;

        double[] row = new double[FEATURES];
        int lastBit = 0;
        for (int r = 0; r < 3000; r++) {
            for (int f = 0; f < FEATURES; f++) {
                row[f] = value(random);
            }
            double[] w = forest.widen(row);
            int[] walked = forest.walked(w, 0, trees);
            String what = "leaves of row " + Arrays.toString(row);
            assertArrayEquals(walked, scan.leaves(row), what);
            assertArrayEquals(walked, forest.leaves(row, 0, trees), what);
            assertArrayEquals(Arrays.copyOfRange(walked, from, to), forest.leaves(row, from, to), what);
            assertArrayEquals(forest.walked(w, from, to), forest.leaves(row, from, to), what);
            // the scan adds its leaves' values itself: the same additions in the same order
            double sum = 0.25;
            float sumFloat = 0.25f;
            for (int leaf : walked) {
                sum += forest.value[leaf];
                sumFloat += (float) forest.value[leaf];
            }
            assertEquals(sum, forest.sum(row, 0, trees, 0.25), 0.0, what);
            assertEquals(sumFloat, forest.sumFloat(row, 0, trees, 0.25), 0.0, what);
            lastBit += forest.value[walked[1]] == 63.0 ? 1 : 0;
        }
        // a row too short is refused before the thread's struck bits are touched: the next row is right
        assertThrows(IllegalArgumentException.class, () -> scan.sum(new double[1], 0.0));
        assertArrayEquals(forest.walked(forest.widen(row), 0, trees), scan.leaves(row), "the row after a refused one");
        assertTrue(forest.scansWholeForest(), "deep leaf-wise trees of at most 64 leaves are scanned");
        assertTrue(forest.scans(from, to), "and so is a part of them");
        assertTrue(lastBit > 100, "rows reach the 64th leaf of the chain (its long's last bit): " + lastBit);
    }

    @Test
    void learnedMediansKeepTheLeavesAndRuleOnFewerSplits() {
        // rows that sit high among the thresholds (GRID spans -1..2.5): the median thresholds mirror
        // too few splits for them, the learned medians the right ones
        Random random = new Random(11);
        int trees = 200;
        Forest forest = leafWiseForest(random, 0, trees);
        double[][] rows = new double[400][FEATURES];
        for (double[] row : rows) {
            for (int f = 0; f < FEATURES; f++) {
                row[f] = random.nextInt(10) == 0 ? Double.NaN : 1.6 + random.nextGaussian();
            }
        }
        rows[0][0] = Double.POSITIVE_INFINITY; // clamped, as the scan reads it
        for (double[] row : rows) {
            row[FEATURES - 1] = Double.NaN; // too few known values: this slot is not learned
        }
        rows[1][FEATURES - 1] = 9.0;
        LeafScan byThresholds = LeafScan.of(forest, 0, trees);
        assertEquals(0, forest.learnedSlots());
        forest.sum(rows[0], 0, trees, 0.0); // a scan built before learning is dropped by it
        forest.learn(Arrays.copyOf(rows, 200));
        assertEquals(FEATURES - 1, forest.learnedSlots(), "every slot but the one with a single known value");
        LeafScan byLearned = LeafScan.of(forest, 0, trees);
        long before = 0;
        long after = 0;
        for (int r = 200; r < rows.length; r++) {
            double[] row = rows[r];
            int[] walked = forest.walked(forest.widen(row), 0, trees);
            assertArrayEquals(walked, byLearned.leaves(row), "leaves of row " + Arrays.toString(row));
            assertArrayEquals(walked, forest.leaves(row, 0, trees), "leaves of row " + Arrays.toString(row));
            before += byThresholds.ruledOn(row);
            after += byLearned.ruledOn(row);
        }
        assertTrue(forest.scansWholeForest());
        assertTrue(after < 0.8 * before, "splits ruled on: " + after + " learned, " + before + " by thresholds");
        assertThrows(IllegalArgumentException.class, () -> forest.learn(new double[][]{new double[FEATURES - 1]}));
    }

    @Test
    void classificationTreesAddTheSameDistributionsScannedOrWalked() {
        Random random = new Random(5);
        int trees = 200;
        Forest forest = leafWiseForest(random, 3, trees);
        double[] row = new double[FEATURES];
        for (int r = 0; r < 500; r++) {
            for (int f = 0; f < FEATURES; f++) {
                row[f] = value(random);
            }
            double[] whole = new double[3];
            double[] parts = new double[3];
            double[] walked = new double[3];
            double[] scratch = new double[3];
            assertTrue(forest.addAll(row, whole, scratch, 0, trees, false));
            // 100-tree parts, as the kernel adds a classification forest's trees
            assertTrue(forest.addAll(row, parts, scratch, 0, 100, false));
            assertTrue(forest.addAll(row, parts, scratch, 100, trees, false));
            for (int leaf : forest.walked(forest.widen(row), 0, trees)) {
                for (int c = 0; c < 3; c++) {
                    walked[c] += forest.probability[leaf * 3 + c];
                }
            }
            assertArrayEquals(walked, whole, 0.0, "distributions of row " + Arrays.toString(row));
            assertArrayEquals(walked, parts, 0.0, "distributions of row " + Arrays.toString(row));
        }
        assertTrue(forest.scans(0, 100) && forest.scans(100, trees), "the parts' distributions came from the scan");
        assertTrue(forest.scansWholeForest(), "the whole forest's distributions came from the scan");
    }

    @Test
    void balancedShallowTreesAreWalked() {
        // XGBoost's shape: every tree full to depth 6, 63 splits; the walk takes 6 steps a tree
        Random random = new Random(7);
        ForestBuilder builder = new ForestBuilder(0);
        for (int t = 0; t < 500; t++) {
            builder.tree(balanced(builder, random, 6), 6);
        }
        assertWalked(builder, "balanced depth-6 trees are walked");
    }

    @Test
    void treesOfMoreThan64LeavesAreWalked() {
        Random random = new Random(8);
        ForestBuilder builder = new ForestBuilder(0);
        for (int t = 0; t < 100; t++) {
            leafWiseTree(builder, random, t == 50 ? 65 : 40);
        }
        assertWalked(builder, "one tree of 65 leaves rules the scan out");
    }

    /** Builds the forest, reads all of it once, and asserts that the walk, not a scan, did. */
    private static void assertWalked(ForestBuilder builder, String why) {
        Forest forest = builder.build(FEATURES);
        forest.leaves(new double[FEATURES], 0, forest.trees());
        assertFalse(forest.scansWholeForest(), why);
    }

    /** {@code trees} leaf-wise trees of 1 to 64 leaves ({@code classes} 0: regression). */
    static Forest leafWiseForest(Random random, int classes, int trees) {
        ForestBuilder builder = new ForestBuilder(classes);
        for (int t = 0; t < trees; t++) {
            leafWiseTree(builder, random, 1 + random.nextInt(64));
        }
        return builder.build(FEATURES);
    }

    static void leafWiseTree(ForestBuilder builder, Random random, int leaves) {
        int[] depth = new int[1];
        int root = leafWise(builder, random, leaves, 0, depth);
        builder.tree(root, depth[0]);
    }

    /**
     * A tree of {@code leaves} leaves split unevenly, as leaf-wise growth makes them; its depth goes
     * to {@code depth[0]}.
     */
    private static int leafWise(ForestBuilder b, Random random, int leaves, int level, int[] depth) {
        depth[0] = Math.max(depth[0], level);
        if (leaves == 1) {
            return leaf(b, random);
        }
        int left = 1 + random.nextInt(leaves - 1);
        int split = randomSplit(b, random);
        int whenTrue = leafWise(b, random, left, level + 1, depth);
        int whenFalse = leafWise(b, random, leaves - left, level + 1, depth);
        b.link(split, whenTrue, whenFalse);
        return split;
    }

    static int balanced(ForestBuilder b, Random random, int levels) {
        if (levels == 0) {
            return leaf(b, random);
        }
        int split = randomSplit(b, random);
        int whenTrue = balanced(b, random, levels - 1);
        b.link(split, whenTrue, balanced(b, random, levels - 1));
        return split;
    }

    private static int leaf(ForestBuilder b, Random random) {
        if (b.classes() == 0) {
            return b.leaf(random.nextGaussian());
        }
        double[] p = {random.nextDouble(), random.nextDouble(), random.nextDouble()};
        return b.leaf(random.nextInt(3), p);
    }

    /**
     * A chain of 63 splits {@code x4 <= 0.5}, each false successor the next split: 64 leaves, the
     * last one reached by every row with x4 above 0.5 or missing. With one threshold the slot has no
     * mirrored split, so that leaf (value 63) is its tree's last bit.
     */
    private static int chain(ForestBuilder b) {
        int root = b.split(CHAIN_FEATURE, 1.0, 0.5);
        int split = root;
        for (int i = 1; i < 63; i++) {
            int next = b.split(CHAIN_FEATURE, 1.0, 0.5);
            b.link(split, b.leaf((double) i), next);
            split = next;
        }
        b.link(split, b.leaf(62.5), b.leaf(63.0));
        return root;
    }

    /** A split on features 0, 1 or 3 (2 is never read, 4 is the chain's), either sign. */
    private static int randomSplit(ForestBuilder b, Random random) {
        int roll = random.nextInt(20);
        double threshold = roll == 0 ? Double.NEGATIVE_INFINITY : roll == 1 ? Double.MAX_VALUE
            : GRID[random.nextInt(GRID.length)];
        int feature = new int[] {0, 1, 3}[random.nextInt(3)];
        return b.split(feature, random.nextBoolean() ? 1.0 : -1.0, threshold);
    }

    /** A value on the grid, one ulp off it, missing, infinite, ±MAX_VALUE, or anywhere. */
    static double value(Random random) {
        double g = GRID[random.nextInt(GRID.length)];
        return switch (random.nextInt(10)) {
            case 0, 1, 2 -> g;
            case 3 -> Math.nextUp(g);
            case 4 -> Math.nextDown(g);
            case 5 -> Double.NaN;
            case 6 -> random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            case 7 -> random.nextBoolean() ? Double.MAX_VALUE : -Double.MAX_VALUE;
            case 8 -> random.nextBoolean() ? -0.0 : 0.0;
            default -> random.nextGaussian();
        };
    }
}
