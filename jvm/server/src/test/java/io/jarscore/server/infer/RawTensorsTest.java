package io.jarscore.server.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

/** The raw tensor layout: every input type decodes to its values, outputs encode as clients read them. */
class RawTensorsTest {

    private static ByteBuffer little(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void numbersOfEveryWidthDecodeToDoubles() {
        assertArrayEquals(new double[]{1.5, Double.NaN}, (double[]) RawTensors.decode("x", DataType.FP64, new long[]{2},
            little(16).putDouble(1.5).putDouble(Double.NaN).flip()).values());
        assertArrayEquals(new double[]{-2.5f}, (double[]) RawTensors.decode("x", DataType.FP32, new long[]{1, 1},
            little(4).putFloat(-2.5f).flip()).values());
        assertArrayEquals(new double[]{-7, -1}, (double[]) RawTensors.decode("x", DataType.INT8, new long[]{2},
            ByteBuffer.wrap(new byte[]{-7, -1})).values());
        assertArrayEquals(new double[]{249, 255}, (double[]) RawTensors.decode("x", DataType.UINT8, new long[]{2},
            ByteBuffer.wrap(new byte[]{-7, -1})).values());
        assertArrayEquals(new double[]{4294967295.0}, (double[]) RawTensors.decode("x", DataType.UINT32, new long[]{1},
            little(4).putInt(-1).flip()).values());
        assertArrayEquals(new double[]{0x1p64 - 2048}, (double[]) RawTensors.decode("x", DataType.UINT64, new long[]{1},
            little(8).putLong(-2048).flip()).values());
        assertArrayEquals(new double[]{1, 0}, (double[]) RawTensors.decode("x", DataType.BOOL, new long[]{2},
            ByteBuffer.wrap(new byte[]{1, 0})).values());
    }

    @Test
    void bytesAreLengthPrefixedUtf8() {
        ByteBuffer raw = little(4 + 5 + 4).putInt(5).put("grün".getBytes(java.nio.charset.StandardCharsets.UTF_8)).putInt(0).flip();
        assertArrayEquals(new String[]{"grün", ""}, (String[]) RawTensors.decode("city", DataType.BYTES, new long[]{2}, raw).values());
        Tensor out = new Tensor("label", DataType.BYTES, new long[]{2}, new String[]{"grün", ""});
        assertArrayEquals(raw.array(), RawTensors.encode(out));
    }

    @Test
    void outputsEncodeLittleEndian() {
        byte[] fp32 = RawTensors.encode(new Tensor("p", DataType.FP32, new long[]{1}, new double[]{0.25}));
        assertEquals(0.25f, ByteBuffer.wrap(fp32).order(ByteOrder.LITTLE_ENDIAN).getFloat());
        byte[] int64 = RawTensors.encode(new Tensor("y", DataType.INT64, new long[]{1}, new long[]{-3}));
        assertEquals(-3L, ByteBuffer.wrap(int64).order(ByteOrder.LITTLE_ENDIAN).getLong());
    }

    @Test
    void dataThatDoesNotFitTheShapeIsRefusedNamingTheInput() {
        RequestException shortData = assertThrows(RequestException.class,
            () -> RawTensors.decode("f0", DataType.FP64, new long[]{3}, little(16)));
        assertTrue(shortData.getMessage().contains("'f0'") && shortData.getMessage().contains("expected 24"), shortData.getMessage());
        RequestException badLength = assertThrows(RequestException.class,
            () -> RawTensors.decode("city", DataType.BYTES, new long[]{1}, little(6).putInt(100).put((byte) 1).put((byte) 2).flip()));
        assertTrue(badLength.getMessage().contains("claims 100 bytes"), badLength.getMessage());
        assertThrows(RequestException.class, () -> RawTensors.decode("x", DataType.FP16, new long[]{1}, little(2)));
        RequestException negative = assertThrows(RequestException.class,
            () -> RawTensors.decode("x", DataType.FP64, new long[]{-1}, little(0)));
        assertEquals(RequestException.Kind.BAD_REQUEST, negative.kind());
    }
}
