"""A model given as a path becomes a fitted estimator (or stays a PMML file).

Pickle and joblib files run arbitrary code when loaded: only load files you trust. LightGBM text
files, XGBoost JSON/UBJ files and PMML files are data only and are the safe route for untrusted input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jarscore.errors import ConversionError


@dataclass(frozen=True)
class PmmlFile:
    """A model that already is PMML; there is no native model to compare against."""

    path: Path


def load_model(model: Any) -> Any:
    """A fitted object passes through; a path is read according to what the file holds."""
    if not isinstance(model, (str, Path)):
        return model
    path = Path(model)
    if path.is_dir():
        raise ConversionError(f"{path} is a folder; give the model file itself (a LightGBM text model, an "
                              "XGBoost .json/.ubj model, a .pmml or .pmml.gz file or a .pkl/.joblib file)")
    if not path.is_file():
        raise ConversionError(f"model file not found: {path}")
    head = path.read_bytes()[:512]
    suffix = path.suffix.lower()
    if suffix == ".pmml" or head.lstrip().startswith(b"<?xml") or b"<PMML" in head:
        return PmmlFile(path)
    if path.name.lower().endswith(".pmml.gz") and head.startswith(b"\x1f\x8b"):   # an artifact's model.pmml.gz
        return PmmlFile(path)
    if head.startswith(b"tree\n") or head.startswith(b"tree\r\n"):
        return _lightgbm_text(path)
    if suffix in (".json", ".ubj"):
        return _xgboost_file(path)
    if suffix in (".pkl", ".pickle", ".joblib", ".jbl"):
        return _pickle(path)
    raise ConversionError(
        f"cannot tell what kind of model {path} holds; expected a .pmml file, a LightGBM text model "
        "(starts with 'tree'), an XGBoost .json/.ubj model, or a joblib/pickle file (.pkl, .joblib)"
    )


_CONVERT_EXTRA = "pip install 'jarscore[convert]'"


def optional_module(name: str, needed_for: str, install: str = _CONVERT_EXTRA) -> Any:
    """Imports a package that only conversion needs, or says which one is missing and how to get it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.split(".")[0]:
            raise
        raise ConversionError(f"{needed_for} needs the Python package '{exc.name}', which is not installed: "
                              f"{install}") from None


def _pickle(path: Path) -> Any:
    joblib = optional_module("joblib", f"reading the pickle {path}")

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling can raise anything the pickled code raises
        detail = "the file is empty or cut short" if isinstance(exc, EOFError) else str(exc) or "(no message)"
        raise ConversionError(f"cannot unpickle {path}: {type(exc).__name__}: {detail}") from None


def _lightgbm_text(path: Path) -> Any:
    """A LightGBM text model wrapped in the scikit-learn estimator sklearn2pmml converts.
    A bare booster does not record class labels: classifiers get classes 0..k-1."""
    lightgbm = optional_module("lightgbm", f"reading the LightGBM model {path}", "pip install lightgbm")
    LabelEncoder = optional_module("sklearn.preprocessing", f"reading the LightGBM model {path}").LabelEncoder

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as exc:
        raise ConversionError(f"cannot read LightGBM model {path}: {exc}") from None
    objective = str(booster.params.get("objective", _objective_line(path))).split()[0]
    if objective in ("binary", "cross_entropy", "xentropy"):
        classes = 2
    elif objective in ("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"):
        classes = booster.num_model_per_iteration()
    else:
        classes = 0
    estimator = lightgbm.LGBMClassifier() if classes else lightgbm.LGBMRegressor()
    # The attributes LightGBM's own fit() sets and sklearn2pmml reads back (lightgbm 4.x names).
    estimator._Booster = booster
    estimator.fitted_ = True
    estimator._n_features = booster.num_feature()
    estimator._n_features_in = booster.num_feature()
    estimator._objective = objective
    if classes:
        estimator._n_classes = classes
        estimator._classes = np.arange(classes)
        estimator._le = LabelEncoder().fit(estimator._classes)
    return estimator


def _objective_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if line.startswith("objective="):
                return line.split("=", 1)[1].strip()
    return "regression"


def _without_native_trace(exc: Exception) -> str:
    """XGBoost's errors end in a C++ stack trace ("Stack trace: [bt] (0) ..."), of no use to a caller."""
    return str(exc).split("Stack trace:")[0].strip()


def _xgboost_file(path: Path) -> Any:
    xgboost = optional_module("xgboost", f"reading the XGBoost model {path}",
                              "pip install xgboost (or xgboost-cpu, the same package without GPU libraries)")

    try:
        booster = xgboost.Booster(model_file=str(path))
        config = json.loads(booster.save_config())
    except Exception as exc:
        raise ConversionError(f"cannot read XGBoost model {path}: {_without_native_trace(exc)}") from None
    objective = config["learner"]["objective"]["name"]
    is_classifier = objective.startswith(("binary:", "multi:"))
    estimator = xgboost.XGBClassifier() if is_classifier else xgboost.XGBRegressor()
    estimator.load_model(str(path))
    return estimator
