"""`jarscore score` streams: stdin to stdout, Parquet, chunks of rows with flat memory, progress on
stderr only (a terminal, --verbose, --quiet), and the convert heartbeat."""

import fcntl
import io
import json
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading

import numpy as np
import pandas as pd
import pytest

from jarscore.errors import InputError
from jarscore.scorer.cli import score_csv

ELAPSED = re.compile(r"^\s*\d+\.\ds ")


def run(*args, patch: str = "", capture_output: bool = True, **kwargs):
    """`jarscore ARGS` in a Python that first runs ``patch``."""
    code = f"import sys\n{patch}\nfrom jarscore.cli import main\nsys.argv[1:] = {list(args)!r}\nsys.exit(main())"
    return subprocess.run([sys.executable, "-c", code], capture_output=capture_output, text=True, timeout=600,
                          **kwargs)


def native_probability(small_model, rows: pd.DataFrame) -> np.ndarray:
    return small_model.native.predict_proba(rows)[:, 1]


def test_stdin_to_stdout_streams_chunk_by_chunk_and_stdout_holds_rows_only(small_model):
    rows = small_model.holdout
    # A library that prints to stdout while the rows go there: its line must land on stderr.
    noisy = ("import jarscore.scorer.cli as cli\n"
             "load = cli.Scorer.load\n"
             "def noisy_load(*args, **kwargs):\n"
             "    print('a library printing to stdout', flush=True)\n"
             "    return load(*args, **kwargs)\n"
             "cli.Scorer.load = staticmethod(noisy_load)")
    code = (f"import sys\n{noisy}\nfrom jarscore.cli import main\n"
            f"sys.argv[1:] = ['score', {str(small_model.artifact)!r}, '--input', '-', '--output', '-', "
            "'--chunk-rows', '50']\nsys.exit(main())")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(300, process.kill)
    watchdog.start()
    try:
        csv = rows.to_csv(index=False).splitlines(keepends=True)
        process.stdin.write("".join(csv[:51]))        # the header and the first chunk's 50 rows
        process.stdin.flush()
        first = [process.stdout.readline() for _ in range(51)]
        assert all(first), "the first chunk's results never came while stdin stayed open"
        process.stdin.write("".join(csv[51:]))
        process.stdin.close()
        rest = process.stdout.read()
        stderr = process.stderr.read()
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    out = pd.read_csv(io.StringIO("".join(first) + rest))
    assert len(out) == len(rows)
    np.testing.assert_allclose(out["probability(1)"], native_probability(small_model, rows), rtol=1e-9, atol=1e-9)
    assert "a library printing to stdout" in stderr
    assert f"scored {len(rows)} rows into stdout" in stderr


def test_parquet_in_and_out_in_chunks(small_model, tmp_path):
    rows = small_model.holdout
    rows.to_parquet(tmp_path / "rows.parquet")
    done = score_csv(small_model.artifact, tmp_path / "rows.parquet", tmp_path / "scored.parquet", chunk_rows=64)
    assert done == len(rows)
    out = pd.read_parquet(tmp_path / "scored.parquet")
    assert len(out) == len(rows)
    np.testing.assert_allclose(out["probability(1)"], native_probability(small_model, rows), rtol=1e-9, atol=1e-9)
    assert list(out.iloc[:, 0].astype(int)) == list(small_model.native.predict(rows))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet", "scored.parquet"]


@pytest.mark.parametrize("source, target", [("empty.parquet", "out.parquet"), ("header.csv", "out.csv")])
def test_no_rows_give_a_header_of_no_rows(small_model, tmp_path, source, target):
    rows = small_model.holdout.head(0)
    rows.to_parquet(tmp_path / "empty.parquet")
    rows.to_csv(tmp_path / "header.csv", index=False)
    assert score_csv(small_model.artifact, tmp_path / source, tmp_path / target) == 0
    out = pd.read_parquet(tmp_path / target) if target.endswith(".parquet") else pd.read_csv(tmp_path / target)
    assert list(out.columns) == ["_target", "probability(0)", "probability(1)"] and len(out) == 0


def test_parquet_without_pyarrow_names_the_extra_before_any_work(tmp_path):
    without = "sys.modules['pyarrow'] = None   # as if pyarrow were not installed"
    for source, target, parquet in (("rows.parquet", "o.csv", "rows.parquet"), ("rows.csv", "o.pq", "o.pq")):
        done = run("score", str(tmp_path / "no-model"), "--input", str(tmp_path / source),
                   "--output", str(tmp_path / target), patch=without)
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"jarscore score: error: reading or writing Parquet ({tmp_path / parquet}) needs the Python package "
            "'pyarrow', which is not installed: pip install 'jarscore[parquet]'"], done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_bad_row_in_a_later_chunk_is_named_by_its_place_in_the_input(small_model, tmp_path):
    rows = small_model.holdout.astype({"f3": object})
    rows.iloc[230, rows.columns.get_loc("f3")] = "abc"
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(InputError) as failed:
        score_csv(small_model.artifact, tmp_path / "rows.csv", tmp_path / "o.csv", chunk_rows=50)
    assert str(failed.value) == ("row 230: field 'f3' value 'abc' is not a number; "
                                 "expected a double (or None/NaN for a missing value)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"], "no output, no temporary file"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """200 000 rows (23 MB of CSV): chunks of a few thousand rows are a small part of it."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(200_000, 6)), columns=[f"f{i}" for i in range(6)]).to_csv(path, index=False)
    return path


def test_memory_stays_flat_with_chunks(small_model, big_csv, tmp_path):
    # Python's allocations (numpy's included) from the first row read to the last row written; the
    # peak is reset once the model is loaded, at the progress callback's 0.
    code = f"""
