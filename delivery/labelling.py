"""Moving a model's labels (``set_labels``, ``rollback``) and removing its old versions (``retire``),
each under the model's lock, so that they never interleave with each other or with ``publish``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, Mapping

from jarscore.errors import RepositoryError, VersionLoadError
from jarscore.scorer.labels import Labels, check_label, fsync_folder, model_lock, read_labels, write_labels
from jarscore.scorer.repository import Repository, check_version


def set_labels(repository: str | Path, name: str, assignments: Mapping[str, int],
               remove: Iterable[str] = (), expect: Mapping[str, int | None] | None = None) -> Labels:
    """Points each label of ``assignments`` at its version (the version it named before goes to the front
    of its history) and removes the labels of ``remove``. Every version must be complete in the
    repository (its manifest and checksums; nothing is loaded); otherwise nothing changes. With
    ``expect`` (label -> version, None for unset), only if the labels name those versions now."""
    repo, model_dir = _model(repository, name)
    for label in [*assignments, *remove]:
        check_label(label)
    with model_lock(model_dir):
        labels = read_labels(model_dir)
        for label, version in (expect or {}).items():
            if labels.labels.get(label) != version:
                raise RepositoryError(f"label '{label}' of '{name}' names {labels.labels.get(label)} now, not "
                                      f"{version}: it moved meanwhile; nothing changed")
        for label, version in assignments.items():
            _require_complete(repo, name, version, f"cannot point label '{label}' at it")
            labels = labels.with_label(label, int(version))
        for label in remove:
            if label not in labels.labels:
                raise RepositoryError(f"model '{name}' has no label '{label}' to remove "
                                      f"(labels: {_describe(labels)})")
            labels = labels.without_label(label)
        write_labels(model_dir, labels)
        return labels


def rollback(repository: str | Path, name: str, label: str = "stable") -> tuple[int, int]:
    """Moves ``label`` back to the version it named before (the first of its history); returns
    (from, to). The version rolled back to must still be complete in the repository."""
    repo, model_dir = _model(repository, name)
    check_label(label)
    with model_lock(model_dir):
        labels = read_labels(model_dir)
        if label not in labels.labels:
            raise RepositoryError(f"model '{name}' has no label '{label}' to roll back (labels: {_describe(labels)})")
        after = labels.rolled_back(label)
        _require_complete(repo, name, after.labels[label], f"cannot roll '{label}' back to it")
        write_labels(model_dir, after)
        return labels.labels[label], after.labels[label]


def retire(repository: str | Path, name: str, keep: int) -> list[int]:
    """Removes the versions of ``name`` other than the ``keep`` highest and those a label names; returns
    the versions removed. Each version folder is first renamed to a hidden name (registries stop seeing
    it at once), then deleted; the removed versions leave the labels' histories."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise RepositoryError(f"--keep must be a number of versions, 0 or more; got {keep!r}")
    repo, model_dir = _model(repository, name)
    with model_lock(model_dir):
        labels = read_labels(model_dir)
        directories = repo.version_directories(name)
        kept = set(sorted(directories)[-keep:] if keep else []) | set(labels.labels.values())
        removed = [v for v in directories if v not in kept]
        for version in removed:
            doomed = model_dir / f".retired-{version}-{os.getpid()}"
            os.rename(directories[version], doomed)
            shutil.rmtree(doomed)
        if removed:
            fsync_folder(model_dir)
            if any(set(removed) & set(history) for history in labels.history.values()):
                write_labels(model_dir, labels.without_versions(set(removed)))
        return removed


def _model(repository: str | Path, name: str) -> tuple[Repository, Path]:
    repo = Repository(repository)
    model_dir = repo.root / name
    if not name or name.startswith(".") or "/" in name or not model_dir.is_dir():
        models = repo.model_names() if repo.root.is_dir() else []
        raise RepositoryError(f"model '{name}' is not in the repository {repo.root} "
                              f"(models there: {', '.join(models) or 'none'})")
    return repo, model_dir


def _require_complete(repo: Repository, name: str, version: int, what: str) -> None:
    directories = repo.version_directories(name)
    if isinstance(version, bool) or not isinstance(version, int) or version not in directories:
        raise RepositoryError(f"version {version!r} of '{name}' is not in the repository {repo.root} ({what}; "
                              f"versions there: {', '.join(map(str, directories)) or 'none'})")
    try:
        check_version(name, version, directories[version])
    except VersionLoadError as exc:
        raise RepositoryError(f"{exc} ({what})") from None


def _describe(labels: Labels) -> str:
    return ", ".join(f"{label}={version}" for label, version in sorted(labels.labels.items())) or "none"
