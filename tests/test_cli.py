"""The `jarscore` command line: convert model files of every format, score CSVs, fail clearly."""

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost

from zoo import binary, numeric_frame


def jarscore(*args):
    return subprocess.run([sys.executable, "-m", "jarscore", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def data():
    frame = numeric_frame(rows=800, nan_share=0.05)
    return frame.iloc[:600], binary(frame.iloc[:600]), frame.iloc[600:]


def _show_jvm_options(then: str) -> str:
    """A patch for _jarscore_with: print the options the JVM is started with on stdout (stderr is
    caught while it starts), then ``then``: start it ("real(*args, **kwargs)") or stop ("os._exit(0)")."""
    return ("import jpype, os\n"
            "real = jpype.startJVM\n"
            "def start(*args, **kwargs):\n"
            "    print('JVM options:', *args[1:], flush=True)\n"
            f"    return {then}\n"
            "jpype.startJVM = start")


def _jvm_options_shown(done) -> list[str]:
    return next(line for line in done.stdout.splitlines() if line.startswith("JVM options:")).split()[2:]


def test_lightgbm_text_file_end_to_end(data, tmp_path):
    X, y, held_out = data
    model = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
    model.booster_.save_model(str(tmp_path / "model.txt"))
    held_out.to_csv(tmp_path / "sample.csv", index=False)

    converted = _jarscore_with(_show_jvm_options("real(*args, **kwargs)"), "convert", str(tmp_path / "model.txt"), "--out", str(tmp_path / "art"),
                               "--sample", str(tmp_path / "sample.csv"), "--name", "churn", "--version", "3")
    assert converted.returncode == 0, converted.stderr
    assert "parity on 200 sample rows" in converted.stderr
    # a short job for a process that ends with it: the C1 compiler alone
    assert "-XX:TieredStopAtLevel=1" in _jvm_options_shown(converted)

    scored = _jarscore_with(_show_jvm_options("real(*args, **kwargs)"), "score", str(tmp_path / "art"), "--input", str(tmp_path / "sample.csv"),
                            "--output", str(tmp_path / "out.csv"))
    assert scored.returncode == 0, scored.stderr
    assert "-XX:TieredStopAtLevel=1" not in _jvm_options_shown(scored)
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["probability(1)"], model.predict_proba(held_out)[:, 1], rtol=1e-9, atol=1e-9)
    assert list(out.iloc[:, 0]) == list(model.predict(held_out))


@pytest.mark.parametrize("chosen", [None, "-XX:TieredStopAtLevel=4", "-XX:-TieredCompilation"])
def test_convert_leaves_the_jit_compilers_to_a_caller_who_chose_them(tmp_path, chosen):
    pmml = Path(__file__).resolve().parent / "data" / "jpmml-conformance" / "pmml" / "DecisionTreeIris.pmml"
    done = _jarscore_with(_show_jvm_options("os._exit(0)"), "convert", str(pmml), "--out", str(tmp_path / "art"),
                          env={**os.environ, "JARSCORE_JVM_OPTS": chosen or ""})
    options = _jvm_options_shown(done)
    compilers = [option for option in options if "Tiered" in option]
    assert compilers == ([chosen] if chosen else ["-XX:TieredStopAtLevel=1"]), done.stdout + done.stderr


@pytest.mark.parametrize("suffix", ["json", "ubj"])
def test_xgboost_model_file(data, tmp_path, suffix):
    X, y, held_out = data
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    model.save_model(str(tmp_path / f"model.{suffix}"))
    held_out.to_csv(tmp_path / "sample.csv", index=False)
    converted = jarscore("convert", str(tmp_path / f"model.{suffix}"), "--out", str(tmp_path / "art"),
                         "--sample", str(tmp_path / "sample.csv"))
    assert converted.returncode == 0, converted.stderr
    assert "tolerance 1e-05" in converted.stderr


def test_pickled_pipeline_and_pmml_file(data, tmp_path):
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    X, y, held_out = data
    model = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X.fillna(0), y)
    joblib.dump(model, tmp_path / "rf.joblib")
    held_out.fillna(0).to_csv(tmp_path / "sample.csv", index=False)
    first = jarscore("convert", str(tmp_path / "rf.joblib"), "--out", str(tmp_path / "a"), "--sample", str(tmp_path / "sample.csv"))
    assert first.returncode == 0, first.stderr
    again = jarscore("convert", str(tmp_path / "a" / "model.pmml.gz"), "--out", str(tmp_path / "b"),
                     "--sample", str(tmp_path / "sample.csv"), "--transpiled-classes")
    assert again.returncode == 0, again.stderr
    assert "against the pmml model" in again.stderr
    service = "META-INF/services/org.dmg.pmml.PMML"   # JPMML-Transpiler's classes: only when asked for
    with zipfile.ZipFile(tmp_path / "a" / "model.jar") as first_jar, zipfile.ZipFile(tmp_path / "b" / "model.jar") as second:
        assert service not in first_jar.namelist() and service in second.namelist()


