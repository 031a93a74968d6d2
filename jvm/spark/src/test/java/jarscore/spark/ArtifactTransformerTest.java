package jarscore.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jarscore.registry.TestRepository;

/**
 * The stage on a local SparkSession (local[2]) over a real artifact (the Iris logistic regression of
 * the conformance corpus, which has a fast kernel and takes no missing values): results equal to the
 * model scored in-process, row by row; bad rows in the error column; failOnError; save and load.
 */
class ArtifactTransformerTest {

    private static final String[] INPUTS = {"Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"};
    private static final String[] CLASSES = {"setosa", "versicolor", "virginica"};

    private static SparkSession spark;
    private static Path root;
    private static String artifact;
    private static List<Map<String, Object>> rows;
    private static List<Map<String, Object>> expected;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("jarscore-spark-test-");
        artifact = TestRepository.publish(root, 2).toString();
        rows = TestRepository.irisRows();
        expected = TestRepository.expectedOutputs(2);
        spark = SparkSession.builder().master("local[2]").appName("jarscore-spark-test")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "3")
            .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        TestRepository.deleteTree(root);
    }

    /** The Iris rows in three partitions, with an id column (the row's position) to sort by. */
    private static Dataset<Row> iris() {
        StructType schema = new StructType().add("id", DataTypes.IntegerType);
        for (String input : INPUTS) {
            schema = schema.add(input, DataTypes.DoubleType);
        }
        List<Row> data = new ArrayList<>();
        for (int r = 0; r < rows.size(); r++) {
            Object[] cells = new Object[INPUTS.length + 1];
            cells[0] = r;
            for (int c = 0; c < INPUTS.length; c++) {
                cells[c + 1] = rows.get(r).get(INPUTS[c]);
            }
            data.add(RowFactory.create(cells));
        }
        return spark.createDataFrame(data, schema).repartition(3);
    }

    private static List<Row> sorted(Dataset<Row> frame) {
        List<Row> collected = new ArrayList<>(frame.collectAsList());
        collected.sort(Comparator.comparingInt(row -> row.getInt(row.fieldIndex("id"))));
        return collected;
    }

    private static void assertScoredLikeInProcess(Row row, int r) {
        Map<String, Object> want = expected.get(r);
        assertNull(row.getAs("scoringError"), "row " + r);
        assertEquals(want.get("Species"), row.getAs("Species"), "row " + r);
        for (String label : CLASSES) {
            String field = "probability(" + label + ")";
            assertEquals((Double) want.get(field), row.<Double>getAs(field), 1e-12, "row " + r + " " + field);
        }
    }

    @Test
    void scoresEveryPartitionThroughTheKernelAsTheModelScoresInProcess() {
        ArtifactTransformer stage = new ArtifactTransformer().setArtifact(artifact);
        assertEquals("active", stage.kernelStatus());
        long before = stage.kernelRowsScored();
        Dataset<Row> frame = iris();
        assertEquals(3, frame.rdd().getNumPartitions());

        Dataset<Row> scored = stage.transform(frame);

        assertEquals(stage.transformSchema(frame.schema()), scored.schema());
        List<Row> result = sorted(scored);
        assertEquals(rows.size(), result.size());
        for (int r = 0; r < result.size(); r++) {
            assertScoredLikeInProcess(result.get(r), r);
            assertEquals(2, result.get(r).<Integer>getAs("modelVersion"));
        }
        assertTrue(stage.kernelRowsScored() - before >= rows.size(), "the kernel scored the rows");
    }

    @Test
    void theJpmmlPathGivesTheSameResults() {
        List<Row> result = sorted(new ArtifactTransformer().setArtifact(artifact).setUseKernel(false).transform(iris()));
        for (int r = 0; r < result.size(); r++) {
            assertScoredLikeInProcess(result.get(r), r);
        }
    }

    /** Row 0 fine, row 1 text in a numeric column, row 2 a null the model cannot take, row 3 fine. */
    private static Dataset<Row> badRows() {
        StructType schema = new StructType().add("id", DataTypes.IntegerType)
            .add("Sepal.Length", DataTypes.StringType).add("Sepal.Width", DataTypes.DoubleType)
            .add("Petal.Length", DataTypes.DoubleType).add("Petal.Width", DataTypes.DoubleType);
        List<Row> data = List.of(
            RowFactory.create(0, "5.1", 3.5, 1.4, 0.2),
            RowFactory.create(1, "wide", 3.5, 1.4, 0.2),
            RowFactory.create(2, "5.1", 3.5, 1.4, null),
            RowFactory.create(3, "5.1", 3.5, 1.4, 0.2));
        return spark.createDataFrame(data, schema).repartition(2);
    }

    @Test
    void aBadRowGetsAMessageNamingTheFieldAndTheOtherRowsAreScored() {
        List<Row> result = sorted(new ArtifactTransformer().setArtifact(artifact).transform(badRows()));

        String text = result.get(1).getAs("scoringError");
        assertTrue(text.contains("'Sepal.Length'") && text.contains("'wide'"), text);
        String missing = result.get(2).getAs("scoringError");
        assertTrue(missing.contains("'Petal.Width'"), missing);
        for (int r : new int[]{1, 2}) {
            assertNull(result.get(r).getAs("Species"));
            assertNull(result.get(r).getAs("probability(setosa)"));
        }
        assertScoredLikeInProcess(result.get(0), 0);
        assertScoredLikeInProcess(result.get(3), 0);
    }

    @Test
    void failOnErrorFailsTheJobWithTheMessage() {
        ArtifactTransformer stage = new ArtifactTransformer().setArtifact(artifact).setFailOnError(true);
        Exception failure = assertThrows(Exception.class, () -> stage.transform(badRows()).collectAsList());
        String text = String.valueOf(failure.getMessage());
        assertTrue(text.contains("'wide'") || text.contains("'Petal.Width'"), text);
    }

    @Test
    void savesAndLoadsInsideAPipelineModelWithItsParameters() throws Exception {
        Dataset<Row> frame = iris().withColumnRenamed("Petal.Width", "petal_width");
        ArtifactTransformer stage = new ArtifactTransformer().setArtifact(artifact)
            .setColumnMap(Map.of("Petal.Width", "petal_width")).setProbabilityCol("probability").setVersionCol("");
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[]{stage}).fit(frame);
        String saved = root.resolve("pipeline").toString();
        fitted.write().save(saved);

        PipelineModel loaded = PipelineModel.load(saved);
        ArtifactTransformer restored = assertInstanceOf(ArtifactTransformer.class, loaded.stages()[0]);
        assertEquals(Map.of("Petal.Width", "petal_width"), restored.getColumnMap());
        assertEquals("probability", restored.getProbabilityCol());
        List<Row> result = sorted(loaded.transform(frame));
        assertEquals(List.of("id", "Sepal.Length", "Sepal.Width", "Petal.Length", "petal_width", "Species",
            "probability", "scoringError"), List.of(result.get(0).schema().fieldNames()));
        for (int r = 0; r < result.size(); r++) {
            Vector probabilities = result.get(r).getAs("probability");
            for (int k = 0; k < CLASSES.length; k++) {
                assertEquals((Double) expected.get(r).get("probability(" + CLASSES[k] + ")"), probabilities.apply(k), 1e-12);
            }
        }

        stage.save(root.resolve("stage").toString());
        assertEquals(artifact, ArtifactTransformer.load(root.resolve("stage").toString()).getArtifact());
    }

    @Test
    void columnsTheModelCannotUseAreRefusedWithTheirNames() {
        ArtifactTransformer stage = new ArtifactTransformer().setArtifact(artifact);
        Exception missing = assertThrows(IllegalArgumentException.class,
            () -> stage.transform(iris().drop("Petal.Length")));
        assertTrue(missing.getMessage().contains("'Petal.Length'"), missing.getMessage());
        Exception clash = assertThrows(IllegalArgumentException.class,
            () -> stage.transform(iris().withColumn("Species", functions.lit("setosa"))));
        assertTrue(clash.getMessage().contains("'Species'"), clash.getMessage());
    }
}
