"""A model repository on disk, ``ROOT/<name>/<version>/`` (manifest.json, model.jar, model.pmml), and
the version policies that choose which of a model's complete versions serve. Mirrors
``io.jarscore.registry.Repository`` and ``VersionPolicy`` on the Java side."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from jarscore.errors import ArtifactError, VersionLoadError
from jarscore.scorer.artifact import MANIFEST, Artifact, read_artifact
from jarscore.scorer.labels import check_label
from jarscore.scorer.signing import TrustedKeys


@dataclass(frozen=True)
class VersionPolicy:
    """Which complete versions serve: ``latest()``, ``specific(1, 3)``, ``all()`` or ``label("stable")``
    (the version labels.json names; the latest while the label is not set). Whatever the policy,
    the registry also keeps the versions that labels name loaded (docs/delivery.md)."""

    kind: str
    versions: frozenset[int] = frozenset()
    label_name: str | None = None

    @classmethod
    def latest(cls) -> "VersionPolicy":
        return cls("latest")

    @classmethod
    def specific(cls, *versions: int) -> "VersionPolicy":
        if not versions:
            raise ValueError("VersionPolicy.specific needs at least one version")
        return cls("specific", frozenset(int(v) for v in versions))

    @classmethod
    def all(cls) -> "VersionPolicy":
        return cls("all")

    @classmethod
    def label(cls, label: str) -> "VersionPolicy":
        return cls("label", label_name=check_label(label))

    def select(self, available: Iterable[int], labels: Mapping[str, int] | None = None) -> list[int]:
        """The versions to serve out of ``available``, the complete versions in the repository;
        ``labels`` are the labels the registry can honour (label -> version)."""
        available = sorted(set(available))
        if self.kind == "label":
            named = (labels or {}).get(self.label_name)
            return [named] if named in available else available[-1:]
        if self.kind == "latest":
            return available[-1:]
        if self.kind == "specific":
            return [v for v in available if v in self.versions]
        return available

    @property
    def single(self) -> bool:
        """Serves one version (latest, label): loading another one replaces it."""
        return self.kind in ("latest", "label")

    def __str__(self) -> str:
        if self.kind == "label":
            return f"label {self.label_name}"
        return f"specific {sorted(self.versions)}" if self.kind == "specific" else self.kind


class Repository:
    """Names starting with '.' (the converter's staging directories) and version directories that are
    not positive integers are ignored."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def directory(self, name: str, version: int) -> Path:
        return self.root / name / str(version)

    def model_names(self) -> list[str]:
        return sorted(p.name for p in _visible_dirs(self.root))

    def version_directories(self, name: str) -> dict[int, Path]:
        """The model's version directories by number, complete or not, in ascending order."""
        versions = {}
        for path in _visible_dirs(self.root / name):
            number = version_number(path.name)
            if number is not None:
                versions[number] = path
        return dict(sorted(versions.items()))


def version_number(directory_name: str) -> int | None:
    if not directory_name.isdigit() or not directory_name.isascii() or len(directory_name) > 9:
        return None
    number = int(directory_name)
    return number if number > 0 else None


def check_version(name: str, version: int, directory: Path, trusted: TrustedKeys | None = None) -> Artifact:
    """The version's artifact if it is complete and, with ``trusted`` keys, signed by one of them
    (scorer.artifact.read_artifact, with the folder's name and version expected in the manifest). The converter writes the manifest last and renames the
    directory into place; a copy in any file order fails a check until its last byte is there.
    Nothing is class-loaded here."""
    if not (directory / MANIFEST).is_file():
        raise VersionLoadError(name, version, directory, f"{MANIFEST} is missing: the version is incomplete "
                               "(still being written or copied?); it is loaded once its manifest is there")
    try:
        return read_artifact(directory, name=name, version=version, trusted=trusted)
    except ArtifactError as exc:
        raise VersionLoadError(name, version, directory, str(exc)) from None
    except OSError as exc:
        raise VersionLoadError(name, version, directory, f"cannot read it: {exc}") from None


def fingerprint(directory: Path) -> str:
    """Name, size and modification time (ns) of every file in the version's folder: a refused version
    is tried again as soon as any of them changes. Taken before the version is checked, so a file that
    changes during the check is seen at the next poll."""
    parts = []
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return "absent"
    for entry in entries:
        try:
            stat = entry.stat()
            parts.append(f"{entry.name}:{stat.st_size}@{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{entry.name}:gone")
    return ";".join(parts)


def _visible_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()]
