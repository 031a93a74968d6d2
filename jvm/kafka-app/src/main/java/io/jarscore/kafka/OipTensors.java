package io.jarscore.kafka;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;

import io.jarscore.oip.InferParameter;
import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.oip.ModelMetadataResponse;
import io.jarscore.runtime.Model;

/**
 * One record as an Open Inference Protocol request, and the response's first row back as result
 * values. A record is one row: one [1] tensor per input the server's metadata lists (numbers in the
 * input's datatype, strings as BYTES, booleans as BOOL, absent fields left out), so the server judges
 * the values and its refusals name them. Outputs come as typed contents or as raw_output_contents
 * (Triton answers raw); each becomes a value in the type {@link Model#score} gives embedded
 * (FP64 Double, FP32 Float, INT* Integer or Long, BOOL Boolean, BYTES String) so that a result
 * record reads the same either way.
 */
final class OipTensors {

    /** The request parameter jarscore serve routes A/B by; other servers ignore it. */
    static final String ROUTING_KEY = "routing_key";

    /** What the server's ModelMetadata says: inputs by name and datatype, and the outputs to ask for. */
    record Signature(Map<String, String> inputs, List<String> outputs) {

        static Signature of(ModelMetadataResponse metadata) {
            Map<String, String> inputs = new LinkedHashMap<>();
            metadata.getInputsList().forEach(input -> inputs.put(input.getName(), input.getDatatype()));
            // One value per row: the fields a result record holds. A [rows, k] output (jarscore's
            // "probabilities") repeats fields already there; a server listing only such outputs gets
            // asked for none, which means all.
            List<String> outputs = metadata.getOutputsList().stream()
                .filter(o -> o.getShapeCount() == 1 || o.getShapeCount() == 2 && o.getShape(1) == 1)
                .map(ModelMetadataResponse.TensorMetadata::getName).toList();
            return new Signature(java.util.Collections.unmodifiableMap(inputs), outputs); // in the order of the metadata
        }
    }

    private OipTensors() {
    }

