package io.jarscore;

import java.util.List;
import java.util.Map;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;

/** {@link ScoringModel} over the runtime's {@link Model}, which does the scoring (and uses the fast kernel when it has one). */
final class ArtifactModel implements ScoringModel {

    private final String name;
    private final int version;
    private final Model model;

    ArtifactModel(String name, int version, Model model) {
        this.name = name;
        this.version = version;
        this.model = model;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int version() {
        return version;
    }

    @Override
    public List<FieldSpec> inputs() {
        return model.inputFields();
    }

    @Override
    public List<FieldSpec> outputs() {
        return model.resultFields();
    }

    @Override
    public Map<String, Object> score(Map<String, ?> row) {
        return model.score(row);
    }

    @Override
    public Map<String, Object> score(double[] row) {
        return model.scoreArray(row);
    }

    @Override
    public String kernelStatus() {
        return model.kernelStatus();
    }

    /** The runtime model underneath (tests read its kernel counters). */
    Model runtime() {
        return model;
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return name + " v" + version + " (" + model.source() + ")";
    }
}
