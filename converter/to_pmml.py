"""A fitted scikit-learn / LightGBM / XGBoost model becomes a PMML file through sklearn2pmml."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from jarscore.errors import ConversionError


def write_pmml(model: Any, pmml_path: Path) -> None:
    """Writes ``model`` as PMML. Plain estimators and pipelines go to sklearn2pmml as they are: its
    Java side wraps them itself, taking input fields from the training columns and keeping pandas
    categorical columns categorical. (Wrapping in Python with make_pmml_pipeline(active_fields=...)
    declares every field continuous, and LightGBM models with categorical splits then fail.)"""
    from jarscore.converter.loading import optional_module

    sklearn2pmml = optional_module("sklearn2pmml", f"converting {type(model).__name__} to PMML").sklearn2pmml

    captured = io.StringIO()
    try:
        # sklearn2pmml runs its own JVM and prints its output (and a banner); keep it for errors only.
        with contextlib.redirect_stdout(captured):
            sklearn2pmml(model, str(pmml_path))
    except Exception as exc:
        detail = _java_failure(captured.getvalue()) or f"{type(exc).__name__}: {exc}"
        raise ConversionError(f"sklearn2pmml could not convert {type(model).__name__} to PMML: {detail}") from None
    if not pmml_path.is_file():
        raise ConversionError(f"sklearn2pmml reported success but wrote no {pmml_path}")


def _java_failure(output: str) -> str:
    """The lines of sklearn2pmml's Java output that say what went wrong."""
    lines = [line for line in output.splitlines() if "Exception" in line or "SEVERE" in line or "rror" in line]
    return " | ".join(lines[:6])
