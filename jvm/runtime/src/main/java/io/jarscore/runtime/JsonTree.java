package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/**
 * One JSON document as plain Java values (Map, List, String, Boolean, Integer/Long/BigInteger,
 * Double, null) through jackson-core's parser alone. Loading a model reads its small JSON files
 * (the manifest, the signature, the JAR's recorded fields) this way: a cold JVM loads about 400
 * classes, a third of a second, to make its first ObjectMapper.
 */
public final class JsonTree {

    private static final JsonFactory PARSERS = new JsonFactory();

    private JsonTree() {
    }

    /** The document in {@code json}; anything after its one value is an error. */
    public static Object parse(byte[] json) throws IOException {
        try (JsonParser parser = PARSERS.createParser(json)) {
            return document(parser);
        }
    }

    /** As {@link #parse(byte[])}, reading {@code in} to its end (the caller closes it). */
    public static Object parse(InputStream in) throws IOException {
        try (JsonParser parser = PARSERS.createParser(in)) {
            return document(parser);
        }
    }

    private static Object document(JsonParser parser) throws IOException {
        if (parser.nextToken() == null) {
            throw new IOException("no JSON value (the document is empty)");
        }
        Object value = value(parser);
        if (parser.nextToken() != null) {
            throw new IOException("unexpected " + parser.currentToken() + " after the JSON value, at "
                + parser.currentLocation().offsetDescription());
        }
        return value;
    }

    private static Object value(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT -> {
                Map<String, Object> object = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    parser.nextToken();
                    object.put(key, value(parser));
                }
                return object;
            }
            case START_ARRAY -> {
                List<Object> array = new ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    array.add(value(parser));
                }
                return array;
            }
            case VALUE_STRING -> {
                return parser.getText();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return parser.getBooleanValue();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return parser.getNumberValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IOException("unexpected " + token + " at " + parser.currentLocation().offsetDescription());
        }
    }
}
