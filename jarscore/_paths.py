"""The folders a write creates above its target, so that a failed write can remove them again."""

from __future__ import annotations

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
