package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.oip.ModelMetadataResponse;

/**
 * The request a record becomes and the values a response gives, both ways a server may answer:
 * typed contents (jarscore serve answers a typed request so) and raw_output_contents (Triton's way).
 */
class OipTensorsTest {

    @Test
    void typedAndRawResponsesGiveTheSameValues() {
        ModelInferResponse.Builder typed = ModelInferResponse.newBuilder().setModelName("m").setModelVersion("3");
        ModelInferResponse.Builder raw = ModelInferResponse.newBuilder().setModelName("m").setModelVersion("3");
        add(typed, raw, "label", "BYTES", new long[]{1}, InferTensorContents.newBuilder().addBytesContents(ByteString.copyFromUtf8("versicolor")),
            le(4 + 10).putInt(10).put("versicolor".getBytes(StandardCharsets.UTF_8)));
        add(typed, raw, "probability(setosa)", "FP64", new long[]{1}, InferTensorContents.newBuilder().addFp64Contents(0.25),
            le(8).putDouble(0.25));
        add(typed, raw, "score", "FP32", new long[]{1, 1}, InferTensorContents.newBuilder().addFp32Contents(0.1f),
            le(4).putFloat(0.1f));
        add(typed, raw, "leaf", "INT64", new long[]{1}, InferTensorContents.newBuilder().addInt64Contents(-7), le(8).putLong(-7));
        add(typed, raw, "flag", "BOOL", new long[]{1}, InferTensorContents.newBuilder().addBoolContents(true), le(1).put((byte) 1));
        add(typed, raw, "probabilities", "FP64", new long[]{1, 2},
            InferTensorContents.newBuilder().addFp64Contents(0.25).addFp64Contents(0.75), le(16).putDouble(0.25).putDouble(0.75));

        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("label", "versicolor");
        expected.put("probability(setosa)", 0.25);
        expected.put("score", 0.1f);
        expected.put("leaf", -7L);
        expected.put("flag", true);
        expected.put("probabilities", List.of(0.25, 0.75));
        assertEquals(expected, OipTensors.firstRow(typed.build()));
        assertEquals(expected, OipTensors.firstRow(raw.build()));
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(OipTensors.firstRow(raw.build()).keySet()), "the response's order");

        ModelInferResponse.Builder shortRaw = ModelInferResponse.newBuilder().setModelName("m")
            .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("p").setDatatype("FP64").addShape(1))
            .addRawOutputContents(ByteString.copyFrom(new byte[4]));
        IllegalStateException tooShort = assertThrows(IllegalStateException.class, () -> OipTensors.firstRow(shortRaw.build()));
        assertTrue(tooShort.getMessage().contains("'p'"), tooShort.getMessage());
    }

    @Test
    void aRecordBecomesOneTensorPerInputTheServerLists() {
        OipTensors.Signature signature = OipTensors.Signature.of(ModelMetadataResponse.newBuilder().setName("m")
            .addInputs(tensor("x", "FP64", -1)).addInputs(tensor("n", "INT32", -1)).addInputs(tensor("c", "BYTES", -1))
            .addOutputs(tensor("y", "BYTES", -1)).addOutputs(tensor("probabilities", "FP64", -1, 2)).build());
        assertEquals(List.of("y"), signature.outputs(), "outputs with one value a row; [rows, k] ones repeat them");

        Map<String, Object> row = RecordCodec.parseObject(
            "{\"x\": null, \"n\": 3, \"c\": \"red\", \"extra\": 1}".getBytes(StandardCharsets.UTF_8));
        ModelInferRequest request = OipTensors.request("m", "", signature, row, "user-9");
        assertEquals(3, request.getInputsCount(), "fields the model does not take stay out");
        assertTrue(Double.isNaN(request.getInputs(0).getContents().getFp64Contents(0)), "null is a missing FP64 value");
        assertEquals("INT32", request.getInputs(1).getDatatype());
        assertEquals(3, request.getInputs(1).getContents().getIntContents(0));
        assertEquals("red", request.getInputs(2).getContents().getBytesContents(0).toStringUtf8());
        assertEquals("user-9", request.getParametersOrThrow(OipTensors.ROUTING_KEY).getStringParam());

        Map<String, Object> fraction = RecordCodec.parseObject("{\"n\": 2.5}".getBytes(StandardCharsets.UTF_8));
        ModelInferRequest judged = OipTensors.request("m", "", signature, fraction, null);
        assertEquals("FP64", judged.getInputs(0).getDatatype(), "a value the input's type cannot hold goes for the server to judge");

        Map<String, Object> nullInt = RecordCodec.parseObject("{\"n\": null}".getBytes(StandardCharsets.UTF_8));
        RecordCodec.BadRecordException missing = assertThrows(RecordCodec.BadRecordException.class,
            () -> OipTensors.request("m", "", signature, nullInt, null));
        assertTrue(missing.getMessage().contains("field 'n' is null") && missing.getMessage().contains("INT32"), missing.getMessage());
        Map<String, Object> array = RecordCodec.parseObject("{\"x\": [1]}".getBytes(StandardCharsets.UTF_8));
        RecordCodec.BadRecordException nested = assertThrows(RecordCodec.BadRecordException.class,
            () -> OipTensors.request("m", "", signature, array, null));
        assertTrue(nested.getMessage().contains("field 'x' value [1] is a JSON array"), nested.getMessage());
    }

    private static ModelMetadataResponse.TensorMetadata tensor(String name, String datatype, long... shape) {
        ModelMetadataResponse.TensorMetadata.Builder tensor = ModelMetadataResponse.TensorMetadata.newBuilder()
            .setName(name).setDatatype(datatype);
        for (long dim : shape) {
            tensor.addShape(dim);
        }
        return tensor.build();
    }

    private static void add(ModelInferResponse.Builder typed, ModelInferResponse.Builder raw, String name, String datatype,
                            long[] shape, InferTensorContents.Builder contents, ByteBuffer bytes) {
        ModelInferResponse.InferOutputTensor.Builder output = ModelInferResponse.InferOutputTensor.newBuilder()
            .setName(name).setDatatype(datatype);
        for (long dim : shape) {
            output.addShape(dim);
        }
        raw.addOutputs(output.build());
        raw.addRawOutputContents(ByteString.copyFrom(bytes.flip()));
        typed.addOutputs(output.setContents(contents));
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
