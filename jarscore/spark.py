"""Batch scoring on Apache Spark from PySpark: the Spark ML stage ``ArtifactTransformer`` scores a
jarscore artifact inside the executors' JVMs (the Java stage of the same name: no Python worker, no
pickling, no Arrow round trip), and ``jars()`` lists the jars a Spark session needs for it::

    from pyspark.sql import SparkSession
    from jarscore.spark import ArtifactTransformer, jars

    spark = SparkSession.builder.config("spark.jars", ",".join(jars())).getOrCreate()
    scored = ArtifactTransformer(artifact="/shared/artifacts/churn/3").transform(frame)

See docs/spark.md. Nothing here starts a JVM of its own: the JVM is the one PySpark started. ``jars()`` works
without pyspark (for a spark-submit command line); ``ArtifactTransformer`` needs it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from jarscore.errors import JvmError

__all__ = ["ArtifactTransformer", "jars", "ship"]

JAVA_CLASS = "jarscore.spark.ArtifactTransformer"
#: Inside jarscore-runtime's jar: its runtime dependencies, written by its Maven build.
CLASSPATH_ENTRY = "META-INF/jarscore/runtime-classpath.txt"


def jars() -> list[str]:
    """The jar files to put on ``spark.jars`` (or ``--jars``) before the session starts: jarscore's
    Spark stage, its runtime and their dependencies, from the installed wheel (in a checkout, the
    Maven build's ``jvm/bundle/target/jars``; ``$JARSCORE_JVM_HOME`` overrides both). Spark itself
    and the Jackson every Spark ships are not among them."""
    from jarscore.scorer.jvm import runtime_dir

    folder = runtime_dir()
    stage, runtime = _newest(folder, "jarscore-spark"), _newest(folder, "jarscore-runtime")
    with zipfile.ZipFile(runtime) as archive:
        try:
            listed = archive.read(CLASSPATH_ENTRY).decode("utf-8").split(":")
        except KeyError:
            raise JvmError(f"{runtime.name} does not list its dependencies ({CLASSPATH_ENTRY}): it comes from an "
                           "older build; rebuild the jars together ('make setup', or reinstall jarscore)") from None
    names = [entry.strip().rsplit("/", 1)[-1] for entry in listed if entry.strip()]
    names = [name for name in names if not name.startswith("jackson-")]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise JvmError(f"{runtime.name} needs {missing}, which {folder} does not hold: the jars come from "
                       "different builds; rebuild them together ('make setup', or reinstall jarscore)")
    return [str(stage), str(runtime)] + [str(folder / name) for name in names]


def _newest(folder: Path, module: str) -> Path:
    found = sorted(folder.glob(f"{module}-*.jar"))
    if not found:
        raise JvmError(f"{module}-*.jar is missing from {folder}. An installed wheel carries it (reinstall "
                       "jarscore); in a checkout run 'make setup'.")
    return found[-1]


def ship(spark, path: str | Path) -> str:
    """Ships the artifact directory ``path`` (local, or a Hadoop file system URI) with the session's
    jobs: every executor gets a copy (``SparkContext.addFile(path, recursive=True)``). Returns what
    to give as ``artifact``: ``spark-files://NAME``, NAME being the directory's last component."""
    context = spark.sparkContext if hasattr(spark, "sparkContext") else spark
    return str(_java_stage_class(context._jvm).ship(context._jsc.sc(), str(path)))


def _java_stage_class(jvm):
    stage = jvm
    for name in JAVA_CLASS.split("."):
        stage = getattr(stage, name)
    if type(stage).__name__ == "JavaPackage":  # py4j's answer for a class it cannot find
        raise JvmError("jarscore's Spark stage is not on this Spark session's classpath. Start the session with "
                       "SparkSession.builder.config('spark.jars', ','.join(jarscore.spark.jars())), or pass the "
                       "same jars with --jars to spark-submit or pyspark")
    return stage


def __getattr__(name: str):
    """``ArtifactTransformer``, imported on first use: it needs pyspark, ``jars()`` does not."""
    if name != "ArtifactTransformer":
        raise AttributeError(f"module 'jarscore.spark' has no attribute {name!r}")
    try:
        from jarscore._spark_stage import ArtifactTransformer
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("pyspark"):
            raise
        raise ImportError("jarscore.spark.ArtifactTransformer needs pyspark 4.0 or newer: pip install "
                          "'jarscore[spark]', or run it where your Spark's pyspark is importable") from None
    globals()[name] = ArtifactTransformer
    return ArtifactTransformer
