"""The standard benchmark models, built by the suite itself from fixed seeds (no downloads).

Each model is trained, saved natively (pickle, plus the library's own text/JSON format), converted
into a jarscore artifact, and cached under ``benchmarks/.cache/<model>-<size>/`` ($JARSCORE_BENCH_CACHE) keyed by its spec,
so a rerun measures instead of retraining. The conversion time is recorded the first time."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

#: Trained models, artifacts and peers' builds; $JARSCORE_BENCH_CACHE moves it (the smoke test gives its
#: run a cache of its own, so that it can run beside tests that build into this one).
CACHE = Path(os.environ.get("JARSCORE_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
STAGES = ("to PMML", "transpile", "parity", "write")     # the converter's [1/4]..[4/4] steps
SEED = 20261122
PARITY_ROWS = 1000        # held-out rows each engine is checked on before it is timed
BUILD_FORMAT = 3          # bump when the way models or artifacts are built changes
TRAIN_ROWS = 20_000
NUMERIC_FEATURES = 50
NAN_SHARE = 0.05
CATEGORIES = {"channel": ["web", "app", "store", "phone"],
              "region": ["north", "south", "east", "west", "centre"],
              "plan": ["free", "basic", "pro"]}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str            # lightgbm | xgboost | sklearn
    size: int              # trees (or 0 for the pipeline)
    describe: str
    mixed: bool = False    # numeric + string columns instead of 50 numeric columns
    nan_share: float = NAN_SHARE

    def key(self) -> str:
        text = json.dumps([BUILD_FORMAT, asdict(self), SEED, TRAIN_ROWS, NUMERIC_FEATURES, NAN_SHARE, CATEGORIES,
                           _converter_digest()])
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def _converter_digest() -> str:
    """The converter's sources and those of the JVM modules that make and load an artifact (runtime,
    compiler): a change to either can change the artifact; the apps built on them cannot."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    java = [*root.glob("jvm/runtime/src/main/java/**/*.java"), *root.glob("jvm/compiler/src/main/java/**/*.java")]
    for path in sorted([*root.glob("converter/*.py"), *java]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def standard_specs(quick: bool) -> dict[str, ModelSpec]:
    """The four models of the suite. ``quick`` shrinks the ensembles (same shapes, fewer trees) so
    the smoke run stays short; its figures are marked quick in the report and not quoted."""
    trees = (lambda n: max(n // 10, 10)) if quick else (lambda n: n)
    lgbm, xgb, rf = trees(500), trees(500), trees(200)
    specs = [
        ModelSpec("lgbm500", "lightgbm", lgbm, f"LightGBM binary, {lgbm} trees, 31 leaves, 50 numeric, 5% NaN"),
        ModelSpec("xgb500", "xgboost", xgb, f"XGBoost binary, {xgb} trees, max_depth 6, same data"),
        # sklearn2pmml 0.133.1 does not carry the missing-value direction scikit-learn >= 1.4 learns
        # for forests (the PMML answers no value for a row with NaN), so rf200 sees no NaN.
        ModelSpec("rf200", "sklearn", rf, f"RandomForestClassifier, {rf} trees, max_depth 12, 50 numeric, no NaN",
                  nan_share=0.0),
        ModelSpec("pipeline", "sklearn", 0, "ColumnTransformer(StandardScaler + OneHotEncoder) + LogisticRegression, "
                  "8 numeric + 3 string columns", mixed=True, nan_share=0.0),
    ]
    return {spec.name: spec for spec in specs}


# data ---------------------------------------------------------------------------------------------
def numeric_rows(rows: int, seed: int, nan_share: float = NAN_SHARE) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, NUMERIC_FEATURES))
    if nan_share:
        values[rng.random(values.shape) < nan_share] = np.nan
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(NUMERIC_FEATURES)])


def mixed_rows(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"n{i}" for i in range(8)])
    for column, levels in CATEGORIES.items():
        frame[column] = rng.choice(levels, rows)
    return frame


def rows_for(spec: ModelSpec, rows: int, seed: int) -> pd.DataFrame:
    return mixed_rows(rows, seed) if spec.mixed else numeric_rows(rows, seed, spec.nan_share)


def labels(frame: pd.DataFrame) -> np.ndarray:
    rng = np.random.default_rng(SEED + 1)
    if "channel" in frame:
        signal = frame["n0"] - 0.5 * frame["n1"] + (frame["channel"] == "app") - 0.7 * (frame["plan"] == "free")
    else:
        filled = frame.fillna(0.0).to_numpy()
        signal = filled[:, 0] - filled[:, 1] + 0.5 * filled[:, 2] * filled[:, 3] + np.sin(filled[:, 4]) \
            + 0.3 * filled[:, 5:15].sum(axis=1)
    return (signal + rng.normal(scale=0.5, size=len(frame)) > 0).astype(int)


# training -----------------------------------------------------------------------------------------
def _train_lightgbm(spec, X, y):
    import lightgbm
    return lightgbm.LGBMClassifier(n_estimators=spec.size, num_leaves=31, learning_rate=0.05,
                                   random_state=SEED, verbose=-1).fit(X, y)


def _train_xgboost(spec, X, y):
    import xgboost
    return xgboost.XGBClassifier(n_estimators=spec.size, max_depth=6, learning_rate=0.05,
                                 random_state=SEED, tree_method="hist").fit(X, y)


def _train_sklearn(spec, X, y):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    if spec.mixed:
        numeric = [c for c in X.columns if c.startswith("n")]
        columns = ColumnTransformer([("scale", StandardScaler(), numeric),
                                     ("onehot", OneHotEncoder(handle_unknown="ignore"), list(CATEGORIES))])
        return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000))]).fit(X, y)
    # scikit-learn's forest rejects NaN only in old versions; 1.4+ routes missing values itself.
    return RandomForestClassifier(n_estimators=spec.size, max_depth=12, random_state=SEED,
                                  n_jobs=-1).fit(X, y)


