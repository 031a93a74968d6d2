package io.jarscore.server.grpc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.google.protobuf.ByteString;

import io.jarscore.oip.InferParameter;
import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.runtime.Model;
import io.jarscore.server.infer.DataType;
import io.jarscore.server.infer.InferRequest;
import io.jarscore.server.infer.InferResponse;
import io.jarscore.server.infer.Inference;
import io.jarscore.server.infer.RawTensors;
import io.jarscore.server.infer.RequestException;
import io.jarscore.server.infer.Tensor;

/**
 * ModelInferRequest to {@link InferRequest} and back. Inputs come as raw_input_contents (what
 * tritonclient.grpc sends) or as typed contents; the response answers in kind: raw_output_contents
 * for a raw request, typed contents otherwise.
 */
final class GrpcCodec {

    static final String ROUTING_KEY = "routing_key";

    private GrpcCodec() {
    }

    static InferRequest decode(ModelInferRequest request, String routingHeader) {
        String model = request.getModelName();
        if (model.isEmpty()) {
            throw RequestException.badRequest("the request names no model (model_name is empty)");
        }
        int version = Inference.parseVersion(model, request.getModelVersion());
        int raw = request.getRawInputContentsCount();
        if (raw > 0 && raw != request.getInputsCount()) {
            throw RequestException.badRequest("the request has " + request.getInputsCount() + " inputs but "
                + raw + " raw_input_contents; raw contents come one per input, in the order of the inputs");
        }
        List<Tensor> inputs = new ArrayList<>(request.getInputsCount());
        for (int i = 0; i < request.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor input = request.getInputs(i);
            DataType type = DataType.parse(input.getDatatype(), input.getName());
            long[] shape = input.getShapeList().stream().mapToLong(Long::longValue).toArray();
            if (raw > 0) {
                if (input.hasContents()) {
                    throw RequestException.badRequest("input '" + Model.shorten(input.getName()) + "' has contents"
                        + " although the request carries raw_input_contents; use one or the other");
                }
                inputs.add(RawTensors.decode(input.getName(), type, shape, request.getRawInputContents(i).asReadOnlyByteBuffer()));
            } else {
                inputs.add(typed(input.getName(), type, shape, input.getContents()));
            }
        }
        List<String> outputs = null;
        if (request.getOutputsCount() > 0) {
            outputs = request.getOutputsList().stream().map(ModelInferRequest.InferRequestedOutputTensor::getName).toList();
        }
        String routingKey = routingHeader;
        InferParameter key = request.getParametersMap().get(ROUTING_KEY);
        if (key != null && key.hasStringParam()) {
            routingKey = key.getStringParam();
        }
        return new InferRequest(model, version, request.getId(), routingKey, inputs, outputs);
    }

    private static Tensor typed(String name, DataType type, long[] shape, InferTensorContents contents) {
        int count = Tensor.elements(shape, name);
        int given;
        Object values;
        switch (type) {
            case BYTES -> {
                given = contents.getBytesContentsCount();
                String[] strings = new String[Math.min(given, count)];
                for (int i = 0; i < strings.length; i++) {
                    strings[i] = contents.getBytesContents(i).toString(StandardCharsets.UTF_8);
                }
                values = strings;
            }
            case BOOL -> {
                given = contents.getBoolContentsCount();
                values = doubles(Math.min(given, count), i -> contents.getBoolContents(i) ? 1.0 : 0.0);
            }
            case INT8, INT16, INT32 -> {
                given = contents.getIntContentsCount();
                values = doubles(Math.min(given, count), contents::getIntContents);
            }
            case INT64 -> {
                given = contents.getInt64ContentsCount();
                values = doubles(Math.min(given, count), contents::getInt64Contents);
            }
            case UINT8, UINT16, UINT32 -> {
                given = contents.getUintContentsCount();
                values = doubles(Math.min(given, count), i -> contents.getUintContents(i) & 0xffffffffL);
            }
            case UINT64 -> {
                given = contents.getUint64ContentsCount();
                values = doubles(Math.min(given, count), i -> {
                    long v = contents.getUint64Contents(i);
                    return v < 0 ? (double) (v & Long.MAX_VALUE) + 0x1p63 : (double) v;
                });
            }
            case FP32 -> {
                given = contents.getFp32ContentsCount();
                values = doubles(Math.min(given, count), contents::getFp32Contents);
            }
            case FP64 -> {
                given = contents.getFp64ContentsCount();
                values = doubles(Math.min(given, count), contents::getFp64Contents);
            }
            default -> throw RequestException.badRequest("input '" + name + "' is " + type
                + ", which this server does not read; send FP32 or FP64");
        }
        if (given != count) {
            throw RequestException.badRequest("input '" + Model.shorten(name) + "' has shape " + Arrays.toString(shape)
                + " (" + count + " elements) but its " + type + " contents hold " + given);
        }
        return new Tensor(name, type, shape, values);
    }

    private static double[] doubles(int count, java.util.function.IntToDoubleFunction element) {
        double[] values = new double[count];
        for (int i = 0; i < count; i++) {
            values[i] = element.applyAsDouble(i);
        }
        return values;
    }

    static ModelInferResponse encode(InferResponse response, boolean raw) {
        ModelInferResponse.Builder out = ModelInferResponse.newBuilder()
            .setModelName(response.model())
            .setModelVersion(Integer.toString(response.version()))
            .setId(response.id());
        for (Tensor tensor : response.outputs()) {
            ModelInferResponse.InferOutputTensor.Builder output = ModelInferResponse.InferOutputTensor.newBuilder()
                .setName(tensor.name()).setDatatype(tensor.type().name());
            for (long dim : tensor.shape()) {
                output.addShape(dim);
            }
            if (raw) {
                out.addRawOutputContents(ByteString.copyFrom(RawTensors.encode(tensor)));
            } else {
                output.setContents(contents(tensor));
            }
            out.addOutputs(output);
        }
        return out.build();
    }

    private static InferTensorContents contents(Tensor tensor) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        Object values = tensor.values();
        if (values instanceof double[] doubles) {
            for (double v : doubles) {
                if (tensor.type() == DataType.FP32) {
                    contents.addFp32Contents((float) v);
                } else {
                    contents.addFp64Contents(v);
                }
            }
        } else if (values instanceof long[] longs) {
            for (long v : longs) {
                contents.addInt64Contents(v);
            }
        } else if (values instanceof boolean[] bools) {
            for (boolean v : bools) {
                contents.addBoolContents(v);
            }
        } else {
            for (String v : (String[]) values) {
                contents.addBytesContents(ByteString.copyFromUtf8(v));
            }
        }
        return contents.build();
    }
}
