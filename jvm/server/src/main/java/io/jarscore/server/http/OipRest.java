package io.jarscore.server.http;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import io.jarscore.server.ServerContext;
import io.jarscore.server.infer.DataType;
import io.jarscore.server.infer.InferRequest;
import io.jarscore.server.infer.InferResponse;
import io.jarscore.server.infer.Inference;
import io.jarscore.server.infer.ModelSignature;
import io.jarscore.server.infer.RawTensors;
import io.jarscore.server.infer.RequestException;
import io.jarscore.server.infer.Tensor;

/**
 * The Open Inference Protocol over REST (KServe's V2 protocol), with two of Triton's extensions:
 * binary tensor data (a JSON header of Inference-Header-Content-Length bytes followed by the raw
 * tensors, what tritonclient.http sends by default) and the model repository (index, load, unload).
 */
final class OipRest {

    static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    /** The request parameter (or the X-Routing-Key header) whose value A/B routing hashes. */
    static final String ROUTING_KEY = "routing_key";
    static final List<String> EXTENSIONS = List.of("binary_tensor_data", "model_repository");

    private final ServerContext server;

    OipRest(ServerContext server) {
        this.server = server;
    }

    HttpAnswer live() {
        ObjectNode body = Json.object();
        body.put("live", true);
        return HttpAnswer.ok(body);
    }

