package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCsvCommandTest {

    @TempDir
    Path tmp;

    /** Runs the command's core on {@code csv} and returns what it printed, parsed back. */
    private static Corpus.Table score(Model model, String csv, long limit) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            ScoreCsvCommand.score(model, new StringReader(csv), out, limit);
        }
        return parse(bytes.toString(StandardCharsets.UTF_8));
    }

    private static Corpus.Table parse(String output) throws IOException {
        ScoreCsvCommand.CsvReader reader = new ScoreCsvCommand.CsvReader(new StringReader(output));
        List<String> header = reader.next();
        List<String[]> rows = new ArrayList<>();
        for (List<String> row = reader.next(); row != null; row = reader.next()) {
            rows.add(row.toArray(String[]::new));
        }
        return new Corpus.Table(header, rows);
    }

    /** Checks every printed value against the case's expected CSV under the case's tolerance. */
    private static void assertMatchesExpected(Corpus.Case testCase, Model model, Corpus.Table output, int rows) {
        Corpus.Table expected = Corpus.readCsv(testCase.expected());
        assertEquals(rows, output.rows().size());
        for (String column : expected.header()) {
            if (testCase.excludeColumns().contains(column)) {
                continue;
            }
            int e = expected.column(column);
            int o = output.column(column);
            boolean numeric = model.resultFields().stream().filter(f -> f.name().equals(column)).findFirst()
                .orElseThrow().numeric();
            for (int r = 0; r < rows; r++) {
                String want = expected.rows().get(r)[e];
                String got = output.rows().get(r)[o];
                Object actual = numeric ? (Object) Double.parseDouble(got) : got;
                assertTrue(ConformanceTest.matches(testCase, want, actual),
                    testCase.name() + " row " + r + " " + column + ": expected " + want + ", printed " + got);
            }
        }
    }

    @Test
    void scoresAuditLikeTheReference() throws Exception {
        Corpus.Case testCase = Corpus.get("LightGBMAudit");
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            Corpus.Table output = score(model, Files.readString(testCase.input()), 25);
            assertEquals(List.of("Adjusted", "probability(0)", "probability(1)"), output.header());
            assertMatchesExpected(testCase, model, output, 25);
        }
    }

    @Test
    void missingValuesAsNAAndEmptyCells() throws Exception {
        Corpus.Case testCase = Corpus.get("LightGBMAutoNA");
        String input = Files.readString(testCase.input());
        assertTrue(input.contains("N/A"));
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            assertMatchesExpected(testCase, model, score(model, input, Long.MAX_VALUE), 392);
            Corpus.Table empty = score(model, input.replace("N/A", ""), 40);
            assertMatchesExpected(testCase, model, empty, 40);
        }
    }

    @Test
    void quotedTextInputs() throws Exception {
        Corpus.Case testCase = Corpus.get("LogisticRegressionSentiment");
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            assertMatchesExpected(testCase, model, score(model, Files.readString(testCase.input()), Long.MAX_VALUE), 1000);
        }
    }

    @Test
    void float32ResultsPrintAsFloats() throws Exception {
        Corpus.Case testCase = Corpus.get("XGBoostAudit");
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            Corpus.Table output = score(model, Files.readString(testCase.input()), 10);
            assertMatchesExpected(testCase, model, output, 10);
            String printed = output.rows().get(0)[2];
            assertEquals(Float.toString(Float.parseFloat(printed)), printed);
        }
    }

    @Test
    void runLoadsADirectoryAJarOrAPmmlFile() throws Exception {
        Corpus.Case testCase = Corpus.get("LightGBMAudit");
        Path jar = Corpus.transpiled(testCase.name());
        try (Model model = Model.loadJar(jar)) {
            for (Path artifact : List.of(jar.getParent(), jar, testCase.pmml())) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
                    ScoreCsvCommand.run(new String[]{artifact.toString(), testCase.input().toString(), "--limit", "3"}, out);
                }
                assertMatchesExpected(testCase, model, parse(bytes.toString(StandardCharsets.UTF_8)), 3);
            }
        }
    }

    @Test
    void missingInputColumnsAreNamed() throws Exception {
        try (Model model = Corpus.loadTranspiled("LightGBMAudit")) {
            ScoreCsvCommand.InputException e = assertThrows(ScoreCsvCommand.InputException.class,
                () -> score(model, "Age,Income,Hours,Extra\n38,81838,72,x\n", 10));
            assertEquals(2, e.exitCode);
            for (String name : List.of("Employment", "Education", "Marital", "Occupation", "Gender")) {
                assertTrue(e.getMessage().contains(name), e.getMessage());
            }
        }
    }

    @Test
    void textInANumericColumnNamesLineColumnAndValue() throws Exception {
        Corpus.Case testCase = Corpus.get("LightGBMAudit");
        List<String> lines = new ArrayList<>(Files.readAllLines(testCase.input()));
        lines.set(3, lines.get(3).replaceFirst("^[0-9]+,", "thirty,"));
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            ScoreCsvCommand.InputException e = assertThrows(ScoreCsvCommand.InputException.class,
                () -> score(model, String.join("\n", lines), Long.MAX_VALUE));
            assertEquals(1, e.exitCode);
            assertEquals("line 4, column 'Age': 'thirty' is not a number (field type integer)", e.getMessage());
        }
    }

    @Test
    void modelErrorsNameTheCsvLine() throws Exception {
        Corpus.Case testCase = Corpus.get("LightGBMAudit");
        List<String> lines = new ArrayList<>(Files.readAllLines(testCase.input()));
        lines.set(5000 % lines.size(), lines.get(5000 % lines.size()).replace(",Private,", ",Astronaut,"));
        assertTrue(lines.get(5000 % lines.size()).contains("Astronaut"));
        try (Model model = Corpus.loadTranspiled(testCase.name())) {
            ScoringException e = assertThrows(ScoringException.class,
                () -> score(model, String.join("\n", lines), Long.MAX_VALUE));
            assertTrue(e.getMessage().startsWith("line " + (5000 % lines.size() + 1) + ": field 'Employment' value 'Astronaut'"),
                e.getMessage());
        }
    }

    @Test
    void csvReaderHandlesQuotes() throws Exception {
        String csv = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",plain\"quote\n\"two\nlines\",,\"\"\nlast,row,no newline";
        ScoreCsvCommand.CsvReader reader = new ScoreCsvCommand.CsvReader(new StringReader(csv));
        assertEquals(List.of("a", "b", "c"), reader.next());
        assertEquals(List.of("x, y", "say \"hi\"", "plain\"quote"), reader.next());
        assertEquals(2, reader.lineNumber());
        assertEquals(List.of("two\nlines", "", ""), reader.next());
        assertEquals(4, reader.lineNumber());
        assertEquals(List.of("last", "row", "no newline"), reader.next());
        assertEquals(null, reader.next());

        ScoreCsvCommand.CsvReader open = new ScoreCsvCommand.CsvReader(new StringReader("\"never closed,1\n"));
        assertThrows(ScoreCsvCommand.InputException.class, open::next);
    }

    /** main itself: exit codes and one stderr line, no stack trace. */
    @Test
    void mainReportsErrorsOnOneLine() throws Exception {
        Path jar = Corpus.transpiled("LightGBMAudit");
        Path csv = tmp.resolve("few-columns.csv");
        Files.writeString(csv, "Age,Income\n38,81838\n");
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), ScoreCsvCommand.class.getName(),
            jar.getParent().toString(), csv.toString())
            .redirectOutput(tmp.resolve("stdout").toFile())
            .redirectError(tmp.resolve("stderr").toFile())
            .start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        List<String> stderr = Files.readAllLines(tmp.resolve("stderr"));
        assertEquals(2, process.exitValue(), String.join("\n", stderr));
        assertEquals(1, stderr.size(), String.join("\n", stderr));
        assertTrue(stderr.get(0).startsWith("jarscore score-csv: the input CSV lacks the model's input column(s) ["),
            stderr.get(0));
        assertEquals("", Files.readString(tmp.resolve("stdout")));
    }
}
