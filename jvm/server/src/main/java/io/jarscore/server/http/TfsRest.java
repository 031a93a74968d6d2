package io.jarscore.server.http;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.jarscore.registry.ModelNotServedException;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import io.jarscore.server.ServerContext;
import io.jarscore.server.infer.DataType;
import io.jarscore.server.infer.InferRequest;
import io.jarscore.server.infer.InferResponse;
import io.jarscore.server.infer.Inference;
import io.jarscore.server.infer.ModelSignature;
import io.jarscore.server.infer.RequestException;
import io.jarscore.server.infer.Tensor;

/**
 * TensorFlow Serving's REST API: model status, metadata and {@code :predict}, for a model, one of
 * its versions ({@code /versions/V}) or a version label ({@code /labels/L}, from the repository's
 * labels.json). Predict takes the row format ({@code instances}: objects keyed by input field, or
 * lists in input order) or the columnar one ({@code inputs}: field to list of values) and answers in
 * the same format ({@code predictions} or {@code outputs}).
 */
final class TfsRest {

    static final String SIGNATURE = "serving_default";

    private final ServerContext server;

    TfsRest(ServerContext server) {
        this.server = server;
    }

    /** The version a /versions/V or /labels/L path names (0: none named). */
    int version(String model, String versionText, String label) {
        if (label != null) {
            server.inference().requireServed(model, 0);
            try {
                return server.registry().versionForLabel(model, label);
            } catch (ModelNotServedException e) {
                throw RequestException.notFound(e.getMessage());
            }
        }
        return Inference.parseVersion(model, versionText);
    }

    HttpAnswer status(String model, int version) {
        server.inference().requireServed(model, version);
        SortedSet<Integer> served = server.registry().versions(model);
        ObjectNode body = Json.object();
        ArrayNode statuses = body.putArray("model_version_status");
        for (int v : new java.util.TreeSet<>(served).descendingSet()) {
            if (version == 0 || v == version) {
                ObjectNode status = statuses.addObject();
                status.put("version", Integer.toString(v));
                status.put("state", "AVAILABLE");
                ObjectNode detail = status.putObject("status");
                detail.put("error_code", "OK");
                detail.put("error_message", "");
            }
        }
        return HttpAnswer.ok(body).from(model, version == 0 ? served.last() : version);
    }

    HttpAnswer metadata(String model, int version) {
        ModelSignature signature = server.inference().signature(model, version);
        ObjectNode body = Json.object();
        modelSpec(body.putObject("model_spec"), model, signature.version());
        ObjectNode definition = body.putObject("metadata").putObject("signature_def").putObject("signature_def")
            .putObject(SIGNATURE);
        ObjectNode inputs = definition.putObject("inputs");
        for (FieldSpec field : signature.inputs()) {
            tensorInfo(inputs.putObject(field.name()), field.name(), ModelSignature.inputType(field), new long[]{-1});
        }
        ObjectNode outputs = definition.putObject("outputs");
        for (ModelSignature.Output output : signature.outputs().values()) {
            tensorInfo(outputs.putObject(output.name()), output.name(), output.type(), output.shape(-1));
        }
        definition.put("method_name", "tensorflow/serving/predict");
        return HttpAnswer.ok(body).from(model, signature.version());
    }

    private static void modelSpec(ObjectNode spec, String model, int version) {
        spec.put("name", model);
        spec.put("signature_name", SIGNATURE);
        spec.put("version", Integer.toString(version));
    }

    private static void tensorInfo(ObjectNode info, String name, DataType type, long[] shape) {
        info.put("dtype", switch (type) {
            case FP64 -> "DT_DOUBLE";
            case FP32 -> "DT_FLOAT";
            case INT64 -> "DT_INT64";
            case BOOL -> "DT_BOOL";
            default -> "DT_STRING";
        });
        ArrayNode dims = info.putObject("tensor_shape").putArray("dim");
        for (long dim : shape) {
            dims.addObject().put("size", Long.toString(dim)).put("name", "");
        }
        info.with("tensor_shape").put("unknown_rank", false);
        info.put("name", name);
    }

    // predict -------------------------------------------------------------------------------------

    /** A parsed predict request and whether it came in the row format (instances) or the columnar one. */
    record Parsed(InferRequest request, boolean rows) {
    }

