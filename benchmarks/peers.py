"""The runtimes a user would pick instead of jarscore, as engines of the suite: ONNX Runtime (models
converted by onnxmltools or skl2onnx), lleaves (LightGBM compiled by LLVM) and treelite + tl2cgen
(C compiled by gcc). Each keeps the settings its documentation recommends for speed: single rows on
one thread, batches on ``BATCH_THREADS``, float32 input where the runtime computes in float32.

A peer's conversion or compilation runs once per model, in a process of its own
(``python -m benchmarks.peers``), timed, and cached under the model's folder in ``peers/<name>/``
with a ``build.json`` naming the seconds, the package versions and the files. The worker's
``setup`` only loads what was built, as jarscore's loads its artifact."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.interface import BATCH_THREADS, Engine, NotApplicable
from benchmarks.suite import BuiltModel, build, standard_specs

ROOT = Path(__file__).resolve().parent.parent


class PeerEngine(Engine):
    kind = "peer"
    packages: tuple[str, ...] = ()      # distributions whose versions the cached build depends on
    #: The one model a quick run gives this peer: a smoke run needs each peer's path through the suite
    #: once (one peer per model family), not its conversion, worker and cold start on every model.
    quick_model = ""

    def convert(self, model: BuiltModel, folder: Path) -> dict[str, float]:
        """Writes the runtime's own form of ``model`` into ``folder``; returns seconds per stage."""
        raise NotImplementedError

    def not_in_quick_runs(self, model: BuiltModel) -> str | None:
        """Why a quick run leaves this model out."""
        if model.spec.name == self.quick_model:
            return None
        return f"not in quick runs, which run {self.name} on {self.quick_model} only"

    def folder(self, model: BuiltModel) -> Path:
        return model.folder / "peers" / self.name

    def versions(self) -> dict[str, str]:
        return {package: metadata.version(package) for package in self.packages}

    def settings(self, model: BuiltModel) -> dict[str, Any]:
        """The conversion's own options, recorded with the build (a change rebuilds it)."""
        return {}

    def built(self, model: BuiltModel) -> dict | None:
        """The cached build record, if it was made with the installed versions and these settings."""
        record = self.folder(model) / "build.json"
        if not record.exists():
            return None
        built = json.loads(record.read_text())
        current = built.get("versions") == self.versions() and built.get("settings", {}) == self.settings(model)
        return built if current else None

    def check(self, model: BuiltModel) -> None:
        super().check(model)
        missing = [package for package in self.packages if not _installed(package)]
        if missing:
            raise NotApplicable(f"{', '.join(missing)} not installed (the [peers] extra: "
                                "pip install -c constraints.txt -e '.[peers]')")
        built = self.built(model)
        if built and "failed" in built:
            raise NotApplicable(f"its conversion failed: {built['failed']}")

    def load(self, model: BuiltModel) -> Path:
        """The folder of the peer's build for ``model``; the suite converts before any worker starts."""
        built = self.built(model)
        if built is None or "failed" in built:
            raise RuntimeError(f"{self.name} has no build for {model.spec.name} with the installed "
                               f"{', '.join(self.packages)}: run python -m benchmarks.peers first")
        return self.folder(model)


def _installed(package: str) -> bool:
    try:
        metadata.version(package)
    except metadata.PackageNotFoundError:
        return False
    return True


