package io.jarscore.runtime;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;

/**
 * One row scored through a model's kernel from memory the caller shares with Java: the Python
 * scorer writes a row into a buffer it owns, calls {@link #score()} without arguments, and reads
 * the outputs from its other buffer. Nothing is converted or allocated at the boundary, which made
 * a single row's Python overhead a third of its latency. One per thread: not thread-safe.
 */
public final class SharedRow {

    private final Model model;
    private final DoubleBuffer in;
    private final DoubleBuffer out;
    private final double[] row;
    private final double[] result;

    SharedRow(Model model, ByteBuffer in, ByteBuffer out, int inputs, int outputs) {
        if (in.capacity() < 8 * inputs || out.capacity() < 8 * outputs) {
            throw new IllegalArgumentException("shared row buffers hold " + in.capacity() + " and " + out.capacity()
                + " bytes; the kernel needs " + 8 * inputs + " and " + 8 * outputs);
        }
        this.model = model;
        this.in = in.order(ByteOrder.nativeOrder()).asDoubleBuffer();
        this.out = out.order(ByteOrder.nativeOrder()).asDoubleBuffer();
        this.row = new double[inputs];
        this.result = new double[outputs];
    }

    /**
     * Scores the row in the input buffer into the output buffer. Returns false, writing nothing,
     * when an input is infinite: the caller's general path then reports the field and value.
     */
    public boolean score() {
        in.get(0, row);
        for (double x : row) {
            if (Double.isInfinite(x)) {
                return false;
            }
        }
        model.scoreKernelInto(row, 1, result, 1);
        out.put(0, result);
        return true;
    }
}
