package io.jarscore.server.infer;

import java.util.Arrays;

/**
 * A named tensor, its elements flattened row-major. Decoded inputs hold a {@code double[]} (every
 * type but BYTES; NaN marks a missing value) or a {@code String[]} (BYTES; null marks a missing
 * value). Outputs hold a {@code double[]} (FP64, FP32), {@code long[]} (INT64), {@code boolean[]}
 * (BOOL) or {@code String[]} (BYTES).
 */
public record Tensor(String name, DataType type, long[] shape, Object values) {

    /** The element count {@code shape} describes; a request error for a negative or oversized one. */
    public static int elements(long[] shape, String tensor) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw RequestException.badRequest("input '" + tensor + "' has shape " + Arrays.toString(shape)
                    + ": a dimension is negative");
            }
            count *= dim;
            if (count > Integer.MAX_VALUE) {
                throw new RequestException(RequestException.Kind.TOO_LARGE, "input '" + tensor + "' has shape "
                    + Arrays.toString(shape) + ": more elements than one request can hold");
            }
        }
        return (int) count;
    }

    /** How many elements the values hold. */
    public int length() {
        if (values instanceof double[] d) {
            return d.length;
        }
        if (values instanceof long[] l) {
            return l.length;
        }
        if (values instanceof boolean[] b) {
            return b.length;
        }
        return ((String[]) values).length;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }
}
