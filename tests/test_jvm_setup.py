"""Where jarscore's JVM side comes from and how the JVM starts: a JVM another library started first,
JVM options, the version command, and a LightGBM text model scored from an array in training order.
Each JVM case runs in a child process: a JVM starts once per process."""

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

from jarscore import Scorer
from jarscore.scorer import jvm
from zoo import binary, numeric_frame

ROOT = Path(__file__).resolve().parent.parent


def _python(script: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=180, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def lightgbm_text(tmp_path_factory):
    """A LightGBM text model trained on 5 columns, one of them constant (so never split on, and left out
    of the PMML's inputs), converted by the CLI; with held-out rows the model never saw."""
    folder = tmp_path_factory.mktemp("lgbm-text")
    frame = numeric_frame(rows=900, features=4, nan_share=0.05)
    frame.insert(2, "constant", 1.0)
    train, held_out = frame.iloc[:700], frame.iloc[700:]
    booster = lightgbm.train({"objective": "binary", "verbose": -1, "num_leaves": 15},
                             lightgbm.Dataset(train, binary(train)), num_boost_round=40)
    booster.save_model(str(folder / "model.txt"))
    held_out.to_csv(folder / "holdout.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "jarscore", "convert", str(folder / "model.txt"), "--out",
                           str(folder / "art"), "--sample", str(folder / "holdout.csv")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    native = booster.predict(held_out.to_numpy())
    return folder / "art", held_out, native


def test_a_lightgbm_text_model_scores_an_array_in_training_column_order(lightgbm_text):
    artifact, held_out, native = lightgbm_text
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["features"] == list(held_out.columns)
    scorer = Scorer.load(artifact)
    assert "constant" not in scorer.input_fields   # the PMML dropped the column: 4 inputs, 5 columns
    X = held_out.to_numpy()
    np.testing.assert_allclose(scorer.predict_proba(X)[:, 1], native, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scorer.predict_proba(X[:1])[0, 1], native[0], rtol=1e-12, atol=1e-12)


JVM_FIRST = """
    import glob, os, sys
    import jpype, jpmml_evaluator
    import numpy as np, pandas as pd

    # As jpmml_evaluator's JPype backend does: its own JPMML jars on the classpath, strings converted.
    deps = os.path.join(os.path.dirname(jpmml_evaluator.__file__), "dependencies")
    jpype.startJVM(classpath=sorted(glob.glob(deps + "/*.jar")), convertStrings=True)

    from jarscore import Scorer
    from jarscore.scorer import jvm
    rows = pd.read_csv(sys.argv[2])
    scorer = Scorer.load(sys.argv[1])
    np.save(sys.argv[3], scorer.predict_proba(rows.to_numpy())[:, 1])
    print("own loader:", jvm._runtime_loader is not None, "kernel:", scorer.kernel)

    # this JVM's class path lacks jarscore's compiler: a conversion transpiles in a JVM of its own
    from pathlib import Path
    from jarscore.converter.transpile import start_transpile
    job = start_transpile(Path(sys.argv[1]) / "model.pmml.gz", Path(sys.argv[4]), "jarscore.test.Adopted")
    job.wait()
    print("transpiled by:", type(job).__name__)
"""


def test_a_jvm_started_first_by_another_library_scores_through_its_own_loader(lightgbm_text, tmp_path):
    artifact, held_out, native = lightgbm_text
    held_out.to_csv(tmp_path / "rows.csv", index=False)
    done = _python(JVM_FIRST, str(artifact), str(tmp_path / "rows.csv"), str(tmp_path / "out.npy"),
                   str(tmp_path / "model.jar"))
    assert done.returncode == 0, done.stderr
    assert "own loader: True kernel: active" in done.stdout, done.stdout
    assert "transpiled by: JavaCommand" in done.stdout, done.stdout
    with zipfile.ZipFile(tmp_path / "model.jar") as jar:
        assert any(name.endswith("Kernel.class") for name in jar.namelist()), jar.namelist()
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), native, rtol=1e-12, atol=1e-12)


def test_options_a_running_jvm_lacks_are_refused_by_name(lightgbm_text):
    artifact, _, _ = lightgbm_text
    done = _python("""
        import sys, jpype
        jpype.startJVM()
        from jarscore import Scorer
        from jarscore.errors import JvmError
        try:
            Scorer.load(sys.argv[1])
        except JvmError as exc:
            print("JvmError:", exc)
    """, str(artifact), env={"JARSCORE_JVM_OPTS": "-Xmx700m"})
    assert done.returncode == 0, done.stderr
    assert "JvmError:" in done.stdout and "['-Xmx700m']" in done.stdout and "started before jarscore" in done.stdout


