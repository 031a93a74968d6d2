"""Reading an artifact directory: DIR/manifest.json, DIR/model.jar, DIR/model.pmml."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jarscore.errors import ArtifactError

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


def read_artifact(directory: Path) -> Artifact:
    """Reads and checks an artifact: the manifest parses and the JAR's sha256 matches it."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{directory} is not a jarscore artifact: {MANIFEST} is missing "
                            "(an artifact is written by 'jarscore convert')")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"cannot read {manifest_path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"{manifest_path}: unsupported manifest (expected format {FORMAT_VERSION}, "
                            f"got {manifest.get('format') if isinstance(manifest, dict) else manifest!r})")
    artifact = Artifact(directory, manifest)
    if not artifact.jar.is_file():
        raise ArtifactError(f"{artifact.jar} is missing; the artifact is incomplete")
    expected = manifest.get("files", {}).get(JAR, {}).get("sha256")
    actual = sha256_of(artifact.jar)
    if expected != actual:
        raise ArtifactError(f"{artifact.jar} does not match its manifest (sha256 {actual}, manifest says "
                            f"{expected}); the JAR was modified or replaced, refusing to load it")
    return artifact