    HttpAnswer ready() {
        boolean ready = server.ready();
        ObjectNode body = Json.object();
        body.put("ready", ready);
        return HttpAnswer.json(ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
    }

    HttpAnswer serverMetadata() {
        ObjectNode body = Json.object();
        body.put("name", ServerContext.NAME);
        body.put("version", ServerContext.version());
        ArrayNode extensions = body.putArray("extensions");
        EXTENSIONS.forEach(extensions::add);
        return HttpAnswer.ok(body);
    }

    HttpAnswer modelReady(String model, String versionText) {
        int version = Inference.parseVersion(model, versionText);
        boolean ready = server.inference().ready(model, version);
        ObjectNode body = Json.object();
        body.put("name", model);
        if (version > 0) {
            body.put("version", Integer.toString(version));
        }
        body.put("ready", ready);
        return HttpAnswer.json(ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
    }

    HttpAnswer modelMetadata(String model, String versionText) {
        int version = Inference.parseVersion(model, versionText);
        ModelSignature signature = server.inference().signature(model, version);
        ObjectNode body = Json.object();
        body.put("name", model);
        ArrayNode versions = body.putArray("versions");
        server.registry().versions(model).forEach(v -> versions.add(Integer.toString(v)));
        body.put("platform", signature.platform());
        ArrayNode inputs = body.putArray("inputs");
        for (FieldSpec field : signature.inputs()) {
            ObjectNode input = inputs.addObject();
            input.put("name", field.name());
            input.put("datatype", ModelSignature.inputType(field).name());
            input.putArray("shape").add(-1);
        }
        ArrayNode outputs = body.putArray("outputs");
        for (ModelSignature.Output output : signature.outputs().values()) {
            ObjectNode node = outputs.addObject();
            node.put("name", output.name());
            node.put("datatype", output.type().name());
            ArrayNode shape = node.putArray("shape");
            for (long dim : output.shape(-1)) {
                shape.add(dim);
            }
        }
        return HttpAnswer.ok(body).from(model, signature.version());
    }

    // inference ---------------------------------------------------------------------------------

    /** A parsed infer request and how each output is to be sent back (JSON or binary). */
    record Parsed(InferRequest request, boolean binaryByDefault, Map<String, Boolean> binary) {

        boolean binary(String output) {
            return binary.getOrDefault(output, binaryByDefault);
        }
    }

    Parsed parse(String model, String versionText, byte[] body, String headerLength, String routingHeader) {
        int version = Inference.parseVersion(model, versionText);
        int jsonLength = body.length;
        if (headerLength != null) {
            try {
                jsonLength = Integer.parseInt(headerLength.strip());
            } catch (NumberFormatException e) {
                jsonLength = -1;
            }
            if (jsonLength < 0 || jsonLength > body.length) {
                throw RequestException.badRequest(HEADER_LENGTH + " is '" + Model.shorten(headerLength)
                    + "'; expected the length of the JSON header, 0.." + body.length);
            }
        }
        JsonNode json = Json.parse(body, jsonLength);
        if (!json.isObject()) {
            throw RequestException.badRequest("the request body is a JSON " + json.getNodeType().name().toLowerCase()
                + "; expected an object with \"inputs\"");
        }
        JsonNode parameters = json.path("parameters");
        String routingKey = routingHeader;
        if (parameters.path(ROUTING_KEY).isTextual()) {
            routingKey = parameters.path(ROUTING_KEY).asText();
        }
        boolean binaryByDefault = parameters.path("binary_data_output").asBoolean(false);

        JsonNode inputsNode = json.path("inputs");
        if (!inputsNode.isArray()) {
            throw RequestException.badRequest("the request has no \"inputs\" list of tensors");
        }
        ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength);
        List<Tensor> inputs = new ArrayList<>();
        for (JsonNode input : inputsNode) {
            inputs.add(input(input, binary, headerLength != null));
        }
        if (binary.hasRemaining()) {
            throw RequestException.badRequest("the request carries " + binary.remaining() + " bytes of binary data"
                + " that no input claims (binary_data_size)");
        }

        List<String> outputs = null;
        Map<String, Boolean> binaryOutputs = new HashMap<>();
        JsonNode outputsNode = json.path("outputs");
        if (outputsNode.isArray()) {
            outputs = new ArrayList<>();
            for (JsonNode output : outputsNode) {
                String name = output.path("name").asText(null);
                if (name == null) {
                    throw RequestException.badRequest("a requested output has no \"name\"");
                }
                outputs.add(name);
                JsonNode flag = output.path("parameters").path("binary_data");
                if (flag.isBoolean()) {
                    binaryOutputs.put(name, flag.asBoolean());
                }
            }
        } else if (!outputsNode.isMissingNode() && !outputsNode.isNull()) {
            throw RequestException.badRequest("\"outputs\" must be a list of {\"name\": ...} objects");
        }
        String id = json.path("id").isValueNode() ? json.path("id").asText() : "";
        return new Parsed(new InferRequest(model, version, id, routingKey, inputs, outputs), binaryByDefault, binaryOutputs);
    }

    private static Tensor input(JsonNode input, ByteBuffer binary, boolean hasBinary) {
        String name = input.path("name").asText(null);
        if (name == null) {
            throw RequestException.badRequest("an input tensor has no \"name\"");
        }
        DataType type = DataType.parse(input.path("datatype").asText(null), name);
        JsonNode shapeNode = input.path("shape");
        if (!shapeNode.isArray()) {
            throw RequestException.badRequest("input '" + Model.shorten(name) + "' has no \"shape\" list");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = shapeNode.get(i);
            if (!dim.canConvertToLong() || !dim.isIntegralNumber()) {
                throw RequestException.badRequest("input '" + Model.shorten(name) + "' has shape " + shapeNode
                    + "; expected a list of whole numbers");
            }
            shape[i] = dim.asLong();
        }
        JsonNode size = input.path("parameters").path("binary_data_size");
        if (!size.isMissingNode()) {
            if (!hasBinary) {
                throw RequestException.badRequest("input '" + name + "' has binary_data_size but the request has no "
                    + HEADER_LENGTH + " header saying where the binary data starts");
            }
            long bytes = size.asLong(-1);
            if (!size.isIntegralNumber() || bytes < 0 || bytes > binary.remaining()) {
                throw RequestException.badRequest("input '" + name + "' has binary_data_size " + size + "; "
                    + binary.remaining() + " bytes of binary data are left");
            }
            ByteBuffer slice = binary.slice();
            slice.limit((int) bytes);
            binary.position(binary.position() + (int) bytes);
            return RawTensors.decode(name, type, shape, slice);
        }
        return JsonTensors.decode(name, type, shape, input.path("data"));
    }

    InferResponse infer(Parsed parsed) {
        return server.inference().infer(parsed.request());
    }

    /** The response: JSON, or a JSON header and the binary outputs after it. */
    HttpAnswer answer(Parsed parsed, InferResponse response) {
        ObjectNode body = Json.object();
        body.put("model_name", response.model());
        body.put("model_version", Integer.toString(response.version()));
        if (!response.id().isEmpty()) {
            body.put("id", response.id());
        }
        ArrayNode outputs = body.putArray("outputs");
        List<byte[]> raw = new ArrayList<>();
        int rawBytes = 0;
        for (Tensor tensor : response.outputs()) {
            ObjectNode output = outputs.addObject();
            output.put("name", tensor.name());
            output.put("datatype", tensor.type().name());
            ArrayNode shape = output.putArray("shape");
            for (long dim : tensor.shape()) {
                shape.add(dim);
            }
            if (parsed.binary(tensor.name())) {
                byte[] bytes = RawTensors.encode(tensor);
                output.putObject("parameters").put("binary_data_size", bytes.length);
                raw.add(bytes);
                rawBytes += bytes.length;
            } else {
                JsonTensors.encode(tensor, output.putArray("data"));
            }
        }
        byte[] header = Json.bytes(body);
        if (raw.isEmpty()) {
            return new HttpAnswer(HttpResponseStatus.OK, HttpAnswer.JSON, header, new java.util.LinkedHashMap<>(), null, 0)
                .from(response.model(), response.version());
        }
        ByteBuffer all = ByteBuffer.allocate(header.length + rawBytes).put(header);
        raw.forEach(all::put);
        return new HttpAnswer(HttpResponseStatus.OK, "application/octet-stream", all.array(), new java.util.LinkedHashMap<>(),
            null, 0).header(HEADER_LENGTH, Integer.toString(header.length)).from(response.model(), response.version());
    }

    // model repository extension ------------------------------------------------------------------

    HttpAnswer index(byte[] body) {
        boolean readyOnly = false;
        if (body.length > 0) {
            JsonNode json = Json.parse(body, body.length);
            readyOnly = json.path("ready").asBoolean(false);
        }
        ArrayNode models = Json.MAPPER.createArrayNode();
        for (String name : server.registry().repository().modelNames()) {
            SortedSet<Integer> versions = server.registry().versions(name);
            for (int version : versions) {
                ObjectNode entry = models.addObject();
                entry.put("name", name);
                entry.put("version", Integer.toString(version));
                entry.put("state", "READY");
                entry.put("reason", "");
            }
            if (versions.isEmpty() && !readyOnly) {
                ObjectNode entry = models.addObject();
                entry.put("name", name);
                entry.put("state", "UNAVAILABLE");
                entry.put("reason", "no version serving");
            }
        }
        return HttpAnswer.ok(models);
    }

    HttpAnswer load(String model) {
        requireInRepository(model);
        SortedSet<Integer> versions = server.registry().loadModel(model);
        if (versions.isEmpty()) {
            throw RequestException.badRequest("model '" + model + "' has no version that loads (see the server's log"
                + " for why each was refused)");
        }
        return HttpAnswer.ok(Json.object()).from(model, versions.last());
    }

    HttpAnswer unload(String model) {
        requireInRepository(model);
        server.registry().unloadModel(model);
        return HttpAnswer.ok(Json.object());
    }

    /** Only names the repository lists reach the file system, so no name can point outside it. */
    private void requireInRepository(String model) {
        if (!server.registry().repository().modelNames().contains(model)) {
            throw RequestException.notFound("the repository " + server.registry().repository().root()
                + " has no model '" + Model.shorten(model) + "'");
        }
    }
}
