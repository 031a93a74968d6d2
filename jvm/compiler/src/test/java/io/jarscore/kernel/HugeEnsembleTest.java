package io.jarscore.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import io.jarscore.runtime.Model;
import org.dmg.pmml.PMML;
import org.jpmml.model.PMMLUtil;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A 5 000-tree ensemble (depth 4, 16 leaves each) compiles, keeps every method under HotSpot's
 * 8000-byte limit for JIT compilation and every class under the constant-pool limit, and scores as
 * JPMML-Evaluator does: once with LightGBM's "or isMissing" splits, which become a {@link Forest}
 * table, and once with surrogate splits, which only the generated if/else code handles.
 */
class HugeEnsembleTest {

    static final int TREES = 5000;
    static final int FEATURES = 20;

    @ParameterizedTest(name = "table form: {0}")
    @ValueSource(booleans = {true, false})
    void fiveThousandTreesCompileWithinHotSpotLimitsAndAgree(boolean tableForm, @TempDir Path tmp) throws Exception {
        Path pmmlFile = tmp.resolve("model.pmml");
        Files.writeString(pmmlFile, syntheticPmml(new Random(5), tableForm));
        PMML pmml;
        try (InputStream in = Files.newInputStream(pmmlFile)) {
            pmml = PMMLUtil.unmarshal(in);
        }
        KernelCompiler.Result result = KernelCompiler.compile(pmml, "huge.HugeKernel");
        Map<String, byte[]> classes = SourceCompiler.compile(result.sources());
        byte[] table = result.resources().get("huge/HugeKernel.forest");
        if (tableForm) {
            assertTrue(table != null && table.length > TREES * 31 * 16, "all trees in the forest table: " + result.resources().keySet());
        } else {
            assertEquals(null, table, "surrogate splits are not table splits");
            assertTrue(classes.size() > 2, "trees spread over several classes: " + classes.keySet());
        }
        int largestMethod = 0;
        for (Map.Entry<String, byte[]> e : classes.entrySet()) {
            ClassSizes sizes = ClassSizes.read(e.getValue());
            assertTrue(sizes.constantPoolCount < 65535, e.getKey() + ": constant pool " + sizes.constantPoolCount);
            assertTrue(sizes.largestMethod < 8000, e.getKey() + ": a method of " + sizes.largestMethod + " bytes");
            largestMethod = Math.max(largestMethod, sizes.largestMethod);
        }
        assertTrue(largestMethod > 100, "the parser found the methods' code");

        CompiledKernel loader = new CompiledKernel(result, classes);
        Kernel kernel = loader.load("huge.HugeKernel");
        try (Model reference = Model.loadPmml(pmmlFile)) {
            Random random = new Random(11);
            double[] in = new double[FEATURES];
            double[] out = new double[kernel.outputCount()];
            for (int row = 0; row < 40; row++) {
                Map<String, Object> values = new HashMap<>();
                for (int f = 0; f < FEATURES; f++) {
                    // every 4th row sits on the thresholds' grid (steps of 0.01), where <= and > part
                    in[f] = row % 5 == 0 && f % 3 == 0 ? Double.NaN
                        : row % 4 == 1 ? Math.round(random.nextGaussian() * 100) / 100.0 : random.nextGaussian();
                    values.put("x" + f, Double.isNaN(in[f]) ? null : in[f]);
                }
                kernel.score(in, 0, out, 0);
                double expected = ((Number) reference.score(values).get("y")).doubleValue();
                assertEquals(expected, out[0], Math.abs(expected) * 1e-12, "row " + row);
            }
        }
    }

