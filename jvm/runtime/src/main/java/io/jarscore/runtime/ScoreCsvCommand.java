package io.jarscore.runtime;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scores a CSV file with a model and prints the results as CSV: every result field of the model,
 * one row per input row.
 *
 * <pre>ScoreCsvCommand ARTIFACT_DIR_OR_JAR INPUT.csv [--limit N]</pre>
 *
 * A directory means its {@code model.jar}; a {@code .pmml} or {@code .pmml.gz} file is interpreted by JPMML-Evaluator;
 * any other path is loaded as a transpiled JAR. The CSV has a header row; columns that are not input
 * fields are ignored; an empty cell or {@code N/A} is a missing value. Errors go to stderr as one line
 * starting with {@code "jarscore score-csv: "}. Exit codes: 0 success, 1 failure, 2 bad usage or
 * missing input columns.
 */
public final class ScoreCsvCommand {

    static final String USAGE = "usage: ScoreCsvCommand ARTIFACT_DIR_OR_JAR INPUT.csv [--limit N]";

    /** Rows handed to {@link Model#scoreColumns} at a time, so that large files need little memory. */
    static final int BATCH_ROWS = 4096;

    private static final Pattern MODEL_ROW = Pattern.compile("^row (\\d+): ");

    private ScoreCsvCommand() {
    }

    /** A problem with the command line or the CSV; {@code exitCode} is what {@link #main} exits with. */
    static final class InputException extends RuntimeException {
        final int exitCode;

        InputException(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
            false, StandardCharsets.UTF_8);
        int exitCode;
        try {
            run(args, out);
            exitCode = 0;
        } catch (InputException e) {
            exitCode = fail(e.getMessage(), e.exitCode);
        } catch (ArtifactException | ScoringException e) {
            exitCode = fail(e.getMessage(), 1);
        } catch (IOException e) {
            exitCode = fail("cannot read input: " + Model.describe(e), 1);
        } catch (RuntimeException | LinkageError e) {
            exitCode = fail("failed: " + Model.describe(e), 1);
        } finally {
            out.flush();
        }
        System.exit(exitCode);
    }

    private static int fail(String message, int exitCode) {
        System.err.println("jarscore score-csv: " + message.replace('\n', ' '));
        return exitCode;
    }

