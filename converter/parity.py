"""Parity check: the sample scored by the native model, by the PMML (JPMML's interpreter) and by
the transpiled JAR must agree within the model family's tolerance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from jarscore.converter.kinds import ModelKind
from jarscore.errors import ConversionError, ParityError
from jarscore.scorer import Scorer


@dataclass
class ParityReport:
    rows: int
    tolerance: float
    reference: str  # "native" or "pmml"
    errors: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # output -> engine -> stats
    label_mismatches: dict[str, int] = field(default_factory=dict)  # engine -> count
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict:
        return {"checked": True, "passed": self.passed, "rows": self.rows, "tolerance": self.tolerance,
                "reference": self.reference, "max_errors": self.errors,
                "label_mismatches": self.label_mismatches, "failures": self.failures}

    def lines(self) -> list[str]:
        out = [f"parity on {self.rows} sample rows against the {self.reference} model "
               f"(tolerance {self.tolerance:g} relative):"]
        for output, engines in self.errors.items():
            parts = [f"{engine} max abs {s['max_abs']:.3g} rel {s['max_rel']:.3g}" for engine, s in engines.items()]
            out.append(f"  {output}: " + "; ".join(parts))
        for engine, count in self.label_mismatches.items():
            out.append(f"  labels: {engine} {count} mismatches")
        return out


def check(kind: ModelKind, native: Any, sample: pd.DataFrame, pmml: Scorer, jar: Callable[[], Scorer]) -> ParityReport:
    """Compares every engine against the reference; raises ParityError beyond tolerance. ``jar`` is
    called for the JAR's scorer once the PMML has scored: the JAR may still be on its way until then."""
    engines = {"pmml": lambda: pmml, "jar": jar} if native is not None else {"jar": jar}
    report = ParityReport(rows=len(sample), tolerance=kind.tolerance,
                          reference="native" if native is not None else "pmml")
    inputs = sample[[c for c in pmml.input_fields]]
    reference = _native_outputs(native, kind, sample, pmml) if native is not None else _scorer_outputs(pmml, inputs)
    for engine, scorer in engines.items():
        actual = _scorer_outputs(scorer(), inputs)
        for output, expected in reference.items():
            if output == "label":
                mismatches = _label_mismatches(expected, actual["label"], reference, kind.tolerance)
                report.label_mismatches[engine] = mismatches
                if mismatches:
                    report.failures.append(f"{engine}: {mismatches} predicted labels differ from the {report.reference} model")
                continue
            stats = _errors(expected, actual[output], kind.tolerance)
            report.errors.setdefault(output, {})[engine] = stats
            if not stats["within"]:
                report.failures.append(
                    f"{engine}: '{output}' differs by up to {stats['max_abs']:.3g} "
                    f"(relative {stats['max_rel']:.3g}), beyond tolerance {kind.tolerance:g}")
            del stats["within"]
    if report.failures:
        raise ParityError("parity check failed, no artifact written:\n  " + "\n  ".join(report.failures)
                          + "\n" + "\n".join(report.lines()))
    return report


def _scorer_outputs(scorer: Scorer, X: pd.DataFrame) -> dict[str, np.ndarray]:
    if scorer.is_classifier:
        # JPMML's interpreter scores the sample once for both (on rf200 a pass takes seconds); the
        # JAR is held to what users call.
        labels, proba = (scorer._labels_and_probabilities(X) if scorer.engine == "pmml"
                         else (scorer.predict(X), scorer.predict_proba(X)))
        out = {f"probability({c})": proba[:, i] for i, c in enumerate(scorer.classes_)}
        out["label"] = labels
        return out
    return {"value": scorer.predict(X)}


def _native_outputs(native: Any, kind: ModelKind, sample: pd.DataFrame, scorer: Scorer) -> dict[str, np.ndarray]:
    try:
        return _native_predictions(native, kind, native_frame(native, sample, scorer))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ConversionError(f"the native model could not score the sample ({type(exc).__name__}: {exc}); "
                              "the sample needs the training columns with the training dtypes") from None


def _native_predictions(native: Any, kind: ModelKind, X: pd.DataFrame) -> dict[str, np.ndarray]:
    if kind.task == "classification":
        proba = np.asarray(native.predict_proba(X), dtype=np.float64)
        classes = list(native.classes_)
        out = {f"probability({c})": proba[:, i] for i, c in enumerate(classes)}
        out["label"] = np.asarray(native.predict(X))
        return out
    return {"value": np.asarray(native.predict(X), dtype=np.float64).ravel()}


def native_frame(native: Any, sample: pd.DataFrame, scorer: Scorer) -> pd.DataFrame:
    """The sample as the native model expects it: its training columns, and for LightGBM models
    trained on pandas categoricals, those columns cast back to the training categories."""
    columns = getattr(native, "feature_names_in_", None)
    X = sample[[str(c) for c in columns]] if columns is not None else sample
    booster = getattr(native, "_Booster", None) or getattr(native, "booster_", None)
    categories = getattr(booster, "pandas_categorical", None)
    if categories:
        categorical_inputs = [f.name for f in scorer.inputs if not f.numeric and f.name in X.columns]
        X = X.copy()
        for name, cats in zip(categorical_inputs, categories):
            X[name] = pd.Categorical(X[name], categories=cats)
    return X


def _errors(expected: np.ndarray, actual: np.ndarray, tolerance: float) -> dict[str, Any]:
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    diff = np.abs(expected - actual)
    rel = diff / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    return {"max_abs": float(diff.max(initial=0.0)), "max_rel": float(np.where(diff == 0, 0.0, rel).max(initial=0.0)),
            "within": bool(np.all(diff <= tolerance * (1.0 + np.abs(expected))))}


def _label_mismatches(expected, actual, reference: dict, tolerance: float) -> int:
    """Labels must be identical, except on rows where the top two reference probabilities tie
    (within tolerance): there the libraries break the tie differently, and neither is wrong."""
    differ = np.asarray(expected).astype(str) != np.asarray(actual).astype(str)
    proba = [v for k, v in reference.items() if k.startswith("probability(")]
    if proba and differ.any():
        top2 = np.sort(np.column_stack(proba), axis=1)[:, -2:]
        differ &= (top2[:, 1] - top2[:, 0]) > tolerance
    return int(differ.sum())
