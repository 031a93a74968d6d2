package io.jarscore;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import io.jarscore.runtime.ScoringException;

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
        List<FieldSpec> inputs = model.inputFields();
        if (row.length != inputs.size()) {
            throw new ScoringException("expected " + inputs.size() + " values in input order "
                + inputs.stream().map(FieldSpec::name).toList() + ", got " + row.length);
        }
        Map<String, Object> named = new HashMap<>(inputs.size() * 2);
        for (int i = 0; i < row.length; i++) {
            FieldSpec field = inputs.get(i);
            if (Double.isNaN(row[i])) {
                continue;
            }
            if (!field.numeric()) {
                throw new ScoringException("field '" + field.name() + "' (position " + i + ") is " + field.dataType()
                    + ", not a number, so it cannot come in a double[] (value " + row[i] + "); use score(Map)");
            }
            named.put(field.name(), row[i]);
        }
        return model.score(named);
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
