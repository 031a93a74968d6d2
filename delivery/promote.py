"""``promote``: the gate between a candidate version and ``stable``. Both score the same hold-out rows;
``stable`` moves to the candidate only if the candidate is not worse by more than the allowed
regression."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jarscore.delivery.labelling import set_labels
from jarscore.errors import RepositoryError
from jarscore.scorer.labels import LABEL_PATTERN, read_labels
from jarscore.scorer.repository import Repository

#: Whether a higher value is better, per metric (sklearn.metrics).
METRICS = {"roc_auc": True, "log_loss": False, "rmse": False}


@dataclass(frozen=True)
class Promotion:
    """What the gate measured and decided. ``stable_metric`` is None when no version was stable yet;
    ``equal_labels`` (classifiers) is the share of rows both versions label alike, and
    ``largest_difference`` the largest difference between their probabilities (values, for regressors)."""

    name: str
    metric: str
    stable_version: int | None
    candidate_version: int
    stable_metric: float | None
    candidate_metric: float
    equal_labels: float | None
    largest_difference: float | None
    max_regression: float
    promoted: bool
    reason: str

    def describe(self) -> str:
        lines = [f"{self.name}: {self.metric} on the hold-out rows"]
        if self.stable_version is not None:
            lines.append(f"  stable    v{self.stable_version}: {self.stable_metric:.6f}")
        lines.append(f"  candidate v{self.candidate_version}: {self.candidate_metric:.6f}")
        if self.largest_difference is not None:
            agreement = (f"  agreement: {self.equal_labels:.2%} equal labels, " if self.equal_labels is not None
                         else "  agreement: ")
            lines.append(agreement + f"largest difference {self.largest_difference:.6g}")
        lines.append(("promoted: " if self.promoted else "not promoted: ") + self.reason)
        return "\n".join(lines)


def promote(repository: str | Path, name: str, *, holdout: str | Path | pd.DataFrame, metric: str,
            candidate: str | int = "canary", max_regression: float = 0.0, target: str | None = None,
            label: str = "stable") -> Promotion:
    """Scores ``holdout`` (a CSV or Parquet file, or a DataFrame, with the target column) with the version
    ``label`` names and with ``candidate`` (a label or a version), computes ``metric`` (roc_auc, log_loss:
    classifiers; rmse: regressors) for both, and moves ``label`` to the candidate only if its metric is not
    worse by more than ``max_regression``. With no ``label`` set yet, the candidate becomes it. The target
    column is ``target``, else the one the candidate's manifest names."""
    if metric not in METRICS:
        raise RepositoryError(f"--metric {metric!r} is not one of {', '.join(METRICS)}")
    if not max_regression >= 0:
        raise RepositoryError(f"--max-regression must be 0 or more, got {max_regression!r}")
    repo = Repository(repository)
    model_dir = repo.root / name
    labels = read_labels(model_dir).labels if model_dir.is_dir() else {}
    candidate_version = _version_of(candidate, labels, name)
    stable_version = labels.get(label)
    frame = _read_holdout(holdout)
    from jarscore.scorer.scorer import Scorer

    with Scorer.load(repo.directory(name, candidate_version)) as scored:
        column = target or _target_of(scored.manifest, holdout)
        truth = _truth(frame, column, holdout)
        candidate_output = _outputs(scored, frame, metric)
    candidate_metric = _metric(metric, truth, candidate_output)
    stable_metric = equal = difference = None
    if stable_version is not None and stable_version != candidate_version:
        with Scorer.load(repo.directory(name, stable_version)) as scored:
            stable_output = _outputs(scored, frame, metric)
        stable_metric = _metric(metric, truth, stable_output)
        equal, difference = _agreement(stable_output, candidate_output)
    promoted, reason = _decide(metric, label, stable_version, candidate_version, stable_metric, candidate_metric,
                               max_regression)
    if promoted and stable_version != candidate_version:
        # Only if the label still names what was compared: it may have moved while the rows were scored.
        set_labels(repo.root, name, {label: candidate_version}, expect={label: stable_version})
    return Promotion(name, metric, stable_version if stable_version != candidate_version else None,
                     candidate_version, stable_metric, candidate_metric, equal, difference, max_regression,
                     promoted, reason)