    /** A LightGBM-shaped regression: a sum of depth-5 trees with missing values sent left. */
    static String syntheticPmml(Random random, boolean tableForm) {
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\">\n");
        s.append("<Header/>\n<DataDictionary>\n<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/>\n");
        for (int f = 0; f < FEATURES; f++) {
            s.append("<DataField name=\"x").append(f).append("\" optype=\"continuous\" dataType=\"double\"/>\n");
        }
        s.append("</DataDictionary>\n<MiningModel functionName=\"regression\">\n<MiningSchema>\n");
        s.append("<MiningField name=\"y\" usageType=\"target\"/>\n");
        for (int f = 0; f < FEATURES; f++) {
            s.append("<MiningField name=\"x").append(f).append("\"/>\n");
        }
        s.append("</MiningSchema>\n<Segmentation multipleModelMethod=\"sum\" missingPredictionTreatment=\"returnMissing\">\n");
        for (int t = 0; t < TREES; t++) {
            s.append("<Segment id=\"").append(t + 1).append("\"><True/>\n");
            s.append("<TreeModel functionName=\"regression\" noTrueChildStrategy=\"returnLastPrediction\"><MiningSchema>");
            for (int f = 0; f < FEATURES; f++) {
                s.append("<MiningField name=\"x").append(f).append("\"/>");
            }
            s.append("</MiningSchema>\n<Node score=\"0\"><True/>");
            node(s, random, 4, tableForm);
            s.append("</Node></TreeModel></Segment>\n");
        }
        s.append("</Segmentation>\n</MiningModel>\n</PMML>\n");
        return s.toString();
    }

    private static void node(StringBuilder s, Random random, int depth, boolean tableForm) {
        int field = random.nextInt(FEATURES);
        double threshold = Math.round(random.nextGaussian() * 100) / 100.0;
        double left = random.nextGaussian() * 0.01;
        double right = random.nextGaussian() * 0.01;
        // LightGBM's encoding: the left child takes the missing values as well. The surrogate form
        // means the same (a missing value falls through to True).
        String missing = tableForm ? "<SimplePredicate field=\"x" + field + "\" operator=\"isMissing\"/>" : "";
        String comparison = "<SimplePredicate field=\"x" + field + "\" operator=\"lessOrEqual\" value=\"" + threshold + "\"/>";
        s.append("<Node score=\"").append(left).append("\"><CompoundPredicate booleanOperator=\"")
            .append(tableForm ? "or" : "surrogate").append("\">")
            .append(tableForm ? missing + comparison : comparison + "<True/>").append("</CompoundPredicate>");
        if (depth > 1) {
            node(s, random, depth - 1, tableForm);
        }
        s.append("</Node><Node score=\"").append(right).append("\"><SimplePredicate field=\"x").append(field)
            .append("\" operator=\"greaterThan\" value=\"").append(threshold).append("\"/>");
        if (depth > 1) {
            node(s, random, depth - 1, tableForm);
        }
        s.append("</Node>");
    }

    /** The two numbers of a class file this test checks, read straight from the bytes (JVMS chapter 4). */
    static final class ClassSizes {
        int constantPoolCount;
        int largestMethod;

        static ClassSizes read(byte[] bytes) throws IOException {
            ClassSizes sizes = new ClassSizes();
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            in.readInt();
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            sizes.constantPoolCount = count;
            String[] utf8 = new String[count];
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> utf8[i] = in.readUTF();
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipBytes(4);
                    case 5, 6 -> {
                        in.skipBytes(8);
                        i++;
                    }
                    case 7, 8, 16, 19, 20 -> in.skipBytes(2);
                    case 15 -> in.skipBytes(3);
                    default -> throw new IOException("unknown constant tag " + tag);
                }
            }
            in.skipBytes(6);
            in.skipBytes(2 * in.readUnsignedShort());
            for (int kind = 0; kind < 2; kind++) { // fields, then methods
                int members = in.readUnsignedShort();
                for (int m = 0; m < members; m++) {
                    in.skipBytes(6);
                    int attributes = in.readUnsignedShort();
                    for (int a = 0; a < attributes; a++) {
                        String name = utf8[in.readUnsignedShort()];
                        int length = in.readInt();
                        if (kind == 1 && "Code".equals(name)) {
                            in.skipBytes(4);
                            int code = in.readInt();
                            sizes.largestMethod = Math.max(sizes.largestMethod, code);
                            in.skipBytes(length - 8);
                        } else {
                            in.skipBytes(length);
                        }
                    }
                }
            }
            return sizes;
        }
    }
}