def test_convert_errors_exit_non_zero_with_a_message(tmp_path):
    missing = jarscore("convert", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "jarscore convert: error: model file not found" in missing.stderr
    assert not (tmp_path / "x").exists()
    usage = jarscore("convert")
    assert usage.returncode == 2


def test_convert_help_warns_about_pickles():
    helped = jarscore("convert", "--help")
    assert "runs whatever code it contains" in helped.stdout


def test_score_errors_write_no_output(small_model, tmp_path):
    small_model.holdout.drop(columns=["f2"]).to_csv(tmp_path / "bad.csv", index=False)
    failed = jarscore("score", str(small_model.artifact), "--input", str(tmp_path / "bad.csv"),
                      "--output", str(tmp_path / "o.csv"))
    assert failed.returncode == 1
    assert "missing input column(s) ['f2']" in failed.stderr
    assert not (tmp_path / "o.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.csv")]


def test_convert_into_a_repository_writes_root_name_version(data, tmp_path):
    from jarscore.scorer import ModelRegistry

    X, y, held_out = data
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
    model.booster_.save_model(str(tmp_path / "model.txt"))
    converted = jarscore("convert", str(tmp_path / "model.txt"), "--repository", str(tmp_path / "repo"),
                         "--name", "churn", "--version", "4")
    assert converted.returncode == 0, converted.stderr
    assert sorted(p.name for p in (tmp_path / "repo" / "churn").iterdir()) == ["4"], "no staging folder left"
    with ModelRegistry(tmp_path / "repo") as registry:
        registry.reload()
        assert registry.versions("churn") == [4]


def test_a_failed_conversion_leaves_no_folder_it_created(tmp_path):
    broken = tmp_path / "broken.pmml"
    broken.write_text("<PMML>not a model")
    done = jarscore("convert", str(broken), "--out", str(tmp_path / "repo" / "churn" / "1"))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("jarscore convert: error:") and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.pmml"]


# --- every failure is one line ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_artifact(small_model):
    return small_model.artifact, small_model.holdout_csv


def _one_error_line(done, command: str) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == 1, done
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"jarscore {command}: error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def _contents(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("where", ["under-a-file", "deep-under-a-file", "an-existing-folder", "proc"])
def test_score_into_an_unwritable_place_is_one_line(small_artifact, tmp_path, where):
    # Tests run as root, which ignores permission bits: these places are unwritable for root too.
    art, rows = small_artifact
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "outdir").mkdir()
    output, named = {
        "under-a-file": (tmp_path / "file.txt" / "out.csv", tmp_path / "file.txt"),
        "deep-under-a-file": (tmp_path / "file.txt" / "a" / "b" / "out.csv", tmp_path / "file.txt"),
        "an-existing-folder": (tmp_path / "outdir", tmp_path / "outdir"),
        "proc": (Path("/proc/out.csv"), Path("/proc")),
    }[where]
    before = _contents(tmp_path)
    done = jarscore("score", str(art), "--input", str(rows), "--output", str(output))
    line = _one_error_line(done, "score")
    assert str(named) in line and str(output) in line, line
    assert _contents(tmp_path) == before, "nothing written, no temporary file left"
    assert not Path("/proc/out.csv").exists()


def test_score_checks_the_output_before_anything_else(tmp_path):
    # Neither the model nor the input exists: the output's problem is reported, so it was checked first
    # (before a model was loaded or a row read, let alone scored).
    (tmp_path / "file.txt").write_text("")
    done = jarscore("score", str(tmp_path / "no-model"), "--input", str(tmp_path / "no-rows.csv"),
                    "--output", str(tmp_path / "file.txt" / "out.csv"))
    line = _one_error_line(done, "score")
    assert "file.txt is not a folder" in line, line


