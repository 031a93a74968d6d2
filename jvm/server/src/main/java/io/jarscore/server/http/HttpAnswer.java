package io.jarscore.server.http;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpResponseStatus;

import io.jarscore.server.infer.RequestException;

/** An HTTP response before Netty sees it, with the model and version it speaks of (for the logs and metrics). */
record HttpAnswer(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers,
                  String model, int version) {

    static final String JSON = "application/json";

    static HttpAnswer json(HttpResponseStatus status, JsonNode body) {
        return new HttpAnswer(status, JSON, Json.bytes(body), new LinkedHashMap<>(), null, 0);
    }

    static HttpAnswer ok(JsonNode body) {
        return json(HttpResponseStatus.OK, body);
    }

    static HttpAnswer error(RequestException e) {
        return new HttpAnswer(HttpResponseStatus.valueOf(e.kind().http), JSON, Json.error(e.getMessage()),
            new LinkedHashMap<>(), null, 0);
    }

    /** This answer, naming the model and version that produced it (the X-Model-Version header too). */
    HttpAnswer from(String name, int modelVersion) {
        Map<String, String> named = new LinkedHashMap<>(headers);
        if (modelVersion > 0) {
            named.put("X-Model-Version", Integer.toString(modelVersion));
        }
        return new HttpAnswer(status, contentType, body, named, name, modelVersion);
    }

    HttpAnswer header(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new HttpAnswer(status, contentType, body, more, model, version);
    }
}
