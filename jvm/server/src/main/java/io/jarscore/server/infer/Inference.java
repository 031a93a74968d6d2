package io.jarscore.server.infer;

import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentHashMap;

import io.jarscore.registry.ModelNotServedException;
import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.ModelVersion;
import io.jarscore.registry.Result;
import io.jarscore.runtime.ScoringException;

/**
 * Scoring and model metadata for every protocol, through the registry: a request is bound to the
 * input fields of the very version that scores it (held by the registry for the call, so a swap
 * meanwhile cannot mix two versions), scored as one batch of columns, and its outputs built.
 */
public final class Inference {

    private final ModelRegistry registry;
    private final int maxRows;
    private final Map<ModelVersion, ModelSignature> signatures = new ConcurrentHashMap<>();

    public Inference(ModelRegistry registry, int maxRows) {
        this.registry = registry;
        this.maxRows = maxRows;
        registry.afterSwap((before, after) -> signatures.keySet().removeIf(ModelVersion::isRetired));
    }

    public ModelRegistry registry() {
        return registry;
    }

    public InferResponse infer(InferRequest request) {
        requireServed(request.model(), request.version());
        Result<List<Tensor>> result;
        try {
            result = registry.apply(request.model(), request.routingKey(), request.version(), version -> score(version, request));
        } catch (ModelNotServedException e) {
            throw RequestException.notFound(e.getMessage());
        }
        int rows = result.values().isEmpty() ? 0 : (int) result.values().get(0).shape()[0];
        return new InferResponse(result.model(), result.version(), request.id(), rows, result.values());
    }

    private List<Tensor> score(ModelVersion version, InferRequest request) {
        ModelSignature signature = signature(version);
        List<ModelSignature.Output> outputs = Outputs.select(signature, request.outputs());
        Batch batch = Batch.bind(signature, request.inputs(), maxRows);
        Object[] results;
        try {
            results = version.model().scoreColumns(batch.columns(), batch.rows());
        } catch (ScoringException e) {
            throw RequestException.badRequest("model '" + version.name() + "' version " + version.version() + ": "
                + e.getMessage());
        }
        return Outputs.build(signature, outputs, results, batch.rows());
    }

    /** The signature of a served version (0: the default one); a not-found request error otherwise. */
    public ModelSignature signature(String model, int version) {
        requireServed(model, version);
        ModelVersion served = version == 0 ? registry.current(model) : registry.served(model, version);
        if (served == null) { // swapped out since the check
            requireServed(model, version);
            throw RequestException.notFound("model '" + model + "' has no version serving");
        }
        return signature(served);
    }

    private ModelSignature signature(ModelVersion version) {
        ModelSignature signature = signatures.get(version);
        if (signature == null) {
            signature = ModelSignature.of(version);
            if (!version.isRetired()) {
                signatures.put(version, signature);
            }
        }
        return signature;
    }

    /** Whether a version (0: any) of the model serves. */
    public boolean ready(String model, int version) {
        SortedSet<Integer> versions = registry.versions(model);
        return version == 0 ? !versions.isEmpty() : versions.contains(version);
    }

    /** A not-found request error unless the model (and the version, unless 0) serves. */
    public void requireServed(String model, int version) {
        SortedSet<Integer> versions = registry.versions(model);
        if (versions.isEmpty()) {
            throw RequestException.notFound("model '" + io.jarscore.runtime.Model.shorten(model) + "' is not served here"
                + " (models serving: " + registry.modelNames() + ")");
        }
        if (version != 0 && !versions.contains(version)) {
            throw RequestException.notFound("model '" + model + "' version " + version + " is not served here"
                + " (versions serving: " + versions + ")");
        }
    }

    /** A version number from a URL or a request: a positive integer, 0 when empty or null. */
    public static int parseVersion(String model, String text) {
        if (text == null || text.isEmpty()) {
            return 0;
        }
        Integer version = io.jarscore.registry.Repository.versionNumber(text);
        if (version == null) {
            throw RequestException.badRequest("version '" + io.jarscore.runtime.Model.shorten(text) + "' of model '"
                + io.jarscore.runtime.Model.shorten(model) + "' is not a positive integer");
        }
        return version;
    }
}
