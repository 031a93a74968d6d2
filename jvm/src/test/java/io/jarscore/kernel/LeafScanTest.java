package io.jarscore.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * on rows with values exactly on the thresholds, one ulp either side, missing, infinite and ±MAX_VALUE.
 */
class LeafScanTest {

    static final int FEATURES = 5;
    static final double[] GRID = {-1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5};

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4})
    void scanFindsTheLeavesTheWalkFinds(long seed) {
        Random random = new Random(seed);
        ForestBuilder builder = new ForestBuilder(0);
        int trees = 300;
        for (int t = 0; t < trees; t++) {
            // tree 0 is a single leaf and tree 1 has 64 leaves: the first and the last bit of a tree's long
            int leaves = t == 0 ? 1 : t == 1 ? 64 : 1 + random.nextInt(64);
            int[] depth = new int[1];
            int root = leafWise(builder, random, leaves, 0, depth);
            builder.tree(root, depth[0]);
        }
        Forest forest = builder.build(FEATURES);
        assertTrue(forest.scansWholeForest(), "deep leaf-wise trees of at most 64 leaves are scanned");

        double[] row = new double[FEATURES];
        for (int r = 0; r < 3000; r++) {
            for (int f = 0; f < FEATURES; f++) {
                row[f] = value(random);
            }
            int[] walked = new int[trees];
            // a part of the forest is always walked; the whole of it is scanned
            System.arraycopy(forest.leaves(row, 0, 1), 0, walked, 0, 1);
            System.arraycopy(forest.leaves(row, 1, trees), 0, walked, 1, trees - 1);
            assertArrayEquals(walked, forest.leaves(row, 0, trees), "leaves of row " + Arrays.toString(row));
        }
    }

    @Test
    void balancedShallowTreesAreWalked() {
        // XGBoost's shape: every tree full to depth 6, 63 splits; the walk takes 6 steps a tree
        Random random = new Random(7);
        ForestBuilder builder = new ForestBuilder(0);
        for (int t = 0; t < 500; t++) {
            builder.tree(balanced(builder, random, 6), 6);
        }
        assertFalse(builder.build(FEATURES).scansWholeForest(), "balanced depth-6 trees are walked");
    }

    @Test
    void treesOfMoreThan64LeavesAreWalked() {
        Random random = new Random(8);
        ForestBuilder builder = new ForestBuilder(0);
        for (int t = 0; t < 100; t++) {
            int[] depth = new int[1];
            int root = leafWise(builder, random, t == 50 ? 65 : 40, 0, depth);
            builder.tree(root, depth[0]);
        }
        assertFalse(builder.build(FEATURES).scansWholeForest(), "one tree of 65 leaves rules the scan out");
    }

    /** A tree of {@code leaves} leaves split unevenly, as leaf-wise growth makes them; its depth goes to {@code depth[0]}. */
    private static int leafWise(ForestBuilder b, Random random, int leaves, int level, int[] depth) {
        depth[0] = Math.max(depth[0], level);
        if (leaves == 1) {
            return b.leaf(random.nextGaussian());
        }
        int left = 1 + random.nextInt(leaves - 1);
        int split = randomSplit(b, random);
        int whenTrue = leafWise(b, random, left, level + 1, depth);
        int whenFalse = leafWise(b, random, leaves - left, level + 1, depth);
        b.link(split, whenTrue, whenFalse);
        return split;
    }

    private static int balanced(ForestBuilder b, Random random, int levels) {
        if (levels == 0) {
            return b.leaf(random.nextGaussian());
        }
        int split = randomSplit(b, random);
        int whenTrue = balanced(b, random, levels - 1);
        b.link(split, whenTrue, balanced(b, random, levels - 1));
        return split;
    }

    private static int randomSplit(ForestBuilder b, Random random) {
        int roll = random.nextInt(20);
        double threshold = roll == 0 ? Double.NEGATIVE_INFINITY : roll == 1 ? Double.MAX_VALUE
            : GRID[random.nextInt(GRID.length)];
        return b.split(random.nextInt(FEATURES), random.nextBoolean() ? 1.0 : -1.0, threshold);
    }

    /** A value on the grid, one ulp off it, missing, infinite, ±MAX_VALUE, or anywhere. */
    private static double value(Random random) {
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
