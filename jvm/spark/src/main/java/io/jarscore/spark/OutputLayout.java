package io.jarscore.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

import io.jarscore.runtime.FieldSpec;

/**
 * The columns the stage appends, in order: one per result field of the model (the target, then its
 * output fields; named by {@code outputColumns}, else {@code outputPrefix + field}), the class
 * probabilities as one vector when {@code probabilityCol} is set (their own columns are then left
 * out), the model's version, and the error message of a row that could not be scored.
 */
public final class OutputLayout implements Serializable {

    private static final long serialVersionUID = 1L;

    /** How a result field's value is stored in its column. */
    enum Type {
        DOUBLE(DataTypes.DoubleType), INT(DataTypes.IntegerType), BOOLEAN(DataTypes.BooleanType), STRING(DataTypes.StringType);

        final DataType spark;

        Type(DataType spark) {
            this.spark = spark;
        }

        /** PMML's data type to the column's: float32 results widen to double exactly. */
        static Type of(String pmmlDataType) {
            return switch (pmmlDataType) {
                case "double", "float" -> DOUBLE;
                case "integer" -> INT;
                case "boolean" -> BOOLEAN;
                default -> STRING;
            };
        }
    }

    final String[] resultNames;
    /** Per result field: its column, or null when it only goes into the probability vector. */
    final String[] resultColumns;
    final Type[] resultTypes;
    final String probabilityCol;
    final int[] probabilityResults;
    final String versionCol;
    final String errorCol;

    public OutputLayout(List<FieldSpec> results, List<String> probabilityFields, Map<String, String> outputColumns,
                 String prefix, String probabilityCol, String versionCol, String errorCol) {
        int n = results.size();
        this.resultNames = new String[n];
        this.resultColumns = new String[n];
        this.resultTypes = new Type[n];
        this.probabilityCol = blankToNull(probabilityCol);
        this.probabilityResults = new int[this.probabilityCol == null ? 0 : probabilityFields.size()];
        for (int j = 0; j < n; j++) {
            FieldSpec spec = results.get(j);
            resultNames[j] = spec.name();
            resultTypes[j] = Type.of(spec.dataType());
            int probability = this.probabilityCol == null ? -1 : probabilityFields.indexOf(spec.name());
            if (probability >= 0) {
                probabilityResults[probability] = j;
            } else {
                resultColumns[j] = outputColumns.getOrDefault(spec.name(), prefix + spec.name());
            }
        }
        if (this.probabilityCol != null && probabilityFields.isEmpty()) {
            throw new IllegalArgumentException("probabilityCol is set to '" + probabilityCol + "', but the model has no"
                + " class probabilities (its results: " + List.of(resultNames) + ")");
        }
        this.versionCol = blankToNull(versionCol);
        this.errorCol = blankToNull(errorCol);
        for (String field : outputColumns.keySet()) {
            if (!List.of(resultNames).contains(field)) {
                throw new IllegalArgumentException("outputColumns names '" + field + "', which is not a result field of"
                    + " the model (its results: " + List.of(resultNames) + ")");
            }
        }
    }

    private static String blankToNull(String name) {
        return name == null || name.isEmpty() ? null : name;
    }

    /** {@code input} with the output columns appended; an output column whose name is taken is refused. */
    StructType append(StructType input) {
        List<StructField> fields = new ArrayList<>(List.of(input.fields()));
        Set<String> taken = new HashSet<>();
        for (String name : input.fieldNames()) {
            taken.add(name.toLowerCase());
        }
        for (int j = 0; j < resultColumns.length; j++) {
            if (resultColumns[j] != null) {
                fields.add(column(taken, resultColumns[j], resultTypes[j].spark, "result field '" + resultNames[j] + "'"));
            }
        }
        if (probabilityCol != null) {
            fields.add(column(taken, probabilityCol, SQLDataTypes.VectorType(), "probabilityCol"));
        }
        if (versionCol != null) {
            fields.add(column(taken, versionCol, DataTypes.IntegerType, "versionCol"));
        }
        if (errorCol != null) {
            fields.add(column(taken, errorCol, DataTypes.StringType, "errorCol"));
        }
        return new StructType(fields.toArray(StructField[]::new));
    }

    private static StructField column(Set<String> taken, String name, DataType type, String what) {
        // Spark resolves column names case-insensitively by default: "Prediction" and "prediction" clash.
        if (!taken.add(name.toLowerCase())) {
            throw new IllegalArgumentException("the output column '" + name + "' (" + what + ") is already a column;"
                + " rename it with outputColumns, outputPrefix or the matching *Col parameter, or drop the column first");
        }
        return new StructField(name, type, true, org.apache.spark.sql.types.Metadata.empty());
    }

    /** The appended cells of one row: {@code values} per result field as Java objects, or null with {@code error}. */
    InternalRow row(Object[] values, String error, int version) {
        Object[] cells = new Object[width()];
        int at = 0;
        for (int j = 0; j < resultColumns.length; j++) {
            if (resultColumns[j] != null) {
                cells[at++] = values == null ? null : cell(values[j], resultTypes[j]);
            }
        }
        if (probabilityCol != null) {
            if (values != null) {
                double[] p = new double[probabilityResults.length];
                for (int i = 0; i < p.length; i++) {
                    p[i] = ((Number) values[probabilityResults[i]]).doubleValue();
                }
                cells[at] = VECTORS.serialize(Vectors.dense(p));
            }
            at++;
        }
        if (versionCol != null) {
            cells[at++] = version;
        }
        if (errorCol != null) {
            cells[at++] = error == null ? null : UTF8String.fromString(error);
        }
        return new GenericInternalRow(cells);
    }

    private static final VectorUDT VECTORS = (VectorUDT) SQLDataTypes.VectorType();

    private int width() {
        int width = 0;
        for (String column : resultColumns) {
            width += column == null ? 0 : 1;
        }
        return width + (probabilityCol == null ? 0 : 1) + (versionCol == null ? 0 : 1) + (errorCol == null ? 0 : 1);
    }

    /** A result (Double, Float, Integer, String, Boolean from the model) as the column stores it. */
    private static Object cell(Object value, Type type) {
        if (value == null) {
            return null;
        }
        return switch (type) {
            case DOUBLE -> value instanceof Number n ? n.doubleValue() : Double.parseDouble(value.toString());
            case INT -> value instanceof Number n ? n.intValue() : Integer.parseInt(value.toString());
            case BOOLEAN -> value instanceof Boolean b ? b : Boolean.parseBoolean(value.toString());
            case STRING -> UTF8String.fromString(value.toString());
        };
    }
}
