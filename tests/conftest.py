import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import hypothesis  # noqa: F401  (see below)
import pytest

# hypothesis's pytest plugin imports hypothesis at the end of the session if no test module did.
# After a run that only exercised the Py4J gateway (tests/test_remote.py alone), CPython 3.11.7 then
# failed to parse it ("AST constructor recursion depth mismatch"); importing it up front avoids that.

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(os.environ.get("JARSCORE_CONFORMANCE_DIR", ROOT / "tests" / "data" / "jpmml-conformance"))


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE / "cases.json").is_file():
        pytest.fail(f"conformance corpus not found at {CONFORMANCE} (it ships in tests/data/jpmml-conformance; "
                    "JARSCORE_CONFORMANCE_DIR overrides it)")
    return CONFORMANCE


@pytest.fixture(scope="session")
def registry_sources(tmp_path_factory) -> dict[int, Path]:
    """Two converted versions of one model (tests/registry_models.py), built once for every test file
    that publishes them into repositories; the tests copy them, never change them."""
    from registry_models import build_versions

    return build_versions(tmp_path_factory.mktemp("registry-sources"))


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """A small LightGBM classifier trained once per session: its text model file, held-out rows (CSV),
    and the artifact converted from it, for the tests of the command line and the README."""
    import lightgbm

    from jarscore import convert
    from zoo import binary, numeric_frame

    folder = tmp_path_factory.mktemp("small-model")
    frame = numeric_frame(rows=1000, nan_share=0.05)
    train, held_out = frame.iloc[:600], frame.iloc[600:]
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(train, binary(train))
    model.booster_.save_model(str(folder / "model.txt"))
    held_out.to_csv(folder / "holdout.csv", index=False)
    convert(folder / "model.txt", folder / "artifact", sample=held_out, name="churn", version=1).close()
    return SimpleNamespace(folder=folder, native=model, model_file=folder / "model.txt",
                           holdout=held_out, holdout_csv=folder / "holdout.csv", artifact=folder / "artifact")


@pytest.fixture(scope="session")
def zoo_artifact(tmp_path_factory):
    """name -> (fitted model, held-out rows, artifact folder): each zoo model (tests/zoo.py) trained and
    converted once per test session, for every test that needs it (the parity tests, Spark)."""
    from jarscore.converter import convert
    from zoo import ZOO

    entries = {z.name: z for z in ZOO}
    converted = {}

    def get(name: str):
        if name not in converted:
            model, held_out = entries[name].fitted()
            folder = tmp_path_factory.mktemp("zoo") / name
            convert(model, folder, sample=held_out, name=name, log=lambda line: None).close()
            converted[name] = model, held_out, folder
        return converted[name]

    return get


# The benchmark suite's quick run (tests/test_bench_smoke.py) takes minutes, a good part of them
# waiting on processes it starts; it starts as soon as the tests are collected and runs beside them,
# in a cache of its own (the other benchmark tests build into benchmarks/.cache). The tests that read
# it run last, so that nothing waits for it while there are other tests to run.
QUICK_BENCH_MODELS = ["lgbm500", "xgb500", "pipeline"]
QUICK_BENCH_FIXTURES = {"quick_bench", "bench_cache"}
_quick_bench: dict = {}


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: bool(QUICK_BENCH_FIXTURES & set(item.fixturenames)))  # stable


def pytest_collection_finish(session):
    if any(item.path.name == "test_bench_smoke.py" and "quick_run" in item.fixturenames for item in session.items):
        work = Path(tempfile.mkdtemp(prefix="jarscore-quick-bench-"))
        log = open(work / "bench.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks", "--quick", "--models", *QUICK_BENCH_MODELS,
             "--out-dir", str(work / "results")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "JARSCORE_BENCH_CACHE": str(work / "cache")})
        _quick_bench.update(work=work, process=process, log=log)


def pytest_sessionfinish(session):
    if _quick_bench:
        process = _quick_bench["process"]
        if process.poll() is None:
            process.kill()
            process.wait()
        _quick_bench["log"].close()
        shutil.rmtree(_quick_bench["work"], ignore_errors=True)


@pytest.fixture(scope="session")
def quick_bench() -> Path:
    """The results file of the quick run started at collection, once it has finished."""
    if not _quick_bench:
        pytest.fail("the quick benchmark run was not started (pytest_collection_finish starts it for test_bench_smoke)")
    process, work = _quick_bench["process"], _quick_bench["work"]
    try:
        process.wait(timeout=1200)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _quick_bench["log"].flush()
    output = (work / "bench.log").read_text(errors="replace")
    assert process.returncode == 0, f"python -m benchmarks --quick exited {process.returncode}:\n{output[-3000:]}"
    files = list((work / "results").glob("*-quick.json"))
    assert len(files) == 1, f"expected one results file in {work / 'results'}, found {files}"
    return files[0]


@pytest.fixture(scope="session")
def bench_cache(request) -> Path:
    """The benchmark cache for tests that build the suite's quick models: the quick run's own once it
    has finished, when this session started one (its models and peers' builds are then reused, not
    built a second time beside it), else benchmarks/.cache."""
    if not _quick_bench:
        from benchmarks.suite import CACHE

        return CACHE
    request.getfixturevalue("quick_bench")
    return _quick_bench["work"] / "cache"
