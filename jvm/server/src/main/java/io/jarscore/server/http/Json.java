package io.jarscore.server.http;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.jarscore.server.infer.RequestException;

/** The JSON both REST protocols read and write. NaN and Infinity are read (Python's json writes them). */
final class Json {

    static final JsonMapper MAPPER = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private Json() {
    }

    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** The body (or its first {@code length} bytes) as JSON; a request error naming the fault otherwise. */
    static JsonNode parse(byte[] body, int length) {
        if (length == 0) {
            throw RequestException.badRequest("the request has no body; expected a JSON object");
        }
        try {
            JsonNode node = MAPPER.readTree(body, 0, length);
            if (node == null || node.isMissingNode()) {
                throw RequestException.badRequest("the request body is empty; expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            // Jackson's own message describes where it read from, which says nothing to the client
            String message = e.getOriginalMessage().replaceAll(" ?\\(start marker at \\[Source:[^]]*\\]\\)", "");
            throw RequestException.badRequest("the request body is not valid JSON: " + message
                + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ")"));
        } catch (IOException e) {
            throw RequestException.badRequest("the request body cannot be read as JSON: " + e.getMessage());
        }
    }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    /** {@code {"error": message}}: the error body of both REST protocols. */
    static byte[] error(String message) {
        ObjectNode node = object();
        node.put("error", message);
        return bytes(node);
    }
}
