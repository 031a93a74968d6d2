package io.jarscore.kernel;

import java.util.Arrays;

/**
 * One thread's block of rows in {@link Forest#scoreBlocks}: their slots, and per entry of the
 * kernel's plan what the forest found for them (sums from zero, or leaves). It holds plain arrays
 * only, so a thread that keeps it keeps no model's classes alive.
 */
final class Block {

    /** Rows scored together: enough to spread a scan's per-input work, few enough to stay in cache. */
    static final int ROWS = 64;
    /**
     * Rows scored together through a forest of large trees ({@link Forest#BIG_TREE_NODES}): each
     * tree's nodes come from outside the core's own cache once per block, so a block four times
     * larger pays for them once where four blocks paid four times.
     */
    static final int BIG_TREE_ROWS = 256;
    /**
     * Fewer rows than this are scored one by one: a block pays for itself only over many rows, and
     * a few rows (one, the 20 verification rows at load) would otherwise load the Vector API's
     * classes and run them in the interpreter before the JIT has compiled them.
     */
    static final int LEAST_ROWS = 32;

    final double[][] rows;
    final int slots;
    /** The most rows the block holds: {@link #ROWS} or {@link #BIG_TREE_ROWS}. */
    final int capacity;
    int count;
    /** The row {@link Forest}'s sums are asked about, or -1 outside {@link Forest#scoreBlocks}. */
    int current = -1;
    /** Triples (kind, from, to); per triple, sums[e] (kinds SUM, SUM_FLOAT) or leaves[e] (LEAVES). */
    int[] plan;
    double[][] sums;
    int[][] leaves;
    /** The rows widened for the walk ({@link Forest#widen}), one after another. */
    double[] widened;

    Block(int slots, int capacity) {
        this.slots = slots;
        this.capacity = capacity;
        this.rows = new double[capacity][slots];
    }

    void plan(int[] plan, int trees) {
        if (this.plan == plan) {
            return;
        }
        this.plan = plan;
        int entries = plan.length / 3;
        sums = new double[entries][];
        leaves = new int[entries][];
        for (int e = 0; e < entries; e++) {
            if (plan[3 * e] == Forest.LEAVES) {
                leaves[e] = new int[capacity * (plan[3 * e + 2] - plan[3 * e + 1])];
            } else {
                sums[e] = new double[capacity];
            }
        }
    }

    /** The entry of the plan for {@code kind} over trees {@code from..to-1}, or -1. */
    int entry(int kind, int from, int to) {
        for (int e = 0, n = plan.length / 3; e < n; e++) {
            if (plan[3 * e] == kind && plan[3 * e + 1] == from && plan[3 * e + 2] == to) {
                return e;
            }
        }
        return -1;
    }

    void clear(int row) {
        Arrays.fill(rows[row], 0.0);
    }
}
