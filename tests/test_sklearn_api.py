"""scikit-learn's conventions on Scorer: estimator tags, scorers, score(), classes_ and the feature
attributes, predict_proba on classifiers only, clone, pickling (in this process and to a spawned
one), and the context manager. Real converted models, checked against the native ones on held-out
rows."""

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import types
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, get_scorer, log_loss, r2_score, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from jarscore.converter import convert
from jarscore.errors import ArtifactError, JarscoreError, NoProbabilitiesError
from jarscore.scorer import Scorer
from zoo import ZOO, binary, numeric_frame

BINARY = next(z for z in ZOO if z.name == "lightgbm-binary")
REGRESSION = next(z for z in ZOO if z.name == "lightgbm-regression")


def _converted(zoo_model, out):
    X_train, y_train, X_held, y_held = zoo_model.split()
    native = zoo_model.make().fit(X_train, y_train)
    convert(native, out, sample=X_held, name=zoo_model.name.replace("-", "_"), log=lambda line: None)
    return out, native, X_held, y_held


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return _converted(BINARY, tmp_path_factory.mktemp("sk") / "binary")


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    return _converted(REGRESSION, tmp_path_factory.mktemp("sk") / "regression")


@pytest.fixture(scope="module")
def pruned_tree(tmp_path_factory):
    """A tree whose PMML drops the training columns no split uses: 8 features, fewer input fields."""
    from sklearn.tree import DecisionTreeClassifier

    frame = numeric_frame(rows=600, features=8)
    train, held_out = frame.iloc[:400], frame.iloc[400:]
    native = DecisionTreeClassifier(max_depth=2, random_state=0).fit(train, binary(train))
    out = tmp_path_factory.mktemp("sk") / "tree"
    convert(native, out, sample=held_out, log=lambda line: None)
    return out, native, held_out, binary(held_out)


def test_estimator_type(classifier, regressor):
    with Scorer.load(classifier[0]) as clf, Scorer.load(regressor[0]) as reg:
        assert is_classifier(clf) and not is_regressor(clf)
        assert is_regressor(reg) and not is_classifier(reg)
        assert (clf._estimator_type, reg._estimator_type) == ("classifier", "regressor")
        check_is_fitted(clf)
        check_is_fitted(reg)


def test_classification_scorers_match_the_native_model(classifier):
    out, native, X, y = classifier
    with Scorer.load(out) as scorer:
        expected = roc_auc_score(y, native.predict_proba(X)[:, 1])
        assert get_scorer("roc_auc")(scorer, X, y) == pytest.approx(expected, abs=1e-12)
        expected = -log_loss(y, native.predict_proba(X), labels=native.classes_)
        assert get_scorer("neg_log_loss")(scorer, X, y) == pytest.approx(expected, abs=1e-12)
        assert get_scorer("accuracy")(scorer, X, y) == native.score(X, y)


def test_r2_scorer_matches_the_native_model(regressor):
    out, native, X, y = regressor
    with Scorer.load(out) as scorer:
        assert get_scorer("r2")(scorer, X, y) == pytest.approx(native.score(X, y), abs=1e-12)
        assert get_scorer("r2")(scorer, X, y) == pytest.approx(r2_score(y, native.predict(X)), abs=1e-12)


def test_score_is_accuracy_or_r2_as_the_native_score(classifier, regressor):
    out, native, X, y = classifier
    weights = np.linspace(0.5, 2.0, len(y))
    with Scorer.load(out) as scorer:
        assert scorer.score(X, y) == native.score(X, y)
        assert scorer.score(X, y, sample_weight=weights) == pytest.approx(
            accuracy_score(y, native.predict(X), sample_weight=weights), abs=1e-15)
    out, native, X, y = regressor
    with Scorer.load(out) as scorer:
        assert scorer.score(X, y) == pytest.approx(native.score(X, y), abs=1e-12)
        assert scorer.score(X, y.to_numpy()[:, None]) == pytest.approx(native.score(X, y), abs=1e-12)
        assert scorer.score(X, y, sample_weight=weights) == pytest.approx(
            r2_score(y, native.predict(X), sample_weight=weights), abs=1e-12)


