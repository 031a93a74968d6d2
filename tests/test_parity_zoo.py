"""Parity against the native libraries on held-out rows, for every model in the zoo: labels
identical, probabilities and values within the family's tolerance (converter.kinds)."""

import numpy as np
import pytest

from jarscore import Scorer
from jarscore.converter import convert
from jarscore.converter.kinds import identify
from jarscore.converter.parity import native_frame
from zoo import ZOO


@pytest.mark.parametrize("entry", ZOO, ids=[z.name for z in ZOO])
def test_artifact_matches_native_model(entry, zoo_artifact):
    model, held_out, folder = zoo_artifact(entry.name)
    tolerance = identify(model).tolerance
    scorer = Scorer.load(folder)
    assert scorer.manifest["parity"]["passed"] is True
    # Every zoo model is one the kernel supports: the comparisons below run on the fast path.
    assert scorer.kernel == "active", scorer.kernel
    assert scorer.manifest["kernel"]["status"] == "present"
    assert scorer.manifest["parity"]["rows"] == len(held_out)

    native_X = native_frame(model, held_out, scorer)
    inputs = held_out[scorer.input_fields]
    if entry.task == "classification":
        assert list(scorer.classes_) == list(model.classes_)
        np.testing.assert_array_equal(scorer.predict(inputs), model.predict(native_X))
        expected = np.asarray(model.predict_proba(native_X), dtype=np.float64)
        actual = scorer.predict_proba(inputs)
    else:
        expected = np.asarray(model.predict(native_X), dtype=np.float64)
        actual = scorer.predict(inputs)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def test_pmml_pipeline_is_converted_as_given(tmp_path):
    from sklearn.tree import DecisionTreeRegressor
    from sklearn2pmml.pipeline import PMMLPipeline

    from zoo import numeric_frame, regression

    frame = numeric_frame(rows=600, nan_share=0.0)
    target = regression(frame)
    model = PMMLPipeline([("tree", DecisionTreeRegressor(max_depth=5, random_state=0))])
    model.fit(frame.iloc[:450], target.iloc[:450])
    held_out = frame.iloc[450:]
    scorer = convert(model, tmp_path / "pmml-pipeline", sample=held_out, log=lambda line: None)
    # Features the tree never splits on are left out of the PMML's inputs; the rest keep their order.
    assert scorer.input_fields == [c for c in frame.columns if c in scorer.input_fields]
    assert set(scorer.input_fields) >= {"f0", "f1"}
    np.testing.assert_allclose(scorer.predict(held_out), model.predict(held_out), rtol=1e-9, atol=1e-9)
