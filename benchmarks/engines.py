"""The engines the suite has always had (jarscore's Scorer in its modes, the native libraries, the other
PMML runtimes) behind the interface of ``benchmarks.interface``; the peers are in ``benchmarks.peers``.
``ENGINES`` lists them all."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.interface import BATCH_THREADS, Engine, NotApplicable
from benchmarks.peers import PEERS
from benchmarks.suite import BuiltModel


# jarscore -----------------------------------------------------------------------------------------
class JarscoreEngine(Engine):
    """jarscore's Scorer on the artifact: the fast kernel when it is active (scorer.kernel ==
    'active'), else JPMML-Evaluator (interpreting model.pmml.gz beside a kernel-only JAR)."""
    name = "jarscore"
    kind = "jarscore"

    def _path(self, model: BuiltModel) -> Path:
        return model.artifact

    def setup(self, model):
        from jarscore.scorer import Scorer
        # Two seconds of scoring the verification rows at load: HotSpot compiles the kernel's
        # methods before the first timed call, as a long-running service has them compiled.
        self.scorer = Scorer.load(self._path(model), warmup=2.0)
        self.numeric = not model.spec.mixed

    def score_mapping(self, row):
        return self.scorer.predict_one(row)

    def score_array(self, row):
        return self.scorer.predict_proba(row.reshape(1, -1))

    def batch_input(self, frame):
        return frame.to_numpy(dtype=np.float64) if self.numeric else frame

    def score_batch(self, batch):
        return self.scorer.predict_proba(batch)

    def batch_threads(self):
        # The kernel splits batches of 4 096+ rows over scorer.threads JVM threads.
        return self.scorer.threads if self.scorer.kernel == "active" else 1

    def close(self):
        self.scorer.close()


class JarscoreRemoteEngine(JarscoreEngine):
    """jarscore's Scorer with out_of_process=True: the JAR scored in a gateway JVM over Py4J, the mode
    for servers that fork; shows what leaving the process costs against in-process JPype."""
    name = "jarscore-remote"

    def setup(self, model):
        from jarscore.scorer import Scorer
        self.scorer = Scorer.load(self._path(model), out_of_process=True)
        self.numeric = not model.spec.mixed


class JarscoreJpmmlEngine(JarscoreEngine):
    """jarscore's Scorer on the artifact with the fast kernel turned off: JPMML-Evaluator's Map-based
    API interpreting model.pmml.gz, as model.jar holds the kernel alone (the path of a row the kernel
    leaves to JPMML)."""
    name = "jarscore-jpmml"

    def setup(self, model):
        from jarscore.scorer import Scorer
        self.scorer = Scorer.load(self._path(model), kernel=False)
        self.numeric = not model.spec.mixed


class JarscorePmmlEngine(JarscoreEngine):
    """jarscore's Scorer on the artifact's PMML, unpacked (JPMML-Evaluator interpreting, engine 'pmml').
    A bare .pmml carries no manifest, so the training column order is applied here."""
    name = "jarscore-pmml"

    def _path(self, model):
        return model.pmml_path

    def setup(self, model):
        super().setup(model)
        features = list(model.rows(1).columns)
        self.positions = [features.index(name) for name in self.scorer.input_fields]

    def score_array(self, row):
        return self.scorer.predict_proba(row[self.positions].reshape(1, -1))

    def batch_input(self, frame):
        return super().batch_input(frame[self.scorer.input_fields])


# native libraries ---------------------------------------------------------------------------------
class LightGBMEngine(Engine):
    """LightGBM's own Booster.predict on the model's text file: single rows with ``num_threads=1``
    (as every engine scores a row on one thread; OpenMP's hand-off costs more than one row),
    batches on ``BATCH_THREADS``."""
    name = "lightgbm"
    kind = "native"
    families = ("lightgbm",)

    def setup(self, model):
        import lightgbm
        self.booster = lightgbm.Booster(model_file=str(model.native_path))

    def score_mapping(self, row):
        return self.booster.predict(pd.DataFrame([row]), num_threads=1)

    def score_array(self, row):
        return self.booster.predict(row.reshape(1, -1), num_threads=1)

    def batch_input(self, frame):
        return frame.to_numpy(dtype=np.float64)

    def score_batch(self, batch):
        return self.booster.predict(batch, num_threads=BATCH_THREADS)

    def batch_threads(self):
        return BATCH_THREADS


class XGBoostEngine(Engine):
    """XGBoost's own Booster.inplace_predict on the model's JSON file: a booster with ``nthread=1``
    for single rows, another with ``BATCH_THREADS`` for batches."""
    name = "xgboost"
    kind = "native"
    families = ("xgboost",)

    def setup(self, model):
        import xgboost
        self.rows_booster, self.booster = xgboost.Booster(), xgboost.Booster()
        for booster, threads in ((self.rows_booster, 1), (self.booster, BATCH_THREADS)):
            booster.load_model(str(model.native_path))
            booster.set_param({"nthread": threads})

    def score_mapping(self, row):
        return self.rows_booster.inplace_predict(pd.DataFrame([row]))

    def score_array(self, row):
        return self.rows_booster.inplace_predict(row.reshape(1, -1))

    def batch_input(self, frame):
        return frame.to_numpy(dtype=np.float64)

    def score_batch(self, batch):
        return self.booster.inplace_predict(batch)

    def batch_threads(self):
        return BATCH_THREADS


class SklearnEngine(Engine):
    """The fitted estimator's own predict_proba, unpickled (every model here is a scikit-learn API
    object, so LightGBM and XGBoost also get their wrappers measured)."""
    name = "sklearn-api"
    kind = "native"

    def setup(self, model):
        self.model = model.native()
        self.mixed = model.spec.mixed
        self.forest = hasattr(self.model, "n_jobs") and model.spec.family == "sklearn"
        # Users fit with feature names and score with arrays; scikit-learn then warns on every call.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")

    def _rows_jobs(self):
        if self.forest:
            self.model.n_jobs = 1      # joblib's thread start-up would dominate one row

    def score_mapping(self, row):
        self._rows_jobs()
        return self.model.predict_proba(pd.DataFrame([row]))

    def score_array(self, row):
        if self.mixed:
            raise NotApplicable("its ColumnTransformer selects columns by name, so it needs a DataFrame")
        self._rows_jobs()
        return self.model.predict_proba(row.reshape(1, -1))

    def batch_input(self, frame):
        return frame if self.mixed else frame.to_numpy(dtype=np.float64)

    def score_batch(self, batch):
        if self.forest:
            self.model.n_jobs = BATCH_THREADS
        return self.model.predict_proba(batch)

    def batch_threads(self):
        return BATCH_THREADS if self.forest else 1


# other PMML runtimes ------------------------------------------------------------------------------
class JpmmlEvaluatorEngine(Engine):
    """The jpmml_evaluator package (JPype backend), interpreting the artifact's PMML, unpacked."""
    name = "jpmml_evaluator"
    kind = "pmml-runtime"
    transpile = False

    def setup(self, model):
        from jpmml_evaluator import make_evaluator
        self.evaluator = make_evaluator(str(model.pmml_path), backend="jpype",
                                        transpile=self.transpile).verify()

    def score_mapping(self, row):
        return self.evaluator.evaluate(row)

    def score_array(self, row):
        raise NotApplicable("its evaluate() takes a mapping of field names only")

    def score_batch(self, batch):
        return self.evaluator.evaluateAll(batch)

    def batch_threads(self):
        return os.cpu_count() or 1    # evaluateAll's default parallelism=-1 uses every core


