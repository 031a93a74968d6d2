"""Property-based bad input (hypothesis) through the Python API and the CLI: whatever arrives, the
answer is a prediction or a jarscore error (InputError for input), the scorer keeps serving the same
answers afterwards, and the CLI writes no partial output."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jarscore.converter import convert
from jarscore import cli
from jarscore.errors import InputError, JarscoreError
from zoo import ZOO

PIPELINE = next(z for z in ZOO if z.name == "sklearn-pipeline")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model, held_out = PIPELINE.fitted()
    out = tmp_path_factory.mktemp("fuzz") / "pipeline"
    scorer = convert(model, out, sample=held_out, log=lambda line: None)
    good = held_out.head(5)
    return scorer, out, good, scorer.predict_proba(good)


hostile_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.just("x" * 100_000), st.binary(max_size=20), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(object()),
    st.just(np.float32("nan")), st.just(np.int64(3)), st.just(pd.NA), st.just(pd.NaT),
)


NASTY = ["\ud800", "x" * 100_000, b"\xff\xfe", "", " ", "1e400", "nan", "-inf", 2**70, True, [1.0], {"a": 1},
         object(), 10**400, float("inf"), float("-inf"), float("nan"), None, pd.NA, np.datetime64("2026-01-01"), 1j]
MAX_MESSAGE = 2_000


def _still_serving(scorer, good, expected) -> None:
    np.testing.assert_array_equal(scorer.predict_proba(good), expected)


@FUZZ
@given(data=st.data())
def test_any_single_row_gives_a_prediction_or_an_input_error(served, data):
    scorer, _, good, expected = served
    fields = scorer.input_fields
    present = data.draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)), label="present")
    row = {name: data.draw(hostile_values, label=name) for name in present}
    row.update(data.draw(st.dictionaries(st.text(max_size=5), hostile_values, max_size=3), label="extra"))
    try:
        result = scorer.predict_one(row)
    except InputError as exc:
        assert 0 < len(str(exc)) < MAX_MESSAGE, "an input error says what is wrong, briefly"
    else:
        probabilities = [v for k, v in result.items() if k.startswith("probability(")]
        assert probabilities and all(math.isfinite(p) and 0 <= p <= 1 for p in probabilities), result
    _still_serving(scorer, good, expected)


@FUZZ
@given(data=st.data())
def test_any_batch_gives_one_answer_per_row_or_an_input_error(served, data):
    scorer, _, good, expected = served
    rows = data.draw(st.integers(min_value=0, max_value=6), label="rows")
    columns = data.draw(st.lists(st.sampled_from(scorer.input_fields + ["extra", ""]), unique=True), label="columns")
    frame = pd.DataFrame({c: [data.draw(hostile_values) for _ in range(rows)] for c in columns}, index=range(rows), dtype=object)
    shape = data.draw(st.sampled_from(["frame", "array", "records"]), label="given as")
    given_as = {"frame": frame, "array": frame.to_numpy(), "records": frame.to_dict(orient="records")}[shape]
    try:
        proba = scorer.predict_proba(given_as)
    except InputError as exc:
        assert 0 < len(str(exc)) < MAX_MESSAGE
    else:
        assert proba.shape == (rows, len(scorer.classes_))
        assert np.isfinite(proba).all()
    _still_serving(scorer, good, expected)


@pytest.mark.parametrize("value", NASTY, ids=lambda v: repr(v)[:12])
def test_every_nasty_value_in_every_field(served, value):
    scorer, _, good, expected = served
    for field in scorer.input_fields:
        row = good.iloc[0].to_dict() | {field: value}
        try:
            result = scorer.predict_one(row)
        except InputError as exc:
            assert f"'{field}'" in str(exc) and len(str(exc)) < MAX_MESSAGE, str(exc)[:300]
        else:
            assert all(math.isfinite(v) for k, v in result.items() if k.startswith("probability(")), result
    _still_serving(scorer, good, expected)


@pytest.mark.parametrize("X", [np.zeros((2, 3, 4)), np.zeros(5), "rows", 42, None, [[1, 2]], {"f1": [1.0]}])
def test_shapes_that_are_not_tables_are_input_errors(served, X):
    scorer, _, good, expected = served
    with pytest.raises(InputError):
        scorer.predict_proba(X)
    _still_serving(scorer, good, expected)


def test_a_huge_batch_scores(served):
    scorer, _, good, expected = served
    big = pd.concat([good] * 40_000, ignore_index=True)        # 200 000 rows
    proba = scorer.predict_proba(big)
    np.testing.assert_array_equal(proba[-5:], expected)


def _run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exc:          # argparse usage errors
            code = exc.code
    return code, err.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.lists(st.lists(st.text(max_size=8), max_size=6), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode()),
))
def test_cli_score_on_malformed_csv_fails_cleanly_or_scores_all_rows(served, tmp_path, payload):
    _, artifact, _, _ = served
    source = tmp_path / "in.csv"
    source.write_bytes(payload)
    target = tmp_path / "out" / "scored.csv"
    target.unlink(missing_ok=True)
    code, err = _run_cli(["score", str(artifact), "--input", str(source), "--output", str(target)])
    if code == 0:
        assert len(pd.read_csv(target)) >= 0
    else:
        assert code == 1 and err.startswith("jarscore score: error: "), err
        assert not target.exists(), "a failed run must not leave an output file"
    leftovers = [p.name for p in target.parent.glob(".*partial")] if target.parent.exists() else []
    assert not leftovers, leftovers


def test_cli_errors_are_the_projects(served, tmp_path):
    _, artifact, _, _ = served
    code, err = _run_cli(["score", str(tmp_path / "nowhere"), "--input", "x.csv", "--output", "y.csv"])
    assert code == 1 and "jarscore score: error:" in err
    assert issubclass(InputError, JarscoreError)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode),
                         st.just(b"<?xml version='1.0'?><PMML"), st.just(b'{"learner": {}}'),
                         st.just(b"tree\nversion=v4\nnum_class=1\n")),
       suffix=st.sampled_from([".txt", ".json", ".ubj", ".pmml", ".model"]))
def test_cli_convert_on_garbage_model_files_fails_cleanly(tmp_path, payload, suffix):
    # Pickles are left out on purpose: unpickling runs code, which is why the CLI warns about them.
    source = tmp_path / f"model{suffix}"
    source.write_bytes(payload)
    out = tmp_path / "artifact"
    code, err = _run_cli(["convert", str(source), "--out", str(out), "--force"])
    assert code == 1 and "jarscore convert: error: " in err, err[-500:]
    assert "[bt]" not in err and "Traceback" not in err, err[-500:]
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".artifact")], "staging left behind"
