"""The `jarscore` command line: convert model files of every format, score CSVs, fail clearly."""

import subprocess
import sys

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


def test_lightgbm_text_file_end_to_end(data, tmp_path):
    X, y, held_out = data
    model = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
    model.booster_.save_model(str(tmp_path / "model.txt"))
    held_out.to_csv(tmp_path / "sample.csv", index=False)

    converted = jarscore("convert", str(tmp_path / "model.txt"), "--out", str(tmp_path / "art"),
                         "--sample", str(tmp_path / "sample.csv"), "--name", "churn", "--version", "3")
    assert converted.returncode == 0, converted.stderr
    assert "parity on 200 sample rows" in converted.stderr

    scored = jarscore("score", str(tmp_path / "art"), "--input", str(tmp_path / "sample.csv"),
                      "--output", str(tmp_path / "out.csv"))
    assert scored.returncode == 0, scored.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["probability(1)"], model.predict_proba(held_out)[:, 1], rtol=1e-9, atol=1e-9)
    assert list(out.iloc[:, 0]) == list(model.predict(held_out))


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
    again = jarscore("convert", str(tmp_path / "a" / "model.pmml"), "--out", str(tmp_path / "b"),
                     "--sample", str(tmp_path / "sample.csv"))
    assert again.returncode == 0, again.stderr
    assert "against the pmml model" in again.stderr


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


def test_score_errors_write_no_output(data, tmp_path):
    X, y, held_out = data
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    model.booster_.save_model(str(tmp_path / "m.txt"))
    assert jarscore("convert", str(tmp_path / "m.txt"), "--out", str(tmp_path / "art")).returncode == 0
    held_out.drop(columns=["f2"]).to_csv(tmp_path / "bad.csv", index=False)
    failed = jarscore("score", str(tmp_path / "art"), "--input", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "o.csv"))
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
