package io.jarscore.server.infer;

import java.util.List;

/** What a version computed for a request: the model, the version that scored it, and the outputs. */
public record InferResponse(String model, int version, String id, int rows, List<Tensor> outputs) {
}
