"""`jarscore score`: a CSV in, every result field out, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from jarscore.errors import InputError
from jarscore.scorer.scorer import Scorer


def score_csv(model: Path, input_csv: Path, output_csv: Path) -> int:
    scorer = Scorer.load(model)
    try:
        frame = pd.read_csv(input_csv, keep_default_na=True, na_values=["N/A"])
    except FileNotFoundError:
        raise InputError(f"input CSV not found: {input_csv}") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read input CSV {input_csv}: {exc}") from None
    results = scorer.evaluate(frame)
    output_csv.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{output_csv.name}.", suffix=".partial", dir=output_csv.parent)
    try:
        with os.fdopen(handle, "w", newline="") as stream:
            results.to_csv(stream, index=False)
        os.chmod(partial, 0o644)
        os.replace(partial, output_csv)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return len(results)
