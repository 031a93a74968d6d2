package io.jarscore.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Blocks of rows ({@link Forest#scoreBlocks}) against the same rows scored one by one, bit for bit:
 * scanned and walked forests, double and float32 sums, classification leaves, rows the kernel
 * refuses, and row counts that fill neither a block nor a vector. Surefire runs this class twice,
 * with and without {@code --add-modules jdk.incubator.vector}, so both the SIMD and the scalar
 * path are held to the rows scored one by one.
 */
class BlockTest {

    static final int FEATURES = LeafScanTest.FEATURES;

    @Test
    void theVectorizationIsTheOneThisRunAskedFor() {
        String expected = System.getProperty("jarscore.test.simd");
        if (expected != null) {
            assertEquals(Boolean.parseBoolean(expected), Vectorization.simd(), Vectorization.describe());
        }
        assertTrue(Vectorization.describe().startsWith(Vectorization.simd() ? "SIMD (" : "scalar: "));
    }

    @Test
    void scannedSumsMatchRowByRow() {
        Forest forest = LeafScanTest.leafWiseForest(new Random(21), 0, 300);
        assertBlocksMatch(forest, Forest.SUM, 0, forest.trees(), 1000, 22);
        assertTrue(forest.scansWholeForest());
        assertBlocksMatch(forest, Forest.SUM_FLOAT, 0, forest.trees(), 203, 23);
        // a part of the forest, as a kernel with one sum per class reads it
        assertBlocksMatch(forest, Forest.SUM, 37, 251, 130, 24);
        assertTrue(forest.scans(37, 251));
    }

    @Test
    void walkedSumsMatchRowByRow() {
        Random random = new Random(31);
        ForestBuilder builder = new ForestBuilder(0);
        for (int t = 0; t < 120; t++) {
            builder.tree(LeafScanTest.balanced(builder, random, 6), 6);
        }
        LeafScanTest.leafWiseTree(builder, random, 90); // deeper than a scan takes, shallower trees around it
        Forest forest = builder.build(FEATURES);
        assertBlocksMatch(forest, Forest.SUM, 0, forest.trees(), 517, 32);
        assertBlocksMatch(forest, Forest.SUM_FLOAT, 0, forest.trees(), 70, 33);
        assertTrue(!forest.scansWholeForest(), "balanced trees and one of 90 leaves are walked");
    }

    @Test
    void largeTreesGoInLargerBlocksAndStillMatchRowByRow() {
        Random random = new Random(51);
        ForestBuilder builder = new ForestBuilder(3);
        for (int t = 0; t < 12; t++) {
            builder.tree(LeafScanTest.balanced(builder, random, 10), 10); // 2047 nodes a tree
        }
        Forest forest = builder.build(FEATURES);
        assertEquals(Block.BIG_TREE_ROWS, forest.blockRows);
        // more rows than one large block, and a last block that is not full
        assertBlocksMatch(forest, Forest.LEAVES, 0, 12, 2 * Block.BIG_TREE_ROWS + 77, 52);
        assertBlocksMatch(forest, Forest.LEAVES, 4, 9, Block.BIG_TREE_ROWS - 1, 53);

        ForestBuilder small = new ForestBuilder(0);
        for (int t = 0; t < 12; t++) {
            small.tree(LeafScanTest.balanced(small, random, 6), 6);
        }
        assertEquals(Block.ROWS, small.build(FEATURES).blockRows);
    }

    @Test
    void treesWithComplementSplitsMatchRowByRowWithAndWithoutMissingInputs() throws InterruptedException {
        Random random = new Random(61);
        for (int classes : new int[] {0, 3}) {
            ForestBuilder builder = new ForestBuilder(classes);
            for (int t = 0; t < 40; t++) {
                builder.tree(complementTree(builder, random, 5), 10);
            }
            Forest forest = builder.build(FEATURES);
            Forest.Collapsed copies = forest.copies();
            assertTrue(copies != null, "complement splits have copies without them");
            assertTrue(copies.depth()[0] < 10, "the copy of a tree is shallower: " + copies.depth()[0]);
            int kind = classes > 0 ? Forest.LEAVES : Forest.SUM;
            assertBlocksMatch(forest, kind, 0, forest.trees(), 300, 62, false);  // blocks with missing inputs
            assertBlocksMatch(forest, kind, 0, forest.trees(), 300, 63, true);   // every input known: the copies
            assertBlocksMatch(forest, kind, 5, 33, 150, 64, true);
        }
    }

    @Test
    void theCopiesWaitForABlockOfRowsOrTheirDelay() throws InterruptedException {
        Random random = new Random(65);
        Forest[] forests = new Forest[2];
        for (int f = 0; f < forests.length; f++) {
            ForestBuilder builder = new ForestBuilder(0);
            for (int t = 0; t < 40; t++) {
                builder.tree(complementTree(builder, random, 5), 10);
            }
            forests[f] = builder.build(FEATURES);
            assertFalse(forests[f].copiesStarted(), "a load makes no copies: on a cold start they take a core");
        }
        // a block of rows starts them, and takes them once they are there
        assertBlocksMatch(forests[0], Forest.SUM, 0, forests[0].trees(), 300, 66, true);
        assertTrue(forests[0].copiesStarted(), "a block of rows starts the copies");
        // without rows, they are made after their delay
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!forests[1].copiesStarted() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(forests[1].copiesStarted(), "the copies start " + Forest.COPIES_DELAY_MILLIS + " ms after the load");
        assertTrue(forests[1].copies() != null);
    }

    /**
     * A tree as the kernel compiler makes scikit-learn's: each split {@code x <= t} is followed, on
     * its false side, by the complement {@code -x <= nextDown(-t)} (x > t), whose false side is
     * the tree's no-true-child answer (nothing).
     */
    static int complementTree(ForestBuilder b, Random random, int levels) {
        if (levels == 0) {
            return b.classes() == 0 ? b.leaf(random.nextGaussian())
                : b.leaf(random.nextInt(3), new double[] {random.nextDouble(), random.nextDouble(), random.nextDouble()});
        }
        int feature = random.nextInt(FEATURES);
        double t = random.nextInt(5) - 2 + 0.5 * random.nextInt(2);
        int split = b.split(feature, 1.0, t);
        int complement = b.split(feature, -1.0, Math.nextDown(-t));
        int nothing = b.classes() == 0 ? b.leaf(Double.NaN) : b.leaf(-1, null);
        b.link(complement, complementTree(b, random, levels - 1), nothing);
        b.link(split, complementTree(b, random, levels - 1), complement);
        return split;
    }

    @Test
    void classificationLeavesMatchRowByRow() {
        Forest scanned = LeafScanTest.leafWiseForest(new Random(41), 3, 200);
        assertBlocksMatch(scanned, Forest.LEAVES, 0, 100, 300, 42);
        assertBlocksMatch(scanned, Forest.LEAVES, 100, 200, 65, 43);
        assertTrue(scanned.scans(0, 100));
        Random random = new Random(44);
        ForestBuilder builder = new ForestBuilder(3);
        for (int t = 0; t < 50; t++) {
            builder.tree(LeafScanTest.balanced(builder, random, 7), 7);
        }
        Forest walked = builder.build(FEATURES);
        assertBlocksMatch(walked, Forest.LEAVES, 0, 50, 129, 45);
    }

    /**
     * Scores {@code rows} random rows through {@code forest}'s blocks with one plan entry and row by
     * row, and asserts the outputs are the same bits. Every seventh row is refused by the kernel.
     */
    private static void assertBlocksMatch(Forest forest, int kind, int from, int to, int rows, long seed) {
        assertBlocksMatch(forest, kind, from, to, rows, seed, false);
    }

    /** {@link #assertBlocksMatch}; {@code known}: no input is missing. */
    private static void assertBlocksMatch(Forest forest, int kind, int from, int to, int rows, long seed, boolean known) {
        Random random = new Random(seed);
        double[] in = new double[rows * FEATURES];
        for (int i = 0; i < in.length; i++) {
            in[i] = LeafScanTest.value(random);
            if (known && Double.isNaN(in[i])) {
                in[i] = random.nextGaussian();
            }
        }
        TestKernel kernel = new TestKernel(forest, kind, from, to);
        double[] blocked = new double[rows * kernel.outputCount()];
        forest.scoreBlocks(kernel, new int[]{kind, from, to}, in, 0, rows, blocked);
        double[] oneByOne = new double[rows * kernel.outputCount()];
        for (int r = 0; r < rows; r++) {
            kernel.score(in, r * FEATURES, oneByOne, r * kernel.outputCount());
        }
        for (int r = 0; r < rows; r++) {
            int m = kernel.outputCount();
            double[] expected = Arrays.copyOfRange(oneByOne, r * m, r * m + m);
            double[] actual = Arrays.copyOfRange(blocked, r * m, r * m + m);
            assertArrayEquals(expected, actual, 0.0, "row " + r + " " + Arrays.toString(Arrays.copyOfRange(in,
                r * FEATURES, r * FEATURES + FEATURES)) + " (" + Vectorization.describe() + ")");
        }
        // a part of the batch, as a thread of a parallel batch scores it
        double[] part = new double[rows * kernel.outputCount()];
        forest.scoreBlocks(kernel, new int[]{kind, from, to}, in, rows / 3, rows, part);
        int m = kernel.outputCount();
        assertArrayEquals(Arrays.copyOfRange(oneByOne, rows / 3 * m, rows * m), Arrays.copyOfRange(part, rows / 3 * m, rows * m), 0.0);
    }

    /** A kernel over the forest's slots: the sum of its trees, or their class distribution (average) and vote. */
    private static final class TestKernel implements BlockKernel {
        private final Forest forest;
        private final int kind;
        private final int from;
        private final int to;

        TestKernel(Forest forest, int kind, int from, int to) {
            this.forest = forest;
            this.kind = kind;
            this.from = from;
            this.to = to;
        }

        @Override
        public String[] inputNames() {
            return new String[FEATURES];
        }

        @Override
        public String[][] inputCategories() {
            return new String[FEATURES][];
        }

        @Override
        public String[] outputNames() {
            return new String[kind == Forest.LEAVES ? 8 : 1];
        }

        @Override
        public String[][] outputLabels() {
            return new String[outputCount()][];
        }

        @Override
        public void score(double[] in, int o, double[] out, int oo) {
            double[] v = new double[slotCount()];
            if (slots(in, o, v, out, oo)) {
                finish(v, out, oo);
            }
        }

        @Override
        public int slotCount() {
            return FEATURES;
        }

        @Override
        public boolean slots(double[] in, int o, double[] v, double[] out, int oo) {
            if (o / FEATURES % 7 == 3) {
                Arrays.fill(out, oo, oo + outputCount(), Double.NaN);
                return false;
            }
            System.arraycopy(in, o, v, 0, FEATURES);
            return true;
        }

        @Override
        public void finish(double[] v, double[] out, int oo) {
            if (kind == Forest.SUM) {
                out[oo] = forest.sum(v, from, to, 0.0);
            } else if (kind == Forest.SUM_FLOAT) {
                out[oo] = forest.sumFloat(v, from, to, 0.0);
            } else {
                double[] average = new double[3];
                double[] votes = new double[7];
                double[] p = new double[3];
                out[oo] = forest.addAll(v, average, p, from, to, false) ? 1 : 0;
                out[oo + 1] = forest.addAll(v, votes, p, from, to, true) ? 1 : 0;
                System.arraycopy(average, 0, out, oo + 2, 3);
                System.arraycopy(votes, 0, out, oo + 5, 3);
            }
        }
    }
}
