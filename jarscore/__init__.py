"""jarscore: trained models as verified, transpiled JARs, scored in-process from Python and Java.

    from jarscore import Scorer, convert
    scorer = convert(model, "artifacts/churn/1", sample=holdout_rows)
    scorer.predict_proba(rows)

Names are imported on first use, so ``jarscore --help`` and ``import jarscore.errors`` stay quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "convert": "jarscore.converter",
    "publish": "jarscore.delivery",
    "promote": "jarscore.delivery",
    "Scorer": "jarscore.scorer",
    "ModelRegistry": "jarscore.scorer",
    "ModelVersion": "jarscore.scorer",
    "Result": "jarscore.scorer",
    "VersionPolicy": "jarscore.scorer",
    "Watcher": "jarscore.scorer",
    "configure_jvm": "jarscore.scorer.jvm",
    "JarscoreError": "jarscore.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from jarscore.converter import convert
    from jarscore.delivery import promote, publish
    from jarscore.errors import JarscoreError
    from jarscore.scorer import ModelRegistry, ModelVersion, Result, Scorer, VersionPolicy, Watcher
    from jarscore.scorer.jvm import configure_jvm


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jarscore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
