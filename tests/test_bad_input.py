"""Bad input gets a clear jarscore error naming the field and the value; never a silent NaN."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jarscore.converter import convert
from jarscore.errors import ArtifactError, ConversionError, InputError, JarscoreError
from zoo import ZOO, numeric_frame, binary

PIPELINE = next(z for z in ZOO if z.name == "sklearn-pipeline")


@pytest.fixture(scope="module")
def pipeline_scorer(tmp_path_factory):
    model, held_out = PIPELINE.fitted()
    scorer = convert(model, tmp_path_factory.mktemp("bad") / "pipeline", sample=held_out, log=lambda line: None)
    return scorer, held_out


@pytest.fixture(scope="module")
def strict_scorer(tmp_path_factory):
    """Logistic regression without an imputer: the model cannot take missing values."""
    frame = numeric_frame(rows=300)
    model = LogisticRegression().fit(frame, binary(frame))
    return convert(model, tmp_path_factory.mktemp("strict") / "logreg", sample=frame.tail(50), log=lambda line: None)


def test_error_type_is_the_projects(pipeline_scorer):
    scorer, rows = pipeline_scorer
    with pytest.raises(JarscoreError):
        scorer.predict(rows.drop(columns=["f1"]))


def test_missing_field_is_named(pipeline_scorer):
    scorer, rows = pipeline_scorer
    with pytest.raises(InputError, match=r"missing input column\(s\) \['f1'\]"):
        scorer.predict(rows.drop(columns=["f1"]))
    row = rows.iloc[0].to_dict()
    del row["city"]
    with pytest.raises(InputError, match=r"missing input field\(s\) \['city'\]"):
        scorer.predict_one(row)


def test_string_where_a_number_belongs(pipeline_scorer):
    scorer, rows = pipeline_scorer
    bad = rows.head(3).astype({"f2": object})
    bad.iloc[1, bad.columns.get_loc("f2")] = "abc"
    with pytest.raises(InputError, match=r"row 1: field 'f2' value 'abc' is not a number"):
        scorer.predict_proba(bad)


def test_unknown_category_names_field_value_and_expected_values(pipeline_scorer):
    scorer, rows = pipeline_scorer
    row = rows.iloc[0].to_dict()
    row["city"] = "atlantis"
    with pytest.raises(InputError, match=r"field 'city' value 'atlantis'.*expected one of \[.*oslo.*\]"):
        scorer.predict_one(row)


@pytest.mark.parametrize("rows_in_batch", [3, 400])  # 400: string columns checked by category
def test_bad_string_in_a_batch_names_its_row(pipeline_scorer, rows_in_batch):
    scorer, rows = pipeline_scorer
    bad = pd.concat([rows] * (rows_in_batch // len(rows) + 1), ignore_index=True).head(rows_in_batch)
    last = rows_in_batch - 1
    # A lone surrogate fits only an object column (pandas' Arrow-backed strings refuse it): how such
    # text reaches a caller, from JSON or bytes decoded with surrogateescape.
    bad["city"] = bad["city"].astype(object)
    bad.loc[last, "city"] = "oslo\udc80"
    with pytest.raises(InputError, match=rf"row {last}: field 'city' value 'oslo\\udc80' is not valid Unicode"):
        scorer.predict(bad)
    bad.loc[last, "city"] = "atlantis"
    with pytest.raises(InputError, match=r"field 'city' value 'atlantis'.*expected one of \[.*oslo.*\]"):
        scorer.predict(bad)


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_infinity_is_refused(pipeline_scorer, value):
    scorer, rows = pipeline_scorer
    bad = rows.head(4).copy()
    bad.iloc[2, bad.columns.get_loc("f0")] = value
    with pytest.raises(InputError, match=r"row 2: field 'f0' value -?inf is infinite"):
        scorer.predict(bad)


def test_nan_the_model_cannot_handle_is_an_error_not_a_nan(strict_scorer):
    row = {f"f{i}": 0.5 for i in range(6)}
    row["f3"] = float("nan")
    with pytest.raises(InputError, match=r"f3"):
        strict_scorer.predict_one(row)


def test_nan_the_model_handles_scores_like_the_native_model(pipeline_scorer):
    scorer, rows = pipeline_scorer
    with_nan = rows.head(5).copy()
    with_nan.iloc[0, with_nan.columns.get_loc("f0")] = np.nan
    assert np.isfinite(scorer.predict_proba(with_nan)).all()


def test_wrong_number_of_columns(pipeline_scorer):
    scorer, rows = pipeline_scorer
    array = rows[scorer.input_fields].to_numpy()
    with pytest.raises(InputError, match=rf"expected {len(scorer.input_fields)} columns"):
        scorer.predict(array[:, :-1])
    with pytest.raises(InputError, match=rf"expected {len(scorer.input_fields)} values"):
        scorer.predict_one(list(array[0]) + [1.0])


def test_unsupported_input_type(pipeline_scorer):
    scorer, _ = pipeline_scorer
    with pytest.raises(InputError, match="pass a pandas DataFrame"):
        scorer.predict("not rows")


def test_unreadable_and_foreign_model_files(tmp_path):
    garbage = tmp_path / "model.pkl"
    garbage.write_bytes(b"\x00\x01 not a pickle")
    with pytest.raises(ConversionError, match="cannot unpickle .*model.pkl"):
        convert(garbage, tmp_path / "out1", log=lambda line: None)
    foreign = tmp_path / "dict.joblib"
    import joblib
    joblib.dump({"not": "a model"}, foreign)
    with pytest.raises(ConversionError, match="model type builtins.dict is not supported"):
        convert(foreign, tmp_path / "out2", log=lambda line: None)
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"something else")
    with pytest.raises(ConversionError, match="cannot tell what kind of model"):
        convert(unknown, tmp_path / "out3", log=lambda line: None)
    with pytest.raises(ConversionError, match="model file not found"):
        convert(tmp_path / "nope.txt", tmp_path / "out4", log=lambda line: None)
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_failed_conversion_leaves_no_partial_artifact(tmp_path):
    broken = tmp_path / "broken.pmml"
    broken.write_text('<?xml version="1.0"?><PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>'
                      "<DataDictionary/><TreeModel functionName='regression'><Node/></TreeModel></PMML>")
    with pytest.raises(JarscoreError):
        convert(broken, tmp_path / "out", log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.pmml"]


def test_existing_output_is_not_overwritten_without_force(pipeline_scorer, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ArtifactError, match="already exists.*--force"):
        convert(pipeline_scorer[0].source / "model.pmml.gz", tmp_path / "out", log=lambda line: None)


def test_parity_failure_is_refused(pipeline_scorer, tmp_path):
    """A native model that disagrees with the PMML fails the check (real models, no mocks)."""
    from jarscore.converter.kinds import identify
    from jarscore.converter.parity import check
    from jarscore.errors import ParityError
    from jarscore.scorer import Scorer

    scorer, rows = pipeline_scorer
    other, _ = PIPELINE.fitted()
    other.set_params(model__C=0.001).fit(rows, PIPELINE.target(rows))
    pmml = Scorer.load(scorer.source / "model.pmml.gz")
    with pytest.raises(ParityError, match="differs by up to"):
        check(identify(other), other, rows, pmml, lambda: scorer)


def test_regressor_has_no_predict_proba(tmp_path):
    frame = numeric_frame(rows=200)
    from sklearn.linear_model import LinearRegression
    model = LinearRegression().fit(frame, frame["f0"] * 2)
    scorer = convert(model, tmp_path / "lr", log=lambda line: None)
    with pytest.raises(JarscoreError, match="regressor"):
        scorer.predict_proba(frame)
    evaluated = scorer.evaluate(frame.head(2))
    np.testing.assert_allclose(evaluated.iloc[:, 0], model.predict(frame.head(2)), rtol=1e-9, atol=1e-9)


def test_a_missing_value_the_model_cannot_take_names_the_field_however_often(tmp_path):
    """A pipeline with no imputer before its encoder fails inside JPMML-Transpiler's classes on a
    missing string; the error names the field, and keeps its message after thousands of failures
    (the JIT would drop it). Without those classes, JPMML-Evaluator interprets the PMML, where a
    missing value matches none of the field's CategoricalPredictors: the city adds nothing."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"f0": rng.normal(size=600), "city": rng.choice(["paris", "oslo", "rome"], 600).astype(object)})
    y = ((X.f0 + X.city.map({"paris": 1, "oslo": -1, "rome": 0})) > 0).astype(int)
    model = Pipeline([("prep", ColumnTransformer([("c", OneHotEncoder(), ["city"])], remainder="passthrough")),
                      ("lr", LogisticRegression())]).fit(X[:500], y[:500])
    scorer = convert(model, tmp_path / "art", sample=X[500:], log=lambda line: None, transpiled_classes=True)
    messages = []
    for _ in range(6000):
        with pytest.raises(InputError) as caught:
            scorer.predict_one({"f0": 0.3, "city": None})
        messages.append(str(caught.value))
    assert "missing 'city': the model has no rule for a missing value in that field" in messages[-1]
    assert messages[-1] == messages[0], "the message of the 6000th failure is the first's"
    np.testing.assert_allclose(scorer.predict_proba(X[500:])[:, 1], model.predict_proba(X[500:])[:, 1],
                               rtol=1e-9, atol=1e-9)

    kernel_only = convert(model, tmp_path / "kernel-only", sample=X[500:], log=lambda line: None)
    lr = model.named_steps["lr"]
    f0 = list(model.named_steps["prep"].get_feature_names_out()).index("remainder__f0")
    without_city = 1 / (1 + np.exp(-(lr.intercept_[0] + lr.coef_[0][f0] * 0.3)))
    np.testing.assert_allclose(kernel_only.predict_proba([{"f0": 0.3, "city": None}])[0, 1], without_city, rtol=1e-9)