    Parsed parse(String model, int version, byte[] body, String routingKey) {
        JsonNode json = Json.parse(body, body.length);
        if (!json.isObject()) {
            throw RequestException.badRequest("the request body is a JSON " + json.getNodeType().name().toLowerCase()
                + "; expected an object with \"instances\" or \"inputs\"");
        }
        JsonNode signature = json.path("signature_name");
        if (!signature.isMissingNode() && !signature.isNull() && !signature.asText().isEmpty()
            && !SIGNATURE.equals(signature.asText())) {
            throw RequestException.badRequest("model '" + model + "' has the one signature '" + SIGNATURE + "', not '"
                + Model.shorten(signature.asText()) + "'");
        }
        boolean rows = json.has("instances");
        if (rows == json.has("inputs")) {
            throw RequestException.badRequest("a predict request holds either \"instances\" (rows) or \"inputs\""
                + " (columns), " + (rows ? "not both" : "and this one has neither"));
        }
        JsonNode data = rows ? json.get("instances") : json.get("inputs");
        List<Tensor> inputs;
        if (data.isArray()) {
            inputs = rows(data, rows ? "instances" : "inputs");
        } else if (data.isObject() && !rows) {
            inputs = columns(data);
        } else {
            throw RequestException.badRequest("\"" + (rows ? "instances" : "inputs") + "\" must be a list"
                + (rows ? "" : " or an object of input field to values") + ", got " + Model.shorten(data.toString()));
        }
        return new Parsed(new InferRequest(model, version, "", routingKey, inputs, null), rows);
    }

    /** Instances: objects keyed by field, lists in input order, or scalars for a one-input model. */
    private static List<Tensor> rows(JsonNode instances, String key) {
        int count = instances.size();
        if (count == 0) {
            throw RequestException.badRequest("\"" + key + "\" is empty");
        }
        JsonNode first = instances.get(0);
        if (first.isObject()) {
            List<String> fields = new ArrayList<>();
            first.fieldNames().forEachRemaining(fields::add);
            Map<String, List<JsonNode>> byField = new LinkedHashMap<>();
            fields.forEach(field -> byField.put(field, new ArrayList<>(count)));
            for (int r = 0; r < count; r++) {
                JsonNode instance = instances.get(r);
                if (!instance.isObject() || instance.size() != fields.size()) {
                    throw RequestException.badRequest(key + "[" + r + "] " + (instance.isObject()
                        ? "has the fields " + names(instance) + ", but " + key + "[0] has " + fields
                        : "is not an object like " + key + "[0]") + "; every instance has the same fields");
                }
                for (String field : fields) {
                    JsonNode value = instance.get(field);
                    if (value == null) {
                        throw RequestException.badRequest(key + "[" + r + "] has no '" + field + "', which " + key
                            + "[0] has; every instance has the same fields (null marks a missing value)");
                    }
                    byField.get(field).add(value);
                }
            }
            List<Tensor> tensors = new ArrayList<>();
            byField.forEach((field, values) -> tensors.add(tensor(field, values)));
            return tensors;
        }
        int width = first.isArray() ? first.size() : 1;
        double[] matrix = new double[count * width];
        for (int r = 0; r < count; r++) {
            JsonNode instance = instances.get(r);
            if (instance.isArray() != first.isArray() || instance.isArray() && instance.size() != width) {
                throw RequestException.badRequest(key + "[" + r + "] is " + Model.shorten(instance.toString()) + ", but "
                    + key + "[0] is " + (first.isArray() ? "a list of " + width + " values" : "one value")
                    + "; every instance has the same form");
            }
            for (int c = 0; c < width; c++) {
                JsonNode value = first.isArray() ? instance.get(c) : instance;
                if (!value.isNumber() && !value.isNull()) {
                    throw RequestException.badRequest(key + "[" + r + "]" + (first.isArray() ? "[" + c + "]" : "") + " is "
                        + Model.shorten(value.toString()) + ": instances given as lists hold numbers (or null for a"
                        + " missing value); for string inputs send objects keyed by input field");
                }
                matrix[r * width + c] = value.isNull() ? Double.NaN : value.doubleValue();
            }
        }
        return List.of(new Tensor(key, DataType.FP64, new long[]{count, width}, matrix));
    }

