package io.jarscore.kernel;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link LeafScan#block} with one row per lane of a long vector (4 rows with AVX2): QuickScorer's
 * scan of each input's splits in threshold order, where a split strikes its bits in the lanes
 * whose row it rules out and the scan of a list stops once it rules out no lane's row. Compiled
 * against {@code jdk.incubator.vector} (src/main/simd) and loaded only when the JVM reads that
 * module ({@link Vectorization}).
 *
 * <p>Values compare as {@link LeafScan#orderedKey} longs, which order as the doubles do, so the
 * lane masks are long masks and strike the long bit sets directly. A missing value compares as
 * the smallest long in the ascending lists and the largest in the descending ones, so it strikes
 * in neither, as the row-by-row scan skips them; it strikes from the input's missing list.
 */
final class VectorLeafScan implements Vectorization.Scan {

    private static final VectorSpecies<Long> LANES = LongVector.SPECIES_PREFERRED;

    VectorLeafScan() {
        if (LANES.length() < 4) {
            // narrower vectors (no AVX2) gain too little over the scalar scan to be worth a second path
            throw new IllegalStateException("this CPU's vectors hold " + LANES.length() + " longs; SIMD needs 4");
        }
    }

    @Override
    public String describe() {
        return LANES.length() + " rows per " + LANES.vectorBitSize() + "-bit vector";
    }

    @Override
    public void block(LeafScan scan, double[][] rows, int count, int kind, double[] sums, int[] leaves) {
        int lanes = LANES.length();
        long[] struck = new long[scan.trees * lanes];
        long[] ascending = new long[lanes];
        long[] descending = new long[lanes];
        boolean[] missing = new boolean[lanes];
        for (int r = 0; r < count; r += lanes) {
            strike(scan, rows, r, Math.min(lanes, count - r), struck, ascending, descending, missing);
            exits(scan, r, Math.min(lanes, count - r), struck, kind, sums, leaves);
        }
    }

    /** The struck bits of rows {@code first..first+valid-1}: tree t's of lane l at {@code struck[t * lanes + l]}. */
    private static void strike(LeafScan scan, double[][] rows, int first, int valid, long[] struck,
                               long[] ascending, long[] descending, boolean[] missing) {
        int lanes = LANES.length();
        int[] inputs = scan.inputs;
        int[] firstOf = scan.first;
        int[] atMost = scan.atMost;
        long[] key = scan.thresholdKey;
        int[] tree = scan.tree;
        long[] strike = scan.strike;
        for (int k = 0; k < inputs.length; k++) {
            boolean anyMissing = false;
            for (int l = 0; l < lanes; l++) {
                // lanes past the last row repeat it; their results are not kept
                double x = rows[first + Math.min(l, valid - 1)][inputs[k]];
                missing[l] = x != x;
                if (x != x) {
                    anyMissing = true;
                    ascending[l] = Long.MIN_VALUE;
                    descending[l] = Long.MAX_VALUE;
                } else {
                    // an infinite value compares as the largest double of its sign; -0.0 as +0.0
                    long ordered = LeafScan.orderedKey(Math.max(-Double.MAX_VALUE, Math.min(Double.MAX_VALUE, x)) + 0.0);
                    ascending[l] = ordered;
                    descending[l] = ordered;
                }
            }
            // a struck lane's compare mask is all ones: ANDed with the split's bits, it is what to OR in
            LongVector x = LongVector.fromArray(LANES, ascending, 0);
            for (int i = firstOf[k], end = atMost[k]; i < end; i++) {
                VectorMask<Long> struckHere = x.compare(VectorOperators.GT, key[i]); // threshold < x
                if (!struckHere.anyTrue()) {
                    break;
                }
                int at = tree[i] * lanes;
                LongVector.fromArray(LANES, struck, at).or(((LongVector) struckHere.toVector()).and(strike[i]))
                    .intoArray(struck, at);
            }
            x = LongVector.fromArray(LANES, descending, 0);
            for (int i = atMost[k], end = firstOf[k + 1]; i < end; i++) {
                VectorMask<Long> struckHere = x.compare(VectorOperators.LE, key[i]); // x <= threshold
                if (!struckHere.anyTrue()) {
                    break;
                }
                int at = tree[i] * lanes;
                LongVector.fromArray(LANES, struck, at).or(((LongVector) struckHere.toVector()).and(strike[i]))
                    .intoArray(struck, at);
            }
            if (anyMissing) {
                VectorMask<Long> absent = VectorMask.fromArray(LANES, missing, 0);
                for (int j = scan.missingFirst[k], end = scan.missingFirst[k + 1]; j < end; j++) {
                    int i = scan.missing[j];
                    int at = tree[i] * lanes;
                    LongVector.fromArray(LANES, struck, at).lanewise(VectorOperators.OR, strike[i], absent)
                        .intoArray(struck, at);
                }
            }
        }
    }

    /**
     * Each lane's exit leaves, tree by tree (the first leaf no split struck), added in tree order
     * or kept; clears the struck bits for the next rows.
     */
    private static void exits(LeafScan scan, int first, int valid, long[] struck, int kind, double[] sums, int[] leaves) {
        int lanes = LANES.length();
        int trees = scan.trees;
        int[] leafStart = scan.leafStart;
        if (kind == Forest.LEAVES) {
            int[] leafNode = scan.leafNode;
            for (int t = 0; t < trees; t++) {
                for (int l = 0; l < lanes; l++) {
                    int at = t * lanes + l;
                    if (l < valid) {
                        leaves[(first + l) * trees + t] = leafNode[leafStart[t] + Long.numberOfTrailingZeros(~struck[at])];
                    }
                    struck[at] = 0;
                }
            }
            return;
        }
        if (lanes == 4) {
            double[] four = new double[4];
            scan.addExits(struck, kind == Forest.SUM_FLOAT, four, 0);
            System.arraycopy(four, 0, sums, first, valid);
            return;
        }
        double[] leafValue = scan.leafValue;
        double[] acc = new double[lanes];
        float[] accFloat = new float[lanes];
        boolean floats = kind == Forest.SUM_FLOAT;
        for (int t = 0; t < trees; t++) {
            int start = leafStart[t];
            for (int l = 0; l < lanes; l++) {
                int at = t * lanes + l;
                double value = leafValue[start + Long.numberOfTrailingZeros(~struck[at])];
                struck[at] = 0;
                if (floats) {
                    accFloat[l] += (float) value;
                } else {
                    acc[l] += value;
                }
            }
        }
        for (int l = 0; l < valid; l++) {
            sums[first + l] = floats ? accFloat[l] : acc[l];
        }
    }
}
