package io.jarscore.server.infer;

import java.util.List;

/**
 * A scoring request, whichever protocol brought it.
 *
 * @param model      the model's name
 * @param version    a served version, or 0 for the one routing or the default picks
 * @param id         the client's request id, echoed in the response (may be empty)
 * @param routingKey the key A/B routing hashes (may be null)
 * @param inputs     the input tensors
 * @param outputs    the outputs asked for, or null for every output
 */
public record InferRequest(String model, int version, String id, String routingKey, List<Tensor> inputs,
                           List<String> outputs) {
}