def test_score_creates_missing_folders_and_removes_them_on_failure(small_artifact, tmp_path):
    art, rows = small_artifact
    made = jarscore("score", str(art), "--input", str(rows), "--output", str(tmp_path / "new" / "sub" / "o.csv"))
    assert made.returncode == 0, made.stderr
    assert len(pd.read_csv(tmp_path / "new" / "sub" / "o.csv")) == 400
    pd.DataFrame({"unrelated": [1.0, 2.0]}).to_csv(tmp_path / "bad.csv", index=False)
    failed = jarscore("score", str(art), "--input", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "x" / "o.csv"))
    assert failed.returncode == 1 and "missing input column" in failed.stderr
    assert not (tmp_path / "x").exists()


def test_debug_shows_the_traceback(small_artifact, tmp_path):
    art, rows = small_artifact
    (tmp_path / "file.txt").write_text("")
    done = jarscore("--debug", "score", str(art), "--input", str(rows), "--output", str(tmp_path / "file.txt" / "o.csv"))
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("jarscore score: error: ")


def _jarscore_with(patch: str, *args, env: dict | None = None):
    """`jarscore ARGS` in a Python that first runs ``patch`` (to make a failure happen, or to watch)."""
    code = f"import sys\n{patch}\nfrom jarscore.cli import main\nsys.argv[1:] = {list(args)!r}\nsys.exit(main())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_a_full_disk_is_one_line_and_leaves_no_output(small_artifact, tmp_path):
    art, rows = small_artifact
    full = ("import errno, pandas\n"
            "def to_csv(self, *a, **k): raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "pandas.DataFrame.to_csv = to_csv")
    done = _jarscore_with(full, "score", str(art), "--input", str(rows), "--output", str(tmp_path / "o.csv"))
    line = _one_error_line(done, "score")
    assert str(tmp_path / "o.csv") in line and "No space left on device" in line, line
    assert _contents(tmp_path) == []


@pytest.mark.parametrize("raised, expected", [
    ("PermissionError(13, 'Permission denied', '/srv/models/x')", "jarscore score: error: /srv/models/x: Permission denied"),
    ("RuntimeError('boom')", "jarscore score: error: unexpected RuntimeError: boom (rerun with --debug for the traceback)"),
])
def test_other_failures_are_one_line(raised, expected):
    patch = ("import jarscore.scorer.cli\n"
             f"def fail(*args, **kwargs): raise {raised}\n"
             "jarscore.scorer.cli.score_csv = fail")
    done = _jarscore_with(patch, "score", "m", "--input", "i.csv", "--output", "o.csv")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [expected], done.stderr
    debug = _jarscore_with(patch, "--debug", "score", "m", "--input", "i.csv", "--output", "o.csv")
    assert "Traceback" in debug.stderr and debug.returncode == 1


@pytest.mark.parametrize("flag", ["--out", "--repository"])
def test_convert_under_a_regular_file_is_one_line(small_artifact, tmp_path, flag):
    art, _ = small_artifact
    (tmp_path / "file.txt").write_text("")
    done = jarscore("convert", str(art / "model.pmml.gz"), flag, str(tmp_path / "file.txt" / "art"), "--name", "m")
    line = _one_error_line(done, "convert")
    assert f"{tmp_path / 'file.txt'} is not a folder" in line, line
    assert _contents(tmp_path) == ["file.txt"]


def test_ctrl_c_is_one_line_exit_130_and_no_output(small_artifact, tmp_path):
    art, _ = small_artifact
    big = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(400_000, 6)), columns=[f"f{i}" for i in range(6)]).to_csv(big, index=False)
    out = tmp_path / "out.csv"
    process = subprocess.Popen([sys.executable, "-m", "jarscore", "score", str(art), "--input", str(big),
                                "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.csv.*.partial")):   # the output was checked; loading, scoring
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no temporary output file appeared"
            time.sleep(0.05)
        time.sleep(1.0)
        assert process.poll() is None, "finished before the interrupt; use a bigger CSV"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["jarscore score: error: interrupted"], stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"], "no output, no temporary file"


def test_ctrl_c_while_the_jvm_starts_is_still_one_line(small_artifact, tmp_path):
    # The JVM starts with stderr caught in a file (to drop its incubator warning); a Ctrl-C then must
    # still reach the terminal, with what the JVM had said so far.
    art, rows = small_artifact
    interrupt_in_start = ("import os, signal, time, jpype\n"
                          "real = jpype.startJVM\n"
                          "def start(*args, **kwargs):\n"
                          "    os.write(2, b'said while the JVM starts\\n')\n"
                          "    os.kill(os.getpid(), signal.SIGINT)\n"
                          "    time.sleep(30)\n"
                          "    return real(*args, **kwargs)\n"
                          "jpype.startJVM = start")
    done = _jarscore_with(interrupt_in_start, "score", str(art), "--input", str(rows),
                          "--output", str(tmp_path / "out" / "o.csv"))
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == ["said while the JVM starts", "jarscore score: error: interrupted"], done.stderr
    assert _contents(tmp_path) == []


