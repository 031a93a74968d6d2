"""The PySpark wrapper of the Java stage jarscore.spark.ArtifactTransformer; imported through
``jarscore.spark`` (which PySpark names when it loads a saved pipeline), so that ``jarscore.spark.jars()``
works without pyspark."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaTransformer

from jarscore.errors import ArtifactError, InputError, JvmError
from jarscore.spark import JAVA_CLASS, _java_stage_class


def _string_map(value: Any) -> dict[str, str]:
    """A mapping of names to names (a dict, or the Java map PySpark hands back after loading)."""
    if not isinstance(value, Mapping):
        try:
            value = dict(value)
        except (TypeError, ValueError):
            raise TypeError(f"expected a dict of field names to column names, got {value!r}") from None
    return {str(key): str(item) for key, item in value.items()}


class _Reader(JavaMLReader):
    """Loads the Java stage by its own class name (PySpark would derive one from the module path)."""

    @classmethod
    def _java_loader_class(cls, clazz) -> str:
        return JAVA_CLASS


class ArtifactTransformer(JavaTransformer, JavaMLReadable, JavaMLWritable):
    """Scores a jarscore artifact on each row of a DataFrame, inside the executors' JVMs.

    Each input field of the model is read from the column of the same name (``columnMap`` renames);
    each result field (the target, then e.g. ``probability(1)``) becomes a column named
    ``outputPrefix + field`` (``outputColumns`` renames), or the probabilities one vector column
    ``probabilityCol``; then the model's version (``versionCol``) and ``errorCol``, the message of a
    row that could not be scored (its results are null). ``failOnError=True`` fails the job with that
    message instead. A null or NaN cell is a missing value. ``artifact`` is a directory every
    executor reads, or ``spark-files://NAME`` for one shipped with :func:`ship`.
    """

    artifact = Param(Params._dummy(), "artifact", "the artifact directory on a path every executor reads, or "
                     "spark-files://NAME for one shipped with sparkContext.addFile(dir, True)",
                     typeConverter=TypeConverters.toString)
    columnMap = Param(Params._dummy(), "columnMap", "model input field -> DataFrame column",
                      typeConverter=_string_map)
    outputColumns = Param(Params._dummy(), "outputColumns", "model result field -> output column",
                          typeConverter=_string_map)
    outputPrefix = Param(Params._dummy(), "outputPrefix", "prefix of each result field's column name",
                         typeConverter=TypeConverters.toString)
    probabilityCol = Param(Params._dummy(), "probabilityCol", "when set, the class probabilities as one vector "
                           "column of this name", typeConverter=TypeConverters.toString)
    versionCol = Param(Params._dummy(), "versionCol", "column holding the model's version (empty: none)",
                       typeConverter=TypeConverters.toString)
    errorCol = Param(Params._dummy(), "errorCol", "column holding why a row could not be scored (empty: none)",
                     typeConverter=TypeConverters.toString)
    failOnError = Param(Params._dummy(), "failOnError", "fail the job at the first row that cannot be scored",
                        typeConverter=TypeConverters.toBoolean)
    useKernel = Param(Params._dummy(), "useKernel", "score through the fast kernel when it is active",
                      typeConverter=TypeConverters.toBoolean)

    @keyword_only
    def __init__(self, *, artifact: str | None = None, columnMap: Mapping[str, str] | None = None,
                 outputColumns: Mapping[str, str] | None = None, outputPrefix: str = "", probabilityCol: str = "",
                 versionCol: str = "modelVersion", errorCol: str = "scoringError", failOnError: bool = False,
                 useKernel: bool = True):
        super().__init__()
        from pyspark.core.context import SparkContext

        context = SparkContext._active_spark_context
        if context is None:
            raise JvmError("no Spark session is running: start one (with jarscore.spark.jars() on spark.jars) "
                           "before creating an ArtifactTransformer")
        self._java_obj = _java_stage_class(context._jvm)(self.uid)
        self._setDefault(columnMap={}, outputColumns={}, outputPrefix="", probabilityCol="",
                         versionCol="modelVersion", errorCol="scoringError", failOnError=False, useKernel=True)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, artifact: str | None = None, columnMap: Mapping[str, str] | None = None,
                  outputColumns: Mapping[str, str] | None = None, outputPrefix: str = "", probabilityCol: str = "",
                  versionCol: str = "modelVersion", errorCol: str = "scoringError", failOnError: bool = False,
                  useKernel: bool = True) -> "ArtifactTransformer":
        """Sets the given parameters (keyword arguments only, as PySpark's own stages take them)."""
        return self._set(**self._input_kwargs)

    def setArtifact(self, value: str | Path) -> "ArtifactTransformer":
        return self._set(artifact=str(value))

    def getArtifact(self) -> str:
        return self.getOrDefault(self.artifact)

    def setColumnMap(self, value: Mapping[str, str]) -> "ArtifactTransformer":
        return self._set(columnMap=value)

    def getColumnMap(self) -> dict[str, str]:
        return self.getOrDefault(self.columnMap)

    def setOutputColumns(self, value: Mapping[str, str]) -> "ArtifactTransformer":
        return self._set(outputColumns=value)

    def getOutputColumns(self) -> dict[str, str]:
        return self.getOrDefault(self.outputColumns)

    def setOutputPrefix(self, value: str) -> "ArtifactTransformer":
        return self._set(outputPrefix=value)

    def getOutputPrefix(self) -> str:
        return self.getOrDefault(self.outputPrefix)

    def setProbabilityCol(self, value: str) -> "ArtifactTransformer":
        return self._set(probabilityCol=value)

    def getProbabilityCol(self) -> str:
        return self.getOrDefault(self.probabilityCol)

    def setVersionCol(self, value: str) -> "ArtifactTransformer":
        return self._set(versionCol=value)

    def getVersionCol(self) -> str:
        return self.getOrDefault(self.versionCol)

    def setErrorCol(self, value: str) -> "ArtifactTransformer":
        return self._set(errorCol=value)

    def getErrorCol(self) -> str:
        return self.getOrDefault(self.errorCol)

    def setFailOnError(self, value: bool) -> "ArtifactTransformer":
        return self._set(failOnError=value)

    def getFailOnError(self) -> bool:
        return self.getOrDefault(self.failOnError)

    def setUseKernel(self, value: bool) -> "ArtifactTransformer":
        return self._set(useKernel=value)

    def getUseKernel(self) -> bool:
        return self.getOrDefault(self.useKernel)

    __module__ = "jarscore.spark"  # where users and PySpark's pipeline loader find it

    @classmethod
    def read(cls) -> JavaMLReader:
        return _Reader(cls)

    def kernelStatus(self) -> str:
        """"active" when rows go through the fast kernel, else why they go through JPMML-Evaluator."""
        return str(self._call_checked("kernelStatus"))

    def kernelRowsScored(self) -> int:
        """Rows the driver JVM's copy of the model scored through the kernel (in local mode the driver
        runs the tasks too): proof that the fast path ran."""
        return int(self._call_checked("kernelRowsScored"))

    def _transform(self, dataset):
        from pyspark.sql import DataFrame

        return DataFrame(self._call_checked("transform", dataset._jdf), dataset.sparkSession)

    def _call_checked(self, method: str, *args):
        """Calls the Java stage; its checks of the artifact and the columns come back as jarscore errors."""
        self._transfer_params_to_java()
        try:
            return getattr(self._java_obj, method)(*args)
        except Exception as exc:
            error = _jarscore_error(exc)
            if error is None:
                raise
            raise error from None


def _jarscore_error(exc: Exception) -> Exception | None:
    """ArtifactError or InputError for what the Java stage refused, else None. PySpark hands the Java
    exception over as Py4JJavaError, or (IllegalArgumentException and other JVM errors it knows) as
    one of its own that keeps the Java one."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    if java is None:
        return None
    try:
        name, message = str(java.getClass().getName()), str(java.getMessage())
    except Exception:
        return None
    if name == "io.jarscore.runtime.ArtifactException":
        return ArtifactError(message)
    if name in ("java.lang.IllegalArgumentException", "io.jarscore.runtime.ScoringException"):
        return InputError(message)
    return None
