"""Scorer: an artifact loaded into this process through JPype, scoring rows and batches."""

from __future__ import annotations

import logging
import operator
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jarscore.errors import ArtifactError, InputError, JarscoreError, NoProbabilitiesError, SignatureError
from jarscore.scorer import jvm
from jarscore.scorer.artifact import JAR, Artifact, read_artifact
from jarscore.scorer.fast import FastPath
from jarscore.scorer.inputs import Field, _positions, columns_from, row_columns
from jarscore.scorer.signing import KeyFiles, TrustedKeys, trusted_keys_for
from jarscore.scorer.verification import check_recorded_outputs

_MODEL_CLASS = "io.jarscore.runtime.Model"
log = logging.getLogger("jarscore.scorer")


ALL_COLUMNS = object()  # the array's columns are the model's inputs, in order
_FLOAT64 = np.dtype(np.float64)


def _verified(scorer: "Scorer") -> "Scorer":
    """The artifact's scorer once it reproduces the manifest's verification rows; closed if it does not.
    A kernel that became active by reproducing the recorded outputs of those rows (every output of
    every row, in the JVM) has shown it already: the rows are not scored a second time."""
    if scorer._kernel_matched_recorded:
        return scorer
    try:
        check_recorded_outputs(scorer, scorer.manifest, f"artifact {scorer.source}")
    except BaseException:
        scorer.close()
        raise
    return scorer


def default_threads() -> int:
    """JVM threads for large batches: $JARSCORE_THREADS, else the number of CPUs."""
    return int(os.environ.get("JARSCORE_THREADS") or os.cpu_count() or 1)


class _ProbabilitiesOnly:
    """``predict_proba``, an attribute of the models that have class probabilities only: on any other
    model reading it raises :class:`NoProbabilitiesError` (an AttributeError, so ``hasattr`` is
    False, as scikit-learn expects of a regressor). A model with probabilities holds its bound method
    in its instance dict, which wins over this (non-data) descriptor: the call costs what a plain
    method's does, a bound method less, and nothing of this class runs on the hot path."""

    def __init__(self, function):
        self._function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self._function
        if instance._probabilities:  # after close() dropped the bound method (see Scorer.close)
            return self._function.__get__(instance, owner)
        raise _no_probabilities(instance)


def _no_probabilities(scorer) -> NoProbabilitiesError:
    if not scorer.is_classifier:
        return NoProbabilitiesError(f"model '{scorer.name}' is a regressor; predict_proba needs a classifier")
    return NoProbabilitiesError(f"model '{scorer.name}' has no probability outputs (outputs: {scorer.output_fields})")


