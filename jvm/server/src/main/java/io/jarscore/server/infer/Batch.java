package io.jarscore.server.infer;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;

/**
 * A request's input tensors bound to a model version's input fields: the columns
 * {@link io.jarscore.runtime.Model#scoreColumns} takes ({@code double[]} for a number, NaN missing;
 * {@code String[]} for a string, null missing). Two request shapes are accepted: one tensor per
 * field ([rows] or [rows, 1]; tensors named after training columns the model does not use are
 * ignored), or one [rows, columns] tensor of numbers under any other name, its columns being the
 * model's inputs in order or the native model's training columns (the manifest's features).
 */
public record Batch(Object[] columns, int rows) {

    public static Batch bind(ModelSignature signature, List<Tensor> tensors, int maxRows) {
        if (tensors.isEmpty()) {
            throw RequestException.badRequest("the request has no inputs; " + describe(signature));
        }
        Set<String> names = new HashSet<>();
        boolean byField = false;
        for (Tensor tensor : tensors) {
            if (!names.add(tensor.name())) {
                throw RequestException.badRequest("input '" + tensor.name() + "' appears twice in the request");
            }
            byField |= signature.inputIndex(tensor.name()) >= 0 || signature.features().contains(tensor.name());
        }
        Batch batch = byField ? byField(signature, tensors) : matrix(signature, tensors);
        if (batch.rows > maxRows) {
            throw new RequestException(RequestException.Kind.TOO_LARGE, "the request has " + batch.rows
                + " rows; this server takes at most " + maxRows + " rows a request (--max-rows)");
        }
        return batch;
    }

    private static Batch byField(ModelSignature signature, List<Tensor> tensors) {
        List<FieldSpec> inputs = signature.inputs();
        Tensor[] bound = new Tensor[inputs.size()];
        for (Tensor tensor : tensors) {
            int index = signature.inputIndex(tensor.name());
            if (index >= 0) {
                bound[index] = tensor;
            } else if (!signature.features().contains(tensor.name())) {
                throw RequestException.badRequest("model '" + signature.name() + "' version " + signature.version()
                    + " has no input '" + Model.shorten(tensor.name()) + "'; " + describe(signature));
            }
        }
        int rows = -1;
        String first = null;
        Object[] columns = new Object[inputs.size()];
        for (int i = 0; i < bound.length; i++) {
            FieldSpec field = inputs.get(i);
            Tensor tensor = bound[i];
            if (tensor == null) {
                throw RequestException.badRequest("the request has no input '" + field.name() + "' of model '"
                    + signature.name() + "' version " + signature.version() + " (send NaN or null for a missing value); "
                    + describe(signature));
            }
            long[] shape = tensor.shape();
            if (shape.length == 0 || shape.length > 2 || shape.length == 2 && shape[1] != 1) {
                throw RequestException.badRequest("input '" + field.name() + "' has shape " + Arrays.toString(shape)
                    + "; a field's tensor is [rows] or [rows, 1]");
            }
            int length = tensor.length();
            if (rows >= 0 && length != rows) {
                throw RequestException.badRequest("input '" + field.name() + "' has " + length + " rows but input '"
                    + first + "' has " + rows + "; every input needs one value per row");
            }
            rows = length;
            first = field.name();
            columns[i] = column(field, tensor);
        }
        return new Batch(columns, rows);
    }

