"""`jarscore score`: a CSV in, every result field out, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from jarscore._interrupt import cleanup_on_interrupt
from jarscore._paths import make_parents, missing_parents, remove_empty
from jarscore.errors import InputError, OutputError
from jarscore.scorer.scorer import Scorer


def score_csv(model: Path, input_csv: Path, output_csv: Path, trusted_keys=None) -> int:
    """Scores ``input_csv`` with ``model`` into ``output_csv``. The output's location is checked, and its
    temporary file created, before the model is loaded or a row scored; the results are written to that
    file beside the output and renamed into place at the end, so a failed run leaves no output at all."""
    with _output_file(Path(output_csv)) as stream:
        scorer = Scorer.load(model, trusted_keys=trusted_keys)
        try:
            frame = pd.read_csv(input_csv, keep_default_na=True, na_values=["N/A"])
        except FileNotFoundError:
            raise InputError(f"input CSV not found: {input_csv}") from None
        except IsADirectoryError:
            raise InputError(f"input CSV is a folder: {input_csv}") from None
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot read input CSV {input_csv}: {exc}") from None
        results = scorer.evaluate(frame)
        try:
            results.to_csv(stream, index=False)
            stream.flush()
            os.fsync(stream.fileno())
        except OSError as exc:   # a full disk, an I/O error: the OS error alone names no file
            raise OutputError(f"cannot write {output_csv}: {exc.strerror or exc}") from exc
    return len(results)


def check_output_location(output_csv: Path) -> list[Path]:
    """Refuses an output that cannot be written, before any work: an existing folder, or a path under
    something that is not a folder. Returns the missing parent folders (innermost first)."""
    if output_csv.is_dir():
        raise OutputError(f"cannot write {output_csv}: it is a folder; name a file to write")
    missing = missing_parents(output_csv)
    for folder in missing:
        if folder.is_symlink():
            raise OutputError(f"cannot write {output_csv}: {folder} is a broken symbolic link")
    folder = missing[-1].parent if missing else output_csv.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {output_csv}: {folder} is not a folder")
    return missing


@contextlib.contextmanager
def _output_file(output_csv: Path) -> Iterator:
    """Yields a text stream on a hidden temporary file beside ``output_csv``; on success the file
    becomes ``output_csv``, on any error (Ctrl-C included) it and the folders made for it are removed."""
    created = check_output_location(output_csv)
    make_parents(output_csv, created, OutputError)
    try:
        # Creating the temporary file is the one check that tells for sure (read-only file systems,
        # /proc, root's disregard of permission bits, quotas ...).
        handle, partial = tempfile.mkstemp(prefix=f".{output_csv.name}.", suffix=".partial",
                                           dir=output_csv.parent)
    except OSError as exc:
        remove_empty(created)
        raise OutputError(f"cannot write {output_csv}: cannot create a file in the folder {output_csv.parent} "
                          f"({exc.strerror or exc})") from exc
    published = False

    def abandon() -> None:
        with contextlib.suppress(OSError):
            os.remove(partial)
        remove_empty(created)

    try:
        with cleanup_on_interrupt(abandon), os.fdopen(handle, "w", newline="") as stream:
            yield stream
        os.chmod(partial, 0o644)
        try:
            os.replace(partial, output_csv)
        except OSError as exc:
            raise OutputError(f"cannot write {output_csv}: {exc.strerror or exc}") from exc
        published = True
    finally:
        if not published:
            abandon()