# ONNX Runtime -------------------------------------------------------------------------------------
class OnnxRuntimeEngine(PeerEngine):
    """ONNX Runtime's CPU provider on the model converted by onnxmltools (LightGBM, XGBoost) or
    skl2onnx (scikit-learn), with float32 inputs and no ZipMap (probabilities as a tensor). Two
    sessions: one intra-op thread for single rows, ``BATCH_THREADS`` for batches."""
    name = "onnxruntime"
    packages = ("onnxruntime", "onnx", "onnxmltools", "skl2onnx")
    quick_model = "pipeline"      # skl2onnx, and one named input per column
    input_dtype = precision = "float32"

    def convert(self, model, folder):
        convert = _onnx_converter(model)
        started = time.perf_counter()
        onnx_model = convert()
        (folder / "model.onnx").write_bytes(onnx_model.SerializeToString())
        return {"convert": time.perf_counter() - started}

    def setup(self, model):
        import onnxruntime
        path = str(self.load(model) / "model.onnx")
        self.rows_session = _session(onnxruntime, path, 1)
        self.batch_session = _session(onnxruntime, path, BATCH_THREADS)
        inputs = self.rows_session.get_inputs()
        self.mixed = model.spec.mixed
        self.names = [i.name for i in inputs]
        self.output = [o.name for o in self.rows_session.get_outputs() if "prob" in o.name][0]

    def _feed(self, frame_or_row) -> dict[str, np.ndarray]:
        if not self.mixed:
            return {self.names[0]: np.asarray(frame_or_row, dtype=np.float32).reshape(-1, len(self.features))}
        return {name: _column(frame_or_row[name]) for name in self.names}

    def check(self, model):
        super().check(model)
        self.features = list(model.rows(1).columns)
        self.mixed = model.spec.mixed

    def row_input(self, row):
        return row.astype(np.float32).reshape(1, -1) if not self.mixed else row

    def score_mapping(self, row):
        if self.mixed:
            feed = {name: _column([row[name]]) for name in self.names}
        else:
            feed = {self.names[0]: np.array([[row[f] for f in self.features]], dtype=np.float32)}
        return self.rows_session.run([self.output], feed)[0]

    def score_array(self, row):
        if self.mixed:
            raise NotApplicable("its graph takes one named input per column, so it needs a mapping or DataFrame")
        return self.rows_session.run([self.output], {self.names[0]: row})[0]

    def batch_input(self, frame):
        return self._feed(frame.to_numpy(dtype=np.float32) if not self.mixed else frame)

    def score_batch(self, batch):
        return self.batch_session.run([self.output], batch)[0]

    def batch_threads(self):
        return BATCH_THREADS


def _session(onnxruntime, path: str, threads: int):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _column(values) -> np.ndarray:
    array = np.asarray(values)
    kind = np.float32 if array.dtype.kind in "fiu" else object
    return array.astype(kind).reshape(-1, 1)


def _onnx_converter(model: BuiltModel) -> Callable[[], Any]:
    """The conversion call, with its imports and the unpickling done (they are not the conversion)."""
    fitted = model.native()
    if model.spec.family in ("lightgbm", "xgboost"):
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType
        types = [("input", FloatTensorType([None, fitted.n_features_in_]))]
        if model.spec.family == "lightgbm":
            return lambda: onnxmltools.convert_lightgbm(fitted.booster_, initial_types=types, zipmap=False)
        return lambda: onnxmltools.convert_xgboost(fitted, initial_types=types)
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    columns = model.rows(1)
    if model.spec.mixed:
        types = [(name, FloatTensorType([None, 1]) if columns[name].dtype.kind == "f" else StringTensorType([None, 1]))
                 for name in columns.columns]
    else:
        types = [("input", FloatTensorType([None, columns.shape[1]]))]
    final = fitted.steps[-1][1] if hasattr(fitted, "steps") else fitted
    return lambda: skl2onnx.convert_sklearn(fitted, initial_types=types, options={id(final): {"zipmap": False}})


