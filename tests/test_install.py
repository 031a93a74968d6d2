"""The wheel as a user gets it: built from this checkout, installed into a fresh virtual environment
outside it (no $JARSCORE_JVM_HOME, the checkout not on sys.path), used from an empty folder that
also holds the user's own scorer.py and models.py. It converts a LightGBM text model and an XGBoost
JSON model with the CLI, scores them with `jarscore score` and `from jarscore import Scorer`, and
compares with the native libraries on held-out rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost

from zoo import binary, numeric_frame

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = Path("venv") / "bin" / "python"


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    # A user's processes write Python's bytecode caches: without them each one compiles scikit-learn
    # and pandas from source again.
    env = {k: v for k, v in os.environ.items()
           if k not in ("JARSCORE_JVM_HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _install(venv: Path, *requirements: str) -> None:
    """Installs into the fresh environment ``venv`` at the exact versions of constraints.txt that the
    rest of the suite runs on. With uv (which `make setup` installs) from the packages its cache holds
    since `make setup`: pip would download all of them again (a minute here). The wheel's own
    metadata decides what comes with it, for uv as for the README's pip."""
    _run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
          "-c", str(ROOT / "constraints.txt"), *requirements], cwd=venv.parent, timeout=900)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
          str(ROOT)], cwd=out)
    (built,) = out.glob("jarscore-*.whl")
    return built


@pytest.fixture(scope="module")
def user(tmp_path_factory, wheel) -> Path:
    """A fresh virtual environment with the wheel, and an empty working folder beside it."""
    home = tmp_path_factory.mktemp("user")
    _run([sys.executable, "-m", "venv", str(home / "venv")], cwd=home)
    _install(home / "venv", f"{wheel}[convert]", "lightgbm", "xgboost-cpu")
    work = home / "work"
    work.mkdir()
    for shadow in ("scorer.py", "models.py", "converter.py", "delivery.py"):
        (work / shadow).write_text(f"raise ImportError('the user\\'s own {shadow} was imported')\n")
    return work


def test_the_wheel_holds_one_import_root_and_the_jars_python_needs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"jarscore", f"{wheel.name.split('-py3')[0]}.dist-info"}
    jars = [Path(name).name for name in names if name.endswith(".jar")]
    for needed in ("jarscore-runtime-", "jarscore-compiler-", "jarscore-gateway-", "jarscore-spark-",
                   "pmml-evaluator-", "pmml-transpiler-"):
        assert any(jar.startswith(needed) for jar in jars), f"no {needed}*.jar in {jars}"
    for unwanted in ("kafka", "rocksdb", "slf4j-jdk14", "jarscore-kafka"):
        assert not any(unwanted in jar for jar in jars), f"{unwanted} in the wheel: {jars}"
    assert not any(name.startswith(("jarscore/benchmarks", "jarscore/models")) for name in names)
    # the model server's runnable jar, in a folder of its own: never on the in-process classpath
    assert "jarscore/jars/server/jarscore-server.jar" in names
    assert not any(name.startswith("jarscore/jars/jarscore-server") for name in names)
    assert "jarscore/spark.py" in names


@pytest.fixture(scope="module")
def converted(user) -> dict:
    """A LightGBM text model and an XGBoost JSON model converted with the installed CLI; the native
    libraries' probabilities on the held-out rows."""
    frame = numeric_frame(rows=1000, nan_share=0.05)
    train, held_out = frame.iloc[:800], frame.iloc[800:]
    lgbm = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(train, binary(train)), 30)
    lgbm.save_model(str(user / "churn.txt"))
    xgb = xgboost.XGBClassifier(n_estimators=30, max_depth=4).fit(train, binary(train))
    xgb.save_model(str(user / "fraud.json"))
    held_out.to_csv(user / "holdout.csv", index=False)
    jarscore = str(user.parent / "venv" / "bin" / "jarscore")
    for name, model in (("churn", "churn.txt"), ("fraud", "fraud.json")):
        _run([jarscore, "convert", model, "--out", f"art/{name}/1", "--sample", "holdout.csv"], cwd=user)
    return {"churn": lgbm.predict(held_out), "fraud": xgb.predict_proba(held_out)[:, 1]}


def test_convert_and_score_outside_the_checkout(user, converted):
    native = converted
    jarscore = str(user.parent / "venv" / "bin" / "jarscore")
    version = _run([jarscore, "--version"], cwd=user).stdout
    assert "jarscore 0.1.0" in version and "JVM runtime 0.1.0" in version and "site-packages" in version
    assert "Open Inference Protocol" in _run([jarscore, "serve", "--help"], cwd=user).stdout
    for name in ("churn", "fraud"):
        _run([jarscore, "score", f"art/{name}/1", "--input", "holdout.csv", "--output", f"{name}.csv"], cwd=user)
        scored = pd.read_csv(user / f"{name}.csv")["probability(1)"].to_numpy()
        tolerance = 1e-12 if name == "churn" else 1e-6   # XGBoost computes in float32
        np.testing.assert_allclose(scored, native[name], rtol=tolerance, atol=tolerance)

    script = textwrap.dedent("""
        import json, sys
        import numpy as np, pandas as pd
        import jarscore
        from jarscore import Scorer
        rows = pd.read_csv("holdout.csv")
        out = {"file": jarscore.__file__, "sys_path": sys.path}
        for name in ("churn", "fraud"):
            scorer = Scorer.load(f"art/{name}/1")
            out[name] = scorer.predict_proba(rows.to_numpy())[:, 1].tolist()
            out[name + "_kernel"] = scorer.kernel
        print(json.dumps(out))
    """)
    result = json.loads(_run([str(user.parent / VENV_PYTHON), "-c", script], cwd=user).stdout)
    assert "site-packages" in result["file"] and str(ROOT) not in result["file"]
    assert not any(str(ROOT) in entry for entry in result["sys_path"])
    np.testing.assert_allclose(result["churn"], native["churn"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result["fraud"], native["fraud"], rtol=1e-6, atol=1e-6)
    assert result["churn_kernel"] == "active" and result["fraud_kernel"] == "active"


def test_the_base_install_scores_and_names_what_conversion_lacks(tmp_path, wheel, user, converted):
    """Without extras: numpy, pandas and JPype only. Scoring works; converting says what to install."""
    _run([sys.executable, "-m", "venv", str(tmp_path / "venv")], cwd=tmp_path)
    _install(tmp_path / "venv", str(wheel))
    python = str(tmp_path / VENV_PYTHON)
    listed = _run([python, "-m", "pip", "list", "--format=freeze"], cwd=user).stdout.lower()
    for absent in ("scikit-learn", "sklearn2pmml", "lightgbm", "xgboost", "py4j"):
        assert f"\n{absent}==" not in f"\n{listed}", f"{absent} came with the base install"

    script = "import json, pandas as pd; from jarscore import Scorer; " \
             "print(json.dumps(Scorer.load('art/churn/1').predict_proba(pd.read_csv('holdout.csv'))[:, 1].tolist()))"
    scored = json.loads(_run([python, "-c", script], cwd=user).stdout)
    np.testing.assert_allclose(scored, converted["churn"], rtol=1e-12, atol=1e-12)

    refused = subprocess.run([str(tmp_path / "venv" / "bin" / "jarscore"), "convert", "churn.txt", "--out", "again"],
                             cwd=user, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "needs the Python package 'lightgbm', which is not installed: pip install lightgbm" in refused.stderr
    assert not (user / "again").exists()
