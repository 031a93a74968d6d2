"""`jarscore score`: rows in, every result field out, streamed in chunks so that memory stays flat
whatever the input's size, and written atomically.

CSV or Parquet (by the file's extension; Parquet needs pyarrow), or ``-`` for CSV on stdin / stdout."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from jarscore._interrupt import cleanup_on_interrupt
from jarscore._paths import make_parents, missing_parents, remove_empty
from jarscore.errors import InputError, ModelError, OutputClosed, OutputError
from jarscore.scorer.scorer import Scorer

STDIO = "-"
#: Rows read, scored and written at a time: large enough for the kernel's threads to share a chunk,
#: small enough that a wide table's chunk stays well under a gigabyte.
DEFAULT_CHUNK_ROWS = 100_000
PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_EXTRA = "pip install 'jarscore[parquet]'"
_NA_VALUES = ["N/A"]


def score_csv(model: Path, input_path: Path | str, output_path: Path | str, *,
              chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Callable[[int], None] | None = None,
              trusted_keys=None) -> int:
    """Scores the rows of ``input_path`` with ``model`` into ``output_path`` and returns how many there
    were. Each is a CSV or Parquet file (by extension) or ``-`` for CSV on stdin / stdout. The rows go
    ``chunk_rows`` at a time from reading to writing; ``progress`` is called with 0 once the model is
    loaded, then with the rows done after each chunk. The output's location is checked, and its
    temporary file created beside it, before the model is loaded or a row read; the file is renamed
    into place at the end, so a failed run leaves no output at all. (On stdout, the rows of the
    chunks before a failure have gone out.)"""
    if chunk_rows < 1:
        raise InputError(f"--chunk-rows must be a positive number of rows, got {chunk_rows}")
    source, target = str(input_path), str(output_path)
    if _is_parquet(source) or _is_parquet(target):
        _pyarrow(source if _is_parquet(source) else target)
    with _sink(target) as write:
        scorer = Scorer.load(model, trusted_keys=trusted_keys)
        done, written = 0, False
        if progress is not None:
            progress(0)
        for chunk in _chunks(source, chunk_rows):
            write(_evaluate(scorer, chunk, done), first=not written)
            done, written = done + len(chunk), True
            if progress is not None:
                progress(done)
        if not written:   # no chunk at all (a Parquet file of no rows): the header still goes out
            write(pd.DataFrame({name: pd.Series(dtype=object) for name in _result_names(scorer)}), first=True)
    return done


def input_rows(input_path: str) -> int | None:
    """The number of rows when the input says so without being read (Parquet's footer), else None."""
    if not _is_parquet(input_path):
        return None
    try:
        return _pyarrow(input_path).parquet.ParquetFile(input_path).metadata.num_rows
    except Exception:  # noqa: BLE001 (the read itself reports a bad file, naming it)
        return None


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


# --- reading -----------------------------------------------------------------------------------------

def _is_parquet(path: str) -> bool:
    return path != STDIO and Path(path).suffix.lower() in PARQUET_SUFFIXES


def _pyarrow(path: str) -> Any:
    """pyarrow, with its parquet module, or an error naming the extra that installs it."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 (imported for pyarrow.parquet below)
    except ModuleNotFoundError as exc:
        if exc.name not in ("pyarrow", "pyarrow.parquet"):
            raise
        raise InputError(f"reading or writing Parquet ({path}) needs the Python package 'pyarrow', which is not "
                         f"installed: {_PARQUET_EXTRA}") from None
    return pyarrow


def _chunks(source: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if _is_parquet(source):
        yield from _parquet_chunks(source, chunk_rows)
    else:
        yield from _csv_chunks(source, chunk_rows)


def _csv_chunks(source: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    what = "input CSV on stdin" if source == STDIO else f"input CSV {source}"
    # stdin unbuffered: each read returns the bytes there are, so a chunk is scored as soon as its
    # rows have arrived, not once a 256 KB read has filled (rows trickling in from a pipe).
    stream = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False) if source == STDIO else source
    try:
        reader = pd.read_csv(stream, keep_default_na=True, na_values=_NA_VALUES, chunksize=chunk_rows)
        with reader:
            yield from reader
    except FileNotFoundError:
        raise InputError(f"input CSV not found: {source}") from None
    except IsADirectoryError:
        raise InputError(f"input CSV is a folder: {source}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} is empty: it needs a header row naming the input fields") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read {what}: {exc}") from None


def _parquet_chunks(source: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    pyarrow = _pyarrow(source)
    if Path(source).is_dir():
        raise InputError(f"input Parquet file is a folder: {source}")
    try:
        parquet = pyarrow.parquet.ParquetFile(source)
    except FileNotFoundError:
        raise InputError(f"input Parquet file not found: {source}") from None
    except (pyarrow.ArrowException, OSError) as exc:
        raise InputError(f"cannot read input Parquet file {source}: {exc}") from None
    with parquet:
        batches = parquet.iter_batches(batch_size=chunk_rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pyarrow.ArrowException, OSError) as exc:
                raise InputError(f"cannot read input Parquet file {source}: {exc}") from None
            yield batch.to_pandas()


# --- scoring -----------------------------------------------------------------------------------------

_ROW = re.compile(r"^row (\d+)")


def _evaluate(scorer: Scorer, chunk: pd.DataFrame, offset: int) -> pd.DataFrame:
    """The chunk's results. An error that names a row names it in the whole input, not in the chunk:
    the scorer counts from the chunk's first row."""
    try:
        return scorer.evaluate(chunk)
    except (InputError, ModelError) as exc:
        renumbered = _ROW.sub(lambda m: f"row {int(m.group(1)) + offset}", str(exc), count=1)
        if offset == 0 or renumbered == str(exc):
            raise
        raise type(exc)(renumbered) from exc


def _result_names(scorer: Scorer) -> list[str]:
    return [name for name in scorer.evaluate(pd.DataFrame(columns=scorer.input_fields)).columns]


# --- writing -----------------------------------------------------------------------------------------

Write = Callable[[pd.DataFrame, bool], None]


@contextlib.contextmanager
def _sink(target: str) -> Iterator[Write]:
    """Yields ``write(frame, first)``, which appends a chunk's results to ``target``."""
    if target == STDIO:
        with _stdout() as stream:
            yield _csv_writer(stream, "stdout")
        return
    path = Path(target)
    binary = _is_parquet(target)
    with _output_file(path, binary) as stream:
        if binary:
            with _parquet_writer(stream, path) as write:
                yield write
        else:
            yield _csv_writer(stream, str(path))
        try:
            stream.flush()
            os.fsync(stream.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _csv_writer(stream, name: str) -> Write:
    def write(frame: pd.DataFrame, first: bool) -> None:
        try:
            frame.to_csv(stream, index=False, header=first)
            stream.flush()
        except BrokenPipeError:
            raise OutputClosed(f"{name} was closed by its reader") from None
        except OSError as exc:   # a full disk, an I/O error: the OS error alone names no file
            raise OutputError(f"cannot write {name}: {exc.strerror or exc}") from exc
    return write


@contextlib.contextmanager
def _parquet_writer(stream, path: Path) -> Iterator[Write]:
    pyarrow = _pyarrow(str(path))
    writer = None

    def write(frame: pd.DataFrame, first: bool) -> None:
        nonlocal writer
        try:
            if writer is None:
                table = pyarrow.Table.from_pandas(frame, preserve_index=False)
                writer = pyarrow.parquet.ParquetWriter(stream, table.schema)
            else:
                # Every chunk in the first chunk's types (a column that is all missing in one chunk
                # must not change type in the next).
                table = pyarrow.Table.from_pandas(frame, schema=writer.schema, preserve_index=False)
            writer.write_table(table)
        except (pyarrow.ArrowException, OSError) as exc:
            raise OutputError(f"cannot write {path}: {exc}") from exc

    try:
        yield write
        if writer is not None:
            writer.close()
    finally:
        if writer is not None and writer.is_open:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.contextmanager
def _stdout() -> Iterator:
    """A text stream on the process's stdout for the rows alone: while it is open, file descriptor 1
    points at stderr, so whatever else writes to stdout (a library's print, the JVM) cannot mix into
    the rows."""
    sys.stdout.flush()
    rows = os.dup(1)
    os.dup2(2, 1)
    stream = os.fdopen(rows, "w", newline="", closefd=False)
    try:
        yield stream
        try:
            stream.flush()
        except BrokenPipeError:
            raise OutputClosed("stdout was closed by its reader") from None
    finally:
        with contextlib.suppress(OSError):
            stream.close()
        os.dup2(rows, 1)
        os.close(rows)


@contextlib.contextmanager
def _output_file(output: Path, binary: bool = False) -> Iterator:
    """Yields a stream on a hidden temporary file beside ``output`` (text, or bytes with ``binary``);
    on success the file becomes ``output``, on any error (Ctrl-C included) it and the folders made
    for it are removed."""
    created = check_output_location(output)
    make_parents(output, created, OutputError)
    try:
        # Creating the temporary file is the one check that tells for sure (read-only file systems,
        # /proc, root's disregard of permission bits, quotas ...).
        handle, partial = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    except OSError as exc:
        remove_empty(created)
        raise OutputError(f"cannot write {output}: cannot create a file in the folder {output.parent} "
                          f"({exc.strerror or exc})") from exc
    published = False

    def abandon() -> None:
        with contextlib.suppress(OSError):
            os.remove(partial)
        remove_empty(created)

    try:
        with cleanup_on_interrupt(abandon), os.fdopen(handle, "wb" if binary else "w",
                                                      **({} if binary else {"newline": ""})) as stream:
            yield stream
        os.chmod(partial, 0o644)
        try:
            os.replace(partial, output)
        except OSError as exc:
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        published = True
    finally:
        if not published:
            abandon()

