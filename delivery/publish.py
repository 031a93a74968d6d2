"""``publish``: an artifact into a model repository, verified first, staged beside its destination and
renamed into place, so a version appears complete or not at all and two publishers never share one."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from jarscore._paths import process_alive, remove_empty
from jarscore.errors import JarscoreError, RepositoryError
from jarscore.scorer.artifact import MANIFEST, read_artifact
from jarscore.scorer.labels import fsync_folder, model_lock
from jarscore.scorer.repository import Repository, version_number

_STAGING = re.compile(r"\.publish-(\d+)-")


def publish(artifact: str | Path, repository: str | Path, *, name: str | None = None,
            version: int | str = "auto", sign_key: str | Path | None = None) -> Path:
    """Copies the artifact folder ``artifact`` into ``repository`` as ``ROOT/<name>/<version>`` and returns
    that folder. It is checked first as ``Scorer.load`` checks it (every listed file's size and sha256,
    then the recorded verification outputs, which starts the JVM); a refused artifact leaves nothing
    behind. ``name`` defaults to the manifest's; ``version="auto"`` takes the next free version under the
    model's lock, so concurrent publishers get distinct versions. The copy goes to a hidden folder
    beside its destination (the same file system), is fsynced, gets a manifest naming its name and
    version, and is renamed into place.

    A signature covers the manifest's bytes, name and version included. A signed artifact published
    under the name and version it was signed for keeps its signature.json; under any other, the new
    manifest is signed with ``sign_key`` (``--sign KEY``), and without one publish refuses rather than
    drop the signature."""
    from jarscore.scorer.signing import SIGNATURE, load_private_key, sign_manifest

    source = Path(artifact)
    private_key = load_private_key(sign_key) if sign_key is not None else None
    wanted = _wanted_version(version)
    repo = Repository(repository)
    if not repo.root.is_dir():
        raise RepositoryError(f"model repository not found: {repo.root} is not a folder (create it first)")
    manifest = _verified_manifest(source)
    name = _model_name(name if name is not None else manifest.get("name"), source)
    model_dir = repo.root / name
    created = not model_dir.exists()
    model_dir.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".publish-{os.getpid()}-", dir=model_dir))
    published = False
    try:
        for file_name in manifest["files"]:
            _copy_synced(source / file_name, staging / file_name)
        with model_lock(model_dir):
            _remove_abandoned_staging(model_dir)
            number = wanted or _next_version(repo, name)
            target = model_dir / str(number)
            if target.exists():
                raise RepositoryError(f"{target} already exists: version {number} of '{name}' is published; "
                                      "choose another --version or use --version auto")
            signed = (source / SIGNATURE).is_file()
            if signed and private_key is None and (name, number) != (manifest.get("name"), manifest.get("version")):
                raise RepositoryError(
                    f"cannot publish {source} as {name} version {number}: it is signed for {manifest.get('name')} "
                    f"version {manifest.get('version')}, and a new manifest needs a new signature; pass --sign KEY "
                    "(sign_key=), or publish it as the version it was signed for")
            if signed and private_key is None:
                _copy_synced(source / MANIFEST, staging / MANIFEST)
                _copy_synced(source / SIGNATURE, staging / SIGNATURE)
            else:
                _write_synced(staging / MANIFEST, json.dumps({**manifest, "name": name, "version": number},
                                                             indent=2, allow_nan=False) + "\n")
                if private_key is not None:
                    sign_manifest(staging, private_key)
            fsync_folder(staging)
            os.rename(staging, target)
            published = True
            fsync_folder(model_dir)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not published:
            remove_empty([model_dir])


def _verified_manifest(source: Path) -> dict:
    from jarscore.scorer.scorer import Scorer

    if not source.is_dir():
        raise RepositoryError(f"cannot publish {source}: not an artifact folder (write one with 'jarscore convert')")
    try:
        read_artifact(source)           # the files, before the JVM starts
        Scorer.load(source).close()     # the recorded verification outputs, as every loader checks them
    except JarscoreError as exc:
        raise RepositoryError(f"cannot publish {source}: {exc}") from None
    # Read again: what was checked is what is copied (a file replaced meanwhile fails the registry's check).
    return read_artifact(source).manifest


def _model_name(name, source: Path) -> str:
    if not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\\" in name \
            or name != name.strip():
        raise RepositoryError(f"cannot publish {source}: model name {name!r} cannot be a folder of the repository "
                              "(give --name: no '/', not starting with '.')")
    return name


def _wanted_version(version: int | str) -> int | None:
    if version == "auto":
        return None
    number = version_number(str(version))
    if number is None:
        raise RepositoryError(f"version {version!r} is not a version: expected 'auto' or a positive integer "
                              "of at most nine digits")
    return number


def _remove_abandoned_staging(model_dir: Path) -> None:
    """Staging folders of publishers that were killed: their names carry the writer's pid."""
    for entry in model_dir.iterdir():
        match = _STAGING.match(entry.name)
        if match and not process_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _next_version(repo: Repository, name: str) -> int:
    """One above every version folder there, complete or not (a copy by hand may be under way)."""
    return max(repo.version_directories(name), default=0) + 1


def _copy_synced(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def _write_synced(target: Path, text: str) -> None:
    with open(target, "w", encoding="utf-8") as writer:
        writer.write(text)
        writer.flush()
        os.fsync(writer.fileno())
