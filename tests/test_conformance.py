"""Cases of the JPMML-Transpiler conformance corpus, converted from their PMML files by
`converter.convert` and scored from the artifact by `Scorer`, within each case's tolerance.

Every one of the corpus's cases runs on the JVM (ConformanceTest, KernelConformanceTest, through the
same compiler and runtime); here a case for each kind of model and input goes through the Python
side's conversion and inputs: missing values, strings, vectorized fields, multiclass, text."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import CONFORMANCE
from jarscore.converter import convert
from jarscore.scorer import Scorer


PYTHON_CASES = ["DecisionTreeAudit", "DecisionTreeIrisVec", "IsotonicRegressionAuto", "LightGBMAutoNA",
                "LogisticRegressionSentiment", "RandomForestIris", "SelectFirstAuto", "XGBoostIris"]


def _cases():
    path = CONFORMANCE / "cases.json"
    if not path.is_file():
        return [pytest.param(None, id="corpus-missing")]
    cases = {case["name"]: case for case in json.loads(path.read_text())["cases"]}
    return [pytest.param(cases.get(name, {"name": name, "missing": True}), id=name) for name in PYTHON_CASES]


def _read_strings(path):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.astype(object).where(frame != "N/A", None)


def _ulps(expected: float, actual: float) -> int:
    e, a = np.float32(expected), np.float32(actual)
    if e == a:
        return 0
    ei, ai = (int(np.array(v, dtype=np.float32).view(np.int32)) for v in (e, a))
    # Map the sign-magnitude float bit pattern onto a monotonic integer line.
    ei = ei if ei >= 0 else -(ei & 0x7FFFFFFF)
    ai = ai if ai >= 0 else -(ai & 0x7FFFFFFF)
    return abs(ei - ai)


def _assert_matches(column, expected, actual, tolerance):
    for row, (e, a) in enumerate(zip(expected, actual)):
        where = f"column '{column}' row {row}: expected {e!r}, got {a!r}"
        if e is None:
            pytest.fail(f"{where}: missing expected values are not produced by jarscore")
        try:
            e_num = float(e)
        except ValueError:
            assert str(a) == e, where
            continue
        if isinstance(a, str):
            try:
                a = float(a)
            except ValueError:
                pytest.fail(where)
        if tolerance["kind"] == "float_ulps":
            assert _ulps(e_num, a) <= tolerance["ulps"], f"{where} ({_ulps(e_num, a)} ulps)"
        else:
            assert abs(e_num - a) <= tolerance["abs"] + tolerance["rel"] * abs(e_num), where


@pytest.mark.parametrize("case", _cases())
def test_conformance_case(case, conformance_dir, tmp_path):
    assert not case.get("missing"), f"{case['name']} is not in the corpus's cases.json"
    artifact = tmp_path / case["name"]
    convert(conformance_dir / case["pmml"], artifact, name=case["name"], log=lambda line: None)
    scorer = Scorer.load(artifact)
    assert scorer.engine == "jar"
    inputs = _read_strings(conformance_dir / case["input"])
    results = scorer.evaluate(inputs[[c for c in inputs.columns if c in scorer.input_fields]])
    expected = _read_strings(conformance_dir / case["expected"])
    compared = [c for c in expected.columns if c not in case["exclude_columns"]]
    assert compared, "nothing to compare"
    assert len(results) == len(expected)
    for column in compared:
        assert column in results.columns, f"output '{column}' missing; have {list(results.columns)}"
        _assert_matches(column, list(expected[column]), list(results[column]), case["tolerance"])