def test_predict_proba_exists_on_classifiers_only(classifier, regressor):
    with Scorer.load(regressor[0]) as reg, Scorer.load(classifier[0]) as clf:
        assert not hasattr(reg, "predict_proba")
        with pytest.raises(NoProbabilitiesError, match="regressor") as raised:
            reg.predict_proba(regressor[2])
        assert isinstance(raised.value, JarscoreError) and isinstance(raised.value, AttributeError)
        with pytest.raises(NoProbabilitiesError, match="regressor"):
            Scorer.predict_proba(reg, regressor[2])  # through the class as well
        assert hasattr(clf, "predict_proba")
        assert Scorer.predict_proba.__doc__.startswith("Class probabilities")


def test_classes_is_the_native_array(classifier):
    out, native, X, _ = classifier
    with Scorer.load(out) as scorer:
        assert isinstance(scorer.classes_, np.ndarray)
        np.testing.assert_array_equal(scorer.classes_, native.classes_)
        assert scorer.classes_.dtype.kind == native.classes_.dtype.kind == "i"
        assert scorer.predict(X.head(5)).dtype == scorer.classes_.dtype
        one = scorer.predict_one(X.iloc[0].to_dict())
        assert type(one[scorer.manifest["target"]]) is int  # a row's label stays a Python int


def test_feature_attributes_are_the_native_ones(classifier, pruned_tree):
    for out, native, X, _ in (classifier, pruned_tree):
        with Scorer.load(out) as scorer:
            assert scorer.n_features_in_ == native.n_features_in_
            np.testing.assert_array_equal(scorer.feature_names_in_, native.feature_names_in_)
            assert scorer.feature_names_in_.dtype == object
            assert all(type(name) is str for name in scorer.feature_names_in_)
    with Scorer.load(pruned_tree[0]) as scorer:
        assert len(scorer.input_fields) < scorer.n_features_in_ == 8
    with Scorer.load(pruned_tree[0] / "model.jar") as bare:  # no manifest: the input fields
        assert list(bare.feature_names_in_) == bare.input_fields and bare.n_features_in_ == len(bare.input_fields)


def test_context_manager_closes(classifier):
    with Scorer.load(classifier[0]) as scorer:
        assert not scorer.closed
        scorer.predict_proba(classifier[2].head(3))
    assert scorer.closed
    scorer.close()  # closing again does nothing
    assert "predict_proba" not in vars(scorer)  # the bound method's reference cycle is gone


def test_single_row_predict_proba_still_takes_the_kernel_shortcut(classifier):
    """predict_proba is the instance's own bound method (no descriptor runs per call, no bound
    method is made per call), and a (1, inputs) float64 row still goes straight to the kernel."""
    out, native, X, _ = classifier
    with Scorer.load(out) as scorer:
        assert isinstance(vars(scorer)["predict_proba"], types.MethodType)
        assert scorer.predict_proba is scorer.predict_proba
        rows = X.to_numpy(dtype=np.float64)
        assert scorer._kernel_row_shape == (1, rows.shape[1])
        before = int(scorer._model.kernelRowsScored())
        singles = np.vstack([scorer.predict_proba(rows[i:i + 1]) for i in range(20)])
        assert int(scorer._model.kernelRowsScored()) - before == 20
        np.testing.assert_array_equal(singles, scorer.predict_proba(rows[:20]))
        np.testing.assert_allclose(singles, native.predict_proba(X.iloc[:20]), rtol=1e-9, atol=1e-12)


def test_pickle_round_trip_scores_identically(classifier, regressor):
    for out, _, X, _ in (classifier, regressor):
        with Scorer.load(out, threads=2, kernel=True) as scorer:
            data = pickle.dumps(scorer)
            assert b"JPype" not in data and len(data) < 2000  # the path and options, not the model
            with pickle.loads(data) as restored:
                assert restored is not scorer and type(restored) is Scorer
                assert restored.get_params() == scorer.get_params()
                assert restored.kernel == scorer.kernel and restored.threads == 2
                np.testing.assert_array_equal(restored.predict(X), scorer.predict(X))
                if is_classifier(scorer):
                    np.testing.assert_array_equal(restored.predict_proba(X), scorer.predict_proba(X))


def test_bare_jar_and_pmml_pickle(classifier):
    out, _, X, _ = classifier
    for path in (out / "model.jar", out / "model.pmml"):
        with Scorer.load(path) as scorer, pickle.loads(pickle.dumps(scorer)) as restored:
            assert restored.engine == scorer.engine and restored.source == scorer.source.absolute()
            np.testing.assert_array_equal(restored.predict_proba(X), scorer.predict_proba(X))


def _proba_in_child(scorer, X):
    return os.getpid(), scorer.predict_proba(X)