    /** Columns: field to a list of values (or to one value: a single row). */
    private static List<Tensor> columns(JsonNode inputs) {
        List<Tensor> tensors = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = inputs.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            List<JsonNode> values = new ArrayList<>();
            if (field.getValue().isArray()) {
                for (JsonNode value : field.getValue()) {
                    values.add(value.isArray() && value.size() == 1 ? value.get(0) : value); // [[v], [v]] as [v, v]
                }
            } else {
                values.add(field.getValue());
            }
            tensors.add(tensor(field.getKey(), values));
        }
        if (tensors.isEmpty()) {
            throw RequestException.badRequest("\"inputs\" is empty");
        }
        return tensors;
    }

    /** One field's values as a tensor: numbers (FP64), strings (BYTES, {"b64": ...} decoded) or booleans (BOOL). */
    private static Tensor tensor(String field, List<JsonNode> values) {
        int rows = values.size();
        JsonNode sample = values.stream().filter(v -> !v.isNull()).findFirst().orElse(null);
        boolean text = sample != null && (sample.isTextual() || sample.isObject());
        DataType type = sample == null || sample.isNumber() ? DataType.FP64 : sample.isBoolean() ? DataType.BOOL
            : text ? DataType.BYTES : null;
        if (type == null) {
            throw RequestException.badRequest("input '" + Model.shorten(field) + "' has the value " + Model.shorten(sample.toString())
                + "; values are numbers, strings, booleans or null");
        }
        Object out = text ? new String[rows] : new double[rows];
        for (int r = 0; r < rows; r++) {
            JsonNode value = values.get(r);
            if (value.isNull()) {
                if (out instanceof double[] d) {
                    d[r] = Double.NaN;
                }
                continue;
            }
            if (text && value.isTextual()) {
                ((String[]) out)[r] = value.textValue();
            } else if (text && value.isObject() && value.size() == 1 && value.path("b64").isTextual()) {
                ((String[]) out)[r] = base64(field, r, value.path("b64").textValue());
            } else if (type == DataType.FP64 && value.isNumber()) {
                ((double[]) out)[r] = value.doubleValue();
            } else if (type == DataType.BOOL && value.isBoolean()) {
                ((double[]) out)[r] = value.booleanValue() ? 1.0 : 0.0;
            } else {
                throw RequestException.badRequest("input '" + Model.shorten(field) + "' row " + r + " is "
                    + Model.shorten(value.toString()) + ", but its other values are " + describe(type)
                    + "; one input's values are all of one kind");
            }
        }
        return new Tensor(field, type, new long[]{rows}, out);
    }

    private static String describe(DataType type) {
        return switch (type) {
            case FP64 -> "numbers";
            case BOOL -> "booleans";
            default -> "strings";
        };
    }

    private static String base64(String field, int row, String encoded) {
        try {
            return new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw RequestException.badRequest("input '" + Model.shorten(field) + "' row " + row + " has a \"b64\" value"
                + " that is not base64: " + e.getMessage());
        }
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    InferResponse infer(Parsed parsed) {
        return server.inference().infer(parsed.request());
    }

    HttpAnswer answer(Parsed parsed, InferResponse response) {
        ObjectNode body = Json.object();
        List<Tensor> outputs = response.outputs();
        int rows = response.rows();
        if (parsed.rows()) {
            ArrayNode predictions = body.putArray("predictions");
            for (int r = 0; r < rows; r++) {
                if (outputs.size() == 1) {
                    predictions.add(element(outputs.get(0), r));
                } else {
                    ObjectNode row = predictions.addObject();
                    for (Tensor tensor : outputs) {
                        row.set(tensor.name(), element(tensor, r));
                    }
                }
            }
        } else if (outputs.size() == 1) {
            ArrayNode column = body.putArray("outputs");
            for (int r = 0; r < rows; r++) {
                column.add(element(outputs.get(0), r));
            }
        } else {
            ObjectNode columns = body.putObject("outputs");
            for (Tensor tensor : outputs) {
                ArrayNode column = columns.putArray(tensor.name());
                for (int r = 0; r < rows; r++) {
                    column.add(element(tensor, r));
                }
            }
        }
        modelSpec(body.putObject("model_spec"), response.model(), response.version());
        return HttpAnswer.ok(body).from(response.model(), response.version());
    }

    /** Row {@code r} of a tensor: a scalar, or a list for a [rows, k] tensor. */
    private static JsonNode element(Tensor tensor, int r) {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        long[] shape = tensor.shape();
        boolean single = tensor.type() == DataType.FP32;
        Object values = tensor.values();
        if (shape.length == 2) {
            ArrayNode row = nodes.arrayNode();
            int width = (int) shape[1];
            double[] matrix = (double[]) values;
            for (int k = 0; k < width; k++) {
                double v = matrix[r * width + k];
                row.add(single ? nodes.numberNode((float) v) : nodes.numberNode(v));
            }
            return row;
        }
        if (values instanceof double[] d) {
            return single ? nodes.numberNode((float) d[r]) : nodes.numberNode(d[r]);
        }
        if (values instanceof long[] l) {
            return nodes.numberNode(l[r]);
        }
        if (values instanceof boolean[] b) {
            return nodes.booleanNode(b[r]);
        }
        return nodes.textNode(((String[]) values)[r]);
    }
}
