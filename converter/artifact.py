"""Writing an artifact: everything goes to a hidden staging folder beside the destination, which is
renamed into place only once complete, so DIR appears complete or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from jarscore._interrupt import cleanup_on_interrupt
from jarscore._paths import make_parents, missing_parents, process_alive, remove_empty
from jarscore.errors import ArtifactError
from jarscore.scorer.artifact import MANIFEST, sha256_of


@contextlib.contextmanager
def staging(out_dir: Path, *, force: bool) -> Iterator[Path]:
    """Yields an empty folder to write into; on success it becomes ``out_dir``, on error it is removed."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and not force:
        raise ArtifactError(f"{out_dir} already exists; choose another --out or pass --force to replace it")
    created = missing_parents(out_dir)
    existing = created[-1].parent if created else out_dir.parent
    if not existing.is_dir():
        raise ArtifactError(f"cannot write {out_dir}: {existing} is not a folder")
    make_parents(out_dir, created, ArtifactError)
    _remove_stale_staging(out_dir)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-{os.getpid()}-", dir=out_dir.parent))
    except OSError as exc:
        remove_empty(created)
        raise ArtifactError(f"cannot write {out_dir}: cannot create a folder in {out_dir.parent} "
                            f"({exc.strerror or exc})") from exc
    published = False

    def abandon() -> None:
        # Ctrl-C: runs in another thread while the conversion may still be writing into ``work``.
        # Renamed first, so writes by path fail from then on, then removed.
        doomed = work.with_name(work.name + ".abandoned")
        try:
            os.rename(work, doomed)
        except OSError:
            doomed = work
        for _ in range(5):
            shutil.rmtree(doomed, ignore_errors=True)
            if not doomed.exists():
                break
            time.sleep(0.02)
        remove_empty(created)

    try:
        with cleanup_on_interrupt(abandon):
            yield work
        os.chmod(work, 0o755)
        _publish(work, out_dir)
        published = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not published:
            remove_empty(created)


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging folders left beside ``out_dir`` by converts that were killed: their names carry the
    writer's pid, and only those whose process is gone are removed (a concurrent convert's stays)."""
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(?:partial|retired)-(\d+)(?:-.*)?$")
    try:
        entries = list(out_dir.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match and not process_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _publish(work: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(work, out_dir)
        return
    retired = out_dir.with_name(f".{out_dir.name}.retired-{os.getpid()}")
    os.rename(out_dir, retired)
    try:
        os.rename(work, out_dir)
    except OSError:
        os.rename(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def file_entry(path: Path) -> dict:
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size}


def write_manifest(work: Path, manifest: dict) -> None:
    """The manifest is written last: a folder with a manifest whose JAR checksum matches is complete."""
    text = json.dumps(manifest, indent=2, sort_keys=False, allow_nan=False)
    partial = work / (MANIFEST + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, work / MANIFEST)
