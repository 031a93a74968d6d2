package io.jarscore.spark;

import java.util.Map;
import java.util.TreeMap;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.Identifiable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A parameter whose value maps names to names (model field to DataFrame column), saved with the stage
 * as a JSON object. Spark's own Param encodes only strings, vectors and matrices.
 */
public final class StringMapParam extends Param<Map<String, String>> {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    public StringMapParam(Identifiable parent, String name, String doc) {
        super(parent, name, doc);
    }

    @Override
    public String jsonEncode(Map<String, String> value) {
        try {
            return JSON.writeValueAsString(new TreeMap<>(value));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot save " + name() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public Map<String, String> jsonDecode(String json) {
        try {
            return Map.copyOf(JSON.readValue(json, new TypeReference<Map<String, String>>() { }));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the saved " + name() + " is not a JSON object of strings: "
                + e.getOriginalMessage(), e);
        }
    }
}
