"""A fitted scikit-learn / LightGBM / XGBoost model becomes a PMML file through sklearn2pmml."""

from __future__ import annotations

import contextlib
import io
import logging
import pickle
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from jarscore.errors import ConversionError
from jarscore.scorer import jvm

_POPEN_LOCK = threading.Lock()
#: A model that pickles to less than this makes sklearn2pmml's JVM a job of a second or two, in which
#: the C2 compiler's threads cost more CPU than their code gives back: that JVM then runs C1 alone.
#: Larger models keep both: a 50-tree slice of rf200 (7.9 MB pickled) wrote its PMML in 5.9-6.1 s
#: with both and 6.6-7.2 s with C1 alone. docs/kernel.md, "What conversion produces", has the rest.
SHORT_JOB_PICKLE_BYTES = 4 << 20


def write_pmml(model: Any, pmml_path: Path) -> None:
    """Writes ``model`` as PMML. Plain estimators and pipelines go to sklearn2pmml as they are: its
    Java side wraps them itself, taking input fields from the training columns and keeping pandas
    categorical columns categorical. (Wrapping in Python with make_pmml_pipeline(active_fields=...)
    declares every field continuous, and LightGBM models with categorical splits then fail.)"""
    from jarscore.converter.loading import optional_module

    package = optional_module("sklearn2pmml", f"converting {type(model).__name__} to PMML")

    captured = io.StringIO()
    try:
        # sklearn2pmml runs its own JVM and prints its output (and a banner); keep it for errors only.
        with contextlib.redirect_stdout(captured), _children_die_with_this_thread(package):
            package.sklearn2pmml(model, str(pmml_path), java_opts=java_options(model))
    except Exception as exc:
        detail = _java_failure(captured.getvalue()) or f"{type(exc).__name__}: {exc}"
        raise ConversionError(f"sklearn2pmml could not convert {type(model).__name__} to PMML: {detail}") from None
    if not pmml_path.is_file():
        raise ConversionError(f"sklearn2pmml reported success but wrote no {pmml_path}")


def java_options(model: Any) -> list[str] | None:
    """sklearn2pmml's JVM options for this model: C1 alone when it pickles to less than
    SHORT_JOB_PICKLE_BYTES (counted, not kept; the count stops at the limit)."""
    counter = _ByteCounter(SHORT_JOB_PICKLE_BYTES)
    try:
        pickle.dump(model, counter, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # _ByteCounter.Full, or what sklearn2pmml's own pickling then reports
        return None
    return list(jvm.C1_ONLY)


class _ByteCounter:
    """A write-only file that counts what is written to it, up to a limit."""

    class Full(Exception):
        pass

    def __init__(self, limit: int):
        self.left = limit

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        self.left -= size
        if self.left < 0:
            raise _ByteCounter.Full
        return size


@contextlib.contextmanager
def _children_die_with_this_thread(package: ModuleType) -> Iterator[None]:
    """sklearn2pmml starts its JVM with the ``Popen`` its module imported from subprocess and has no
    hook for how the child starts. For the call, that name is a Popen whose children get
    ``jvm.die_with_parent`` (the kernel kills them when this thread dies), so a killed convert leaves
    no sklearn2pmml JVM behind. Conversions in several threads take turns: each restores the name."""
    original = getattr(package, "Popen", None)
    if original is None:
        logging.getLogger("jarscore.converter").warning(
            "sklearn2pmml %s does not start Java through its module's Popen: its JVM may outlive a killed "
            "convert", getattr(package, "__version__", "?"))
        yield
        return

    def popen(*args, **kwargs):
        kwargs.setdefault("preexec_fn", jvm.die_with_parent)
        return original(*args, **kwargs)

    with _POPEN_LOCK:
        package.Popen = popen
        try:
            yield
        finally:
            package.Popen = original


def _java_failure(output: str) -> str:
    """The lines of sklearn2pmml's Java output that say what went wrong."""
    lines = [line for line in output.splitlines() if "Exception" in line or "SEVERE" in line or "rror" in line]
    return " | ".join(lines[:6])