def test_pickled_scorer_scores_in_a_spawned_process(classifier):
    out, native, X, _ = classifier
    with Scorer.load(out) as scorer:
        here = scorer.predict_proba(X)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pid, there = pool.submit(_proba_in_child, scorer, X).result(timeout=300)
    assert pid != os.getpid()
    np.testing.assert_array_equal(there, here)
    np.testing.assert_allclose(there, native.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_unpickling_a_moved_artifact_names_the_path(classifier, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(classifier[0], copy)
    with Scorer.load(copy) as scorer:
        data = pickle.dumps(scorer)
        copy.rename(tmp_path / "moved")
        with pytest.raises(ArtifactError, match=f"no model at {copy}"):
            pickle.loads(data)
        with pytest.raises(ArtifactError, match=f"no model at {copy}"):
            clone(scorer)


def test_unpickling_where_another_model_now_is_refused(classifier, regressor, tmp_path):
    place = tmp_path / "model"
    shutil.copytree(classifier[0], place)
    with Scorer.load(place) as scorer:
        data = pickle.dumps(scorer)
    shutil.rmtree(place)
    shutil.copytree(regressor[0], place)
    with pytest.raises(ArtifactError, match="now holds another model"):
        pickle.loads(data)


def test_clone_loads_the_same_artifact_again(classifier):
    out, _, X, _ = classifier
    scorer = Scorer.load(out, threads=1)
    copy = clone(scorer)
    assert copy is not scorer and type(copy) is Scorer
    assert copy.get_params() == scorer.get_params() == {
        "path": str(out.absolute()), "threads": 1, "kernel": True, "warmup": 0.0, "out_of_process": False,
        "trusted_keys": None}
    copy.close()  # the clone is a Scorer of its own: closing it leaves the original scoring
    assert not scorer.closed
    np.testing.assert_array_equal(Scorer.load(out).predict_proba(X), scorer.predict_proba(X))
    scorer.close()


def test_out_of_process_scorer_pickles(classifier):
    pytest.importorskip("py4j")
    out, _, X, _ = classifier
    with Scorer.load(out, out_of_process=True) as scorer, pickle.loads(pickle.dumps(scorer)) as restored:
        assert restored.out_of_process and restored.get_params()["out_of_process"]
        np.testing.assert_array_equal(restored.predict_proba(X.head(20)), scorer.predict_proba(X.head(20)))


def test_scoring_needs_no_scikit_learn(classifier, tmp_path):
    """The conventions import scikit-learn lazily: without it a Scorer loads, scores, scores itself
    and pickles."""
    out, _, X, y = classifier
    X.head(50).to_csv(tmp_path / "rows.csv", index=False)
    np.save(tmp_path / "y.npy", y.head(50).to_numpy())
    script = textwrap.dedent(f"""
        import pickle, sys
        sys.modules["sklearn"] = None   # import sklearn fails
        import numpy as np, pandas as pd
        from jarscore import Scorer
        rows, y = pd.read_csv({str(tmp_path / "rows.csv")!r}), np.load({str(tmp_path / "y.npy")!r})
        scorer = Scorer.load({str(out)!r})
        assert scorer._estimator_type == "classifier" and scorer.n_features_in_ == rows.shape[1]
        print(scorer.predict_proba(rows).shape, 0 <= scorer.score(rows, y) <= 1,
              pickle.loads(pickle.dumps(scorer)).predict(rows).shape)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(50, 2) True (50,)"


def test_fit_is_refused_and_frozen_estimator_wraps_a_scorer(classifier):
    from sklearn.frozen import FrozenEstimator

    out, native, X, y = classifier
    with Scorer.load(out) as scorer:
        with pytest.raises(JarscoreError, match="cannot be fitted"):
            scorer.fit(X, y)
        frozen = FrozenEstimator(scorer).fit(X, y)
        assert is_classifier(frozen)
        np.testing.assert_array_equal(frozen.predict_proba(X), scorer.predict_proba(X))


def test_converting_a_pmml_classifier_records_its_classes_as_json(classifier, tmp_path):
    """With no native model, the manifest's classes come from the Scorer's classes_ (an array now)."""
    out, native, X, _ = classifier
    scorer = convert(out / "model.pmml", tmp_path / "from-pmml", log=lambda line: None)
    assert scorer.manifest["classes"] == native.classes_.tolist()
    np.testing.assert_array_equal(scorer.classes_, native.classes_)
    scorer.close()
