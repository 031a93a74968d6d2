package io.jarscore.spark;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import io.jarscore.runtime.ArtifactException;
import io.jarscore.runtime.FieldSpec;

/**
 * What the driver hands each task: where the artifact is and which one it must be (its manifest's
 * sha256), which column feeds each input field, and the columns to append. A task scores its
 * partition with {@link PartitionScorer}.
 */
public final class ScoringPlan implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {

    private static final long serialVersionUID = 1L;

    final String artifact;
    final String manifestSha256;
    final boolean kernel;
    final boolean failOnError;
    final InputColumn[] inputs;
    final OutputLayout outputs;

    private ScoringPlan(String artifact, String manifestSha256, boolean kernel, boolean failOnError,
                        InputColumn[] inputs, OutputLayout outputs) {
        this.artifact = artifact;
        this.manifestSha256 = manifestSha256;
        this.kernel = kernel;
        this.failOnError = failOnError;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    /**
     * Matches the model's input fields with {@code schema}'s columns (by name, or as {@code columnMap}
     * renames them) and checks each column's type; throws {@link IllegalArgumentException} naming the
     * field and the column otherwise.
     */
    public static ScoringPlan build(StructType schema, String artifact, LoadedArtifact loaded, Map<String, String> columnMap,
                             OutputLayout outputs, boolean kernel, boolean failOnError) {
        List<FieldSpec> fields = loaded.model().inputFields();
        for (String field : columnMap.keySet()) {
            if (fields.stream().noneMatch(f -> f.name().equals(field))) {
                throw new IllegalArgumentException("columnMap names '" + field + "', which is not an input field of "
                    + loaded.name() + " v" + loaded.version() + " (its inputs: " + names(fields) + ")");
            }
        }
        List<String> columns = List.of(schema.fieldNames());
        InputColumn[] inputs = new InputColumn[fields.size()];
        for (int i = 0; i < inputs.length; i++) {
            FieldSpec field = fields.get(i);
            String column = columnMap.getOrDefault(field.name(), field.name());
            int ordinal = columns.indexOf(column);
            if (ordinal < 0) {
                throw new IllegalArgumentException("the model's input field '" + field.name() + "' needs a column '"
                    + column + "', which the DataFrame does not have (its columns: " + columns + "); add it, or map"
                    + " the field to another column with columnMap {\"" + field.name() + "\": \"COLUMN\"}");
            }
            StructField spark = schema.fields()[ordinal];
            InputColumn input = InputColumn.of(field.name(), column, ordinal, spark.dataType());
            if (input == null) {
                throw new IllegalArgumentException("column '" + column + "' is " + spark.dataType().simpleString()
                    + ", but the model's input field '" + field.name() + "' takes " + (field.numeric()
                    ? "a number (" + field.dataType() + ")" : "a category (string)") + "; cast the column first");
            }
            inputs[i] = input;
        }
        return new ScoringPlan(artifact, loaded.manifestSha256(), kernel, failOnError, inputs, outputs);
    }

    private static List<String> names(List<FieldSpec> fields) {
        return fields.stream().map(FieldSpec::name).toList();
    }

    /** On the executor: the artifact from this JVM's cache, the same one the driver planned with. */
    LoadedArtifact loadHere() {
        LoadedArtifact loaded = ModelCache.get(ArtifactLocation.resolve(artifact), kernel);
        if (!loaded.manifestSha256().equals(manifestSha256)) {
            throw new ArtifactException("the artifact " + artifact + " on " + ArtifactLocation.host() + " ("
                + loaded.directory() + ") is not the one the driver planned with: its manifest's sha256 is "
                + loaded.manifestSha256() + ", the driver's " + manifestSha256 + "; give every executor the same"
                + " artifact (a shared path, or sparkContext.addFile)");
        }
        return loaded;
    }

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
        if (!rows.hasNext()) {
            return rows; // an empty partition: no need to load the model for it
        }
        return new PartitionScorer(this, loadHere(), rows);
    }

    /** {@code input} with the columns the stage appends. */
    public StructType outputSchema(StructType input) {
        return outputs.append(input);
    }
}
