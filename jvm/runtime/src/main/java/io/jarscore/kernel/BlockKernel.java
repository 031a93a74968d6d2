package io.jarscore.kernel;

/**
 * A generated kernel split in the two halves {@link Forest#scoreBlocks} needs: a row's slots, and
 * the rest of its {@link #score} once the forest has found the block's leaves. {@code score} is
 * {@code slots} then {@code finish}, so a row scores the same either way.
 */
public interface BlockKernel extends Kernel {

    /** The length of a row's slot array: inputs, then derived and chained fields. */
    int slotCount();

    /**
     * Fills {@code v} (zeros on entry) with the slots of the row at {@code in[offset..]}; when the
     * row is invalid, writes its outputs (NaN) to {@code out[outOffset..]} and returns false.
     */
    boolean slots(double[] in, int offset, double[] v, double[] out, int outOffset);

    /** Scores the row whose slots {@link #slots} filled: what {@link #score} does after it. */
    void finish(double[] v, double[] out, int outOffset);
}