    static ModelInferRequest request(String model, String version, Signature signature, Map<String, Object> row,
                                     String routingKey) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model).setModelVersion(version);
        signature.inputs().forEach((name, datatype) -> {
            if (row.containsKey(name)) {
                request.addInputs(input(name, datatype, row.get(name)));
            }
        });
        for (String output : signature.outputs()) {
            request.addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(output));
        }
        if (routingKey != null) {
            request.putParameters(ROUTING_KEY, InferParameter.newBuilder().setStringParam(routingKey).build());
        }
        return request.build();
    }

    private static ModelInferRequest.InferInputTensor input(String name, String datatype, Object value) {
        ModelInferRequest.InferInputTensor.Builder tensor = ModelInferRequest.InferInputTensor.newBuilder()
            .setName(name).addShape(1);
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        if (value instanceof String text) {
            tensor.setDatatype("BYTES");
            contents.addBytesContents(ByteString.copyFromUtf8(text));
        } else if (value instanceof JsonNode node && node.isBoolean()) {
            tensor.setDatatype("BOOL");
            contents.addBoolContents(node.booleanValue());
        } else if (value instanceof JsonNode node) {
            throw new RecordCodec.BadRecordException("field '" + name + "' value " + Model.shorten(node.toString())
                + " is a JSON " + node.getNodeType().toString().toLowerCase() + "; expected a number, a string or null");
        } else {
            number(name, datatype, (Double) value, tensor, contents);
        }
        return tensor.setContents(contents).build();
    }

    /** A number (null: missing) in the input's datatype; one that does not fit goes as FP64, for the server to judge. */
    private static void number(String name, String datatype, Double value, ModelInferRequest.InferInputTensor.Builder tensor,
                               InferTensorContents.Builder contents) {
        boolean whole = value != null && value == Math.rint(value) && Math.abs(value) < 0x1p53;
        switch (datatype) {
            case "FP32" -> {
                tensor.setDatatype(datatype);
                contents.addFp32Contents(value == null ? Float.NaN : value.floatValue());
            }
            case "INT8", "INT16", "INT32" -> {
                if (!whole || value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                    asDouble(name, datatype, value, tensor, contents);
                    return;
                }
                tensor.setDatatype(datatype);
                contents.addIntContents(value.intValue());
            }
            case "INT64" -> {
                if (!whole) {
                    asDouble(name, datatype, value, tensor, contents);
                    return;
                }
                tensor.setDatatype(datatype);
                contents.addInt64Contents(value.longValue());
            }
            default -> asDouble(name, datatype, value, tensor, contents);
        }
    }

    private static void asDouble(String name, String datatype, Double value, ModelInferRequest.InferInputTensor.Builder tensor,
                                 InferTensorContents.Builder contents) {
        if (value == null && !datatype.equals("FP64")) {
            throw new RecordCodec.BadRecordException("field '" + name + "' is null, but the server takes it as "
                + datatype + ", which has no missing value (only FP64 and FP32 inputs carry one, as NaN)");
        }
        tensor.setDatatype("FP64");
        contents.addFp64Contents(value == null ? Double.NaN : value);
    }

    /** Output name to its first row's value (a list when the output has several values a row), in the response's order. */
    static Map<String, Object> firstRow(ModelInferResponse response) {
        int raw = response.getRawOutputContentsCount();
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < response.getOutputsCount(); i++) {
            ModelInferResponse.InferOutputTensor output = response.getOutputs(i);
            long perRow = 1;
            for (int d = 1; d < output.getShapeCount(); d++) {
                perRow *= output.getShape(d);
            }
            List<Object> row = raw > i
                ? raw(output.getDatatype(), response.getRawOutputContents(i), (int) perRow, output.getName())
                : typed(output.getDatatype(), output.getContents(), (int) perRow, output.getName());
            values.put(output.getName(), perRow == 1 && output.getShapeCount() <= 2 ? row.get(0) : row);
        }
        if (values.isEmpty()) {
            throw new IllegalStateException("the server answered model '" + response.getModelName() + "' with no outputs");
        }
        return values;
    }

    private static List<Object> typed(String datatype, InferTensorContents c, int count, String name) {
        int available = switch (datatype) {
            case "FP64" -> c.getFp64ContentsCount();
            case "FP32" -> c.getFp32ContentsCount();
            case "INT8", "INT16", "INT32" -> c.getIntContentsCount();
            case "INT64" -> c.getInt64ContentsCount();
            case "UINT8", "UINT16", "UINT32" -> c.getUintContentsCount();
            case "UINT64" -> c.getUint64ContentsCount();
            case "BOOL" -> c.getBoolContentsCount();
            case "BYTES" -> c.getBytesContentsCount();
            default -> throw unreadable(datatype, name);
        };
        if (available < count) {
            throw new IllegalStateException("the server's output '" + name + "' holds " + available
                + " values, fewer than its shape says");
        }
        List<Object> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            out.add(switch (datatype) {
                case "FP64" -> c.getFp64Contents(k);
                case "FP32" -> c.getFp32Contents(k);
                case "INT8", "INT16", "INT32" -> c.getIntContents(k);
                case "INT64" -> c.getInt64Contents(k);
                case "UINT8", "UINT16" -> c.getUintContents(k);
                case "UINT32" -> c.getUintContents(k) & 0xffffffffL;
                case "UINT64" -> c.getUint64Contents(k);
                case "BOOL" -> c.getBoolContents(k);
                default -> c.getBytesContents(k).toStringUtf8();
            });
        }
        return out;
    }

    private static List<Object> raw(String datatype, ByteString bytes, int count, String name) {
        ByteBuffer in = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        List<Object> out = new ArrayList<>(count);
        try {
            for (int k = 0; k < count; k++) {
                out.add(switch (datatype) {
                    case "FP64" -> in.getDouble();
                    case "FP32" -> in.getFloat();
                    case "INT8" -> (int) in.get();
                    case "UINT8" -> in.get() & 0xff;
                    case "INT16" -> (int) in.getShort();
                    case "UINT16" -> in.getShort() & 0xffff;
                    case "INT32" -> in.getInt();
                    case "UINT32" -> in.getInt() & 0xffffffffL;
                    case "INT64", "UINT64" -> in.getLong();
                    case "BOOL" -> in.get() != 0;
                    case "BYTES" -> {
                        byte[] text = new byte[in.getInt()];
                        in.get(text);
                        yield new String(text, StandardCharsets.UTF_8);
                    }
                    default -> throw unreadable(datatype, name);
                });
            }
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalStateException("the server's raw output '" + name + "' (" + datatype + ") is shorter than its"
                + " shape says", e);
        }
        return out;
    }

    private static IllegalStateException unreadable(String datatype, String name) {
        return new IllegalStateException("the server's output '" + name + "' is " + datatype
            + ", which a result record does not hold; ask the server for FP64, FP32, INT*, UINT*, BOOL or BYTES outputs");
    }
}