TRAINERS: dict[str, Callable] = {"lightgbm": _train_lightgbm, "xgboost": _train_xgboost, "sklearn": _train_sklearn}


@dataclass
class BuiltModel:
    spec: ModelSpec
    folder: Path
    build: dict          # seconds for training and conversion, measured when first built

    @property
    def artifact(self) -> Path:
        return self.folder / "artifact"

    @property
    def pickle_path(self) -> Path:
        return self.folder / "model.pkl"

    @property
    def native_path(self) -> Path | None:
        for name in ("model.lgb.txt", "model.xgb.json"):
            if (self.folder / name).exists():
                return self.folder / name
        return None

    def native(self):
        with self.pickle_path.open("rb") as handle:
            return pickle.load(handle)

    def rows(self, count: int, seed_offset: int = 0) -> pd.DataFrame:
        """Rows the model never trained on (a different seed from the training rows)."""
        return rows_for(self.spec, count, SEED + 100 + seed_offset)

    @property
    def pmml_path(self) -> Path:
        """The model's PMML as a plain file, for the engines that read PMML: an artifact stores it as
        model.pmml.gz (format 2), which is decompressed once beside the artifact."""
        stored = self.artifact / "model.pmml"
        if stored.exists():   # a format 1 artifact
            return stored
        plain = self.folder / "model.pmml"
        if not plain.exists():
            import gzip
            import shutil
            with gzip.open(self.artifact / "model.pmml.gz", "rb") as source, open(plain, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        return plain

    def sizes(self) -> dict[str, int]:
        """Bytes on disk: the pickle, the library's own model file, the whole artifact folder, and the
        artifact's JAR and PMML (whatever form the converter stores them in)."""
        sizes = {"pickle": self.pickle_path.stat().st_size,
                 "artifact_folder": sum(p.stat().st_size for p in self.artifact.rglob("*") if p.is_file())}
        for role, pattern in (("jar", "*.jar"), ("pmml", "*.pmml*")):
            found = sorted(self.artifact.glob(pattern))
            if found:
                sizes[role] = sum(p.stat().st_size for p in found)
        if self.native_path:
            sizes["native_file"] = self.native_path.stat().st_size
        return sizes

    def parity_rows(self) -> pd.DataFrame:
        """The held-out rows every engine must agree with the native library on before it is timed."""
        return self.rows(PARITY_ROWS)

    def expected(self, input_dtype: str = "float64") -> np.ndarray:
        """The native library's positive-class probability on :meth:`parity_rows`, cached beside the
        model. An engine fed float32 is held to the native answer for the float32-rounded rows: the
        rounding is the input it was given, not an error of its own."""
        path = self.folder / f"expected-{input_dtype}.npy"
        if path.exists():
            return np.load(path)
        rows = self.parity_rows()
        if input_dtype != "float64":
            numeric = rows.select_dtypes("number").columns
            rows[numeric] = rows[numeric].astype(input_dtype).astype(np.float64)
        model = self.native()
        values = model.predict_proba(rows if self.spec.mixed else rows.to_numpy(np.float64))[:, -1]
        values = np.asarray(values, dtype=np.float64)
        partial = path.with_name(path.name + ".partial.npy")
        np.save(partial, values)
        partial.replace(path)
        return values


def _cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(u.ru_utime + u.ru_stime for u in used)


def build(spec: ModelSpec, log: Callable[[str], None] = print) -> BuiltModel:
    """Returns the cached model and artifact for ``spec``, training and converting it if needed."""
    folder = CACHE / f"{spec.name}-{spec.key()}"
    record = folder / "build.json"
    if record.exists():
        return BuiltModel(spec, folder, json.loads(record.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    X = rows_for(spec, TRAIN_ROWS, SEED)
    y = labels(X)
    log(f"bench: training {spec.name} ({spec.describe})")
    started = time.perf_counter()
    model = TRAINERS[spec.family](spec, X, y)
    trained = time.perf_counter() - started
    with (folder / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    if spec.family == "lightgbm":
        model.booster_.save_model(str(folder / "model.lgb.txt"))
    elif spec.family == "xgboost":
        model.get_booster().save_model(str(folder / "model.xgb.json"))

    from jarscore.converter import convert
    log(f"bench: converting {spec.name} (PMML, transpile, parity on 1000 held-out rows)")
    sample = rows_for(spec, 1000, SEED + 99)
    marks: list[tuple[str, float]] = []

    def convert_log(line: str) -> None:
        if line.startswith("[") and "/4]" in line[:6]:
            marks.append((STAGES[int(line[1]) - 1], time.perf_counter()))
        log(f"bench:   {line}")

    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    scorer = convert(model, folder / "artifact", sample=sample, name=spec.name, force=True, log=convert_log)
    converted = time.perf_counter() - started
    # CPU seconds of this process and the JVMs it ran: on a shared machine the wall time also counts
    # the waits for a core.
    convert_cpu = _cpu_seconds() - cpu_before
    ends = [t for _, t in marks[1:]] + [started + converted]
    stages = {name: end - begin for (name, begin), end in zip(marks, ends)}
    parity = scorer.manifest.get("parity", {})
    scorer.close()
    built = {"train_seconds": trained, "convert_seconds": converted, "convert_cpu_seconds": convert_cpu,
             "stage_seconds": stages, "parity": parity}
    record.write_text(json.dumps(built, indent=1, default=str))
    return BuiltModel(spec, folder, built)
