package io.jarscore.kernel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;

/** Collects the trees of one kernel into the arrays of a {@link Forest}. */
final class ForestBuilder {

    private final int classes;
    private int nodes;
    private int trees;
    private int[] feature = new int[1024];
    private double[] sign = new double[1024];
    private double[] threshold = new double[1024];
    private int[] next = new int[2048];
    private double[] value = new double[1024];
    private int[] label = new int[1024];
    private double[] probability;
    private int[] roots = new int[64];
    private int[] depth = new int[64];

    ForestBuilder(int classes) {
        this.classes = classes;
        this.probability = new double[1024 * Math.max(classes, 0)];
    }

    int trees() {
        return trees;
    }

    /** Classes per classification leaf; 0 for a forest of regression trees. */
    int classes() {
        return classes;
    }

    /** A split node {@code v[slot] * sign <= threshold}; its successors are set by {@link #link}. */
    int split(int slot, double sign, double threshold) {
        int n = add();
        feature[n] = slot;
        this.sign[n] = sign;
        this.threshold[n] = threshold;
        value[n] = Double.NaN;
        label[n] = -1;
        return n;
    }

    void link(int split, int whenTrue, int whenFalse) {
        next[2 * split] = whenTrue;
        next[2 * split + 1] = whenFalse;
    }

    /** A regression leaf (NaN: the tree predicts nothing here). */
    int leaf(double result) {
        int n = selfLoop();
        value[n] = result;
        label[n] = -1;
        return n;
    }

    /** A classification leaf: class index (-1: no prediction) and per-class probabilities. */
    int leaf(int classIndex, double[] probabilities) {
        int n = selfLoop();
        value[n] = Double.NaN;
        label[n] = classIndex;
        if (probabilities != null) {
            System.arraycopy(probabilities, 0, probability, n * classes, classes);
        }
        return n;
    }

    /** Whether a split of trees {@code from..to-1} reads one of {@code slots} (plain or negated). */
    boolean reads(int from, int to, java.util.Set<Integer> slots) {
        int[] stack = new int[64];
        for (int t = from; t < to; t++) {
            int top = 0;
            stack[top++] = roots[t];
            while (top > 0) {
                int n = stack[--top];
                if (next[2 * n] == n && next[2 * n + 1] == n) {
                    continue;
                }
                if (slots.contains(feature[n])) {
                    return true;
                }
                if (top + 2 > stack.length) {
                    stack = Arrays.copyOf(stack, stack.length * 2);
                }
                stack[top++] = next[2 * n];
                stack[top++] = next[2 * n + 1];
            }
        }
        return false;
    }

    /** Registers a tree rooted at {@code root} whose longest path takes {@code steps} splits; returns its index. */
    int tree(int root, int steps) {
        if (trees == roots.length) {
            roots = Arrays.copyOf(roots, trees * 2);
            depth = Arrays.copyOf(depth, trees * 2);
        }
        roots[trees] = root;
        depth[trees] = steps;
        return trees++;
    }

    /**
     * The forest over {@code width} kernel slots, its nodes renumbered tree by tree so that the two
     * successors of every split are adjacent (as {@link Forest} walks them).
     */
    Forest build(int width) {
        int[] renumbered = new int[nodes];
        Arrays.fill(renumbered, -1);
        long[] node = new long[2 * nodes];
        double[] values = new double[nodes];
        int[] labels = new int[classes > 0 ? nodes : 0];
        double[] probabilities = new double[nodes * classes];
        int[] newRoots = new int[trees];
        int count = 0;
        int[] stack = new int[64];
        for (int t = 0; t < trees; t++) {
            newRoots[t] = count;
            renumbered[roots[t]] = count++;
            int top = 0;
            stack[top++] = roots[t];
            while (top > 0) {
                int n = stack[--top];
                int m = renumbered[n];
                values[m] = value[n];
                if (classes > 0) {
                    labels[m] = label[n];
                    System.arraycopy(probability, n * classes, probabilities, m * classes, classes);
                }
                int a = next[2 * n];
                int b = next[2 * n + 1];
                if (a == n && b == n) {
                    node[2 * m] = Double.doubleToRawLongBits(0.0);
                    node[2 * m + 1] = ((long) (2 * width) << 32) | (m & 0xFFFF_FFFFL);
                    continue;
                }
                if (renumbered[a] >= 0 || renumbered[b] >= 0 || a == b) {
                    throw new IllegalStateException("forest node " + n + " shares a successor");
                }
                renumbered[a] = count;
                renumbered[b] = count + 1;
                int slot = sign[n] < 0 ? width + feature[n] : feature[n];
                node[2 * m] = Double.doubleToRawLongBits(threshold[n]);
                node[2 * m + 1] = ((long) slot << 32) | (count & 0xFFFF_FFFFL);
                count += 2;
                if (top + 2 > stack.length) {
                    stack = Arrays.copyOf(stack, stack.length * 2);
                }
                stack[top++] = b;
                stack[top++] = a;
            }
        }
        if (count != nodes) {
            throw new IllegalStateException("forest has " + (nodes - count) + " unreachable nodes");
        }
        return new Forest(node, values, labels, probabilities, classes, width, newRoots, Arrays.copyOf(depth, trees));
    }

    byte[] bytes(int width) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            build(width).write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private int selfLoop() {
        int n = add();
        feature[n] = 0;
        sign[n] = 1.0;
        threshold[n] = 0.0;
        next[2 * n] = n;
        next[2 * n + 1] = n;
        return n;
    }

    private int add() {
        if (nodes == feature.length) {
            int size = nodes * 2;
            feature = Arrays.copyOf(feature, size);
            sign = Arrays.copyOf(sign, size);
            threshold = Arrays.copyOf(threshold, size);
            next = Arrays.copyOf(next, 2 * size);
            value = Arrays.copyOf(value, size);
            label = Arrays.copyOf(label, size);
            probability = Arrays.copyOf(probability, size * classes);
        }
        return nodes++;
    }
}
