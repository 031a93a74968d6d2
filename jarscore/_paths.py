"""The folders a write creates above its target, so that a failed write can remove them again, and
whether the process that named a staging folder is still alive."""

from __future__ import annotations

import os
from pathlib import Path


def missing_parents(target: Path) -> list[Path]:
    """The folders above ``target`` that do not exist yet, innermost first."""
    missing = []
    folder = target.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Removes ``folders`` (innermost first) while they are empty: a failed write leaves nothing behind."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:   # something else was written there meanwhile: keep it
            return


def make_parents(target: Path, created: list[Path], error: type[Exception]) -> None:
    """Creates the folders above ``target``; on failure removes those of ``created`` it made and raises
    ``error`` naming the folder and the OS's reason."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_empty(created)
        raise error(f"cannot create the folder {exc.filename or target.parent} for {target}: "
                    f"{exc.strerror or exc}") from exc


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs (staging folders carry their writer's pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process
        return True
    return True