MAX_HEAP = """
    import sys
    import jarscore
    from jarscore import Scorer
    from jarscore.scorer import jvm
    if len(sys.argv) > 2:
        jarscore.configure_jvm(sys.argv[2:])
    Scorer.load(sys.argv[1])
    print("max heap MiB:", int(jvm.jclass("java.lang.Runtime").getRuntime().maxMemory()) // 2**20)
    try:
        jarscore.configure_jvm(["-Xmx1g"])
    except jarscore.JarscoreError as exc:
        print("too late:", exc)
"""


def test_jvm_options_come_from_the_environment_and_from_configure_jvm(lightgbm_text):
    artifact, _, _ = lightgbm_text
    from_env = _python(MAX_HEAP, str(artifact), env={"JARSCORE_JVM_OPTS": "-Xmx640m -Xss8m"})
    assert from_env.returncode == 0, from_env.stderr
    assert "max heap MiB: 640" in from_env.stdout
    assert "too late: the JVM is already running" in from_env.stdout

    from_api = _python(MAX_HEAP, str(artifact), "-Xmx576m", env={"JARSCORE_JVM_OPTS": "-Xmx640m"})
    assert from_api.returncode == 0, from_api.stderr
    assert "max heap MiB: 576" in from_api.stdout   # configure_jvm's options come last, so they win


def test_an_option_the_jvm_refuses_is_a_jvm_error_naming_it(lightgbm_text):
    artifact, _, _ = lightgbm_text
    done = _python("""
        import sys
        from jarscore import Scorer
        from jarscore.errors import JvmError
        try:
            Scorer.load(sys.argv[1])
        except JvmError as exc:
            print("JvmError:", exc)
    """, str(artifact), env={"JARSCORE_JVM_OPTS": "-XX:+NoSuchOptionAnywhere"})
    assert done.returncode == 0, done.stderr
    assert "JvmError: the JVM did not start with the options" in done.stdout
    assert "-XX:+NoSuchOptionAnywhere" in done.stdout


def test_configure_jvm_refuses_what_is_not_an_option():
    done = _python("""
        import jarscore
        try:
            jarscore.configure_jvm(["Xmx1g"])
        except jarscore.JarscoreError as exc:
            print(type(exc).__name__, exc)
    """)
    assert done.returncode == 0, done.stderr
    assert "JvmError JVM options are strings that start with '-', got ['Xmx1g']" in done.stdout


def test_version_names_the_package_and_the_bundled_runtime():
    done = subprocess.run([sys.executable, "-m", "jarscore", "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first == f"jarscore {__import__('jarscore').__version__}"
    assert second.startswith(f"JVM runtime {__import__('jarscore').__version__} (") and str(jvm.runtime_dir()) in second


def test_the_jvm_gets_the_vector_api_unless_simd_is_turned_off(monkeypatch):
    monkeypatch.delenv("JARSCORE_JVM_OPTS", raising=False)
    assert jvm.SIMD_MODULE in jvm.jvm_options()
    monkeypatch.setenv("JARSCORE_JVM_OPTS", "-Xmx1g -Djarscore.simd=false")
    assert jvm.SIMD_MODULE not in jvm.jvm_options()
    assert jvm.jvm_options()[-1] == "-Djarscore.simd=false"


SIMD_BATCH = """
    import hashlib, sys
    import pandas as pd
    from jarscore import Scorer
    from jarscore.scorer import jvm
    scorer = Scorer.load(sys.argv[1])
    rows = pd.read_csv(sys.argv[2])
    batch = pd.concat([rows] * 20, ignore_index=True)   # blocks of 64 rows, and a part of one
    print("kernel:", scorer.kernel)
    print("blocks:", jvm.jclass("io.jarscore.kernel.Vectorization").describe())
    print("sha256:", hashlib.sha256(scorer.predict_proba(batch).tobytes()).hexdigest())
"""


def test_batches_score_the_same_bits_with_and_without_simd(lightgbm_text):
    artifact, held_out, _ = lightgbm_text
    args = (str(artifact), str(artifact.parent / "holdout.csv"))
    simd = _python(SIMD_BATCH, *args, env={"JARSCORE_JVM_OPTS": ""})
    scalar = _python(SIMD_BATCH, *args, env={"JARSCORE_JVM_OPTS": "-Djarscore.simd=false"})
    assert simd.returncode == 0 and scalar.returncode == 0, simd.stderr + scalar.stderr
    assert "kernel: active" in simd.stdout and "kernel: active" in scalar.stdout
    assert "blocks: SIMD (" in simd.stdout, simd.stdout
    assert "blocks: scalar: -Djarscore.simd=false" in scalar.stdout, scalar.stdout
    assert "Using incubator modules" not in simd.stderr, "the JVM's start-up warning is dropped"
    digest = [line for line in simd.stdout.splitlines() if line.startswith("sha256:")]
    assert digest and digest == [line for line in scalar.stdout.splitlines() if line.startswith("sha256:")]
