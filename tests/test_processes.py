"""Processes and threads: a process forked after the JVM started gets a clear error (never a hang),
and many Python threads scoring one model get exactly the single-threaded answers."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from jarscore.converter import convert
from jarscore.scorer import Scorer
from zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
MODEL = next(z for z in ZOO if z.name == "lightgbm-multiclass")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model, held_out = MODEL.fitted()
    out = tmp_path_factory.mktemp("processes") / "multi"
    convert(model, out, sample=held_out, name="multi", log=lambda line: None)
    return out, held_out


def _run(script: str, artifact_dir: Path) -> subprocess.CompletedProcess:
    # A hang is the failure this guards against, so a child that outlives the timeout fails the test.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(artifact_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_child_forked_after_the_jvm_started_gets_a_clear_error_and_exits(artifact):
    done = _run("""
        import os, sys
        from jarscore.scorer import Scorer
        scorer = Scorer.load(sys.argv[1])
        row = dict.fromkeys(scorer.input_fields, 0.5)
        parent_answer = scorer.predict_one(row)
        pid = os.fork()
        if pid == 0:
            try:
                scorer.predict_one(row)
                print("child: scored")
            except Exception as exc:
                print(f"child: {type(exc).__name__}: {exc}")
            sys.exit(0)           # through atexit and interpreter shutdown, where a JVM call would hang
        _, status = os.waitpid(pid, 0)
        print(f"parent: child exit {os.waitstatus_to_exitcode(status)}")
        assert scorer.predict_one(row) == parent_answer
        print("parent: still scoring")
    """, artifact[0])
    assert done.returncode == 0, done.stderr
    assert "child: JvmError: this process" in done.stdout
    assert "a JVM does not survive fork()" in done.stdout
    assert "parent: child exit 0" in done.stdout
    assert "parent: still scoring" in done.stdout


def test_a_multiprocessing_fork_pool_reports_the_error_to_the_parent(artifact):
    done = _run("""
        import multiprocessing, sys
        from jarscore.errors import JvmError
        from jarscore.scorer import Scorer
        scorer = Scorer.load(sys.argv[1])
        row = dict.fromkeys(scorer.input_fields, 0.5)

        def score(_):
            return scorer.predict_one(row)

        with multiprocessing.get_context("fork").Pool(2) as pool:
            try:
                pool.map(score, range(4))
                print("pool: scored")
            except JvmError as exc:
                print(f"pool: JvmError: {exc}")
    """, artifact[0])
    assert done.returncode == 0, done.stderr
    assert "pool: JvmError: this process" in done.stdout and "'spawn' or 'forkserver'" in done.stdout


def test_a_forked_child_dies_of_sigterm(artifact):
    """The JVM catches SIGTERM (for its shutdown hooks); a forked child inherits that handler but not
    the JVM thread it signals, so without jarscore's own handler SIGTERM would leave the child
    running, and multiprocessing's Pool.terminate(), which sends SIGTERM and waits, would hang."""
    done = _run("""
        import os, signal, sys, time
        from jarscore.scorer import Scorer
        Scorer.load(sys.argv[1])
        pid = os.fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
            os._exit(3)
        _, status = os.waitpid(pid, 0)
        print(f"parent: child status {os.waitstatus_to_exitcode(status)}")
    """, artifact[0])
    assert done.returncode == 0, done.stderr
    assert f"parent: child status {-signal.SIGTERM}" in done.stdout, done.stdout


def test_many_threads_score_one_model_exactly_as_one_thread(artifact):
    out, held_out = artifact
    scorer = Scorer.load(out)
    batches = [held_out.iloc[i::8] for i in range(8)]
    expected = [scorer.predict_proba(batch) for batch in batches]
    expected_rows = [[scorer.predict_one(row) for row in batch.head(25).to_dict(orient="records")] for batch in batches]
    got: dict[int, list] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(i: int) -> None:
        try:
            start.wait()
            results = []
            for _ in range(20):
                results.append(scorer.predict_proba(batches[i]))
                results.append([scorer.predict_one(row) for row in batches[i].head(25).to_dict(orient="records")])
            got[i] = results
        except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for i in range(8):
        for k in range(0, 40, 2):
            np.testing.assert_array_equal(got[i][k], expected[i])
            assert got[i][k + 1] == expected_rows[i]
