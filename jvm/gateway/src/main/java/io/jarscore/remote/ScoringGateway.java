package io.jarscore.remote;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.runtime.Model;
import py4j.GatewayServer;

/**
 * The JVM half of the Python scorer's out-of-process mode: a Py4J gateway on a loopback port that
 * loads models and scores column batches sent as bytes (one call per batch, no per-value traffic).
 * The first line of its standard input is a secret token: the gateway listens on 127.0.0.1 only, on an
 * ephemeral port, and py4j refuses any client that does not present the token. The token comes over
 * stdin, not argv or the environment, so it never shows in {@code ps} or {@code /proc/PID/environ}.
 * The process exits when its standard input closes, that is when the Python process that started it
 * goes away. It prints {@code jarscore-gateway port N} once it listens.
 *
 * <p>Column format, little-endian: an int column count, an int row count, then per column a type
 * byte (0: doubles, NaN missing; 1: UTF-8 strings, length -1 missing) and its values.
 */
public final class ScoringGateway {

    private final Map<String, Model> models = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final ObjectMapper json = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        InputStream parent = System.in;
        String token = readToken(parent);
        if (token == null) {
            System.err.println("jarscore-gateway: expected an auth token as the first line of standard input");
            System.exit(2);
        }
        // py4j refuses every connection that does not first present this token (its AUTH command):
        // without it any local process could reach java.lang.Runtime through the gateway.
        GatewayServer server = new GatewayServer.GatewayServerBuilder(new ScoringGateway())
            .javaPort(0)
            .javaAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}))
            .authToken(token)
            .build();
        server.start();
        System.out.println("jarscore-gateway port " + server.getListeningPort());
        System.out.flush();
        while (parent.read() != -1) {
            // Nothing more is sent on stdin; EOF means the Python process is gone.
        }
        server.shutdown();
        System.exit(0);
    }

    /**
     * Reads the first line of {@code in} byte by byte (no buffering, so the rest of the stream stays
     * for the EOF watch): the auth token, hex. Null if the stream ends first or the line is empty or
     * not plain ASCII (py4j sends the token as one protocol line).
     */
    static String readToken(InputStream in) throws IOException {
        StringBuilder token = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b == -1 || b < 0x21 || b > 0x7e || token.length() > 1024) {
                return null;
            }
            token.append((char) b);
        }
        return token.length() == 0 ? null : token.toString();
    }

    /** Loads an artifact's JAR (or a .pmml) and returns its id and metadata as JSON. */
    public String load(String path, boolean pmml) throws IOException {
        Model model = pmml ? Model.loadPmml(Path.of(path)) : Model.loadJar(Path.of(path));
        String id = Long.toString(ids.incrementAndGet());
        models.put(id, model);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("id", id);
        meta.put("miningFunction", model.miningFunction());
        meta.put("inputs", describe(model.inputFields()));
        meta.put("results", describe(model.resultFields()));
        return json.writeValueAsString(meta);
    }

    public byte[] score(String id, byte[] request) {
        Model model = models.get(id);
        if (model == null) {
            throw new IllegalStateException("model " + id + " is not loaded in this gateway (closed?)");
        }
        ByteBuffer in = ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN);
        int columnCount = in.getInt();
        int rows = in.getInt();
        Object[] columns = new Object[columnCount];
        for (int c = 0; c < columnCount; c++) {
            columns[c] = readColumn(in, rows);
        }
        return write(model.scoreColumns(columns, rows), rows);
    }

    public void close(String id) {
        Model model = models.remove(id);
        if (model != null) {
            model.close();
        }
    }

    private static List<Map<String, Object>> describe(List<FieldSpec> fields) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (FieldSpec f : fields) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("name", f.name());
            one.put("dataType", f.dataType());
            one.put("opType", f.opType());
            one.put("numeric", f.numeric());
            one.put("values", f.values());
            out.add(one);
        }
        return out;
    }

    private static Object readColumn(ByteBuffer in, int rows) {
        byte type = in.get();
        if (type == 0) {
            double[] values = new double[rows];
            in.asDoubleBuffer().get(values);
            in.position(in.position() + 8 * rows);
            return values;
        }
        String[] values = new String[rows];
        for (int r = 0; r < rows; r++) {
            int length = in.getInt();
            if (length >= 0) {
                values[r] = new String(readBytes(in, length), StandardCharsets.UTF_8);
            }
        }
        return values;
    }

    private static byte[] readBytes(ByteBuffer in, int length) {
        byte[] bytes = new byte[length];
        in.get(bytes);
        return bytes;
    }

    private static byte[] write(Object[] columns, int rows) {
        List<byte[]> encoded = new ArrayList<>();
        int size = 8;
        for (Object column : columns) {
            byte[] one = encode(column, rows);
            encoded.add(one);
            size += one.length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(columns.length).putInt(rows);
        encoded.forEach(out::put);
        return out.array();
    }

    private static byte[] encode(Object column, int rows) {
        if (column instanceof double[] values) {
            ByteBuffer out = ByteBuffer.allocate(1 + 8 * rows).order(ByteOrder.LITTLE_ENDIAN);
            out.put((byte) 0);
            out.asDoubleBuffer().put(values);
            return out.array();
        }
        String[] values = (String[]) column;
        List<byte[]> texts = new ArrayList<>();
        int size = 1;
        for (String value : values) {
            byte[] text = value == null ? null : value.getBytes(StandardCharsets.UTF_8);
            texts.add(text);
            size += 4 + (text == null ? 0 : text.length);
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put((byte) 1);
        for (byte[] text : texts) {
            out.putInt(text == null ? -1 : text.length);
            if (text != null) {
                out.put(text);
            }
        }
        return out.array();
    }
}
