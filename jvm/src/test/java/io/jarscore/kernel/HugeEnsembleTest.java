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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 5 000-tree ensemble (depth 4, 16 leaves each) compiles, keeps every method under HotSpot's
 * 8000-byte limit for JIT compilation and every class under the constant-pool limit, and scores as
 * JPMML-Evaluator does.
 */
class HugeEnsembleTest {

    static final int TREES = 5000;
    static final int FEATURES = 20;

    @Test
    void fiveThousandTreesCompileWithinHotSpotLimitsAndAgree(@TempDir Path tmp) throws Exception {
        Path pmmlFile = tmp.resolve("model.pmml");
        Files.writeString(pmmlFile, syntheticPmml(new Random(5)));
        PMML pmml;
        try (InputStream in = Files.newInputStream(pmmlFile)) {
            pmml = PMMLUtil.unmarshal(in);
        }
        KernelCompiler.Result result = KernelCompiler.compile(pmml, "huge.HugeKernel");
        Map<String, byte[]> classes = SourceCompiler.compile(result.sources());
        assertTrue(classes.size() > 2, "trees spread over several classes: " + classes.keySet());
        int largestMethod = 0;
        for (Map.Entry<String, byte[]> e : classes.entrySet()) {
            ClassSizes sizes = ClassSizes.read(e.getValue());
            assertTrue(sizes.constantPoolCount < 65535, e.getKey() + ": constant pool " + sizes.constantPoolCount);
            assertTrue(sizes.largestMethod < 8000, e.getKey() + ": a method of " + sizes.largestMethod + " bytes");
            largestMethod = Math.max(largestMethod, sizes.largestMethod);
        }
        assertTrue(largestMethod > 100, "the parser found the methods' code");

        ClassLoader loader = new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                byte[] bytes = classes.get(name.replace('.', '/') + ".class");
                if (bytes == null) {
                    throw new ClassNotFoundException(name);
                }
                return defineClass(name, bytes, 0, bytes.length);
            }
        };
        Kernel kernel = (Kernel) loader.loadClass("huge.HugeKernel").getDeclaredConstructor().newInstance();
        try (Model reference = Model.loadPmml(pmmlFile)) {
            Random random = new Random(11);
            double[] in = new double[FEATURES];
            double[] out = new double[kernel.outputCount()];
            for (int row = 0; row < 30; row++) {
                Map<String, Object> values = new HashMap<>();
                for (int f = 0; f < FEATURES; f++) {
                    in[f] = row % 5 == 0 && f % 3 == 0 ? Double.NaN : random.nextGaussian();
                    values.put("x" + f, Double.isNaN(in[f]) ? null : in[f]);
                }
                kernel.score(in, 0, out, 0);
                double expected = ((Number) reference.score(values).get("y")).doubleValue();
                assertEquals(expected, out[0], Math.abs(expected) * 1e-12, "row " + row);
            }
        }
    }

    /** A LightGBM-shaped regression: a sum of depth-5 trees with missing values sent left. */
    static String syntheticPmml(Random random) {
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
            node(s, random, 4);
            s.append("</Node></TreeModel></Segment>\n");
        }
        s.append("</Segmentation>\n</MiningModel>\n</PMML>\n");
        return s.toString();
    }

    private static void node(StringBuilder s, Random random, int depth) {
        int field = random.nextInt(FEATURES);
        double threshold = Math.round(random.nextGaussian() * 100) / 100.0;
        double left = random.nextGaussian() * 0.01;
        double right = random.nextGaussian() * 0.01;
        // LightGBM's encoding: the left child takes the missing values as well.
        s.append("<Node score=\"").append(left).append("\"><CompoundPredicate booleanOperator=\"or\">")
            .append("<SimplePredicate field=\"x").append(field).append("\" operator=\"isMissing\"/>")
            .append("<SimplePredicate field=\"x").append(field).append("\" operator=\"lessOrEqual\" value=\"")
            .append(threshold).append("\"/></CompoundPredicate>");
        if (depth > 1) {
            node(s, random, depth - 1);
        }
        s.append("</Node><Node score=\"").append(right).append("\"><SimplePredicate field=\"x").append(field)
            .append("\" operator=\"greaterThan\" value=\"").append(threshold).append("\"/>");
        if (depth > 1) {
            node(s, random, depth - 1);
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
