"""Reading an artifact directory: DIR/manifest.json, DIR/model.jar, DIR/model.pmml."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jarscore.errors import ArtifactError

if TYPE_CHECKING:
    from jarscore.scorer.signing import TrustedKeys

MANIFEST = "manifest.json"
JAR = "model.jar"
PMML = "model.pmml"
FORMAT_VERSION = 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Artifact:
    directory: Path
    manifest: dict[str, Any]

    @property
    def jar(self) -> Path:
        return self.directory / JAR

    @property
    def pmml(self) -> Path:
        return self.directory / PMML


def read_artifact(directory: Path, *, name: str | None = None, version: int | None = None,
                  trusted: "TrustedKeys | None" = None) -> Artifact:
    """Reads and checks an artifact (docs/artifact-format.md): with ``trusted`` keys, its signature.json
    signs its manifest with one of them; the manifest parses, every file it lists is there with its
    size and sha256, model.jar and model.pmml among them, and, when given, its name and version are
    the ones expected (a repository's folder names)."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{directory} is not a jarscore artifact: {MANIFEST} is missing "
                            "(an artifact is written by 'jarscore convert')")
    try:
        manifest_bytes = manifest_path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {manifest_path}: {exc}") from None
    if trusted:
        # The bytes checked are the bytes parsed: the manifest is read once.
        trusted.verify(directory, manifest_bytes)
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"cannot read {manifest_path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"{manifest_path}: unsupported manifest (expected format {FORMAT_VERSION}, "
                            f"got {manifest.get('format') if isinstance(manifest, dict) else manifest!r})")
    for key, wanted in (("name", name), ("version", version)):
        if wanted is not None and manifest.get(key) != wanted:
            raise ArtifactError(f"{manifest_path} says {key} {manifest.get(key)!r}, but the folder holds {key} "
                                f"{wanted!r}: a copy of another version or model, refusing to load it")
    for file_name, entry in _listed_files(manifest, manifest_path).items():
        _check_file(directory / file_name, entry)
    return Artifact(directory, manifest)


_REQUIRED = (JAR, PMML)


def _listed_files(manifest: dict, manifest_path: Path) -> dict[str, dict]:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(f"{manifest_path}: 'files' must map each file name to its sha256 and bytes")
    for required in _REQUIRED:
        if required not in files:
            raise ArtifactError(f"{manifest_path}: 'files' does not list {required}")
    for file_name, entry in files.items():
        if not isinstance(file_name, str) or "/" in file_name or "\\" in file_name or file_name in ("", ".", ".."):
            raise ArtifactError(f"{manifest_path}: 'files' names {file_name!r}, which is not a file of the artifact")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and isinstance(entry.get("bytes"), int) and not isinstance(entry.get("bytes"), bool)):
            raise ArtifactError(f"{manifest_path}: the entry of {file_name} needs a 'sha256' string and a "
                                f"'bytes' integer, got {entry!r}")
    return files


def _check_file(path: Path, entry: dict) -> None:
    """Size first (a file still being copied fails at once), then the sha256."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing; the artifact is incomplete") from None
    if not path.is_file():
        raise ArtifactError(f"{path} is not a regular file; the artifact is incomplete")
    if size != entry["bytes"]:
        raise ArtifactError(f"{path} does not match its manifest ({size} bytes, manifest says {entry['bytes']}); "
                            "it is incomplete (still being copied?), modified or replaced, refusing to load it")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise ArtifactError(f"{path} does not match its manifest (sha256 {actual}, manifest says "
                            f"{entry['sha256']}); it was modified or replaced, refusing to load it")
