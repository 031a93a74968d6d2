"""The interface every Python engine implements, and the parity check each passes before it is timed.

``setup`` (loading the model) is timed apart from scoring. A row arrives as a mapping (field ->
value, NaN for missing) or as whatever ``row_input`` made of a 1-D array in the model's input
order; a batch arrives as whatever ``batch_input`` made of a DataFrame. Both conversions happen
outside the timed region, so a runtime that wants float32 (or its own matrix type) gets it. An
engine that cannot score one of these shapes raises :class:`NotApplicable` with the reason, and the
report prints that reason."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks.suite import BuiltModel
from jarscore.converter.kinds import DOUBLE_TOLERANCE, FLOAT32_TOLERANCE

#: Threads for batches: the issue's rule is 2 threads against 2 on this 2-core machine, for every
#: engine that can be told (native libraries use all cores by default, which here is the same).
BATCH_THREADS = 2


class NotApplicable(Exception):
    """This engine does not score this input shape or model; the message says why."""


class ParityError(Exception):
    """The engine's answers on the held-out rows differ from the native library's; it is not timed."""


class Engine:
    name = "?"
    kind = "?"            # jarscore | native | peer | pmml-runtime
    families: tuple[str, ...] = ("lightgbm", "xgboost", "sklearn")
    input_dtype = "float64"   # what the engine is fed: float32 engines are checked on float32-rounded rows
    precision = "float64"     # float32: held to the float32 tolerance

    def check(self, model: BuiltModel) -> None:
        """Raises NotApplicable when this engine cannot run ``model`` at all."""
        if model.spec.family not in self.families:
            raise NotApplicable(f"{self.name} only scores {', '.join(self.families)} models")

    def setup(self, model: BuiltModel) -> None:
        raise NotImplementedError

    def score_mapping(self, row: dict[str, Any]) -> Any:
        raise NotImplementedError

    def row_input(self, row: np.ndarray) -> Any:
        return row

    def score_array(self, row: Any) -> Any:
        raise NotImplementedError

    def batch_input(self, frame: pd.DataFrame) -> Any:
        return frame

    def score_batch(self, batch: Any) -> Any:
        raise NotImplementedError

    def positive(self, output: Any) -> np.ndarray:
        """The positive-class probability of each row of a ``score_batch`` result (the suite's
        models are binary classifiers)."""
        if isinstance(output, pd.DataFrame):
            columns = [c for c in output.columns if "probab" in str(c).lower()]
            return output[columns[-1]].to_numpy(dtype=np.float64)
        values = np.asarray(output, dtype=np.float64)
        return values.reshape(len(values), -1)[:, -1]

    def batch_threads(self) -> int:
        return 1

    def close(self) -> None:
        pass


def check_parity(engine: Engine, model: BuiltModel) -> dict:
    """Scores the model's held-out parity rows as one batch and compares the positive-class
    probability with the native library's, |engine - native| <= tol * (1 + |native|) with the
    converter's tolerances (float32 where the model or the engine computes in float32). Returns the
    summary; raises ParityError naming the worst row when any row is off."""
    rows = model.parity_rows()
    got = engine.positive(engine.score_batch(engine.batch_input(rows)))
    want = model.expected(engine.input_dtype)
    float32 = model.spec.family == "xgboost" or engine.precision == "float32"
    tolerance = FLOAT32_TOLERANCE if float32 else DOUBLE_TOLERANCE
    if got.shape != want.shape:
        raise ParityError(f"{engine.name} gave {got.shape[0]} probabilities for {want.shape[0]} held-out rows")
    error = np.abs(got - want) / (1 + np.abs(want))
    error[np.isnan(error)] = np.inf
    worst = int(np.argmax(error))
    summary = {"rows": len(want), "input": engine.input_dtype, "tolerance": tolerance,
               "max_rel_error": float(error[worst]) if np.isfinite(error[worst]) else "nan",
               "mismatches": int((error > tolerance).sum())}
    if summary["mismatches"]:
        raise ParityError(f"{summary['mismatches']} of {len(want)} held-out rows differ from the native library by "
                          f"more than {tolerance:g} relative; worst row {worst}: {got[worst]!r} against "
                          f"{want[worst]!r} ({engine.input_dtype} input)")
    return summary
