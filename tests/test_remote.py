"""Out-of-process mode (Scorer.load(..., out_of_process=True)): the same answers as in-process
scoring, from a JVM in a child process, and it keeps working across fork()."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jarscore.converter import convert
from jarscore.errors import InputError, JvmError
from jarscore.scorer import Scorer
from zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = next(z for z in ZOO if z.name == "sklearn-pipeline")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model, held_out = PIPELINE.fitted()
    out = tmp_path_factory.mktemp("remote") / "pipeline"
    convert(model, out, sample=held_out, name="pipeline", log=lambda line: None).close()
    return out, held_out


def test_remote_scoring_equals_in_process_scoring(artifact):
    out, held_out = artifact
    # The gateway scores through JPMML-Evaluator, so it equals the in-process JPMML path exactly and
    # the in-process kernel to the kernel's own tolerance.
    local, remote = Scorer.load(out, kernel=False), Scorer.load(out, out_of_process=True)
    assert remote.out_of_process and not local.out_of_process
    assert remote.kernel.startswith("absent")
    assert remote.input_fields == local.input_fields and remote.output_fields == local.output_fields
    np.testing.assert_array_equal(remote.predict_proba(held_out), local.predict_proba(held_out))
    np.testing.assert_allclose(remote.predict_proba(held_out), Scorer.load(out).predict_proba(held_out), rtol=1e-12)
    np.testing.assert_array_equal(remote.predict(held_out), local.predict(held_out))
    row = held_out.iloc[3].to_dict()
    assert remote.predict_one(row) == local.predict_one(row)
    remote.close()


def test_remote_errors_are_the_same_errors(artifact):
    out, held_out = artifact
    remote = Scorer.load(out, out_of_process=True)
    row = held_out.iloc[0].to_dict() | {"city": "atlantis"}
    with pytest.raises(InputError, match=r"field 'city' value 'atlantis'"):
        remote.predict_one(row)
    with pytest.raises(InputError, match=r"missing input field"):
        remote.predict_one({"f0": 1.0})
    assert remote.predict_proba(held_out.head(2)).shape == (2, 2), "still serving after bad input"


def test_a_dead_gateway_is_a_clear_error(artifact):
    out, held_out = artifact
    remote = Scorer.load(out, out_of_process=True)
    from jarscore.scorer.remote import _Gateway
    gateway = _Gateway.current()
    gateway.process.kill()
    gateway.process.wait()
    with pytest.raises(JvmError, match="scoring gateway process exited"):
        remote.predict_proba(held_out.head(2))
    _Gateway._instance = None          # the next load starts a fresh gateway
    assert Scorer.load(out, out_of_process=True).predict_proba(held_out.head(2)).shape == (2, 2)


def test_remote_mode_works_across_fork_with_no_jvm_in_the_process(artifact):
    out, _ = artifact
    script = """
        import multiprocessing, os, sys
        import jpype
        from jarscore.scorer import Scorer
        scorer = Scorer.load(sys.argv[1], out_of_process=True)
        row = dict(f0=0.3, f1=-1.0, f2=0.5, f3=2.0, city="oslo")
        expected = scorer.predict_one(row)
        pid = os.fork()
        if pid == 0:
            print("child:", scorer.predict_one(row) == expected, flush=True)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print("child exit:", os.waitstatus_to_exitcode(status))

        def score(_):
            return scorer.predict_one(row) == expected

        with multiprocessing.get_context("fork").Pool(2) as pool:
            print("pool:", all(pool.map(score, range(6))))
        print("parent:", scorer.predict_one(row) == expected)
        print("jvm in this process:", jpype.isJVMStarted())
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:5] == ["child: True", "child exit: 0", "pool: True", "parent: True",
                                           "jvm in this process: False"], done.stdout