def _version_of(candidate: str | int, labels: dict, name: str) -> int:
    if isinstance(candidate, int) or (isinstance(candidate, str) and candidate.isdigit()):
        return int(candidate)
    if isinstance(candidate, str) and LABEL_PATTERN.fullmatch(candidate) and candidate in labels:
        return labels[candidate]
    named = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
    raise RepositoryError(f"--candidate {candidate!r} is neither a version nor a label of '{name}' (labels: {named})")


def _read_holdout(holdout) -> pd.DataFrame:
    if isinstance(holdout, pd.DataFrame):
        return holdout
    path = Path(holdout)
    if not path.is_file():
        raise RepositoryError(f"hold-out file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except ImportError as exc:
        raise RepositoryError(f"cannot read {path}: {exc} (Parquet needs pyarrow: pip install pyarrow)") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise RepositoryError(f"cannot read the hold-out rows {path}: {exc}") from None


def _target_of(manifest: dict, holdout) -> str:
    target = manifest.get("target")
    name = target.get("name") if isinstance(target, dict) else target
    if not isinstance(name, str) or not name:
        raise RepositoryError(f"the manifest names no target column; give --target COLUMN of {holdout}")
    return name


def _truth(frame: pd.DataFrame, column: str, holdout) -> np.ndarray:
    if column not in frame.columns:
        raise RepositoryError(f"the hold-out rows ({holdout if not isinstance(holdout, pd.DataFrame) else 'frame'}) "
                              f"have no target column '{column}' (columns: {', '.join(map(str, frame.columns))})")
    if frame[column].isna().any():
        raise RepositoryError(f"target column '{column}' has missing values in row "
                              f"{int(np.flatnonzero(frame[column].isna().to_numpy())[0])}")
    return frame[column].to_numpy()


def _outputs(scorer, frame: pd.DataFrame, metric: str) -> tuple:
    """(classes, probabilities) for a classifier metric, (None, values) for rmse."""
    if metric == "rmse":
        if scorer.is_classifier:
            raise RepositoryError(f"--metric rmse needs a regressor; {scorer.name} is a classifier "
                                  "(use roc_auc or log_loss)")
        return None, np.asarray(scorer.predict(frame), dtype=float)
    if not scorer.is_classifier:
        raise RepositoryError(f"--metric {metric} needs a classifier; {scorer.name} is a regressor (use rmse)")
    return np.asarray(scorer.classes_), np.asarray(scorer.predict_proba(frame), dtype=float)


def _metric(metric: str, truth: np.ndarray, output: tuple) -> float:
    from sklearn import metrics

    classes, values = output
    if metric == "rmse":
        return float(metrics.root_mean_squared_error(truth, values))
    truth = _as_classes(truth, classes)
    if metric == "log_loss":
        return float(metrics.log_loss(truth, values, labels=classes))
    present = set(truth.tolist())
    if len(present) < 2:
        raise RepositoryError("roc_auc needs hold-out rows of at least two classes; the target has only "
                              f"{sorted(present)}")
    if len(classes) == 2:
        return float(metrics.roc_auc_score(truth == classes[1], values[:, 1]))
    return float(metrics.roc_auc_score(truth, values, multi_class="ovr", labels=classes))


def _as_classes(truth: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The target in the classes' own type (a CSV reads 0/1 as integers, the model may say '0'/'1')."""
    known = {str(c): c for c in classes}
    unknown = sorted({str(t) for t in truth} - set(known))
    if unknown:
        raise RepositoryError(f"the target column holds {unknown[:5]}, which are not classes of the model "
                              f"({list(known)})")
    return np.array([known[str(t)] for t in truth], dtype=classes.dtype)


def _agreement(stable: tuple, candidate: tuple) -> tuple[float | None, float]:
    classes, a = stable
    _, b = candidate
    difference = float(np.max(np.abs(a - b))) if a.size else 0.0
    if classes is None:
        return None, difference
    return float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))), difference


def _decide(metric, label, stable_version, candidate_version, stable_metric, candidate_metric,
            max_regression) -> tuple[bool, str]:
    if stable_version is None:
        return True, f"no version was '{label}'; v{candidate_version} becomes it"
    if stable_version == candidate_version:
        return True, f"v{candidate_version} is '{label}' already"
    worse_by = stable_metric - candidate_metric if METRICS[metric] else candidate_metric - stable_metric
    if worse_by > max_regression:
        return False, (f"v{candidate_version} is worse than v{stable_version} by {worse_by:.6g} "
                       f"(allowed: {max_regression:g}); '{label}' stays at v{stable_version}")
    return True, f"'{label}' moves from v{stable_version} to v{candidate_version}"
