"""Batch scoring on Spark (PySpark, local[2], one session for the module): parity with the native
libraries on held-out rows scored from DataFrames of several partitions, bad rows in the error
column, failOnError, the stage saved and loaded inside a PipelineModel, and an artifact shipped to
the executors with addFile."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark import SparkFiles
from pyspark.ml import Pipeline, PipelineModel
from pyspark.sql import SparkSession

from jarscore import Scorer
from jarscore.converter.kinds import identify
from jarscore.converter.parity import native_frame
from jarscore.errors import ArtifactError, InputError
from jarscore.spark import ArtifactTransformer, jars, ship
PARTITIONS = 3
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def spark():
    session = (SparkSession.builder.master("local[2]").appName("jarscore-tests")
               .config("spark.jars", ",".join(jars()))
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", str(PARTITIONS))
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_frame(spark, frame: pd.DataFrame):
    """The rows as a DataFrame of PARTITIONS partitions with an ``id`` column (the row's position) to
    sort by; every other missing number is a null, the rest NaN: both are missing values."""
    fields, columns = ["id long"], [list(range(len(frame)))]
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
            fields.append(f"`{name}` double")
            column = [float(v) for v in values]
            seen = 0
            for i, v in enumerate(column):
                if math.isnan(v):
                    seen += 1
                    column[i] = None if seen % 2 else v
            columns.append(column)
        else:
            fields.append(f"`{name}` string")
            columns.append([None if pd.isna(v) else str(v) for v in values])
    rows = list(zip(*columns))
    return spark.createDataFrame(rows, ", ".join(fields)).repartition(PARTITIONS)


def collected(frame) -> pd.DataFrame:
    return pd.DataFrame([row.asDict() for row in frame.collect()]).sort_values("id").reset_index(drop=True)


def test_jars_are_the_wheels_own_files():
    paths = jars()
    assert paths[0].split("/")[-1].startswith("jarscore-spark-")
    assert any(p.split("/")[-1].startswith("jarscore-runtime-") for p in paths)
    assert all(p.endswith(".jar") for p in paths)
    # Spark brings its own: a second Spark or Jackson on spark.jars would shadow nothing but confuse
    assert not any("/spark-" in p or "jackson" in p for p in paths)
    # nor anything the runtime does not need that Maven mediates in from Spark's tree (Netty, Scala)
    assert not any("netty" in p or "scala" in p for p in paths)


def test_jars_works_without_pyspark_and_the_stage_says_what_to_install():
    script = ("import sys; sys.modules['pyspark'] = None\n"  # as if pyspark were not installed
              "import jarscore.spark\n"
              "print(len(jarscore.spark.jars()))\n"
              "from jarscore.spark import ArtifactTransformer\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and int(done.stdout) == len(jars())
    assert "ArtifactTransformer needs pyspark 4.0 or newer: pip install 'jarscore[spark]'" in done.stderr


def test_lightgbm_with_a_categorical_and_missing_values_matches_lightgbm(spark, zoo_artifact):
    model, held_out, folder = zoo_artifact("lightgbm-categorical")
    assert held_out.isna().any().any() and isinstance(held_out["colour"].dtype, pd.CategoricalDtype)
    stage = ArtifactTransformer(artifact=str(folder))
    assert stage.kernelStatus() == "active"
    before = stage.kernelRowsScored()
    frame = spark_frame(spark, held_out)
    assert frame.rdd.getNumPartitions() == PARTITIONS

    scored = collected(stage.transform(frame))

    expected = model.predict(held_out)
    tolerance = identify(model).tolerance
    np.testing.assert_allclose(scored["_target"], expected, rtol=tolerance, atol=tolerance)
    assert scored["scoringError"].isna().all()
    assert (scored["modelVersion"] == 1).all()
    assert stage.kernelRowsScored() - before >= len(held_out)  # the fast path scored them, in blocks


def test_xgboost_matches_xgboost_with_probabilities_as_a_vector(spark, zoo_artifact):
    model, held_out, folder = zoo_artifact("xgboost-binary")
    stage = ArtifactTransformer(artifact=str(folder), probabilityCol="probability", versionCol="")

    scored = collected(stage.transform(spark_frame(spark, held_out)))

    assert "modelVersion" not in scored and "probability(1)" not in scored
    native_X = native_frame(model, held_out, Scorer.load(folder))
    tolerance = identify(model).tolerance
    np.testing.assert_array_equal(scored["_target"], model.predict(native_X))
    probabilities = np.array([v.toArray() for v in scored["probability"]])
    np.testing.assert_allclose(probabilities, model.predict_proba(native_X), rtol=tolerance, atol=tolerance)


def test_sklearn_pipeline_with_string_columns_matches_scikit_learn(spark, zoo_artifact):
    model, held_out, folder = zoo_artifact("sklearn-pipeline")
    frame = spark_frame(spark, held_out)
    kernel = collected(ArtifactTransformer(artifact=str(folder), outputPrefix="p_").transform(frame))
    jpmml = collected(ArtifactTransformer(artifact=str(folder), outputPrefix="p_", useKernel=False).transform(frame))

    np.testing.assert_array_equal(kernel["p_y"], model.predict(held_out))
    expected = model.predict_proba(held_out)
    tolerance = identify(model).tolerance
    for scored in (kernel, jpmml):
        actual = scored[["p_probability(0)", "p_probability(1)"]].to_numpy()
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def bad_rows(spark):
    rows = [(0, "0.5", 1.0, -0.5, 0.2, "oslo"),
            (1, "abc", 1.0, -0.5, 0.2, "rome"),       # text in a numeric column
            (2, "0.5", 1.0, -0.5, 0.2, "berlin"),     # a category the model does not know
            (3, None, None, None, None, None),         # nulls: missing values, which the pipeline imputes
            (4, "-1.5", 0.0, 2.0, None, "paris")]
    return spark.createDataFrame(rows, "id long, f0 string, f1 double, f2 double, f3 double, city string").repartition(2)


def test_bad_rows_get_a_message_naming_field_and_value_and_the_others_are_scored(spark, zoo_artifact):
    _, _, folder = zoo_artifact("sklearn-pipeline")
    scored = collected(ArtifactTransformer(artifact=str(folder)).transform(bad_rows(spark)))

    errors = scored["scoringError"]
    assert "'f0'" in errors[1] and "'abc'" in errors[1], errors[1]
    assert "'city'" in errors[2] and "'berlin'" in errors[2], errors[2]
    assert scored.loc[[1, 2], "y"].isna().all()
    good = [0, 3, 4]
    assert errors[good].isna().all()
    in_process = Scorer.load(folder).predict_proba(pd.DataFrame({
        "f0": [0.5, None, -1.5], "f1": [1.0, None, 0.0], "f2": [-0.5, None, 2.0], "f3": [0.2, None, None],
        "city": ["oslo", None, "paris"]}))
    np.testing.assert_allclose(scored.loc[good, ["probability(0)", "probability(1)"]].to_numpy(), in_process,
                               rtol=1e-12, atol=1e-12)


def test_fail_on_error_fails_the_job_with_the_message(spark, zoo_artifact):
    _, _, folder = zoo_artifact("sklearn-pipeline")
    stage = ArtifactTransformer(artifact=str(folder), failOnError=True)
    with pytest.raises(Exception) as failure:
        stage.transform(bad_rows(spark)).collect()
    assert "value 'abc' is not valid" in str(failure.value) or "value 'berlin' is not valid" in str(failure.value)


def test_the_stage_saves_and_loads_inside_a_pipeline_model(spark, zoo_artifact, tmp_path):
    model, held_out, folder = zoo_artifact("xgboost-binary")
    frame = spark_frame(spark, held_out).withColumnRenamed("f2", "third")
    stage = ArtifactTransformer(artifact=str(folder), columnMap={"f2": "third"}, outputColumns={"_target": "label"},
                                errorCol="problem")
    fitted = Pipeline(stages=[stage]).fit(frame)
    fitted.write().save(str(tmp_path / "pipeline"))

    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    restored = loaded.stages[0]
    assert isinstance(restored, ArtifactTransformer)
    assert restored.getColumnMap() == {"f2": "third"} and restored.getErrorCol() == "problem"
    scored = collected(loaded.transform(frame))
    assert scored["problem"].isna().all()
    native_X = native_frame(model, held_out, Scorer.load(folder))
    np.testing.assert_array_equal(scored["label"], model.predict(native_X))

    stage.save(str(tmp_path / "stage"))
    alone = ArtifactTransformer.load(str(tmp_path / "stage"))
    assert alone.getOutputColumns() == {"_target": "label"} and alone.getArtifact() == str(folder)


def test_an_artifact_shipped_with_add_file_is_scored_from_the_executors_copy(spark, zoo_artifact, tmp_path):
    model, held_out, folder = zoo_artifact("lightgbm-categorical")
    # A copy numbered 7: the version column then shows which copy the executors scored with.
    source = shutil.copytree(folder, tmp_path / "shipped-lgbm")
    manifest = json.loads((source / "manifest.json").read_text())
    (source / "manifest.json").write_text(json.dumps({**manifest, "version": 7}))
    uri = ship(spark, str(source))
    assert uri == "spark-files://shipped-lgbm"
    stage = ArtifactTransformer(artifact=uri)

    scored = collected(stage.transform(spark_frame(spark, held_out)))

    assert (scored["modelVersion"] == 7).all()
    # read from the JVM's SparkFiles folder, not from the source (local mode: the driver's JVM runs the tasks)
    used = Path(str(stage._java_obj.loaded().directory().toString()))
    assert used == Path(SparkFiles.get("shipped-lgbm")) and used != source
    tolerance = identify(model).tolerance
    np.testing.assert_allclose(scored["_target"], model.predict(held_out), rtol=tolerance, atol=tolerance)


def test_an_artifact_unpacked_from_an_archive_is_found_by_its_alias(spark, zoo_artifact, tmp_path):
    """spark-submit --archives churn.zip#churn (here SparkContext.addArchive): a zip of the folder."""
    model, held_out, folder = zoo_artifact("xgboost-binary")
    archive = shutil.make_archive(str(tmp_path / "xgb"), "zip", root_dir=folder.parent, base_dir=folder.name)
    spark.sparkContext.addArchive(f"{archive}#xgb-archive")
    rows = held_out.iloc[:60]

    scored = collected(ArtifactTransformer(artifact="spark-files://xgb-archive").transform(spark_frame(spark, rows)))

    native_X = native_frame(model, rows, Scorer.load(folder))
    np.testing.assert_array_equal(scored["_target"], model.predict(native_X))


def test_columns_and_artifacts_the_stage_cannot_use_are_refused_before_any_job(spark, zoo_artifact, tmp_path):
    _, held_out, folder = zoo_artifact("xgboost-binary")
    frame = spark_frame(spark, held_out)
    with pytest.raises(InputError, match="input field 'f3' needs a column 'f3'"):
        ArtifactTransformer(artifact=str(folder)).transform(frame.drop("f3"))
    with pytest.raises(InputError, match="column 'f1' is date"):
        ArtifactTransformer(artifact=str(folder)).transform(frame.withColumn("f1", frame["id"].cast("timestamp").cast("date")))
    with pytest.raises(InputError, match="'f0' .* is already a column"):
        ArtifactTransformer(artifact=str(folder), outputColumns={"_target": "f0"}).transform(frame)
    with pytest.raises(ArtifactError, match="not found"):
        ArtifactTransformer(artifact=str(tmp_path / "nowhere")).transform(frame)
    with pytest.raises(ArtifactError, match="no artifact is set"):
        ArtifactTransformer().transform(frame)
    with pytest.raises(ArtifactError, match="was not shipped"):
        ArtifactTransformer(artifact="spark-files://never-shipped").transform(frame)
