package io.jarscore.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.jarscore.runtime.Model;
import org.dmg.pmml.PMML;
import org.jpmml.model.PMMLUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The table form of trees ({@link Forest}) against JPMML-Evaluator interpreting the same PMML:
 * random ensembles whose splits use all four comparison operators (also against ±Infinity, as
 * LightGBM writes "any known value"), LightGBM's "or isMissing" in both orders, True and False
 * children, compact chains of siblings with both noTrueChild strategies; double and float32 math;
 * regression sums and classification votes. Rows mix values exactly on the thresholds, one ulp
 * either side, missing values, infinities and ±MAX_VALUE.
 */
class ForestTest {

    static final int FEATURES = 4;
    static final double[] GRID = {-1.0, -0.5, 0.0, 0.5, 1.0, 2.5};
    static final String[] CLASSES = {"a", "b", "c"};

    @ParameterizedTest(name = "{0} math, {1}, seed {2}")
    @CsvSource({
        "double, regression, 10", "double, regression, 15", "double, regression, 3",
        "float, regression, 4", "float, regression, 5", "float, regression, 6",
        "double, classification, 7", "double, classification, 8", "double, majorityVote, 9"})
    void tableTreesScoreAsJpmmlDoes(String math, String kind, long seed) throws Exception {
        boolean floats = math.equals("float");
        boolean classification = !kind.equals("regression");
        Random random = new Random(seed);
        String text = pmml(random, floats, kind);
        PMML pmml;
        try (InputStream in = new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8))) {
            pmml = PMMLUtil.unmarshal(in);
        }
        KernelCompiler.Result result = KernelCompiler.compile(pmml, "forest.K" + seed);
        byte[] table = result.resources().get("forest/K" + seed + ".forest");
        assertNotNull(table, "every tree has table splits, so the kernel reads a forest: " + result.resources().keySet());
        Map<String, byte[]> classes = SourceCompiler.compile(result.sources());
        CompiledKernel loader = new CompiledKernel(result, classes);
        Class<?> kernelClass = loader.loadClass("forest.K" + seed);
        Kernel kernel = (Kernel) kernelClass.getDeclaredConstructor().newInstance();
        java.lang.reflect.Field field = kernelClass.getDeclaredField("FOREST");
        field.setAccessible(true);
        Forest forest = (Forest) field.get(null);
        assertEquals(TREES, forest.trees(), "all trees in the table");
        assertNotNull(forest.copies(), "splits followed by their complement have copies without the complement");

        java.nio.file.Path file = java.nio.file.Files.createTempFile("forest", ".pmml");
        java.nio.file.Files.writeString(file, text);
        int answered = 0;
        try (Model reference = Model.loadPmml(file)) {
            double[] in = new double[FEATURES];
            double[] out = new double[kernel.outputCount()];
            for (int row = 0; row < 400; row++) {
                Map<String, Object> values = new HashMap<>();
                for (int f = 0; f < FEATURES; f++) {
                    in[f] = value(random, floats);
                    values.put("x" + f, Double.isNaN(in[f]) ? null : in[f]);
                }
                kernel.score(in, 0, out, 0);
                // the whole forest is walked in depth order (or scanned), parts of it in model order; a row
                // with every input known takes the copies: the same (stored) leaves
                int[] parts = new int[TREES];
                System.arraycopy(forest.leaves(in, 0, 5), 0, parts, 0, 5);
                System.arraycopy(forest.leaves(in, 5, TREES), 0, parts, 5, TREES - 5);
                int[] stored = forest.walked(forest.widen(in), 0, TREES);
                assertArrayEquals(stored, parts, "leaves of row " + java.util.Arrays.toString(in));
                assertArrayEquals(stored, forest.leaves(in, 0, TREES), "leaves of row " + java.util.Arrays.toString(in));
                Map<String, Object> want;
                try {
                    want = reference.score(values);
                } catch (io.jarscore.runtime.ScoringException e) {
                    want = new HashMap<>(); // JPMML predicts nothing for this row
                }
                String what = "row " + row + " " + values;
                if (!classification) {
                    Object y = want.get("y");
                    if (y == null) {
                        assertTrue(Double.isNaN(out[0]), what + ": JPMML predicts nothing, kernel " + out[0]);
                        continue;
                    }
                    double expected = ((Number) y).doubleValue();
                    if (floats) {
                        assertEquals(expected, out[0], 0.0, what);
                    } else {
                        assertEquals(expected, out[0], Math.abs(expected) * 1e-12, what);
                    }
                } else {
                    what += " kernel " + java.util.Arrays.toString(out) + " JPMML " + want;
                    assertEquals(String.valueOf(want.get("y")), CLASSES[(int) out[0]], what);
                    for (int k = 0; k < CLASSES.length; k++) {
                        double expected = ((Number) want.get("p_" + CLASSES[k])).doubleValue();
                        assertEquals(expected, out[1 + k], 1e-12, what + " probability of " + CLASSES[k]);
                    }
                }
                answered++;
            }
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
        assertTrue(answered >= 40, "enough rows get a prediction to compare: " + answered);
    }

    static final int TREES = 13; // not a multiple of the group size: the odd trees take the single-tree path

    /** A value on the grid, one ulp off it, missing, infinite, the largest finite, or anywhere. */
    private static double value(Random random, boolean floats) {
        double g = GRID[random.nextInt(GRID.length)];
        double largest = floats ? Float.MAX_VALUE : Double.MAX_VALUE;
        double x = switch (random.nextInt(10)) {
            case 0, 1, 2 -> g;
            case 3 -> floats ? Math.nextUp((float) g) : Math.nextUp(g);
            case 4 -> floats ? Math.nextDown((float) g) : Math.nextDown(g);
            case 5 -> Double.NaN;
            case 6 -> random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            case 7 -> random.nextBoolean() ? largest : -largest;
            case 8 -> random.nextBoolean() ? -0.0 : random.nextGaussian();
            default -> random.nextGaussian();
        };
        return floats && !Double.isNaN(x) ? (double) (float) x : x;
    }

    private static String pmml(Random random, boolean floats, String kind) {
        boolean classification = !kind.equals("regression");
        String type = floats ? "float" : "double";
        String context = floats ? " x-mathContext=\"float\"" : "";
        String function = classification ? "classification" : "regression";
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\">\n");
        s.append("<Header/>\n<DataDictionary>\n");
        if (classification) {
            s.append("<DataField name=\"y\" optype=\"categorical\" dataType=\"string\">");
            for (String c : CLASSES) {
                s.append("<Value value=\"").append(c).append("\"/>");
            }
            s.append("</DataField>\n");
        } else {
            s.append("<DataField name=\"y\" optype=\"continuous\" dataType=\"").append(type).append("\"/>\n");
        }
        for (int f = 0; f < FEATURES; f++) {
            s.append("<DataField name=\"x").append(f).append("\" optype=\"continuous\" dataType=\"").append(type).append("\"/>\n");
        }
        s.append("</DataDictionary>\n<MiningModel functionName=\"").append(function).append("\"").append(context).append(">\n");
        s.append(schema(true));
        if (classification) {
            s.append("<Output>");
            for (String c : CLASSES) {
                s.append("<OutputField name=\"p_").append(c).append("\" optype=\"continuous\" dataType=\"double\" feature=\"probability\" value=\"")
                    .append(c).append("\"/>");
            }
            s.append("</Output>\n");
        }
        String method = kind.equals("majorityVote") ? "majorityVote" : classification ? "average" : "sum";
        s.append("<Segmentation multipleModelMethod=\"").append(method).append("\" missingPredictionTreatment=\"returnMissing\">\n");
        for (int t = 0; t < TREES; t++) {
            // classification leaves all carry a distribution, so no tree votes "nothing"
            String noTrue = classification || t != 5 ? "returnLastPrediction" : "returnNullPrediction";
            s.append("<Segment id=\"").append(t + 1).append("\"><True/>\n<TreeModel functionName=\"").append(function)
                .append("\" noTrueChildStrategy=\"").append(noTrue).append("\"").append(context).append(">")
                .append(schema(false)).append('\n');
            s.append("<Node").append(score(random, classification)).append("><True/>");
            children(s, random, 4, classification);
            s.append("</Node></TreeModel></Segment>\n");
        }
        s.append("</Segmentation>\n</MiningModel>\n</PMML>\n");
        return s.toString();
    }

    private static String schema(boolean target) {
        StringBuilder s = new StringBuilder("<MiningSchema>");
        if (target) {
            s.append("<MiningField name=\"y\" usageType=\"target\"/>");
        }
        for (int f = 0; f < FEATURES; f++) {
            s.append("<MiningField name=\"x").append(f).append("\"/>");
        }
        return s.append("</MiningSchema>").toString();
    }

    private static String score(Random random, boolean classification) {
        if (!classification) {
            return " score=\"" + Math.round(random.nextGaussian() * 1e6) / 1e6 + "\"";
        }
        int best = random.nextInt(CLASSES.length);
        return " score=\"" + CLASSES[best] + "\"";
    }

    private static void children(StringBuilder s, Random random, int depth, boolean classification) {
        if (classification) {
            distribution(s, random);
        }
        if (depth == 0) {
            return;
        }
        if (random.nextInt(3) == 0) {
            // a split as scikit-learn writes it: a comparison, then its complement
            String[][] complements = {{"lessOrEqual", "greaterThan"}, {"lessThan", "greaterOrEqual"},
                {"greaterThan", "lessOrEqual"}, {"greaterOrEqual", "lessThan"}};
            String[] pair = complements[random.nextInt(complements.length)];
            int f = random.nextInt(FEATURES);
            double t = GRID[random.nextInt(GRID.length)];
            for (String op : pair) {
                s.append("<Node").append(score(random, classification)).append("><SimplePredicate field=\"x").append(f)
                    .append("\" operator=\"").append(op).append("\" value=\"").append(t).append("\"/>");
                children(s, random, random.nextInt(4) == 0 ? 0 : depth - 1, classification);
                s.append("</Node>");
            }
            return;
        }
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            s.append("<Node").append(score(random, classification)).append('>').append(predicate(random));
            children(s, random, random.nextInt(4) == 0 ? 0 : depth - 1, classification);
            s.append("</Node>");
        }
    }

    /** Record counts whose largest is the node's score, as sklearn2pmml writes them. */
    private static void distribution(StringBuilder s, Random random) {
        int at = s.lastIndexOf("score=\"");
        String best = s.substring(at + 7, s.indexOf("\"", at + 7));
        List<String> order = new ArrayList<>(List.of(CLASSES));
        for (String c : order) {
            int count = c.equals(best) ? 50 + random.nextInt(50) : random.nextInt(50);
            s.append("<ScoreDistribution value=\"").append(c).append("\" recordCount=\"").append(count).append("\"/>");
        }
    }

    private static String predicate(Random random) {
        int f = random.nextInt(FEATURES);
        double t = GRID[random.nextInt(GRID.length)];
        String[] operators = {"lessThan", "lessOrEqual", "greaterThan", "greaterOrEqual"};
        String comparison = "<SimplePredicate field=\"x" + f + "\" operator=\"" + operators[random.nextInt(4)]
            + "\" value=\"" + t + "\"/>";
        String missing = "<SimplePredicate field=\"x" + f + "\" operator=\"isMissing\"/>";
        // LightGBM writes "x <= Infinity" for "any known x"; these four have a table form
        String[][] infinite = {{"lessOrEqual", "Infinity"}, {"greaterOrEqual", "-Infinity"},
            {"lessThan", "-Infinity"}, {"greaterThan", "Infinity"}};
        String[] pick = infinite[random.nextInt(infinite.length)];
        return switch (random.nextInt(13)) {
            case 12 -> "<SimplePredicate field=\"x" + f + "\" operator=\"" + pick[0] + "\" value=\"" + pick[1] + "\"/>";
            case 0 -> "<True/>";
            case 1 -> "<False/>";
            case 2 -> "<CompoundPredicate booleanOperator=\"or\">" + missing + comparison + "</CompoundPredicate>";
            case 3 -> "<CompoundPredicate booleanOperator=\"or\">" + comparison + missing + "</CompoundPredicate>";
            default -> comparison;
        };
    }

    @Test
    void aDamagedTableIsRefusedWithAReason() throws Exception {
        // two trees of three nodes, two classes: only the layout matters here
        Forest forest = new Forest(new long[12], new double[]{1, 2, 3, 4, 5, 6}, new int[]{0, 1, 0, 1, 0, 1},
            new double[12], 2, 4, new int[]{0, 3}, new int[]{1, 1});
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        forest.write(out);
        byte[] table = out.toByteArray();

        java.io.ByteArrayOutputStream again = new java.io.ByteArrayOutputStream();
        Forest.parse(table, "t.forest").write(again);
        assertArrayEquals(table, again.toByteArray(), "a table reads back as it was written");

        assertFails(java.util.Arrays.copyOf(table, table.length - 4), "t.forest ends early");
        assertFails(java.util.Arrays.copyOf(table, 12), "t.forest ends early");
        assertFails(java.util.Arrays.copyOf(table, table.length + 3), "3 bytes after its last tree");
        byte[] foreign = table.clone();
        foreign[0] = 'X';
        assertFails(foreign, "is not a jarscore forest");
        byte[] huge = table.clone();
        huge[4] = 0x7f; // a node count no file of this size holds
        assertFails(huge, "t.forest ends early");
    }

    @Test
    void leavesAreStoredApartAndFormatThreeStillReads() throws Exception {
        // one tree, width 2: split x0 <= 0.5 (node 0, successors 1 and 2), two plain leaves with values;
        // a second tree whose leaf is not plain (threshold 1.0) and steps to itself
        int width = 2;
        long leafMeta = (long) (2 * width) << 32;
        long[] node = {
            Double.doubleToRawLongBits(0.5), 1L,
            0L, leafMeta | 1, 0L, leafMeta | 2,
            Double.doubleToRawLongBits(1.0), leafMeta | 3};
        double[] value = {Double.NaN, 1.5, -2.5, 7.0};
        Forest forest = new Forest(node.clone(), value, new int[0], new double[0], 0, width, new int[]{0, 3}, new int[]{1, 0});
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        forest.write(out);
        byte[] table = out.toByteArray();
        // header 24, four bitmaps of one word, two non-plain nodes of 16 bytes, three leaf values, roots and depths
        assertEquals(24 + 4 * 8 + 2 * 16 + 3 * 8 + 2 * 4 + 2 * 4, table.length, "plain leaves and a split's value are not stored");
        Forest read = Forest.parse(table, "t.forest");
        assertArrayEquals(node, read.node, "the walk's table");
        assertArrayEquals(new double[]{Double.NaN, 1.5, -2.5, 7.0}, read.value, "the leaves' values; a split's is not stored");
        assertEquals(1.5 + 7.0, read.sum(new double[]{0.25, 0.0}, 0, 2, 0.0), "a row reaches the same leaves");
        assertEquals(-2.5 + 7.0, read.sum(new double[]{0.75, 0.0}, 0, 2, 0.0));

        // the format before (every node in full) reads into the same forest
        java.io.ByteArrayOutputStream full = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream data = new java.io.DataOutputStream(full);
        for (int x : new int[]{0x4A53_4633, 4, 2, 0, width}) {
            data.writeInt(x);
        }
        for (long x : node) {
            data.writeLong(x);
        }
        for (double x : value) {
            data.writeDouble(x);
        }
        for (int x : new int[]{0, 3, 1, 0}) {
            data.writeInt(x);
        }
        java.io.ByteArrayOutputStream again = new java.io.ByteArrayOutputStream();
        Forest.parse(full.toByteArray(), "old.forest").write(again);
        assertArrayEquals(table, again.toByteArray(), "a format 3 table reads as the same forest");

        // and format 4 (plain leaves as bits, every leaf's value) too
        java.io.ByteArrayOutputStream four = new java.io.ByteArrayOutputStream();
        data = new java.io.DataOutputStream(four);
        for (int x : new int[]{0x4A53_4634, 4, 2, 0, width, 1}) {
            data.writeInt(x);
        }
        data.writeLong(0b0110L); // nodes 1 and 2 are plain leaves
        for (long x : new long[]{node[0], node[1], node[6], node[7]}) {
            data.writeLong(x);
        }
        for (double x : new double[]{1.5, -2.5, 7.0}) {
            data.writeDouble(x);
        }
        for (int x : new int[]{0, 3, 1, 0}) {
            data.writeInt(x);
        }
        again.reset();
        Forest.parse(four.toByteArray(), "old.forest").write(again);
        assertArrayEquals(table, again.toByteArray(), "a format 4 table reads as the same forest");
    }

    @Test
    void complementsAndEmptyLeavesAreNotStored() throws Exception {
        for (int classes : new int[] {0, 3}) {
            // 40 trees as the compiler makes scikit-learn's: 31 splits a tree, each with its complement and
            // an empty leaf after it, and 32 leaves
            Random random = new Random(67 + classes);
            ForestBuilder builder = new ForestBuilder(classes);
            for (int t = 0; t < 40; t++) {
                builder.tree(BlockTest.complementTree(builder, random, 5), 10);
            }
            Forest forest = builder.build(BlockTest.FEATURES);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            forest.write(out);
            byte[] table = out.toByteArray();
            int nodes = 40 * 125;
            int words = (nodes + 63) / 64;
            int perLeaf = classes == 0 ? 8 : 4 + 8 * classes;
            assertEquals(nodes, forest.nodes());
            assertEquals(24 + 4 * 8 * words + 40 * 31 * (16 + 4) + 40 * 32 * perLeaf + 8 * 40, table.length,
                "a split's two longs, its complement's successor and the other leaves' values (" + classes + " classes)");

            Forest read = Forest.parse(table, "t.forest");
            assertArrayEquals(forest.node, read.node, "the walk's table");
            for (int n = 0; n < nodes; n++) {
                if ((int) forest.node[2 * n + 1] == n) { // a leaf: what a walk ends on
                    assertEquals(Double.doubleToRawLongBits(forest.value[n]), Double.doubleToRawLongBits(read.value[n]));
                    if (classes > 0) {
                        assertEquals(forest.label[n], read.label[n]);
                        assertArrayEquals(java.util.Arrays.copyOfRange(forest.probability, n * classes, n * classes + classes),
                            java.util.Arrays.copyOfRange(read.probability, n * classes, n * classes + classes), 0.0);
                    }
                }
            }
            assertTrue(read.copies() != null, "the flag for copies survives");
            java.io.ByteArrayOutputStream again = new java.io.ByteArrayOutputStream();
            read.write(again);
            assertArrayEquals(table, again.toByteArray(), "a table reads back as it was written");

            // a complement said to have a complement of its own; a split said to be a complement
            int complementOfRoot = (int) forest.node[1] + 1;
            assertFails(withBit(table, 24 + 2 * 8 * words, complementOfRoot),
                "is damaged (split " + complementOfRoot + " has no complement of its own after it)");
            assertFails(withBit(table, 24 + 8 * words, 0), "is damaged (split 0 has no complement");
        }
    }

    /** {@code table} with bit {@code n} of the bitmap at {@code offset} set (big-endian longs). */
    private static byte[] withBit(byte[] table, int offset, int n) {
        byte[] changed = table.clone();
        changed[offset + 8 * (n / 64) + 7 - (n % 64) / 8] |= (byte) (1 << (n % 8));
        return changed;
    }

    private static void assertFails(byte[] table, String message) {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> Forest.parse(table, "t.forest"));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