    /** Parses the command line, loads the model and scores the CSV onto {@code out}. */
    static void run(String[] args, PrintStream out) throws IOException {
        List<String> positional = new ArrayList<>();
        long limit = Long.MAX_VALUE;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--limit")) {
                if (i + 1 >= args.length) {
                    throw new InputException("--limit needs a value; " + USAGE, 2);
                }
                limit = parseLimit(args[++i]);
            } else if (args[i].startsWith("--")) {
                throw new InputException("unknown option " + args[i] + "; " + USAGE, 2);
            } else {
                positional.add(args[i]);
            }
        }
        if (positional.size() != 2) {
            throw new InputException(USAGE, 2);
        }
        Path csv = Path.of(positional.get(1));
        if (!Files.isRegularFile(csv)) {
            throw new InputException("input CSV not found: " + csv, 2);
        }
        try (Model model = loadModel(Path.of(positional.get(0)));
             Reader reader = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            score(model, reader, out, limit);
        }
    }

    private static long parseLimit(String value) {
        try {
            long limit = Long.parseLong(value);
            if (limit >= 0) {
                return limit;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new InputException("--limit must be a whole number >= 0, got '" + value + "'", 2);
    }

    /** A directory means DIR/model.jar, a .pmml or .pmml.gz file is interpreted, anything else is a transpiled JAR. */
    static Model loadModel(Path artifact) {
        if (Files.isDirectory(artifact)) {
            return Model.loadJar(artifact.resolve("model.jar"));
        }
        String name = artifact.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".pmml") || name.endsWith(".pmml.gz")) {
            return Model.loadPmml(artifact);
        }
        return Model.loadJar(artifact);
    }

    /**
     * Scores at most {@code limit} data rows of {@code csv} and writes a header plus one line per row
     * to {@code out}. Returns the number of rows scored.
     */
    static long score(Model model, Reader csv, PrintStream out, long limit) throws IOException {
        CsvReader reader = new CsvReader(csv);
        List<String> header = reader.next();
        if (header == null) {
            throw new InputException("the input CSV is empty (expected a header row)", 1);
        }
        if (!header.isEmpty() && header.get(0).startsWith("\uFEFF")) {
            header.set(0, header.get(0).substring(1));
        }
        List<FieldSpec> inputs = model.inputFields();
        int[] columnOf = columnIndexes(header, inputs);

        List<FieldSpec> results = model.resultFields();
        writeRow(out, results.stream().map(FieldSpec::name).toList());

        long scored = 0;
        List<List<String>> batch = new ArrayList<>();
        List<Long> batchLines = new ArrayList<>();
        while (scored + batch.size() < limit) {
            long line = reader.lineNumber() + 1;
            List<String> row = reader.next();
            if (row == null) {
                break;
            }
            if (row.size() == 1 && row.get(0).isEmpty() && header.size() > 1) {
                continue; // blank line
            }
            if (row.size() != header.size()) {
                throw new InputException("line " + line + " has " + row.size() + " cells, the header has "
                    + header.size(), 1);
            }
            batch.add(row);
            batchLines.add(line);
            if (batch.size() == BATCH_ROWS) {
                scored += scoreBatch(model, inputs, columnOf, header, batch, batchLines, results, out);
            }
        }
        scored += scoreBatch(model, inputs, columnOf, header, batch, batchLines, results, out);
        out.flush();
        return scored;
    }

    /** For each input field, the CSV column holding it; fails naming every input field that has none. */
    private static int[] columnIndexes(List<String> header, List<FieldSpec> inputs) {
        Map<String, Integer> byName = new HashMap<>();
        for (int i = 0; i < header.size(); i++) {
            if (byName.putIfAbsent(header.get(i), i) != null) {
                throw new InputException("the input CSV has column '" + header.get(i) + "' more than once", 1);
            }
        }
        int[] columnOf = new int[inputs.size()];
        List<String> missing = new ArrayList<>();
        for (int f = 0; f < inputs.size(); f++) {
            Integer index = byName.get(inputs.get(f).name());
            if (index == null) {
                missing.add(inputs.get(f).name());
            } else {
                columnOf[f] = index;
            }
        }
        if (!missing.isEmpty()) {
            throw new InputException("the input CSV lacks the model's input column(s) " + missing
                + " (it has " + header + ")", 2);
        }
        return columnOf;
    }

    private static int scoreBatch(Model model, List<FieldSpec> inputs, int[] columnOf, List<String> header,
                                  List<List<String>> batch, List<Long> lines, List<FieldSpec> results,
                                  PrintStream out) {
        int rows = batch.size();
        if (rows == 0) {
            return 0;
        }
        Object[] columns = new Object[inputs.size()];
        for (int f = 0; f < columns.length; f++) {
            int c = columnOf[f];
            boolean numeric = inputs.get(f).numeric();
            double[] doubles = numeric ? new double[rows] : null;
            String[] strings = numeric ? null : new String[rows];
            for (int r = 0; r < rows; r++) {
                String cell = batch.get(r).get(c);
                boolean missing = cell.isEmpty() || cell.equals("N/A");
                if (numeric) {
                    doubles[r] = missing ? Double.NaN : parseNumber(cell, lines.get(r), header.get(c), inputs.get(f));
                } else {
                    strings[r] = missing ? null : cell;
                }
            }
            columns[f] = numeric ? doubles : strings;
        }
        Object[] scored;
        try {
            scored = model.scoreColumns(columns, rows);
        } catch (ScoringException e) {
            throw new ScoringException(withLineNumber(e.getMessage(), lines), e);
        }
        List<String> cells = new ArrayList<>(results.size());
        for (int r = 0; r < rows; r++) {
            cells.clear();
            for (int j = 0; j < scored.length; j++) {
                cells.add(format(scored[j], r, results.get(j)));
            }
            writeRow(out, cells);
        }
        batch.clear();
        lines.clear();
        return rows;
    }

    private static double parseNumber(String cell, long line, String column, FieldSpec field) {
        try {
            return Double.parseDouble(cell);
        } catch (NumberFormatException e) {
            throw new InputException("line " + line + ", column '" + column + "': '" + cell
                + "' is not a number (field type " + field.dataType() + ")", 1);
        }
    }

    /** The model numbers rows from 0 within a batch; name the CSV line instead. */
    private static String withLineNumber(String message, List<Long> lines) {
        Matcher m = MODEL_ROW.matcher(message);
        if (m.find()) {
            int row = Integer.parseInt(m.group(1));
            if (row < lines.size()) {
                return "line " + lines.get(row) + ": " + message.substring(m.end());
            }
        }
        return message;
    }

    private static String format(Object column, int row, FieldSpec field) {
        if (column instanceof double[] doubles) {
            double v = doubles[row];
            return switch (field.dataType()) {
                case "float" -> Float.toString((float) v);
                case "integer" -> v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
                default -> Double.toString(v);
            };
        }
        return ((String[]) column)[row];
    }

    private static void writeRow(PrintStream out, List<String> cells) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            String cell = cells.get(i);
            if (cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0 || cell.indexOf('\r') >= 0) {
                sb.append('"').append(cell.replace("\"", "\"\"")).append('"');
            } else {
                sb.append(cell);
            }
        }
        out.print(sb.append('\n'));
    }

    /**
     * RFC 4180-ish records: fields separated by commas, a field starting with a quote runs to the
     * closing quote (doubled quotes stand for one, commas and line breaks are kept); a quote inside an
     * unquoted field is an ordinary character. Lines end with LF or CRLF.
     */
    static final class CsvReader {
        private final BufferedReader in;
        private long line;
        private int peeked = -2;

        CsvReader(Reader in) {
            this.in = in instanceof BufferedReader b ? b : new BufferedReader(in);
        }

        /** Lines read so far (the number of the last line of the previous record). */
        long lineNumber() {
            return line;
        }

        /** The next record, or null at the end of input. */
        List<String> next() throws IOException {
            int c = read();
            if (c < 0) {
                return null;
            }
            long start = line + 1;
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            while (true) {
                if (c == '"' && field.isEmpty()) {
                    // quoted field
                    while (true) {
                        c = read();
                        if (c < 0) {
                            throw new InputException("line " + start + ": a quoted field is not closed", 1);
                        }
                        if (c == '"') {
                            c = read();
                            if (c != '"') {
                                break;
                            }
                        } else if (c == '\n') {
                            line++;
                        }
                        field.append((char) c);
                    }
                    if (c >= 0 && c != ',' && c != '\n' && c != '\r') {
                        throw new InputException("line " + (line + 1) + ": unexpected character after a closing quote", 1);
                    }
                }
                if (c < 0 || c == '\n' || (c == '\r' && peekIs('\n'))) {
                    if (c == '\r') {
                        read();
                    }
                    fields.add(field.toString());
                    line++;
                    return fields;
                }
                if (c == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                } else {
                    field.append((char) c);
                }
                c = read();
            }
        }

        private int read() throws IOException {
            if (peeked != -2) {
                int c = peeked;
                peeked = -2;
                return c;
            }
            return in.read();
        }

        private boolean peekIs(int expected) throws IOException {
            if (peeked == -2) {
                peeked = in.read();
            }
            return peeked == expected;
        }
    }
}