class Scorer:
    """A loaded model. Use :meth:`Scorer.load`; thread-safe for scoring.

    It follows scikit-learn's conventions for a fitted estimator (scikit-learn itself is not needed
    to score): ``is_classifier``/``is_regressor`` and ``get_scorer(...)`` work on it, it has
    ``classes_`` (classifiers), ``n_features_in_``, ``feature_names_in_`` and ``score``;
    ``predict_proba`` exists on classifiers only. It is a context manager (``close`` at exit).
    ``pickle`` and ``sklearn.base.clone`` keep the artifact's path and load options, never the JVM
    model: unpickling or cloning loads the artifact again from that path, checked as ``load`` checks
    it (and, for an artifact directory, checked to be the same model.jar)."""

    def __init__(self, java_model, *, engine: str, manifest: Mapping[str, Any] | None, source: Path,
                 threads: int | None = None, kernel: bool = True):
        self._model = java_model
        self._closed = False
        #: The kernel reproduced the manifest's recorded outputs for its verification rows (see _verified).
        self._kernel_matched_recorded = False
        # Decided once: _score consults it on every call, and a JPype attribute lookup is not free.
        self._remote = not hasattr(java_model, "scoreColumns")
        self.engine = engine
        self.manifest = dict(manifest or {})
        self.source = source
        self._inputs = [_field(spec) for spec in java_model.inputFields()]
        self._input_names = [f.name for f in self._inputs]
        # a row's input values as a tuple, in input order
        names = self._input_names
        self._take_inputs = (operator.itemgetter(*names) if len(names) > 1
                             else lambda row: tuple(row[n] for n in names))
        self._features = _training_features(self.manifest, self._inputs)
        self._results = [_field(spec) for spec in java_model.resultFields()]
        self._result_names = [f.name for f in self._results]
        self._target = self._results[0] if self._results else None
        self.is_classifier = str(java_model.miningFunction()) == "classification"
        # the labels in their own Python types (predict_one returns these), and as scikit-learn's array
        self._class_list = self._classes() if self.is_classifier else None
        self.classes_ = np.asarray(self._class_list) if self.is_classifier else None
        self._label_of = {str(c): c for c in self._class_list} if self.is_classifier else {}
        self._proba_fields = self._probability_fields() if self.is_classifier else []
        self._probabilities = bool(self._proba_fields)
        if self._probabilities:
            # see _ProbabilitiesOnly: the bound method in the instance dict, found before the class's
            self.predict_proba = type(self).predict_proba.__get__(self, type(self))
        positions = {f.name: i for i, f in enumerate(self._results)}
        self._proba_positions = [positions[name] for name in self._proba_fields if name in positions]
        p = self._proba_positions
        # a slice when contiguous: cheaper than fancy indexing on every single-row call
        self._proba_take = slice(p[0], p[-1] + 1) if p and p == list(range(p[0], p[-1] + 1)) else p
        self.threads = threads or default_threads()
        # what pickle and clone load again (see _identity): the absolute path, as cwd may change
        self._path = Path(source).absolute()
        self._options = {"threads": threads, "kernel": kernel, "warmup": 0.0, "out_of_process": self._remote,
                         "trusted_keys": None}
        self._fast = None
        # (1, inputs) when a one-row float64 array in input order is the kernel's own row (see predict_proba)
        self._kernel_row_shape = None
        # per column count: the columns the model takes, ALL_COLUMNS, or None (general path)
        self._positions_cache: dict[int, Any] = {}
        self.kernel = "absent: out of process (the gateway scores through JPMML-Evaluator)"
        if engine == "jar" and not self.out_of_process:
            self._start_kernel(kernel)

    def _start_kernel(self, wanted: bool) -> None:
        """Checks the kernel on the manifest's verification rows against the outputs recorded for them
        at conversion (where this JAR's kernel had agreed with JPMML interpreting the PMML), so loading
        a format 2 artifact needs no JPMML pass of its own; uses the kernel only if they agree."""
        status = str(self._model.kernelStatus())
        if not wanted:
            status = str(self._model.refuseKernel("disabled by the caller (kernel=False)"))
        elif status.startswith("unverified"):
            verification = self.manifest.get("verification") or {}
            rows, outputs = verification.get("rows"), verification.get("outputs")
            if self.manifest.get("format") == 1:
                # Format 1 recorded the transpiled classes' outputs, whose float32 sums (XGBoost) may be
                # an ulp from the kernel's: its kernel is checked against JPMML, as when it was written.
                outputs = None
            if rows:
                status = self._verify_kernel(rows, outputs)
                self._kernel_matched_recorded = status == "active" and isinstance(outputs, list) \
                    and len(outputs) == len(rows)
        self._use_kernel(status)

    def _verify_kernel(self, rows: Any, outputs: list | None = None) -> str:
        """The kernel's status once checked on ``rows``: against ``outputs`` (records by result field)
        when given and one per row, else against JPMML interpreting the PMML beside the JAR."""
        columns, count = columns_from(rows, self._inputs, self._features)
        recorded = self._recorded_columns(outputs) if isinstance(outputs, list) and len(outputs) == count else None
        with jvm.java_errors():
            return str(self._model.verifyKernel(self._java_columns(columns), count, recorded))

    def _use_kernel(self, status: str) -> None:
        if status == "active":
            self._fast = FastPath(self._model, self.threads)
            # The one-row shortcut of predict_proba returns a view of the outputs, copied: the
            # probabilities must be a slice of them (they are unless the PMML reorders them).
            if self._fast.numeric_only and self._proba_fields and isinstance(self._proba_take, slice) \
                    and self._array_positions(self._fast.inputs) is ALL_COLUMNS:
                self._kernel_row_shape = (1, self._fast.inputs)
                self._fast.row_picks = self._proba_take
            log.info("model %s: fast kernel active (%d JVM threads for large batches)", self.name, self.threads)
        elif status.startswith("refused"):
            log.warning("model %s: fast kernel %s; scoring through JPMML-Evaluator", self.name, status)
        else:
            log.info("model %s: fast kernel %s; scoring through JPMML-Evaluator", self.name, status)
        self.kernel = status

    @classmethod
    def load(cls, path: str | Path, *, threads: int | None = None, kernel: bool = True,
             warmup: float = 0.0, out_of_process: bool = False, trusted_keys: KeyFiles = None) -> "Scorer":
        """Loads an artifact directory, a transpiled model.jar, or a .pmml or .pmml.gz file (scored by
        JPMML-Evaluator's interpreter, engine 'pmml'). An artifact is checked first: every file's size
        and sha256 against its manifest, then the outputs recorded for its verification rows.

        ``trusted_keys``: public key files (``jarscore keygen``'s .pub); by default those of
        $JARSCORE_TRUSTED_KEYS. When there are any, only an artifact directory signed by one of them
        loads: an unsigned one, one signed by another key or one whose manifest changed after signing
        raises :class:`jarscore.errors.SignatureError` before any class of it loads, and so does a bare
        .jar, .pmml or .pmml.gz file. An empty list turns the check off.

        An artifact's fast kernel is used (engine 'kernel') when it agrees with JPMML on the
        manifest's verification rows; ``kernel=False`` forces the JPMML path. ``threads`` JVM threads
        score large batches (default: $JARSCORE_THREADS or the CPU count). ``warmup`` seconds of
        scoring the verification rows at load let the JIT compile the kernel before the first real
        call. See ``scorer.kernel``.

        ``out_of_process=True`` scores in a JVM of its own (a child process reached over Py4J)
        instead of one inside this process: the mode for servers that fork after loading. The
        gateway scores through JPMML-Evaluator (no kernel)."""
        path = Path(path)
        trusted = trusted_keys_for(trusted_keys)
        scorer = cls._load(path, threads=threads, kernel=kernel, warmup=warmup, out_of_process=out_of_process,
                           trusted=trusted)
        scorer._options = {"threads": threads, "kernel": kernel, "warmup": warmup, "out_of_process": out_of_process,
                           "trusted_keys": None if trusted_keys is None else list(trusted.files)}
        return scorer

    @classmethod
    def _load(cls, path: Path, *, threads: int | None, kernel: bool, warmup: float,
              out_of_process: bool, trusted: TrustedKeys) -> "Scorer":
        if trusted and path.exists() and not path.is_dir():
            raise SignatureError(f"{path} is refused: trusted keys are configured, and only a signed artifact "
                                 "directory can be checked (a bare .jar, .pmml or .pmml.gz file carries no signature)")
        if out_of_process:
            return cls._load_remote(path, trusted)
        Model = jvm.jclass(_MODEL_CLASS)
        if path.is_dir():
            artifact = read_artifact(path, trusted=trusted)
            return _verified(cls.load_artifact(artifact, threads=threads, kernel=kernel, warmup=warmup))
        java_path = _java_path(path)
        if not path.exists():
            raise ArtifactError(f"no model at {path}: expected an artifact directory, a .jar, a .pmml or a .pmml.gz file")
        if path.suffix == ".jar":
            return cls._load_jar(path)
        if path.suffix == ".pmml" or path.name.endswith(".pmml.gz"):
            with jvm.java_errors():
                model = Model.loadPmml(java_path)
            return cls(model, engine="pmml", manifest=None, source=path)
        raise ArtifactError(f"cannot load {path}: expected an artifact directory, a .jar, a .pmml or a .pmml.gz file")

    @classmethod
    def _load_jar(cls, path: Path, *, jpmml_on_demand: bool = False) -> "Scorer":
        """A bare model.jar. ``jpmml_on_demand``: its JPMML side loads only when a row needs it, never
        on the timer, for a caller that holds JPMML-Evaluator on the same PMML already (conversion)."""
        with jvm.java_errors():
            model = jvm.jclass(_MODEL_CLASS).loadJar(_java_path(path), jpmml_on_demand)
        return cls(model, engine="jar", manifest=None, source=path)

    @classmethod
    def load_artifact(cls, artifact: Artifact, *, threads: int | None = None, kernel: bool = True,
                      warmup: float = 0.0) -> "Scorer":
        """Loads an artifact already read and checked by :func:`scorer.artifact.read_artifact`."""
        Model = jvm.jclass(_MODEL_CLASS)
        with jvm.java_errors():
            model = Model.loadJar(_java_path(artifact.jar))
        scorer = cls(model, engine="jar", manifest=artifact.manifest, source=artifact.directory,
                     threads=threads, kernel=kernel)
        scorer._options["warmup"] = warmup
        if warmup > 0 and scorer.kernel == "active":
            with jvm.java_errors():
                model.warmUpKernel(int(warmup * 1000))
        return scorer

    @classmethod
    def _load_remote(cls, path: Path, trusted: TrustedKeys) -> "Scorer":
        from jarscore.scorer.remote import RemoteModel

        if path.is_dir():
            artifact = read_artifact(path, trusted=trusted)
            return _verified(cls(RemoteModel(artifact.jar, pmml=False), engine="jar", manifest=artifact.manifest,
                                 source=path))
        if (path.suffix in (".jar", ".pmml") or path.name.endswith(".pmml.gz")) and path.is_file():
            engine = "jar" if path.suffix == ".jar" else "pmml"
            return cls(RemoteModel(path, pmml=engine == "pmml"), engine=engine, manifest=None, source=path)
        raise ArtifactError(f"cannot load {path}: expected an artifact directory, a .jar, a .pmml or a .pmml.gz file")

    @property
    def out_of_process(self) -> bool:
        """True when the model is scored in a gateway JVM process rather than in this process."""
        return self._remote

    # metadata -----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.get("name", self.source.stem)

    @property
    def version(self) -> str | None:
        return self.manifest.get("version")

    @property
    def input_fields(self) -> list[str]:
        return [f.name for f in self._inputs]

    @property
    def output_fields(self) -> list[str]:
        return [f.name for f in self._results]

    @property
    def inputs(self) -> list[Field]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[Field]:
        return list(self._results)

    @property
    def feature_names_in_(self) -> np.ndarray:
        """The columns the native model was trained on, in order, when the manifest records them (an
        array in this order scores), else the input fields; an object array of str, as scikit-learn's."""
        return np.asarray(self._features or self._input_names, dtype=object)

    @property
    def n_features_in_(self) -> int:
        return len(self._features or self._input_names)

    @property
    def closed(self) -> bool:
        return self._closed

    # scikit-learn conventions (scikit-learn is imported only inside __sklearn_tags__) -------------
    @property
    def _estimator_type(self) -> str:
        # what is_classifier/is_regressor read before scikit-learn 1.6 (and other libraries still do)
        return "classifier" if self.is_classifier else "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        strings = not all(f.numeric for f in self._inputs)
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if self.is_classifier else None,
            regressor_tags=None if self.is_classifier else RegressorTags(),
            input_tags=InputTags(allow_nan=True, string=strings, categorical=strings),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return True  # a loaded model is fitted; it cannot be fitted again

    def fit(self, X: Any = None, y: Any = None, **fit_params) -> "Scorer":
        """Raises: a loaded model is fitted already and cannot be fitted again (train the native model
        and convert it). It exists because scikit-learn's ``check_is_fitted`` wants an estimator to
        have it; to use a Scorer where scikit-learn would fit, wrap it in ``sklearn.frozen.FrozenEstimator``."""
        raise JarscoreError(f"model '{self.name}' is a converted artifact and cannot be fitted: train the "
                            "native model and convert it (sklearn.frozen.FrozenEstimator wraps a Scorer "
                            "where scikit-learn would fit it)")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """What identifies the loaded model: the artifact's path and the options it was loaded with
        (``Scorer.load``'s arguments). There is no ``set_params``: load again to change them."""
        return {"path": str(self._path), **self._options}

    def __sklearn_clone__(self) -> "Scorer":
        """``sklearn.base.clone``: the same artifact loaded again, as unpickling does (a loaded
        model cannot be fitted, so a clone is the model itself, in a Scorer of its own)."""
        return _restore(type(self), self._identity())

    def __reduce__(self):
        # The JVM model never travels: the receiving process loads the artifact again from its path.
        return _restore, (type(self), self._identity())

    def _identity(self) -> dict[str, Any]:
        sha256 = ((self.manifest.get("files") or {}).get(JAR) or {}).get("sha256")
        return {**self.get_params(), "name": self.name, "sha256": sha256}

    def __enter__(self) -> "Scorer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """As scikit-learn's ``score``: the accuracy of ``predict(X)`` against ``y`` for a classifier,
        the coefficient of determination R² for a regressor (weighted by ``sample_weight``)."""
        predicted = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != predicted.shape:
            raise InputError(f"y has shape {y.shape}; {len(predicted)} rows were scored")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if self.is_classifier:
            return float(np.average(predicted == y, weights=weights))
        y = y.astype(np.float64)
        weights = np.ones_like(y) if weights is None else weights
        residual = float(np.sum(weights * (y - predicted) ** 2))
        total = float(np.sum(weights * (y - np.average(y, weights=weights)) ** 2))
        if total == 0.0:
            return 1.0 if residual == 0.0 else 0.0  # scikit-learn's choice (force_finite)
        return 1.0 - residual / total

    # scoring ------------------------------------------------------------------------------------
    def evaluate(self, X: Any) -> pd.DataFrame:
        """Every result field (the target, then the model's output fields) for each row."""
        columns, rows = columns_from(X, self._inputs, self._features)
        return self._frame(self._score(columns, rows))

    def predict(self, X: Any) -> np.ndarray:
        """Labels (in the classes' own type) for classifiers, values for regressors."""
        columns, rows = columns_from(X, self._inputs, self._features)
        return self._predictions(self._score(columns, rows)[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (rows, classes), columns in ``classes_`` order."""
        if type(X) is np.ndarray and X.shape == self._kernel_row_shape and X.dtype is _FLOAT64:
            # The hot single-row call, first (a kernel row shape means a classifier with
            # probabilities): the array is already the kernel's row. A float64 dtype that is not
            # numpy's own instance, a byte-swapped one say, goes the general way below.
            one = self._fast.score_one(X, picked=True)
            if one is not None:
                return one
        if not self._probabilities:  # reached through the class: Scorer.predict_proba(scorer, X)
            raise _no_probabilities(self)
        matrix = self._numeric_matrix(X)
        if matrix is None:
            matrix = self._plain_array_row(X)
        out = None if matrix is None else self._fast.outputs_of(matrix)
        if out is not None:
            return out[:, self._proba_take]
        columns, rows = columns_from(X, self._inputs, self._features)
        results = self._score(columns, rows)
        return np.column_stack([results[i] for i in self._proba_positions])

    predict_proba = _ProbabilitiesOnly(predict_proba)

    def _labels_and_probabilities(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``predict(X)`` and ``predict_proba(X)`` from one pass over the rows: for conversion's parity
        check of JPMML's interpreter, whose pass over a large forest takes seconds."""
        if not self._probabilities:
            raise _no_probabilities(self)
        columns, rows = columns_from(X, self._inputs, self._features)
        results = self._score(columns, rows)
        return self._predictions(results[0]), np.column_stack([results[i] for i in self._proba_positions])

    def predict_one(self, row: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        """One row (a mapping, or a sequence in input-field order) to {result field: value}."""
        matrix = self._plain_one_row(row)
        values = None if matrix is None else self._fast.score_row(matrix)
        if values is None:
            values = [column[0] for column in self._score(row_columns(row, self._inputs, self._features), 1)]
        out = dict(zip(self._result_names, values))
        if self.is_classifier:
            out[self._target.name] = self._label_of.get(out[self._target.name], out[self._target.name])
        return out

    def close(self) -> None:
        """Releases the model (its JVM class loader); ``with Scorer.load(...) as scorer:`` calls it at
        exit. Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        # the bound predict_proba in the instance dict refers to the scorer: drop the cycle, so the
        # scorer (and its Java model) goes as soon as the last reference does
        self.__dict__.pop("predict_proba", None)
        if self._fast is not None:
            self._fast.release_scratch()
        self._model.close()

    # internals ----------------------------------------------------------------------------------
    def _numeric_matrix(self, X: Any) -> np.ndarray | None:
        """A float64 2-D array of a numeric-only model, as the kernel takes it (columns picked and
        checked as ``columns_from`` would); None when the general path must handle X."""
        fast = self._fast
        if fast is None or not fast.numeric_only or not isinstance(X, np.ndarray) or X.ndim != 2 \
                or X.dtype != np.float64:
            return None
        positions = self._array_positions(X.shape[1])
        if positions is None:
            return None
        matrix = X if positions is ALL_COLUMNS else X[:, positions]
        if matrix.shape[0] > 1 and np.isinf(matrix).any():
            return None  # the general path names the field and the row (a single row: Java checks)
        return matrix

    def _array_positions(self, width: int) -> Any:
        """The columns of a ``width``-column array the model takes: ALL_COLUMNS, a list, or None
        when the general path must handle (and report) the array."""
        positions = self._positions_cache.get(width, False)
        if positions is False:
            try:
                positions = _positions(width, [f.name for f in self._inputs], self._features, what="columns")
                if positions == list(range(width)):
                    positions = ALL_COLUMNS
            except Exception:
                positions = None
            self._positions_cache[width] = positions
        return positions

    def _plain_array_row(self, X: Any) -> np.ndarray | None:
        """The kernel's (1, inputs) row for a one-row array of a model with string inputs (an object
        array, as ``DataFrame.to_numpy()`` gives for mixed columns), read as ``_plain_one_row``
        reads a dict's values; None for anything else."""
        fast = self._fast
        if fast is None or fast.numeric_only or not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[0] != 1:
            return None
        return self._plain_one_row(X[0])

    _PLAIN = frozenset((float, int, np.float64, type(None)))
    _FLOATS = frozenset((float, np.float64))

    def _plain_one_row(self, row: Any) -> np.ndarray | None:
        """The kernel's (1, inputs) float64 row for ``predict_one``'s row: a dict, or a list, tuple or
        1-D array in input-field or training-column order, whose values are all plain floats, ints,
        None, or (for a string field) a string from the kernel's code table; None for anything else,
        which the general path checks, encodes or reports. A dict's values are picked and
        type-checked in C, not by a Python loop per field (which would dominate a wide row's
        latency)."""
        fast = self._fast
        if fast is None:
            return None
        if isinstance(row, dict):
            try:
                values = self._take_inputs(row)
            except KeyError:
                return None
        elif isinstance(row, (list, tuple)) or isinstance(row, np.ndarray) and row.ndim == 1:
            positions = self._array_positions(len(row))
            if positions is None:
                return None
            values = row.tolist() if isinstance(row, np.ndarray) else row
            if positions is not ALL_COLUMNS:
                values = [values[p] for p in positions]
        else:
            return None
        return self._plain_row(values)

    def _plain_row(self, values: Sequence[Any]) -> np.ndarray | None:
        """Input values in input order as the kernel's (1, inputs) row, or None unless each is a plain
        number, None, or (for a string field) a string from the kernel's code table or NaN (missing,
        as a DataFrame holds it)."""
        fast = self._fast
        if fast.coded:
            values = list(values)
            for i, codes in fast.coded:
                v = values[i]
                if type(v) is str:
                    values[i] = codes.get(v)
                    if values[i] is None:
                        return None
                elif not (v is None or (type(v) in self._FLOATS and v != v)):  # None, NaN: missing
                    return None
        if not self._PLAIN.issuperset(map(type, values)):
            return None
        try:
            return np.array([values], dtype=np.float64)  # None reads as NaN; inf: the kernel declines
        except OverflowError:
            return None

    def _score(self, columns: list, rows: int) -> list:
        if self.out_of_process:
            return self._model.score_columns(columns, rows)
        if self._fast is not None:
            matrix = self._fast.encode(columns, rows)
            results = None if matrix is None else self._fast.score(matrix)
            if results is not None:
                return results
        with jvm.java_errors():
            results = self._model.scoreColumns(self._java_columns(columns), rows)
        return [jvm.to_python_column(c) for c in results]

    def _recorded_columns(self, outputs: list):
        """The manifest's recorded outputs as Java result columns (NaN or null: recorded as non-finite)."""
        columns = []
        for field in self._results:
            values = [record.get(field.name) if isinstance(record, dict) else None for record in outputs]
            if field.numeric:
                columns.append(np.asarray([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
                                           for v in values], dtype=np.float64))
            else:
                columns.append([None if v is None else str(v) for v in values])
        return self._java_columns(columns)

    @staticmethod
    def _java_columns(columns: list):
        return jvm.object_array([
            jvm.double_array(c) if isinstance(c, np.ndarray) else jvm.string_array(c) for c in columns
        ])

    def _predictions(self, target_column) -> np.ndarray:
        if not self.is_classifier:
            return np.asarray(target_column, dtype=np.float64)
        labels = [self._label_of.get(v, v) for v in target_column]
        return np.asarray(labels, dtype=self.classes_.dtype)

    def _frame(self, results: list) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({f.name: column for f, column in zip(self._results, results)})

    def _classes(self) -> list:
        if "classes" in self.manifest:
            return list(self.manifest["classes"])
        target = self._target
        if target.data_type == "integer":
            return [int(v) for v in target.values]
        return list(target.values)

    def _probability_fields(self) -> list[str]:
        if "probability_fields" in self.manifest:
            return list(self.manifest["probability_fields"])
        wanted = [f"probability({c})" for c in self._class_list]
        present = set(self.output_fields)
        return wanted if all(name in present for name in wanted) else []

    def __repr__(self) -> str:
        return f"Scorer(name={self.name!r}, version={self.version!r}, engine={self.engine!r})"


Scorer.kernel = "absent: not an artifact's transpiled JAR"


def _restore(cls: type, identity: Mapping[str, Any]) -> Scorer:
    """A pickled or cloned Scorer: its artifact loaded again from its path, checked by ``load``, and
    for an artifact directory checked to hold the same model.jar."""
    path = Path(identity["path"])
    if not path.exists():
        raise ArtifactError(f"cannot restore Scorer '{identity.get('name')}': no model at {path} (a pickled "
                            "or cloned Scorer holds its artifact's path, not the model, and loads it again "
                            "from there: the path must exist where it is unpickled)")
    options = {key: identity[key] for key in ("threads", "kernel", "warmup", "out_of_process", "trusted_keys")
               if key in identity}
    scorer = cls.load(path, **options)
    expected = identity.get("sha256")
    actual = ((scorer.manifest.get("files") or {}).get(JAR) or {}).get("sha256")
    if expected and actual != expected:
        scorer.close()
        raise ArtifactError(f"cannot restore Scorer '{identity.get('name')}': {path} now holds another model "
                            f"({JAR} sha256 {actual}; the pickled or cloned Scorer had {expected})")
    return scorer


def _java_path(path: Path):
    return jvm.jclass("java.nio.file.Path").of(str(path.resolve()), [])


def _training_features(manifest: Mapping[str, Any], inputs: list[Field]) -> list[str] | None:
    """The native model's column order, when the manifest has it and it covers every input field."""
    features = manifest.get("features")
    if not features or not {f.name for f in inputs} <= set(features):
        return None
    return [str(name) for name in features]


def _field(spec) -> Field:
    return Field(str(spec.name()), str(spec.dataType()), str(spec.opType()), bool(spec.numeric()),
                 tuple(str(v) for v in spec.values()))
