package io.jarscore.kafka;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.jarscore.registry.Result;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;

/** JSON in and out of the scoring app: input rows, results and dead letters. */
final class RecordCodec {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROBABILITY = "probability(";

    private RecordCodec() {
    }

    /** The input fields of one record, numbers as Doubles, strings as Strings, null as missing. */
    static Map<String, Object> parseRow(byte[] value, List<FieldSpec> inputs) {
        Map<String, Object> row = parseObject(value);
        for (FieldSpec input : inputs) {
            if (!row.containsKey(input.name())) {
                throw new BadRecordException("field '" + input.name() + "' is absent; every input field "
                    + inputs.stream().map(FieldSpec::name).toList() + " must be present (null marks a missing value)");
            }
            Object v = row.get(input.name());
            if (v instanceof JsonNode other) {
                throw new BadRecordException("field '" + input.name() + "' value " + Model.shorten(other.toString()) + " is a JSON "
                    + other.getNodeType().toString().toLowerCase() + "; expected "
                    + (input.numeric() ? "a number" : "a string") + " or null");
            }
            if (input.numeric() && v instanceof String s) {
                throw new BadRecordException("field '" + input.name() + "' value " + Model.shorten("'" + s + "'") + " is a string; expected a number ("
                    + input.dataType() + ") or null");
            }
        }
        return row;
    }

    /**
     * Every field of one record's JSON object: numbers as Doubles, strings as Strings, null as null,
     * anything else (booleans, arrays, objects) as its JsonNode, for the caller to judge.
     */
    static Map<String, Object> parseObject(byte[] value) {
        if (value == null) {
            throw new BadRecordException("the record has no value (null); expected a JSON object of input fields");
        }
        JsonNode node;
        try {
            node = JSON.readTree(value);
        } catch (Exception e) {
            throw new BadRecordException("the value is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (node == null || !node.isObject()) {
            throw new BadRecordException("the value must be a JSON object of input fields, got "
                + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
        }
        Map<String, Object> row = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode v = field.getValue();
            if (v.isNull()) {
                row.put(field.getKey(), null);
            } else if (v.isNumber()) {
                double number = v.doubleValue();
                if (Double.isInfinite(number)) {
                    throw new BadRecordException("field '" + Model.shorten(field.getKey()) + "' value "
                        + Model.shorten(v.asText()) + " is beyond the range of a double; expected a finite number or null");
                }
                row.put(field.getKey(), number);
            } else if (v.isTextual()) {
                row.put(field.getKey(), v.textValue());
            } else {
                row.put(field.getKey(), v); // an input field's is judged by the caller; others are ignored
            }
        }
        return row;
    }

    /** {"model", "version", "prediction", "probabilities": {class: p}, "outputs": {every result field}}. */
    static byte[] result(Result<Map<String, Object>> result, List<String> targets) {
        Map<String, Object> values = result.values();
        return result(result.model(), result.version(), values,
            targets.isEmpty() ? values.values().iterator().next() : values.get(targets.get(0)));
    }

    /**
     * The same from its parts; {@code version} is the number, or the text a server that does not
     * number its versions answers with.
     */
    static byte[] result(String model, Object version, Map<String, Object> values, Object prediction) {
        ObjectNode out = JSON.createObjectNode();
        out.put("model", model);
        out.set("version", JSON.valueToTree(version));
        out.set("prediction", JSON.valueToTree(prediction));
        ObjectNode probabilities = out.putObject("probabilities");
        values.forEach((name, value) -> {
            if (name.startsWith(PROBABILITY) && name.endsWith(")")) {
                probabilities.set(name.substring(PROBABILITY.length(), name.length() - 1), JSON.valueToTree(value));
            }
        });
        out.set("outputs", JSON.valueToTree(values));
        return write(out);
    }

    /** {"error", "error_type", "topic", "partition", "offset", "original_base64", "original_text" (when UTF-8)}. */
    static byte[] deadLetter(Throwable error, byte[] original, String topic, int partition, long offset) {
        ObjectNode out = JSON.createObjectNode();
        out.put("error", String.valueOf(error.getMessage()));
        out.put("error_type", error.getClass().getName());
        out.put("topic", topic);
        out.put("partition", partition);
        out.put("offset", offset);
        if (original == null) {
            out.putNull("original_base64");
        } else {
            out.put("original_base64", Base64.getEncoder().encodeToString(original));
            String text = utf8OrNull(original);
            if (text != null) {
                out.put("original_text", text);
            }
        }
        return write(out);
    }

    private static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static byte[] write(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /** A record the app cannot score: it goes to the dead-letter topic with this message. */
    static final class BadRecordException extends RuntimeException {
        BadRecordException(String message) {
            super(message);
        }
    }
}
