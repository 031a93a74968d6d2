"""Cold start: from spawning a fresh process to its first verified prediction, with nothing of the
suite in it (no warm-up, no harness imports). Python: ``python -c`` with what a user would write
(imports, load, one row); Java: a fresh ``java`` running ``io.jarscore.bench.ColdStart`` (the README's
quick start: ``Models.load`` and one ``score``). Each process prints the wall clock right after its
first prediction and the prediction itself, which must match the native library's on that row;
the figure is the median over several processes. In a full run one untimed process goes first, so
that every timed one finds what a restarted service finds: the files in the OS's cache and Python's
bytecode caches written (``PYTHONDONTWRITEBYTECODE`` is not passed on)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from benchmarks.jvm_side import COLD_START_PROJECT
from benchmarks.suite import BuiltModel
from jarscore.converter.kinds import FLOAT32_TOLERANCE

#: Fresh processes per engine and model, timed; and untimed before them.
RUNS = {"full": 3, "quick": 1}
PRIMING = {"full": 1, "quick": 0}

_HEAD = "import json, sys, time\nimport numpy as np\nargs = json.loads(sys.argv[1])\n"
_ROW = {False: "X = np.array([args['row']])\n",
        True: "import pandas as pd\nX = pd.DataFrame([args['row']])\n"}
_TAIL = "\nprint(json.dumps({'at': time.time(), 'p': float(p)}))\n"

#: What each engine's user writes: import, load the saved model, score one row. ``p`` is the
#: positive-class probability; args['file'] is the file the engine loads.
SNIPPETS = {
    "jarscore": "from jarscore import Scorer\n"
                "scorer = Scorer.load(args['file'])\n"
                "p = scorer.predict_proba(X)[0, -1]",
    "lightgbm": "import lightgbm\n"
                "booster = lightgbm.Booster(model_file=args['file'])\n"
                "p = booster.predict(X)[0]",
    "xgboost": "import xgboost\n"
               "booster = xgboost.Booster()\n"
               "booster.load_model(args['file'])\n"
               "p = booster.inplace_predict(X)[0]",
    "sklearn-api": "import pickle\n"
                   "with open(args['file'], 'rb') as handle:\n"
                   "    model = pickle.load(handle)\n"
                   "p = model.predict_proba(X)[0, -1]",
    "onnxruntime": "import onnxruntime\n"
                   "session = onnxruntime.InferenceSession(args['file'], providers=['CPUExecutionProvider'])\n"
                   "names = [i.name for i in session.get_inputs()]\n"
                   "feed = ({names[0]: X.astype(np.float32)} if len(names) == 1 else\n"
                   "        {n: X[[n]].to_numpy(np.float32 if X[n].dtype.kind == 'f' else object) for n in names})\n"
                   "output = [o.name for o in session.get_outputs() if 'prob' in o.name][0]\n"
                   "p = session.run([output], feed)[0][0, -1]",
    "lleaves": "import lleaves\n"
               "model = lleaves.Model(model_file=args['file'])\n"
               "model.compile(cache=args['cache'])\n"
               "p = model.predict(X, n_jobs=1)[0]",
    "tl2cgen": "import tl2cgen\n"
               "predictor = tl2cgen.Predictor(args['file'], nthread=1)\n"
               "dtype = predictor.threshold_type\n"
               "p = predictor.predict(tl2cgen.DMatrix(X.astype(dtype), dtype=dtype)).ravel()[-1]",
}
FLOAT32_INPUT = {"onnxruntime"}


def files(engine: str, model: BuiltModel) -> dict[str, str]:
    peers = model.folder / "peers"
    return {"jarscore": {"file": str(model.artifact)},
            "lightgbm": {"file": str(model.native_path)},
            "xgboost": {"file": str(model.native_path)},
            "sklearn-api": {"file": str(model.pickle_path)},
            "onnxruntime": {"file": str(peers / "onnxruntime" / "model.onnx")},
            "lleaves": {"file": str(model.native_path), "cache": str(peers / "lleaves" / "model.o")},
            "tl2cgen": {"file": str(peers / "tl2cgen" / "model.so")}}[engine]


def _first_row(model: BuiltModel) -> dict | list:
    row = model.parity_rows().iloc[0]
    return row.to_dict() if model.spec.mixed else [float(v) for v in row]


def _verify(model: BuiltModel, engine: str, value: float) -> None:
    dtype = "float32" if engine in FLOAT32_INPUT else "float64"
    want = float(model.expected(dtype)[0])
    # One row: the float32 tolerance for every engine (the parity check holds each to its own on 1 000).
    if not abs(value - want) <= FLOAT32_TOLERANCE * (1 + abs(want)):
        raise ValueError(f"its first prediction {value!r} differs from the native library's {want!r}")


def python(engine: str, model: BuiltModel, runs: int, priming: int = 0) -> dict:
    code = _HEAD + _ROW[model.spec.mixed] + SNIPPETS[engine] + _TAIL
    argument = json.dumps({**files(engine, model), "row": _first_row(model)})
    return _measure(lambda: [sys.executable, "-c", code, argument], model, engine, runs,
                    f"python -c: import, load, first predict ({engine})", priming=priming)


def java(model: BuiltModel, runs: int, cds: bool = False, priming: int = 0) -> dict:
    """``cds``: with an AppCDS archive of the classes the first run loaded (``-XX:ArchiveClassesAtExit``
    in one untimed run, then ``-XX:SharedArchiveFile``), as docs/kernel.md tells a Java service to.
    The class path is the harness's JAR and what a Java service depending on jarscore-runtime adds:
    the runtime and its dependencies (benchmarks/coldstart), JAR files only, as class-data sharing
    wants them. No JVM option, as the README's quick start runs: not even ``--add-modules
    jdk.incubator.vector``, which a service adds for SIMD batches (one row never uses SIMD) and which
    costs a cold JVM about 0.05 s, as it turns off the JDK's archived module graph."""
    from jarscore.scorer import jvm
    row = model.parity_rows().iloc[0].to_dict()
    pairs = [f"{name}={'NaN' if isinstance(v, float) and v != v else v}" for name, v in row.items()]
    how = ("java ColdStart: Models.load (with its checks) and one score(Map), on jarscore-runtime's class path, "
           "no JVM option")
    target = COLD_START_PROJECT / "target"
    classpath = ":".join([*(str(p) for p in target.glob("jarscore-coldstart-*.jar")),
                          *sorted(str(p) for p in (target / "lib").glob("*.jar"))])
    base = [jvm.java_executable()]
    tail = ["-cp", classpath, "io.jarscore.bench.ColdStart", str(model.artifact), *pairs]
    if not cds:
        return _measure(lambda: [*base, *tail], model, "jarscore-java", runs, how, parse=_parse_java, priming=priming)
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "app.jsa"
        trained = subprocess.run([*base, f"-XX:ArchiveClassesAtExit={archive}", *tail], capture_output=True,
                                 text=True, timeout=300, cwd=work)
        if trained.returncode != 0 or not archive.is_file():
            return {"failed": f"no AppCDS archive (exit {trained.returncode}): {trained.stderr.strip()[-500:]}",
                    "how": how}
        return _measure(lambda: [*base, f"-XX:SharedArchiveFile={archive}", *tail], model, "jarscore-java-cds",
                        runs, how + ", with an AppCDS archive made by one earlier run", parse=_parse_java,
                        priming=priming)