    private static Batch matrix(ModelSignature signature, List<Tensor> tensors) {
        if (tensors.size() > 1) {
            throw RequestException.badRequest("inputs " + tensors.stream().map(t -> "'" + Model.shorten(t.name()) + "'").toList()
                + " name no input of model '" + signature.name() + "' version " + signature.version() + "; "
                + describe(signature));
        }
        Tensor tensor = tensors.get(0);
        if (tensor.type() == DataType.BYTES || tensor.type() == DataType.BOOL) {
            throw RequestException.badRequest("input '" + Model.shorten(tensor.name()) + "' names no input of model '"
                + signature.name() + "', and a tensor of rows must hold numbers (FP64, FP32 or INT*), not "
                + tensor.type() + "; " + describe(signature));
        }
        for (FieldSpec field : signature.inputs()) {
            if (!field.numeric()) {
                throw RequestException.badRequest("model '" + signature.name() + "' has the " + field.dataType()
                    + " input '" + field.name() + "', so it takes one tensor per input field, not a tensor of rows ('"
                    + Model.shorten(tensor.name()) + "'); " + describe(signature));
            }
        }
        long[] shape = tensor.shape();
        int width = (int) (shape.length == 2 ? shape[1] : shape.length == 1 ? shape[0] : -1);
        List<String> features = signature.features();
        List<String> layout = null;
        if (!features.isEmpty() && width == features.size() && features.containsAll(signature.inputNames())) {
            layout = features; // the matrix the native model's own predict takes
        } else if (width == signature.inputs().size()) {
            layout = signature.inputNames();
        }
        if (shape.length == 0 || shape.length > 2 || layout == null) {
            String columnsTaken = features.isEmpty() || features.size() == signature.inputs().size()
                ? signature.inputs().size() + " columns " + signature.inputNames()
                : signature.inputs().size() + " columns " + signature.inputNames() + " or the " + features.size()
                + " training columns " + features;
            throw RequestException.badRequest("input '" + Model.shorten(tensor.name()) + "' has shape " + Arrays.toString(shape)
                + "; a tensor of rows is [rows, columns] with " + columnsTaken);
        }
        int rows = shape.length == 2 ? (int) shape[0] : 1;
        double[] values = (double[]) tensor.values();
        Object[] columns = new Object[signature.inputs().size()];
        for (int c = 0; c < layout.size(); c++) {
            int index = signature.inputIndex(layout.get(c));
            if (index < 0) {
                continue; // a training column the model does not use
            }
            FieldSpec field = signature.inputs().get(index);
            double[] column = new double[rows];
            for (int r = 0; r < rows; r++) {
                column[r] = finite(values[r * width + c], field, r);
            }
            columns[index] = column;
        }
        return new Batch(columns, rows);
    }

    private static Object column(FieldSpec field, Tensor tensor) {
        Object values = tensor.values();
        if (field.numeric()) {
            if (!(values instanceof double[] numbers)) {
                throw RequestException.badRequest("input '" + field.name() + "' is a number (" + field.dataType()
                    + "): send it as FP64, FP32 or INT*, not " + tensor.type());
            }
            for (int r = 0; r < numbers.length; r++) {
                finite(numbers[r], field, r);
            }
            return numbers;
        }
        if (values instanceof String[] strings) {
            return strings;
        }
        double[] numbers = (double[]) values;
        if (tensor.type() == DataType.BOOL && "boolean".equals(field.dataType())) {
            String[] strings = new String[numbers.length];
            for (int r = 0; r < numbers.length; r++) {
                strings[r] = Double.isNaN(numbers[r]) ? null : numbers[r] != 0 ? "true" : "false";
            }
            return strings;
        }
        throw RequestException.badRequest("input '" + field.name() + "' is a " + field.dataType() + " field: send it as "
            + ModelSignature.inputType(field) + ", not " + tensor.type()
            + (field.values().isEmpty() ? "" : " (its values: " + Model.shorten(field.values().toString()) + ")"));
    }

    private static double finite(double value, FieldSpec field, int row) {
        if (Double.isInfinite(value)) {
            throw RequestException.badRequest("input '" + field.name() + "' row " + row + " is " + value
                + ", which no model takes (NaN or null marks a missing value)");
        }
        return value;
    }

    private static String describe(ModelSignature signature) {
        StringBuilder text = new StringBuilder("its inputs are ");
        List<FieldSpec> inputs = signature.inputs();
        for (int i = 0; i < inputs.size(); i++) {
            text.append(i == 0 ? "" : ", ").append(inputs.get(i).name()).append(' ').append(ModelSignature.inputType(inputs.get(i)));
            if (text.length() > 400) {
                text.append(", ... (").append(inputs.size()).append(" in all)");
                break;
            }
        }
        return text.toString();
    }
}
