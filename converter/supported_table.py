"""The README's table of supported models, generated from the converter's own table
(:data:`jarscore.converter.kinds.SUPPORTED`) so that the two cannot drift apart.

    python -m jarscore.converter.supported_table README.md     # rewrites the table between its markers
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from jarscore.converter.kinds import MODEL_FILES, PIPELINE_STEPS, SUPPORTED, ModelKind

START, END = "<!-- supported-models:start -->", "<!-- supported-models:end -->"
_LIBRARIES = {"lightgbm": "LightGBM", "xgboost": "XGBoost", "sklearn": "scikit-learn", "pmml": "PMML"}
_WHY = {"xgboost": " (float32, as XGBoost computes)", "pmml": " (against JPMML's interpreter)"}


def table() -> str:
    """The Markdown between the markers: one row per library, its estimators and model file."""
    families: dict[str, list[str]] = {}
    for name, (family, _task) in SUPPORTED.items():
        families.setdefault(family, []).append(f"`{name.rsplit('.', 1)[1]}`")
    lines = [START, "", "| library | estimators (fitted objects or pickles) | model file | parity tolerance |",
             "|---|---|---|---|"]
    for family in [*families, "pmml"]:
        estimators = ", ".join(families.get(family, [])) or "any model JPMML-Evaluator scores"
        tolerance = ModelKind(family, "", "").tolerance
        lines.append(f"| {_LIBRARIES[family]} | {estimators} | {MODEL_FILES.get(family, '-')} | "
                     f"1e{round(math.log10(tolerance))}{_WHY.get(family, '')} |")
    lines += ["", "Parity holds when `|jarscore - native| <= tolerance * (1 + |native|)` for every output of "
              "every sample row. A scikit-learn estimator converts alone or as the last step of a `Pipeline`; "
              f"the parity tests cover {', '.join(f'`{step}`' for step in PIPELINE_STEPS)} in front of it.",
              "", END]
    return "\n".join(lines)


def update(readme: Path) -> bool:
    """Rewrites the table in ``readme``; True when it changed."""
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} markers to replace")
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: table(), text, flags=re.S)
    if new != text:
        readme.write_text(new)
    return new != text


if __name__ == "__main__":
    for argument in sys.argv[1:] or ["README.md"]:
        print(f"{argument}: {'updated' if update(Path(argument)) else 'up to date'}")
