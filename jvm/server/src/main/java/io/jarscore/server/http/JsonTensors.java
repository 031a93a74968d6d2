package io.jarscore.server.http;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;

import io.jarscore.runtime.Model;
import io.jarscore.server.infer.DataType;
import io.jarscore.server.infer.RequestException;
import io.jarscore.server.infer.Tensor;

/** Tensor data as JSON: a list of elements, flat or nested, row-major; null marks a missing value. */
final class JsonTensors {

    private JsonTensors() {
    }

    static Tensor decode(String name, DataType type, long[] shape, JsonNode data) {
        if (!data.isArray()) {
            throw RequestException.badRequest("input '" + Model.shorten(name) + "' has no \"data\" list"
                + (data.isMissingNode() ? "" : " (got " + Model.shorten(data.toString()) + ")"));
        }
        if (type == DataType.FP16) {
            throw RequestException.badRequest("input '" + name + "' is FP16, which this server does not read; send FP32 or FP64");
        }
        int count = Tensor.elements(shape, name);
        Object values = type == DataType.BYTES ? new String[count] : new double[count];
        int index = 0;
        Deque<Iterator<JsonNode>> stack = new ArrayDeque<>();
        stack.push(data.elements());
        while (!stack.isEmpty()) {
            Iterator<JsonNode> level = stack.peek();
            if (!level.hasNext()) {
                stack.pop();
                continue;
            }
            JsonNode element = level.next();
            if (element.isArray()) {
                stack.push(element.elements());
                continue;
            }
            if (index >= count) {
                throw countError(name, shape, count, data);
            }
            if (values instanceof String[] strings) {
                strings[index] = text(name, index, element);
            } else {
                ((double[]) values)[index] = number(name, type, index, element);
            }
            index++;
        }
        if (index != count) {
            throw countError(name, shape, count, data);
        }
        return new Tensor(name, type, shape, values);
    }

    private static String text(String name, int index, JsonNode element) {
        if (element.isNull()) {
            return null;
        }
        if (!element.isTextual()) {
            throw RequestException.badRequest("input '" + name + "' is BYTES but element " + index + " is "
                + Model.shorten(element.toString()) + "; BYTES data are strings (or null for a missing value)");
        }
        return element.textValue();
    }

    private static double number(String name, DataType type, int index, JsonNode element) {
        if (element.isNull()) {
            return Double.NaN;
        }
        if (element.isBoolean() && type == DataType.BOOL) {
            return element.booleanValue() ? 1.0 : 0.0;
        }
        if (element.isNumber() && type != DataType.BOOL) {
            if (type.isInteger() && !element.isIntegralNumber()) {
                throw RequestException.badRequest("input '" + name + "' is " + type + " but element " + index + " is "
                    + element + ", not a whole number");
            }
            return element.doubleValue();
        }
        throw RequestException.badRequest("input '" + name + "' is " + type + " but element " + index + " is "
            + Model.shorten(element.toString()) + (type == DataType.BOOL ? "; BOOL data are true or false"
            : "; expected a number (or null for a missing value)"));
    }

    private static RequestException countError(String name, long[] shape, int count, JsonNode data) {
        int found = 0;
        Deque<JsonNode> pending = new ArrayDeque<>();
        pending.push(data);
        while (!pending.isEmpty()) {
            JsonNode node = pending.pop();
            if (node.isArray()) {
                node.forEach(pending::push);
            } else {
                found++;
            }
        }
        return RequestException.badRequest("input '" + name + "' has shape " + Arrays.toString(shape) + " (" + count
            + " elements) but its data hold " + found);
    }

    /** An output's values into {@code data}, flat. */
    static void encode(Tensor tensor, ArrayNode data) {
        Object values = tensor.values();
        if (values instanceof double[] doubles) {
            boolean single = tensor.type() == DataType.FP32;
            for (double v : doubles) {
                if (single) {
                    data.add((float) v);
                } else {
                    data.add(v);
                }
            }
        } else if (values instanceof long[] longs) {
            for (long v : longs) {
                data.add(v);
            }
        } else if (values instanceof boolean[] bools) {
            for (boolean v : bools) {
                data.add(v);
            }
        } else {
            for (String v : (String[]) values) {
                data.add(v);
            }
        }
    }
}
