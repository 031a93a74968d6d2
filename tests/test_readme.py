"""Every ```python, ```sh and ```bash block of README.md runs, and its generated tables are current.

The convention (docs/development.md): the line above each such block names it,
``<!-- readme-test: NAME -->``, optionally followed by ``needs=FIXTURE,...``:

- ``needs=model``: the block's folder holds ``model.txt`` (a LightGBM text model) and ``holdout.csv``
  (rows it did not train on, with the model's input columns).

Each block runs in a fresh temporary folder, Python blocks with this interpreter, shell blocks with
``bash -e`` and this interpreter's ``bin`` folder (so ``jarscore``) first on PATH. A block that needs
what this test cannot give cheaply (a broker, a wheel, a clean clone) is listed in SKIPPED with the
test that covers it instead."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"(?:<!-- readme-test: (?P<meta>[^>]*?) -->\n)?```(?P<lang>python|sh|bash)\n(?P<code>.*?)^```",
                   re.S | re.M)
SKIPPED = {
    "install-wheel": "tests/test_install.py builds the wheel and installs it into a fresh virtual environment",
    "install-source": "CI runs `make setup` and `make test` from a clean clone (.ci/run)",
    "serve": "runs a server in the foreground; tests/test_server.py starts it and calls it with Triton's and TF Serving's clients",
    "spark": "starts Spark; tests/test_spark.py runs the stage from PySpark in local[2], shipped with addFile",
    "kafka-app": "needs a Kafka broker; ScoringAppJarIT runs the jar with a config against a real KRaft broker",
}


def blocks() -> list[dict]:
    found = []
    for match in FENCE.finditer(README.read_text()):
        meta = (match["meta"] or "").split()
        needs = [need for word in meta[1:] if word.startswith("needs=") for need in word[6:].split(",")]
        found.append({"name": meta[0] if meta else None, "lang": match["lang"], "code": match["code"],
                      "needs": needs, "line": README.read_text()[:match.start()].count("\n") + 1})
    return found


def test_every_block_is_named_once_and_every_skip_names_a_block():
    found = blocks()
    unnamed = [f"README.md line {b['line']}" for b in found if not b["name"]]
    assert not unnamed, f"name these blocks with <!-- readme-test: NAME --> on the line above: {unnamed}"
    names = [b["name"] for b in found]
    assert len(names) == len(set(names)), f"block names repeat: {names}"
    assert set(SKIPPED) <= set(names), f"SKIPPED names blocks the README no longer has: {set(SKIPPED) - set(names)}"
    unknown = {need for b in found for need in b["needs"]} - set(FIXTURES)
    assert not unknown, f"unknown needs= fixtures {unknown}; known: {sorted(FIXTURES)}"


def _model_files(small_model, folder: Path) -> None:
    shutil.copy(small_model.model_file, folder / "model.txt")
    shutil.copy(small_model.holdout_csv, folder / "holdout.csv")


FIXTURES = {"model": _model_files}


@pytest.mark.parametrize("block", [b for b in blocks() if b["name"] not in SKIPPED], ids=lambda b: b["name"])
def test_block_runs(block, small_model, tmp_path):
    for need in block["needs"]:
        FIXTURES[need](small_model, tmp_path)
    if block["lang"] == "python":
        command = [sys.executable, "-c", block["code"]]
    else:
        command = ["bash", "-e", "-c", block["code"]]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (f"README block '{block['name']}' (line {block['line']}) failed:\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def test_supported_models_table_is_generated_from_the_converter_table():
    from jarscore.converter import supported_table

    text = README.read_text()
    start, end = text.find(supported_table.START), text.find(supported_table.END)
    assert 0 <= start < end, "README.md has no supported-models markers"
    assert text[start:end + len(supported_table.END)] == supported_table.table(), (
        "the README's supported-models table is out of date: run "
        "`.venv/bin/python -m jarscore.converter.supported_table README.md`")

