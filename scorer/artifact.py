"""Reading an artifact directory: DIR/manifest.json, DIR/model.jar, DIR/model.pmml.gz (format 2; a
format 1 artifact has a plain DIR/model.pmml)."""

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
PMML_GZ = "model.pmml.gz"
#: The format convert writes; read_artifact reads every format of FORMATS (docs/artifact-format.md).
FORMAT_VERSION = 2
#: Per format, the files its manifest must list: format 1 kept the PMML plain.
FORMATS = {1: (JAR, PMML), 2: (JAR, PMML_GZ)}


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
        """The PMML: model.pmml.gz (format 2) or model.pmml (format 1)."""
        return self.directory / FORMATS[self.manifest["format"]][1]


def read_artifact(directory: Path, *, name: str | None = None, version: int | None = None,
                  trusted: "TrustedKeys | None" = None) -> Artifact:
    """Reads and checks an artifact (docs/artifact-format.md): with ``trusted`` keys, its signature.json
    signs its manifest with one of them; the manifest parses, every file it lists is there with its
    size and sha256, model.jar and the PMML (model.pmml.gz; model.pmml in format 1) among them, and,
    when given, its name and version are the ones expected (a repository's folder names)."""
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
    found = manifest.get("format") if isinstance(manifest, dict) else manifest
    if not isinstance(manifest, dict) or isinstance(found, bool) or found not in FORMATS:
        raise ArtifactError(f"{manifest_path}: unsupported manifest (expected format "
                            f"{' or '.join(map(str, FORMATS))}, got {found!r}); an artifact of another format "
                            "is read by the jarscore that wrote it, or converted again")
    for key, wanted in (("name", name), ("version", version)):
        if wanted is not None and manifest.get(key) != wanted:
            raise ArtifactError(f"{manifest_path} says {key} {manifest.get(key)!r}, but the folder holds {key} "
                                f"{wanted!r}: a copy of another version or model, refusing to load it")
    for file_name, entry in _listed_files(manifest, manifest_path, FORMATS[found]).items():
        _check_file(directory / file_name, entry)
    return Artifact(directory, manifest)


def _listed_files(manifest: dict, manifest_path: Path, required_files: tuple[str, ...]) -> dict[str, dict]:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(f"{manifest_path}: 'files' must map each file name to its sha256 and bytes")
    for required in required_files:
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
