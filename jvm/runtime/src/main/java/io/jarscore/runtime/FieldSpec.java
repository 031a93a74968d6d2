package io.jarscore.runtime;

import java.util.List;

/**
 * What one input or result field of a model accepts or produces.
 *
 * @param name      field name as the model knows it
 * @param dataType  PMML data type, lower case ("double", "integer", "string", ...)
 * @param opType    PMML operational type ("continuous", "categorical", "ordinal")
 * @param numeric   true when values travel as doubles, false when they travel as strings
 * @param values    valid values of a categorical field (empty when any value is accepted)
 */
public record FieldSpec(String name, String dataType, String opType, boolean numeric, List<String> values) {

    static boolean isNumeric(String dataType) {
        switch (dataType) {
            case "double":
            case "float":
            case "integer":
                return true;
            default:
                return false;
        }
    }
}