class JpmmlEvaluatorTranspiledEngine(JpmmlEvaluatorEngine):
    """The jpmml_evaluator package with transpile=True (JPMML-Transpiler, in memory)."""
    name = "jpmml_evaluator-transpiled"
    transpile = True


class PyPmmlEngine(Engine):
    """pypmml (PMML4S on the JVM, reached over its default Py4J gateway)."""
    name = "pypmml"
    kind = "pmml-runtime"

    def setup(self, model):
        from pypmml import Model
        self.model = Model.load(str(model.pmml_path))
        self.inputs = list(self.model.inputNames)

    def score_mapping(self, row):
        # pypmml turns NaN into JSON it cannot read; None is its missing value.
        return self.model.predict({k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()})

    def score_array(self, row):
        return self.model.predict([None if isinstance(v, float) and v != v else v for v in row.tolist()])

    def score_batch(self, batch):
        return self.model.predict(batch)

    def close(self):
        from pypmml import Model
        Model.close()


ENGINES: dict[str, type[Engine]] = {cls.name: cls for cls in (
    JarscoreEngine, JarscoreJpmmlEngine, JarscoreRemoteEngine, JarscorePmmlEngine, LightGBMEngine, XGBoostEngine,
    SklearnEngine,
    JpmmlEvaluatorEngine, JpmmlEvaluatorTranspiledEngine, PyPmmlEngine)} | PEERS

NATIVE = {"lightgbm": "lightgbm", "xgboost": "xgboost", "sklearn": "sklearn-api"}
