package io.jarscore.server.infer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The raw (binary) tensor layout that gRPC's raw_input_contents / raw_output_contents and Triton's
 * binary tensor data extension share: elements row-major, little-endian, no padding; a BYTES
 * element is a 4-byte little-endian length followed by that many bytes.
 */
public final class RawTensors {

    private RawTensors() {
    }

    /** Decodes one input's raw bytes into a {@code double[]} or {@code String[]} (see {@link Tensor}). */
    public static Tensor decode(String name, DataType type, long[] shape, ByteBuffer raw) {
        int count = Tensor.elements(shape, name);
        ByteBuffer in = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (type == DataType.BYTES) {
            String[] values = new String[count];
            for (int i = 0; i < count; i++) {
                if (in.remaining() < 4) {
                    throw sizeError(name, type, shape, raw.remaining(), "it ends inside element " + i);
                }
                int length = in.getInt();
                if (length < 0 || length > in.remaining()) {
                    throw sizeError(name, type, shape, raw.remaining(), "element " + i + " claims " + Integer.toUnsignedString(length)
                        + " bytes, " + in.remaining() + " remain");
                }
                byte[] bytes = new byte[length];
                in.get(bytes);
                values[i] = new String(bytes, StandardCharsets.UTF_8);
            }
            if (in.hasRemaining()) {
                throw sizeError(name, type, shape, raw.remaining(), in.remaining() + " bytes are left after the last element");
            }
            return new Tensor(name, type, shape, values);
        }
        if (type == DataType.FP16) {
            throw unsupportedFp16(name);
        }
        if ((long) count * type.size() != in.remaining()) {
            throw sizeError(name, type, shape, in.remaining(), "expected " + (long) count * type.size());
        }
        double[] values = new double[count];
        for (int i = 0; i < count; i++) {
            values[i] = switch (type) {
                case BOOL -> in.get() != 0 ? 1.0 : 0.0;
                case INT8 -> in.get();
                case UINT8 -> in.get() & 0xff;
                case INT16 -> in.getShort();
                case UINT16 -> in.getShort() & 0xffff;
                case INT32 -> in.getInt();
                case UINT32 -> in.getInt() & 0xffffffffL;
                case INT64 -> in.getLong();
                case UINT64 -> unsigned(in.getLong());
                case FP32 -> in.getFloat();
                case FP64 -> in.getDouble();
                default -> throw new AssertionError(type);
            };
        }
        return new Tensor(name, type, shape, values);
    }

    /** An output tensor in the raw layout. */
    public static byte[] encode(Tensor tensor) {
        Object values = tensor.values();
        if (values instanceof String[] strings) {
            byte[][] encoded = new byte[strings.length][];
            int total = 0;
            for (int i = 0; i < strings.length; i++) {
                encoded[i] = strings[i].getBytes(StandardCharsets.UTF_8);
                total += 4 + encoded[i].length;
            }
            ByteBuffer out = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
            for (byte[] bytes : encoded) {
                out.putInt(bytes.length).put(bytes);
            }
            return out.array();
        }
        int count = tensor.length();
        ByteBuffer out = ByteBuffer.allocate(count * tensor.type().size()).order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.type()) {
            case FP64 -> out.asDoubleBuffer().put((double[]) values);
            case FP32 -> {
                double[] doubles = (double[]) values;
                for (double v : doubles) {
                    out.putFloat((float) v);
                }
            }
            case INT64 -> out.asLongBuffer().put((long[]) values);
            case BOOL -> {
                for (boolean b : (boolean[]) values) {
                    out.put((byte) (b ? 1 : 0));
                }
            }
            default -> throw new IllegalArgumentException("outputs are FP64, FP32, INT64, BOOL or BYTES, not " + tensor.type());
        }
        return out.array();
    }

    static double unsigned(long value) {
        double d = (double) (value & Long.MAX_VALUE);
        return value < 0 ? d + 0x1p63 : d;
    }

    static RequestException unsupportedFp16(String name) {
        return RequestException.badRequest("input '" + name + "' is FP16, which this server does not read; send FP32 or FP64");
    }

    private static RequestException sizeError(String name, DataType type, long[] shape, int bytes, String detail) {
        return RequestException.badRequest("input '" + name + "' (" + type + " " + java.util.Arrays.toString(shape)
            + ") has " + bytes + " bytes of raw data that do not fit its shape: " + detail);
    }
}