def _parse_java(stdout: str) -> dict:
    at = next(line[3:] for line in stdout.splitlines() if line.startswith("at="))
    outputs = [line[4:].split("=", 1) for line in stdout.splitlines() if line.startswith("out ")]
    return {"at": float(at), "p": float([v for k, v in outputs if "probab" in k.lower()][-1])}


def _measure(command: Callable[[], list[str]], model: BuiltModel, engine: str, runs: int, how: str,
             parse: Callable[[str], dict] = json.loads, priming: int = 0) -> dict:
    """``runs`` processes timed after ``priming`` untimed ones, each checked alike."""
    seconds = []
    # Without .pyc files (an install that did not compile them, a variable that forbids writing them)
    # every process compiles scikit-learn, pandas and scipy from source: 3 s of imports became 10 s.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if priming:
        how += f", timed after {priming} untimed process{'es' if priming > 1 else ''}"
    with tempfile.TemporaryDirectory() as empty:   # no checkout on sys.path: what a user's process sees
        for attempt in range(priming + runs):
            spawned = time.time()
            done = subprocess.run(command(), capture_output=True, text=True, timeout=300, cwd=empty, env=env)
            if done.returncode != 0:
                return {"failed": f"exit {done.returncode}: {done.stderr.strip()[-500:]}", "how": how}
            try:
                printed = parse(done.stdout.strip().splitlines()[-1] if parse is json.loads else done.stdout)
                _verify(model, engine, printed["p"])
            except (ValueError, KeyError, IndexError, StopIteration) as exc:
                return {"failed": f"no verified prediction: {exc}; stdout {done.stdout.strip()[-300:]!r}", "how": how}
            if attempt >= priming:
                seconds.append(printed["at"] - spawned)
    return {"median_seconds": statistics.median(seconds), "seconds": seconds, "how": how}


#: The Java cold starts: plain, and with an AppCDS archive.
JAVA = ("jarscore-java", "jarscore-java-cds")


def run(built: dict[str, BuiltModel], engines: dict[str, list[str]], quick: bool,
        log: Callable[[str], None]) -> list[dict]:
    """For every model, each engine in ``engines[model]``: those of :data:`JAVA` from Java, the others
    (those with a snippet) from Python."""
    runs, priming = RUNS["quick" if quick else "full"], PRIMING["quick" if quick else "full"]
    out = []
    for name, model in built.items():
        jobs = [(engine, "java" if engine in JAVA else "python") for engine in engines.get(name, [])
                if engine in JAVA or engine in SNIPPETS]
        for engine, language in jobs:
            figures = java(model, runs, cds=engine == "jarscore-java-cds", priming=priming) if language == "java" \
                else python(engine, model, runs, priming)
            record = {"model": name, "engine": engine, "language": language, "runs": runs, **figures}
            out.append(record)
            log(f"bench: cold start {name} x {engine} ({language}): " +
                (f"FAILED {record['failed'][:200]}" if "failed" in record else f"{record['median_seconds']:.2f} s"))
    return out