# lleaves ------------------------------------------------------------------------------------------
class LleavesEngine(PeerEngine):
    """lleaves: LightGBM's text model compiled to machine code by LLVM (llvmlite), default compile
    options (float64, blocks of 34 trees); ``predict(n_jobs=1)`` for rows, ``BATCH_THREADS`` for batches."""
    name = "lleaves"
    families = ("lightgbm",)
    packages = ("lleaves", "llvmlite")
    quick_model = "lgbm500"

    def check(self, model):
        if model.spec.family not in self.families:
            raise NotApplicable(f"lleaves compiles LightGBM models only, not {model.spec.family}")
        super().check(model)

    def convert(self, model, folder):
        import lleaves
        started = time.perf_counter()
        compiled = lleaves.Model(model_file=str(model.native_path))
        parsed = time.perf_counter()
        compiled.compile(cache=str(folder / "model.o"))
        return {"parse": parsed - started, "compile (LLVM)": time.perf_counter() - parsed}

    def setup(self, model):
        import lleaves
        self.model = lleaves.Model(model_file=str(model.native_path))
        self.model.compile(cache=str(self.load(model) / "model.o"))    # loads the cached object file

    def score_mapping(self, row):
        return self.model.predict(np.array([list(row.values())], dtype=np.float64), n_jobs=1)

    def score_array(self, row):
        return self.model.predict(row.reshape(1, -1), n_jobs=1)

    def batch_input(self, frame):
        return frame.to_numpy(dtype=np.float64)

    def score_batch(self, batch):
        return self.model.predict(batch, n_jobs=BATCH_THREADS)

    def batch_threads(self):
        return BATCH_THREADS


# treelite + tl2cgen -------------------------------------------------------------------------------
class Tl2cgenEngine(PeerEngine):
    """treelite reads the model, tl2cgen turns it into C and gcc compiles it (-O3, ``parallel_comp``
    translation units of about ``TREES_PER_UNIT`` trees, compiled on ``BATCH_THREADS``); the shared library is scored through ``tl2cgen.Predictor``
    with input in the model's threshold type (float32 for XGBoost, float64 otherwise): one thread
    for rows, ``BATCH_THREADS`` for batches."""
    name = "tl2cgen"
    packages = ("treelite", "tl2cgen")
    quick_model = "xgb500"        # float32 thresholds; gcc takes minutes on even the quick rf200's deep trees

    def check(self, model):
        if model.spec.mixed:
            raise NotApplicable("treelite imports tree ensembles only, not a ColumnTransformer + LogisticRegression pipeline")
        super().check(model)

    #: gcc's time grows faster than a unit's size: rf200's 20-tree quick forest (depth 12) compiled in
    #: 120 s as 20 units and in 428 s as 2 (a loaded machine). Units change the build, not the scoring
    #: code. Boosted trees (31 leaves, depth 6) compile in reasonable time as ``BATCH_THREADS`` units.
    DEEP_TREES_PER_UNIT = 10

    def settings(self, model):
        units = model.spec.size // self.DEEP_TREES_PER_UNIT if model.spec.family == "sklearn" else 0
        return {"toolchain": "gcc", "parallel_comp": max(BATCH_THREADS, units)}

    def convert(self, model, folder):
        import tl2cgen
        import treelite
        fitted = model.native() if model.spec.family == "sklearn" else None
        started = time.perf_counter()
        if model.spec.family == "lightgbm":
            forest = treelite.frontend.load_lightgbm_model(str(model.native_path))
        elif model.spec.family == "xgboost":
            forest = treelite.frontend.load_xgboost_model(str(model.native_path))
        else:
            forest = treelite.sklearn.import_model(fitted)
        imported = time.perf_counter()
        settings = self.settings(model)
        tl2cgen.export_lib(forest, toolchain=settings["toolchain"], libpath=str(folder / "model.so"),
                           params={"parallel_comp": settings["parallel_comp"]}, nthread=BATCH_THREADS)
        return {"import (treelite)": imported - started, "C + gcc (tl2cgen)": time.perf_counter() - imported}

    def setup(self, model):
        import tl2cgen
        library = str(self.load(model) / "model.so")
        self.tl2cgen = tl2cgen
        self.rows_predictor = tl2cgen.Predictor(library, nthread=1)
        self.batch_predictor = tl2cgen.Predictor(library, nthread=BATCH_THREADS)
        self.dtype = self.rows_predictor.threshold_type
        self.input_dtype = self.dtype
        self.precision = "float32" if self.dtype == "float32" else "float64"

    def _matrix(self, array):
        # tl2cgen's DMatrix copies with np.array(copy=False), which numpy 2 refuses when the dtype
        # changes: convert first.
        return self.tl2cgen.DMatrix(np.ascontiguousarray(array, dtype=self.dtype), dtype=self.dtype)

    def row_input(self, row):
        return self._matrix(row.reshape(1, -1))

    def score_mapping(self, row):
        return self.rows_predictor.predict(self._matrix([list(row.values())]))

    def score_array(self, row):
        return self.rows_predictor.predict(row)

    def batch_input(self, frame):
        return self._matrix(frame.to_numpy())

    def score_batch(self, batch):
        return self.batch_predictor.predict(batch)

    def batch_threads(self):
        return BATCH_THREADS


