package jarscore.spark;

import java.util.Map;

import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;

import io.jarscore.spark.ArtifactLocation;
import io.jarscore.spark.LoadedArtifact;
import io.jarscore.spark.ModelCache;
import io.jarscore.spark.OutputLayout;
import io.jarscore.spark.ScoringPlan;
import io.jarscore.spark.StringMapParam;

/**
 * A Spark ML stage that scores a jarscore artifact inside the executors' JVMs:
 * <pre>{@code
 * Dataset<Row> scored = new ArtifactTransformer().setArtifact("/shared/artifacts/churn/3").transform(frame);
 * }</pre>
 * Each input field of the model is read from the column of the same name (or as {@link #setColumnMap}
 * renames it); each result field of the model (the target, then its output fields such as the class
 * probabilities) becomes a column, followed by the model's version and an error column that holds the
 * message of a row that could not be scored (its results are null). A null or NaN cell is a missing
 * value. Each executor loads the artifact once, checked as {@code Models.load} checks it, and scores
 * each partition through the fast kernel in blocks of rows.
 *
 * <p>The class lives in the package {@code jarscore.spark} because PySpark finds the Python wrapper of a
 * Java stage by the Java class's name: this one is {@code jarscore.spark.ArtifactTransformer} in Python
 * too, so a {@code PipelineModel} holding it loads in PySpark as well as in Scala and Java.
 */
