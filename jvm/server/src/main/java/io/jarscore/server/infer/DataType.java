package io.jarscore.server.infer;

/**
 * The tensor data types of the Open Inference Protocol, with their size in bytes in the raw
 * (binary) layout; BYTES elements are a 4-byte little-endian length and the bytes.
 */
public enum DataType {
    BOOL(1), UINT8(1), UINT16(2), UINT32(4), UINT64(8), INT8(1), INT16(2), INT32(4), INT64(8),
    FP16(2), FP32(4), FP64(8), BYTES(0);

    private final int size;

    DataType(int size) {
        this.size = size;
    }

    /** Bytes per element in the raw layout; 0 for BYTES, whose elements carry their own length. */
    public int size() {
        return size;
    }

    public boolean isInteger() {
        return this != BOOL && this != BYTES && this != FP16 && this != FP32 && this != FP64;
    }

    public boolean isFloat() {
        return this == FP16 || this == FP32 || this == FP64;
    }

    /** The data type named {@code text} (as the protocol spells it); a request error for anything else. */
    public static DataType parse(String text, String tensor) {
        if (text == null || text.isEmpty()) {
            throw RequestException.badRequest("input '" + tensor + "' has no datatype; expected one of "
                + java.util.Arrays.toString(values()));
        }
        try {
            return valueOf(text);
        } catch (IllegalArgumentException e) {
            throw RequestException.badRequest("input '" + tensor + "' has datatype '" + io.jarscore.runtime.Model.shorten(text)
                + "'; expected one of " + java.util.Arrays.toString(values()));
        }
    }
}
