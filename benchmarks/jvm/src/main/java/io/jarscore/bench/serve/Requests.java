package io.jarscore.bench.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;

/**
 * The requests of the benchmark, built once before any is timed: the held-out rows (rows.csv, the
 * model's training columns, empty cells missing) as one [rows, columns] FP64 tensor named
 * {@code input-0}, the shape both jarscore serve and MLServer's LightGBM runtime take. REST bodies
 * carry a missing value as JSON null, gRPC requests as NaN in fp64_contents.
 */
final class Requests {

    static final String INPUT = "input-0";

    private final double[][] rows;
    private final String[] header;

    private Requests(String[] header, double[][] rows) {
        this.header = header;
        this.rows = rows;
    }

    static Requests read(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        String[] header = lines.get(0).split(",", -1);
        double[][] rows = new double[lines.size() - 1][];
        for (int r = 1; r < lines.size(); r++) {
            String[] cells = lines.get(r).split(",", -1);
            double[] row = new double[header.length];
            for (int c = 0; c < header.length; c++) {
                row[c] = c >= cells.length || cells[c].isEmpty() ? Double.NaN : Double.parseDouble(cells[c]);
            }
            rows[r - 1] = row;
        }
        return new Requests(header, rows);
    }

    String[] header() {
        return header;
    }

    double[][] rows() {
        return rows;
    }

    /** Request {@code i} of {@code batch} rows: rows i*batch.. (wrapping around). */
    private double[][] slice(int i, int batch) {
        double[][] out = new double[batch][];
        for (int r = 0; r < batch; r++) {
            out[r] = rows[(i * batch + r) % rows.length];
        }
        return out;
    }

    /** As many distinct requests as there are rows to spread them over (at least one). */
    static int count(int rows, int batch) {
        return Math.max(1, rows / batch);
    }

    List<byte[]> restBodies(int batch) {
        List<byte[]> bodies = new ArrayList<>();
        for (int i = 0; i < count(rows.length, batch); i++) {
            StringBuilder json = new StringBuilder(batch * header.length * 12 + 100);
            json.append("{\"inputs\":[{\"name\":\"").append(INPUT).append("\",\"datatype\":\"FP64\",\"shape\":[")
                .append(batch).append(',').append(header.length).append("],\"data\":[");
            boolean first = true;
            for (double[] row : slice(i, batch)) {
                for (double v : row) {
                    json.append(first ? "" : ",").append(Double.isNaN(v) ? "null" : Double.toString(v));
                    first = false;
                }
            }
            json.append("]}]}");
            bodies.add(json.toString().getBytes(StandardCharsets.UTF_8));
        }
        return bodies;
    }

    List<ModelInferRequest> grpcRequests(String model, int batch) {
        List<ModelInferRequest> requests = new ArrayList<>();
        for (int i = 0; i < count(rows.length, batch); i++) {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            for (double[] row : slice(i, batch)) {
                for (double v : row) {
                    contents.addFp64Contents(v);
                }
            }
            requests.add(ModelInferRequest.newBuilder().setModelName(model)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(INPUT).setDatatype("FP64")
                    .addShape(batch).addShape(header.length).setContents(contents))
                .build());
        }
        return requests;
    }
}
