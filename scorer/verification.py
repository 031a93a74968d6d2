"""The manifest's verification rows: the converter records what the JAR answered for them, and a
loaded artifact must answer the same before it scores anything (Scorer.load, the registry)."""

from __future__ import annotations

import logging
import math
from typing import Any, Mapping

from jarscore.errors import ArtifactError

#: Recorded verification outputs went through JSON; both sides come from the same JAR.
VERIFICATION_TOLERANCE = 1e-9
#: A float32 output (XGBoost's, PMML dataType "float") may come from the kernel or from the
#: transpiled classes, whose float32 sums are ordered differently: an ulp or two apart (6e-8 each).
FLOAT32_VERIFICATION_TOLERANCE = 1e-6

log = logging.getLogger(__name__)


def check_recorded_outputs(scorer: Any, manifest: Mapping[str, Any], what: str) -> None:
    """Raises ArtifactError unless ``scorer`` reproduces every recorded output of the verification rows."""
    verification = manifest.get("verification")
    if not verification:
        log.info("%s: the manifest has no verification rows; only its checksums were checked", what)
        return
    rows, outputs = verification.get("rows"), verification.get("outputs")
    if not isinstance(rows, list) or not isinstance(outputs, list) or len(rows) != len(outputs):
        raise ArtifactError(f"{what}: the manifest's verification needs as many 'rows' as 'outputs'")
    float32 = {spec.get("name") for spec in manifest.get("outputs") or [] if spec.get("data_type") == "float"}
    scored = scorer.evaluate(rows)
    for r, recorded in enumerate(outputs):
        for field, value in recorded.items():
            actual = scored[field].iloc[r]
            tolerance = FLOAT32_VERIFICATION_TOLERANCE if field in float32 else VERIFICATION_TOLERANCE
            if not _same(value, actual, tolerance):
                raise ArtifactError(f"{what}: verification row {r}: '{field}' is {actual!r}, the manifest "
                                    f"recorded {value!r}; the artifact does not score as it did when converted")


def _same(recorded: Any, actual: Any, tolerance: float) -> bool:
    if recorded is None:
        return True  # recorded as null: a non-finite value JSON cannot hold
    if isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
        try:
            a, b = float(recorded), float(actual)
        except (TypeError, ValueError):
            return False
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    return str(recorded) == str(actual)
