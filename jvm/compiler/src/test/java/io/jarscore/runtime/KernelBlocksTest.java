package io.jarscore.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import io.jarscore.kernel.BlockKernel;
import io.jarscore.kernel.CompiledKernel;
import io.jarscore.kernel.Kernel;
import io.jarscore.kernel.KernelCompiler;
import io.jarscore.kernel.SourceCompiler;
import io.jarscore.kernel.Vectorization;
import org.dmg.pmml.PMML;
import org.jpmml.model.PMMLUtil;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Generated kernels of real models score a batch ({@link Kernel#scoreRange}, blocks of rows through
 * the forest) exactly as they score its rows one by one: LightGBM (scanned; binary, multiclass, with
 * missing values), XGBoost (walked, float32 sums), random forests (classification leaves) and
 * gradient boosting. The rows are the corpus case's, and as many again with cells swapped between
 * rows and made missing. Surefire runs it with and without the Vector API (see BlockTest).
 */
class KernelBlocksTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"LightGBMIris", "LightGBMAuto", "LightGBMAutoNA", "XGBoostIris", "RandomForestIris"})
    void aBatchScoresAsItsRowsOneByOne(String name) throws Exception {
        Corpus.Case testCase = Corpus.get(name);
        PMML pmml;
        try (InputStream in = Files.newInputStream(testCase.pmml())) {
            pmml = PMMLUtil.unmarshal(in);
        }
        Kernel kernel = load(KernelCompiler.compile(pmml, "jarscore.blocks." + name));
        assertInstanceOf(BlockKernel.class, kernel, "a kernel with a forest scores blocks");
        double[] in = rows(kernel, Corpus.readCsv(testCase.input()), new Random(name.hashCode()));
        int n = kernel.inputCount();
        int m = kernel.outputCount();
        int rows = in.length / n;
        double[] batch = new double[rows * m];
        kernel.scoreRange(in, 0, rows, batch);
        double[] one = new double[rows * m];
        for (int r = 0; r < rows; r++) {
            kernel.score(in, r * n, one, r * m);
        }
        for (int r = 0; r < rows; r++) {
            assertArrayEquals(Arrays.copyOfRange(one, r * m, r * m + m), Arrays.copyOfRange(batch, r * m, r * m + m), 0.0,
                name + " row " + r + " " + Arrays.toString(Arrays.copyOfRange(in, r * n, r * n + n)) + " ("
                    + Vectorization.describe() + ")");
        }
    }

    /** The case's rows in the kernel's encoding, then as many mixed from them, a tenth of the cells missing. */
    private static double[] rows(Kernel kernel, Corpus.Table table, Random random) {
        String[] names = kernel.inputNames();
        String[][] codes = kernel.inputCategories();
        int n = names.length;
        int given = table.rows().size();
        double[] in = new double[2 * given * n];
        for (int r = 0; r < given; r++) {
            for (int c = 0; c < n; c++) {
                String cell = table.rows().get(r)[table.column(names[c])];
                in[r * n + c] = cell == null ? Double.NaN : codes[c] == null ? Double.parseDouble(cell)
                    : codeOf(codes[c], cell);
            }
        }
        for (int r = given; r < 2 * given; r++) {
            for (int c = 0; c < n; c++) {
                in[r * n + c] = random.nextInt(10) == 0 ? Double.NaN : in[random.nextInt(given) * n + c];
            }
        }
        return in;
    }

    private static double codeOf(String[] table, String value) {
        int code = List.of(table).indexOf(value);
        return code < 0 ? Kernel.UNKNOWN : code;
    }

    /** The kernel's classes and tables, loaded in a class loader of their own. */
    private static Kernel load(KernelCompiler.Result result) throws Exception {
        return new CompiledKernel(result, SourceCompiler.compile(result.sources())).load(result.className());
    }
}