def test_converting_a_folder_or_an_empty_pickle_says_what_is_wrong(tmp_path):
    (tmp_path / "empty.pkl").write_bytes(b"")
    folder = jarscore("convert", str(tmp_path), "--out", str(tmp_path / "out"))
    assert folder.returncode == 1 and f"{tmp_path} is a folder; give the model file itself" in folder.stderr
    empty = jarscore("convert", str(tmp_path / "empty.pkl"), "--out", str(tmp_path / "out"))
    assert empty.returncode == 1 and "EOFError: the file is empty or cut short" in empty.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.pkl"]


def _java_processes(marker: bytes, under: Path) -> list[int]:
    """Live processes whose command line holds ``marker`` and the folder ``under`` (a zombie's is empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in command and str(under).encode() in command:
                found.append(int(entry.name))
    return found


def _kill_convert_during(convert: subprocess.Popen, marker: bytes, under: Path, sig: int) -> None:
    """Waits for the convert's Java child, stops it (a survivor then cannot finish and exit by itself),
    sends ``sig`` to the convert, and waits, with a deadline, for the child to be gone."""
    deadline = time.monotonic() + 120
    while not (children := _java_processes(marker, under)):
        assert convert.poll() is None and time.monotonic() < deadline, f"no {marker.decode()} JVM started"
        time.sleep(0.02)
    try:
        for pid in children:
            os.kill(pid, signal.SIGSTOP)
        convert.send_signal(sig)
        convert.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _java_processes(marker, under):
            assert time.monotonic() < deadline, f"the {marker.decode()} JVM outlived its killed convert"
            time.sleep(0.05)
    finally:
        for pid in _java_processes(marker, under):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_convert_leaves_no_jvm_and_the_next_convert_sweeps_its_staging(tmp_path):
    from jarscore.converter.transpile import SHORT_JOB_PMML_BYTES

    pmml = Path(__file__).resolve().parent / "data" / "jpmml-conformance" / "pmml" / "RandomForestAudit.pmml"
    # PMML this large, with JPMML-Transpiler's classes, goes to a transpile JVM of its own (a kernel JAR
    # is written in the convert's JVM, as is smaller PMML with the transpiled classes)
    large = tmp_path / "large.pmml"
    declaration, rest = pmml.read_text().split("\n", 1)
    large.write_text(f"{declaration}\n<!--{' ' * SHORT_JOB_PMML_BYTES}-->\n{rest}")
    out = tmp_path / "repo" / "audit" / "1"
    convert = subprocess.Popen([sys.executable, "-m", "jarscore", "convert", str(large), "--out", str(out),
                                "--transpiled-classes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_convert_during(convert, b"TranspileCommand", out.parent, signal.SIGKILL)

    parent = out.parent
    stale = [p.name for p in parent.iterdir() if p.name.startswith(".1.partial-")]
    assert stale, "the killed convert left its staging folder (what the next convert must sweep)"
    concurrent = parent / f".1.partial-{os.getpid()}-alive"   # a live process's staging folder
    concurrent.mkdir()
    done = jarscore("convert", str(pmml), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in parent.iterdir()) == [concurrent.name, "1"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_convert_leaves_no_sklearn2pmml_jvm(data, tmp_path, sig):
    import joblib
    from sklearn.tree import DecisionTreeClassifier

    X, y, _ = data
    joblib.dump(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X.fillna(0), y), tmp_path / "tree.joblib")
    out = tmp_path / "repo" / "tree" / "1"
    convert = subprocess.Popen([sys.executable, "-m", "jarscore", "convert", str(tmp_path / "tree.joblib"),
                                "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_convert_during(convert, b"com.sklearn2pmml.Main", out.parent, sig)
    assert not out.exists()


def test_bench_runs_from_the_checkout_folder_and_says_where_elsewhere(tmp_path):
    """The console script has no current folder on sys.path; the suite sits in the checkout."""
    script = Path(sys.executable).with_name("jarscore")
    checkout = Path(__file__).resolve().parents[1]
    inside = subprocess.run([str(script), "bench", "--help"], capture_output=True, text=True, cwd=checkout, timeout=120)
    assert inside.returncode == 0 and "--engines" in inside.stdout, inside.stderr
    outside = subprocess.run([str(script), "bench", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert outside.returncode == 2
    assert "the benchmark suite is not part of the installed package" in outside.stderr