import json, tracemalloc
from pathlib import Path
from jarscore.scorer.cli import score_csv
tracemalloc.start()
peaks = {{}}
for chunk_rows in (2_000, 200_000):
    def progress(rows):
        if rows == 0:
            tracemalloc.reset_peak()
    score_csv(Path({str(small_model.artifact)!r}), {str(big_csv)!r}, {str(tmp_path / "out.csv")!r},
              chunk_rows=chunk_rows, progress=progress)
    peaks[chunk_rows] = tracemalloc.get_traced_memory()[1]
print(json.dumps(peaks))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    peaks = {int(k): v for k, v in json.loads(done.stdout).items()}
    whole = 200_000 * 6 * 8            # the input's numbers alone, as one frame
    assert peaks[200_000] > whole, f"the measure sees a whole-file read: {peaks}"
    assert peaks[2_000] < whole / 2 and peaks[2_000] * 8 < peaks[200_000], f"chunks of 2 000 rows: {peaks}"
    assert len(pd.read_csv(tmp_path / "out.csv")) == 200_000


def test_a_reader_that_stops_ends_the_command_quietly(small_model, big_csv):
    # `| head -1` stops reading after one line: the command stops too, exit 141, as cat's SIGPIPE.
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m jarscore score {small_model.artifact} --input {big_csv} "
                           "--output - --chunk-rows 1000 | head -1; exit ${PIPESTATUS[0]}"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 141, done.stderr
    assert done.stdout.startswith("_target,") and done.stderr == ""


def test_progress_bar_on_a_terminal_and_none_on_stdout(small_model, big_csv, tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a 100-column terminal
    captured = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            captured.append(data.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with open(tmp_path / "stdout.txt", "w") as stdout:
        # The bar from the first chunk on: on a fast machine these rows take less than its usual delay
        done = run("score", str(small_model.artifact), "--input", str(big_csv), "--output", str(tmp_path / "out.csv"),
                   "--chunk-rows", "2000", patch="import jarscore._progress as progress\nprogress.BAR_DELAY = 0.0",
                   stdout=stdout, stderr=slave, capture_output=False)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    terminal = "".join(captured)
    assert done.returncode == 0, terminal
    assert re.search(r"scoring: .*rows/s", terminal), terminal
    assert "scored 200,000 rows into" in terminal
    assert (tmp_path / "stdout.txt").read_text() == ""


def test_quiet_default_and_verbose_off_a_terminal(small_model, tmp_path):
    every_chunk = "import jarscore._progress as progress\nprogress.LOG_EVERY = 0.0"
    common = (str(small_model.artifact), "--input", str(small_model.holdout_csv), "--chunk-rows", "100")

    quiet = run("--quiet", "score", *common, "--output", str(tmp_path / "q.csv"), patch=every_chunk)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert len(pd.read_csv(tmp_path / "q.csv")) == 400

    default = run("score", *common, "--output", str(tmp_path / "d.csv"), patch=every_chunk)
    assert default.returncode == 0
    lines = default.stderr.splitlines()
    assert len(lines) == 1 and ELAPSED.match(lines[0]) and "scored 400 rows into" in lines[0], default.stderr

    verbose = run("-v", "score", *common, "--output", str(tmp_path / "v.csv"), patch=every_chunk)
    assert verbose.returncode == 0
    progress = [line for line in verbose.stderr.splitlines() if re.search(r"scored \d+ rows \(.* rows/s\)", line)]
    assert len(progress) >= 3, verbose.stderr
    assert "fast kernel" in verbose.stderr, "--verbose shows the library's own INFO lines"


def test_main_called_in_process_leaves_the_callers_logging_alone(tmp_path, capsys):
    from jarscore.cli import main

    root = logging.getLogger("jarscore")
    before = (list(root.handlers), root.level, root.propagate, logging.getLogger("jarscore.cli").level)
    assert main(["--verbose", "score", str(tmp_path / "none"), "--input", "-", "--output", str(tmp_path)]) == 1
    assert "jarscore score: error: cannot write" in capsys.readouterr().err
    assert (list(root.handlers), root.level, root.propagate, logging.getLogger("jarscore.cli").level) == before


def test_convert_shows_elapsed_time_and_a_heartbeat_with_verbose(small_model, tmp_path):
    beat = "import jarscore._progress as progress\nprogress.HEARTBEAT_EVERY = 0.2"
    done = run("--verbose", "convert", str(small_model.artifact / "model.pmml"), "--out", str(tmp_path / "art"),
               "--name", "churn", patch=beat)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert all(ELAPSED.match(line) for line in lines), done.stderr
    assert any("PMML -> JAR (jarscore.models.churn_v1): still running" in line for line in lines), done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'art'}: churn version 1")