public class ArtifactTransformer extends Transformer implements DefaultParamsWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;

    // Created in the constructor, after the uid: a Param records its parent's uid when it is made.
    private final Param<String> artifact;
    private final StringMapParam columnMap;
    private final StringMapParam outputColumns;
    private final Param<String> outputPrefix;
    private final Param<String> probabilityCol;
    private final Param<String> versionCol;
    private final Param<String> errorCol;
    private final BooleanParam failOnError;
    private final BooleanParam useKernel;

    public ArtifactTransformer() {
        this(Identifiable$.MODULE$.randomUID("artifactTransformer"));
    }

    public ArtifactTransformer(String uid) {
        this.uid = uid;
        this.artifact = new Param<>(this, "artifact",
            "the artifact directory (written by 'jarscore convert') on a path every executor reads, or spark-files://NAME"
                + " for one shipped with sparkContext.addFile(dir, true)");
        this.columnMap = new StringMapParam(this, "columnMap",
            "model input field -> DataFrame column, for the fields whose column has another name");
        this.outputColumns = new StringMapParam(this, "outputColumns",
            "model result field -> output column name, for the results to name otherwise than outputPrefix + field");
        this.outputPrefix = new Param<>(this, "outputPrefix",
            "prefix of each result field's column name");
        this.probabilityCol = new Param<>(this, "probabilityCol",
            "when set, the class probabilities go into one vector column of this name (in the classes' order) instead"
                + " of a column each");
        this.versionCol = new Param<>(this, "versionCol",
            "column holding the model's version (empty: none)");
        this.errorCol = new Param<>(this, "errorCol",
            "column holding why a row could not be scored, null for the rows that were (empty: none; needs failOnError)");
        this.failOnError = new BooleanParam(this, "failOnError",
            "fail the job at the first row that cannot be scored, with its message, instead of filling errorCol");
        this.useKernel = new BooleanParam(this, "useKernel",
            "score through the fast kernel when it is active (false: every row through JPMML-Evaluator)");
        setDefault(columnMap, Map.of());
        setDefault(outputColumns, Map.of());
        setDefault(outputPrefix, "");
        setDefault(probabilityCol, "");
        setDefault(versionCol, "modelVersion");
        setDefault(errorCol, "scoringError");
        setDefault(failOnError, false);
        setDefault(useKernel, true);
    }

    @Override
    public String uid() {
        return uid;
    }

    // parameters -----------------------------------------------------------------------------------

    public Param<String> artifact() {
        return artifact;
    }

    public StringMapParam columnMap() {
        return columnMap;
    }

    public StringMapParam outputColumns() {
        return outputColumns;
    }

    public Param<String> outputPrefix() {
        return outputPrefix;
    }

    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public Param<String> versionCol() {
        return versionCol;
    }

    public Param<String> errorCol() {
        return errorCol;
    }

    public BooleanParam failOnError() {
        return failOnError;
    }

    public BooleanParam useKernel() {
        return useKernel;
    }

    public String getArtifact() {
        return $(artifact);
    }

    public ArtifactTransformer setArtifact(String value) {
        set(artifact, value);
        return this;
    }

    public Map<String, String> getColumnMap() {
        return $(columnMap);
    }

    public ArtifactTransformer setColumnMap(Map<String, String> value) {
        set(columnMap, Map.copyOf(value));
        return this;
    }

    public Map<String, String> getOutputColumns() {
        return $(outputColumns);
    }

    public ArtifactTransformer setOutputColumns(Map<String, String> value) {
        set(outputColumns, Map.copyOf(value));
        return this;
    }

    public String getOutputPrefix() {
        return $(outputPrefix);
    }

    public ArtifactTransformer setOutputPrefix(String value) {
        set(outputPrefix, value);
        return this;
    }

    public String getProbabilityCol() {
        return $(probabilityCol);
    }

    public ArtifactTransformer setProbabilityCol(String value) {
        set(probabilityCol, value);
        return this;
    }

    public String getVersionCol() {
        return $(versionCol);
    }

    public ArtifactTransformer setVersionCol(String value) {
        set(versionCol, value);
        return this;
    }

    public String getErrorCol() {
        return $(errorCol);
    }

    public ArtifactTransformer setErrorCol(String value) {
        set(errorCol, value);
        return this;
    }

    public boolean getFailOnError() {
        return (Boolean) $(failOnError);
    }

    public ArtifactTransformer setFailOnError(boolean value) {
        set(failOnError, value);
        return this;
    }

    public boolean getUseKernel() {
        return (Boolean) $(useKernel);
    }

    public ArtifactTransformer setUseKernel(boolean value) {
        set(useKernel, value);
        return this;
    }

    // scoring --------------------------------------------------------------------------------------

    /** The artifact as this JVM (the driver) loaded it: name, version, fields, kernel. */
    public LoadedArtifact loaded() {
        return ModelCache.get(ArtifactLocation.resolve(isDefined(artifact) ? getArtifact() : null), getUseKernel());
    }

    /** "active" when rows go through the fast kernel, else why they go through JPMML-Evaluator. */
    public String kernelStatus() {
        return loaded().model().kernelStatus();
    }

    /**
     * Rows this JVM's copy of the model has scored through the kernel: proof that the fast path ran
     * (in local mode the driver's JVM runs the tasks too).
     */
    public long kernelRowsScored() {
        return loaded().model().kernelRowsScored();
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return plan(schema).outputSchema(schema);
    }

    /** Checks the columns against the model's fields (throws IllegalArgumentException naming them). */
    private ScoringPlan plan(StructType schema) {
        LoadedArtifact loaded = loaded();
        if (!getFailOnError() && getErrorCol().isEmpty()) {
            throw new IllegalArgumentException("errorCol is empty and failOnError is false: a row that cannot be"
                + " scored would come out with no results and no word why; set errorCol, or failOnError");
        }
        OutputLayout outputs = new OutputLayout(loaded.model().resultFields(), loaded.probabilityFields(),
            getOutputColumns(), getOutputPrefix(), getProbabilityCol(), getVersionCol(), getErrorCol());
        return ScoringPlan.build(schema, getArtifact(), loaded, getColumnMap(), outputs, getUseKernel(), getFailOnError());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType schema = dataset.schema();
        ScoringPlan plan = plan(schema);
        if (!(dataset instanceof org.apache.spark.sql.classic.Dataset<?> classic)) {
            throw new UnsupportedOperationException("ArtifactTransformer scores in the executors' JVMs, which a Spark"
                + " Connect client does not reach (got a " + dataset.getClass().getName() + "); run it on the server,"
                + " in a classic session");
        }
        RDD<InternalRow> rows = classic.queryExecution().toRdd();
        JavaRDD<InternalRow> scored = rows.toJavaRDD().mapPartitions(plan);
        return classic.sparkSession().internalCreateDataFrame(scored.rdd(), plan.outputSchema(schema), false);
    }

    @Override
    public ArtifactTransformer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    // saving and loading ---------------------------------------------------------------------------

    public static MLReader<ArtifactTransformer> read() {
        return new DefaultParamsReader<>();
    }

    public static ArtifactTransformer load(String path) {
        return read().load(path);
    }

    /**
     * Ships the artifact directory {@code dir} with the jobs of {@code sc} (every executor gets a copy in
     * its {@code SparkFiles} folder) and returns what to set as the artifact: {@code spark-files://NAME}.
     */
    public static String ship(SparkContext sc, String dir) {
        return ArtifactLocation.ship(sc, dir);
    }
}
