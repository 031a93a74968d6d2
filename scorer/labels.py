"""Version labels of a model in a repository: ``ROOT/<name>/labels.json`` names versions
(``{"labels": {"stable": 4, "canary": 5}, "history": {"stable": [3, 2]}}``; history holds each label's
earlier versions, most recent first, for rollback). Read by the registries here and in Java
(``io.jarscore.registry.Labels``) by the rules of docs/delivery.md; written only through
:func:`update_labels`, under the model's lock and by an atomic rename, so that concurrent label
commands never lose each other's changes and a reader never sees half a file."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from jarscore.errors import RepositoryError

LABELS_FILE = "labels.json"
LOCK_FILE = ".jarscore.lock"
#: Earlier versions remembered per label: enough to roll back a few times, bounded so the file stays small.
HISTORY_LENGTH = 10
#: A label starts with a letter; no '=' (the CLI's label=version) and no '/' (a file name elsewhere).
LABEL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_MAX_VERSION = 999_999_999   # a version folder's name has at most nine digits


@dataclass(frozen=True)
class Labels:
    """A model's labels (label -> version) and their histories (label -> earlier versions, newest first)."""

    labels: Mapping[str, int] = field(default_factory=dict)
    history: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"labels": dict(sorted(self.labels.items())),
                           "history": {k: list(v) for k, v in sorted(self.history.items()) if v}}, indent=2) + "\n"

    def with_label(self, label: str, version: int) -> "Labels":
        """``label`` moved to ``version``; the version it named before goes to the front of its history."""
        check_label(label)
        labels, history = dict(self.labels), dict(self.history)
        previous = labels.get(label)
        labels[label] = version
        if previous is not None and previous != version:
            history[label] = (previous, *history.get(label, ()))[:HISTORY_LENGTH]
        return Labels(labels, history)

    def without_label(self, label: str) -> "Labels":
        labels = {k: v for k, v in self.labels.items() if k != label}
        return Labels(labels, {k: v for k, v in self.history.items() if k != label})

    def rolled_back(self, label: str) -> "Labels":
        """``label`` moved to the first version of its history, which leaves the history (so a second
        rollback goes further back, not forth)."""
        earlier = self.history.get(label, ())
        if not earlier:
            raise RepositoryError(f"label '{label}' has no earlier version to roll back to "
                                  f"(labels: {dict(self.labels) or 'none'})")
        return Labels({**self.labels, label: earlier[0]}, {**self.history, label: earlier[1:]})

    def without_versions(self, removed: set[int]) -> "Labels":
        """The histories without ``removed`` versions (retired ones: a rollback to them could not serve)."""
        return Labels(dict(self.labels), {k: tuple(v for v in versions if v not in removed)
                                          for k, versions in self.history.items()})


def check_label(label: str) -> str:
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label):
        raise RepositoryError(f"label {label!r} is not a valid label name: expected a letter, then up to 63 "
                              "letters, digits, '_', '.' or '-' (e.g. stable, canary)")
    return label


def parse_labels(text: str, source: str) -> Labels:
    """Parses a labels.json text; raises RepositoryError naming ``source``, the field and the value."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RepositoryError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise RepositoryError(f"{source}: expected a JSON object with 'labels', got {_short(document)}")
    raw_labels = document.get("labels", {})
    if not isinstance(raw_labels, dict):
        raise RepositoryError(f"{source}: 'labels' must map each label to a version, got {_short(raw_labels)}")
    labels = {}
    for label, version in raw_labels.items():
        _checked_label(label, source, "labels")
        labels[label] = _checked_version(version, source, f"labels.{label}")
    raw_history = document.get("history", {})
    if not isinstance(raw_history, dict):
        raise RepositoryError(f"{source}: 'history' must map each label to a list of versions, got "
                              f"{_short(raw_history)}")
    history = {}
    for label, versions in raw_history.items():
        _checked_label(label, source, "history")
        if not isinstance(versions, list):
            raise RepositoryError(f"{source}: 'history.{label}' must be a list of versions, got {_short(versions)}")
        history[label] = tuple(_checked_version(v, source, f"history.{label}") for v in versions)[:HISTORY_LENGTH]
    return Labels(labels, history)


def _checked_label(label: str, source: str, where: str) -> None:
    if not LABEL_PATTERN.fullmatch(label):
        raise RepositoryError(f"{source}: '{where}' names {_short(label)}, which is not a valid label name "
                              "(a letter, then letters, digits, '_', '.' or '-')")


def _checked_version(version, source: str, where: str) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version <= _MAX_VERSION:
        raise RepositoryError(f"{source}: '{where}' is {_short(version)}; expected a version, a positive integer")
    return version


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_labels(model_dir: Path) -> Labels:
    """The model's labels; none if it has no labels.json. Raises RepositoryError if the file is invalid."""
    path = Path(model_dir) / LABELS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Labels()
    except (OSError, UnicodeDecodeError) as exc:
        raise RepositoryError(f"cannot read {path}: {exc}") from None
    return parse_labels(text, str(path))


@contextlib.contextmanager
def model_lock(model_dir: Path) -> Iterator[None]:
    """The model's exclusive lock (``ROOT/<name>/.jarscore.lock``, an fcntl lock held while the block
    runs): label commands, ``publish --version auto`` and ``retire`` take it, so they never interleave.
    The kernel drops it if the process dies."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(model_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)   # releases the lock


def update_labels(model_dir: Path, change: Callable[[Labels], Labels]) -> Labels:
    """Reads the labels, applies ``change`` and writes the result, all under the model's lock."""
    with model_lock(model_dir):
        after = change(read_labels(model_dir))
        write_labels(model_dir, after)
        return after


def write_labels(model_dir: Path, labels: Labels) -> None:
    """Writes labels.json atomically: a temporary file in the same folder, fsynced, renamed over it.
    The caller holds the model's lock."""
    path = Path(model_dir) / LABELS_FILE
    temporary = path.with_name(f".{LABELS_FILE}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(labels.to_json())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Makes a rename in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
