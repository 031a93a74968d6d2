"""The Scorer API and the artifact it loads: shapes of input, metadata, manifest, integrity."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jarscore.converter import convert
from jarscore.errors import ArtifactError, InputError
from jarscore.scorer import Scorer
from jarscore.scorer.artifact import sha256_of
from zoo import ZOO

MULTICLASS = next(z for z in ZOO if z.name == "lightgbm-multiclass")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model, held_out = MULTICLASS.fitted()
    out = tmp_path_factory.mktemp("api") / "multi"
    convert(model, out, sample=held_out, name="multi", version=4, log=lambda line: None)
    return out, model, held_out


def test_metadata(artifact):
    out, model, held_out = artifact
    scorer = Scorer.load(out)
    assert (scorer.name, scorer.version, scorer.engine) == ("multi", 4, "jar")
    assert scorer.input_fields == list(model.feature_names_in_)
    assert list(scorer.classes_) == [0, 1, 2]
    assert scorer.output_fields[0] == scorer.manifest["target"]
    assert {"probability(0)", "probability(1)", "probability(2)"} <= set(scorer.output_fields)


def test_every_input_shape_gives_the_same_answer(artifact):
    out, model, held_out = artifact
    scorer = Scorer.load(out)
    rows = held_out.head(10)
    from_frame = scorer.predict_proba(rows)
    from_array = scorer.predict_proba(rows.to_numpy())
    from_records = scorer.predict_proba(rows.to_dict(orient="records"))
    np.testing.assert_array_equal(from_frame, from_array)
    np.testing.assert_array_equal(from_frame, from_records)
    one = scorer.predict_one(rows.iloc[3].to_dict())
    seq = scorer.predict_one(list(rows.iloc[3]))
    assert one == seq
    assert one[scorer.manifest["target"]] == model.predict(rows.iloc[[3]])[0]
    assert one["probability(2)"] == pytest.approx(model.predict_proba(rows.iloc[[3]])[0, 2], rel=1e-9)
    frame = scorer.evaluate(rows)
    assert list(frame.columns) == scorer.output_fields and len(frame) == 10


def test_manifest_describes_the_artifact(artifact):
    out, model, held_out = artifact
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["model.jar"]["sha256"] == sha256_of(out / "model.jar")
    assert manifest["files"]["model.pmml.gz"]["sha256"] == sha256_of(out / "model.pmml.gz")
    assert manifest["model"]["family"] == "lightgbm" and manifest["model"]["task"] == "classification"
    assert manifest["parity"]["passed"] and manifest["parity"]["rows"] == len(held_out)
    assert set(manifest["libraries"]) >= {"scikit-learn", "lightgbm", "sklearn2pmml", "jpmml-transpiler", "java"}
    assert [f["name"] for f in manifest["inputs"]] == list(model.feature_names_in_)
    assert len(manifest["verification"]["rows"]) == 20
    assert manifest["java_class"] == "jarscore.models.multi_v4"


def test_tampered_jar_is_refused(artifact, tmp_path):
    import shutil

    out, _, _ = artifact
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with open(copy / "model.jar", "ab") as jar:
        jar.write(b"tampered")
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        Scorer.load(copy)


def test_not_an_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        Scorer.load(tmp_path)
    (tmp_path / "x.jar").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="cannot"):
        Scorer.load(tmp_path / "x.jar")
    with pytest.raises(ArtifactError, match="no model at"):
        Scorer.load(tmp_path / "missing.pmml")


def test_array_in_training_column_order_when_the_pmml_drops_unused_columns(tmp_path):
    """sklearn2pmml leaves out features no split uses; an array laid out for the native model must
    still score (the manifest's `features` maps it), and so must one with just the input fields."""
    from sklearn.tree import DecisionTreeClassifier
    from zoo import binary, numeric_frame

    frame = numeric_frame(rows=600, features=8)
    train, held_out = frame.iloc[:400], frame.iloc[400:]
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(train, binary(train))
    scorer = convert(model, tmp_path / "tree", sample=held_out, log=lambda line: None)
    assert scorer.manifest["features"] == [f"f{i}" for i in range(8)]
    assert len(scorer.input_fields) < 8, "the test needs a model whose PMML dropped a column"
    expected = model.predict_proba(held_out.to_numpy())
    np.testing.assert_allclose(scorer.predict_proba(held_out.to_numpy()), expected, rtol=1e-12)
    np.testing.assert_allclose(scorer.predict_proba(held_out[scorer.input_fields].to_numpy()), expected, rtol=1e-12)
    one = scorer.predict_one(held_out.to_numpy()[0])
    assert one[scorer.manifest["probability_fields"][1]] == pytest.approx(expected[0, 1], rel=1e-12)
    with pytest.raises(InputError, match=r"expected \d+ columns in input-field order .* or 8 in the training column order"):
        scorer.predict_proba(held_out.to_numpy()[:, :5])


def test_convert_logs_its_progress_and_never_prints(tmp_path, capfd, caplog):
    import logging

    from jarscore.converter import convert
    from conftest import CONFORMANCE

    with caplog.at_level(logging.INFO, logger="jarscore.converter"):
        convert(CONFORMANCE / "pmml" / "DecisionTreeIris.pmml", tmp_path / "iris").close()
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "jarscore.converter"]
    assert lines[0].startswith("[1/4]") and any(line.startswith("[4/4] writing") for line in lines)


def test_scoring_numpy_rows_does_not_import_pandas(small_model, tmp_path):
    """A caller that scores arrays does not pay for importing pandas (a quarter second of a cold
    start); the scores are the native model's."""
    row = small_model.holdout.iloc[:1].to_numpy().tolist()
    code = ("import json, sys\nimport numpy as np\nfrom jarscore import Scorer\n"
            f"scorer = Scorer.load({str(small_model.artifact)!r})\n"
            f"p = scorer.predict_proba(np.array({row!r}))[0, -1]\n"
            "print(json.dumps({'p': float(p), 'pandas': 'pandas' in sys.modules, 'kernel': scorer.kernel}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed["kernel"] == "active" and printed["pandas"] is False
    assert printed["p"] == pytest.approx(small_model.native.predict_proba(small_model.holdout.iloc[:1])[0, -1], rel=1e-9)