PEERS: dict[str, type[PeerEngine]] = {cls.name: cls for cls in (OnnxRuntimeEngine, LleavesEngine, Tl2cgenEngine)}


# building -----------------------------------------------------------------------------------------
def prepare(names: list[str], model: BuiltModel, quick_run: bool, timeout: float,
            log: Callable[[str], None]) -> dict[str, dict]:
    """Converts ``model`` for each peer in ``names`` (cached), each in a process of its own; returns
    {peer: build record}, where a record says why when the peer cannot take the model or a quick
    run leaves it out."""
    out = {}
    quick_spec = model.spec == standard_specs(True)[model.spec.name]
    for name in names:
        engine = PEERS[name]()
        try:
            engine.check(model)
            if quick_run and engine.not_in_quick_runs(model):
                raise NotApplicable(engine.not_in_quick_runs(model))
        except NotApplicable as reason:
            out[name] = {"unavailable": str(reason)}
            continue
        built = engine.built(model)
        if built is None:
            log(f"bench: converting {model.spec.name} for {name}")
            command = [sys.executable, "-m", "benchmarks.peers", "--peer", name, "--model", model.spec.name]
            try:
                done = subprocess.run(command + (["--quick"] if quick_spec else []), capture_output=True, text=True,
                                      timeout=timeout, cwd=ROOT)
                built = engine.built(model) or {"failed": f"exit {done.returncode}: " + done.stderr.strip()[-500:]}
            except subprocess.TimeoutExpired:
                built = {"failed": f"conversion ran past {timeout:.0f} s and was stopped"}
        out[name] = built
        log(f"bench: {model.spec.name} for {name}: " + (f"failed: {built['failed'][:200]}" if "failed" in built
                                                        else f"{built['seconds']:.1f} s"))
    return out


def _convert(name: str, model: BuiltModel) -> dict:
    engine = PEERS[name]()
    folder = engine.folder(model)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    record: dict[str, Any] = {"versions": engine.versions(), "settings": engine.settings(model)}
    try:
        stages = engine.convert(model, folder)
        # CPU seconds too (this process and the compilers it ran): on a shared machine the wall time
        # also counts the waits for a core.
        used = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        record.update(seconds=sum(stages.values()), stage_seconds=stages,
                      process_cpu_seconds=sum(u.ru_utime + u.ru_stime for u in used),
                      files={p.name: p.stat().st_size for p in folder.iterdir()})
    except Exception as exc:         # a converter's refusal is a result: the report prints it
        record["failed"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        record["traceback"] = traceback.format_exc()
    partial = folder / "build.json.partial"
    partial.write_text(json.dumps(record, indent=1))
    os.replace(partial, folder / "build.json")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers", description="Converts one model for one peer.")
    parser.add_argument("--peer", required=True, choices=sorted(PEERS))
    parser.add_argument("--model", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    model = build(standard_specs(args.quick)[args.model], log=lambda line: print(line, file=sys.stderr))
    record = _convert(args.peer, model)
    return 1 if "failed" in record else 0


if __name__ == "__main__":
    sys.exit(main())
