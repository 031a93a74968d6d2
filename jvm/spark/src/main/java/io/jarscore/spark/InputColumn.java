package io.jarscore.spark;

import java.io.Serializable;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;

/**
 * The DataFrame column that feeds one input field of the model, read straight from Spark's internal
 * rows: numbers as primitives, strings as text. A null is a missing value, and so is a NaN.
 *
 * @param field    the model's input field
 * @param column   the DataFrame's column
 * @param ordinal  the column's position in the row
 * @param kind     how the column's values are stored
 */
record InputColumn(String field, String column, int ordinal, Kind kind, int precision, int scale)
    implements Serializable {

    enum Kind { DOUBLE, FLOAT, LONG, INT, SHORT, BYTE, BOOLEAN, DECIMAL, STRING }

    /** The kind of a column of {@code type}, or null for a type the model cannot take (dates, arrays, ...). */
    static InputColumn of(String field, String column, int ordinal, DataType type) {
        Kind kind = type instanceof DoubleType ? Kind.DOUBLE
            : type instanceof FloatType ? Kind.FLOAT
            : type instanceof LongType ? Kind.LONG
            : type instanceof IntegerType ? Kind.INT
            : type instanceof ShortType ? Kind.SHORT
            : type instanceof ByteType ? Kind.BYTE
            : type instanceof BooleanType ? Kind.BOOLEAN
            : type instanceof DecimalType ? Kind.DECIMAL
            : type instanceof StringType ? Kind.STRING
            : null;
        if (kind == null) {
            return null;
        }
        DecimalType decimal = type instanceof DecimalType d ? d : null;
        return new InputColumn(field, column, ordinal, kind,
            decimal == null ? 0 : decimal.precision(), decimal == null ? 0 : decimal.scale());
    }

    boolean isText() {
        return kind == Kind.STRING;
    }

    /** A non-text cell as a double; NaN for null. */
    double number(InternalRow row) {
        if (row.isNullAt(ordinal)) {
            return Double.NaN;
        }
        return switch (kind) {
            case DOUBLE -> row.getDouble(ordinal);
            case FLOAT -> row.getFloat(ordinal);
            case LONG -> row.getLong(ordinal);
            case INT -> row.getInt(ordinal);
            case SHORT -> row.getShort(ordinal);
            case BYTE -> row.getByte(ordinal);
            case BOOLEAN -> row.getBoolean(ordinal) ? 1.0 : 0.0;
            case DECIMAL -> row.getDecimal(ordinal, precision, scale).toDouble();
            case STRING -> throw new IllegalStateException("column '" + column + "' holds text");
        };
    }

    /** A text cell; null for null. */
    String text(InternalRow row) {
        return row.isNullAt(ordinal) ? null : row.getUTF8String(ordinal).toString();
    }

    /**
     * The cell as a category's name, for a string field: text as it is, a whole number without a
     * fraction ("8", not "8.0", unless "8.0" is one of {@code values}), as Python's scorer names it.
     */
    String category(InternalRow row, java.util.List<String> values) {
        if (isText()) {
            return text(row);
        }
        double v = number(row);
        if (Double.isNaN(v)) {
            return null;
        }
        if (kind != Kind.DOUBLE && kind != Kind.FLOAT && kind != Kind.DECIMAL) {
            return Long.toString((long) v);
        }
        String shown = Double.toString(v);
        return v == Math.rint(v) && !Double.isInfinite(v) && !values.contains(shown) ? Long.toString((long) v) : shown;
    }

    /** The cell as JPMML takes it by name: Double or String, null for missing. */
    Object value(InternalRow row, boolean numericField, java.util.List<String> values) {
        if (!numericField) {
            return category(row, values);
        }
        if (isText()) {
            String text = text(row);
            Double parsed = parse(text);
            if (parsed != null) {
                return parsed.isNaN() ? null : parsed;
            }
            return text; // null, or text that is no number: JPMML judges it and names it
        }
        double v = number(row);
        return Double.isNaN(v) ? null : v;
    }

    /** A number written as text, or null for null or text that is no number. */
    static Double parse(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Double.valueOf(text.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    String describeType() {
        return kind == Kind.DECIMAL ? "decimal(" + precision + "," + scale + ")" : kind.name().toLowerCase();
    }
}
