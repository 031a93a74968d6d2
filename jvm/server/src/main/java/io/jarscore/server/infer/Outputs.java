package io.jarscore.server.infer;

import java.util.ArrayList;
import java.util.List;

/** The result columns of {@link io.jarscore.runtime.Model#scoreColumns} as output tensors. */
final class Outputs {

    private Outputs() {
    }

    /** The outputs asked for (null: all), checked before anything is scored. */
    static List<ModelSignature.Output> select(ModelSignature signature, List<String> requested) {
        if (requested == null || requested.isEmpty()) {
            return List.copyOf(signature.outputs().values());
        }
        List<ModelSignature.Output> chosen = new ArrayList<>();
        for (String name : requested) {
            ModelSignature.Output output = signature.outputs().get(name);
            if (output == null) {
                throw RequestException.badRequest("model '" + signature.name() + "' version " + signature.version()
                    + " has no output '" + io.jarscore.runtime.Model.shorten(name) + "'; its outputs are "
                    + signature.outputNames());
            }
            chosen.add(output);
        }
        return chosen;
    }

    static List<Tensor> build(ModelSignature signature, List<ModelSignature.Output> chosen, Object[] results, int rows) {
        List<Tensor> tensors = new ArrayList<>(chosen.size());
        for (ModelSignature.Output output : chosen) {
            long[] shape = output.shape(rows);
            int[] columns = output.columns();
            Object values;
            if (columns.length == 1) {
                values = convert(results[columns[0]], output.type(), rows);
            } else {
                double[] matrix = new double[rows * columns.length];
                for (int k = 0; k < columns.length; k++) {
                    double[] column = (double[]) results[columns[k]];
                    for (int r = 0; r < rows; r++) {
                        matrix[r * columns.length + k] = column[r];
                    }
                }
                values = matrix;
            }
            tensors.add(new Tensor(output.name(), output.type(), shape, values));
        }
        return tensors;
    }

    /** A result column ({@code double[]} or {@code String[]}) as the values of a tensor of {@code type}. */
    private static Object convert(Object column, DataType type, int rows) {
        if (column instanceof double[] numbers) {
            return switch (type) {
                case FP64, FP32 -> numbers;
                case INT64 -> {
                    long[] longs = new long[rows];
                    for (int r = 0; r < rows; r++) {
                        longs[r] = (long) numbers[r];
                    }
                    yield longs;
                }
                case BOOL -> {
                    boolean[] bools = new boolean[rows];
                    for (int r = 0; r < rows; r++) {
                        bools[r] = numbers[r] != 0;
                    }
                    yield bools;
                }
                default -> {
                    String[] strings = new String[rows];
                    for (int r = 0; r < rows; r++) {
                        strings[r] = Double.toString(numbers[r]);
                    }
                    yield strings;
                }
            };
        }
        String[] strings = (String[]) column;
        return switch (type) {
            case FP64, FP32 -> {
                double[] doubles = new double[rows];
                for (int r = 0; r < rows; r++) {
                    doubles[r] = Double.parseDouble(strings[r]);
                }
                yield doubles;
            }
            case INT64 -> {
                long[] longs = new long[rows];
                for (int r = 0; r < rows; r++) {
                    longs[r] = Long.parseLong(strings[r]);
                }
                yield longs;
            }
            case BOOL -> {
                boolean[] bools = new boolean[rows];
                for (int r = 0; r < rows; r++) {
                    bools[r] = Boolean.parseBoolean(strings[r]);
                }
                yield bools;
            }
            default -> strings;
        };
    }
}
