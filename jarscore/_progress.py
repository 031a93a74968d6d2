"""What the command line shows on stderr while long work runs: the elapsed time on every log line,
rows done and rows/s while scoring, and a heartbeat while a conversion stage runs.

Progress is for a person watching: it shows on a terminal, or everywhere with ``--verbose``, never
with ``--quiet``, and never on stdout (where ``jarscore score --output -`` writes its rows)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Callable

_log = logging.getLogger("jarscore.cli")

#: Seconds between progress lines when stderr is not a terminal (``--verbose`` into a log file).
LOG_EVERY = 10.0
#: Seconds of scoring before the bar shows on a terminal: short work ends without one.
BAR_DELAY = 1.0
#: Seconds of silence in a conversion stage before the heartbeat says it is still running.
HEARTBEAT_EVERY = 10.0


class ElapsedFormatter(logging.Formatter):
    """Every line starts with the seconds since the command started: where the time goes shows."""

    def __init__(self, started: float):
        super().__init__()
        self.started = started

    def format(self, record: logging.LogRecord) -> str:
        elapsed = f"{record.created - self.started:6.1f}s"
        message = record.getMessage()
        if record.levelno == logging.INFO:
            return f"{elapsed} {message}"
        return f"{elapsed} {record.levelname} {record.name}: {message}"


def show_progress(verbose: bool, quiet: bool) -> bool:
    """Whether to show progress: on a terminal, or with --verbose; never with --quiet."""
    if quiet:
        return False
    return verbose or _stderr_is_a_terminal()


def _stderr_is_a_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


class RowProgress:
    """Rows done and rows/s: a bar redrawn in place on a terminal (tqdm, shown only once the work
    has run :data:`BAR_DELAY` seconds), a log line every :data:`LOG_EVERY` seconds elsewhere. Call it with 0 when the
    rows start (the clock starts then: loading the model is not scoring), then with the rows done so
    far; :meth:`close` when the work ends."""

    def __init__(self, enabled: bool, total: int | None = None):
        self._enabled = enabled
        self._total = total
        self._bar = None
        self._rows = 0
        self._logged = self._started = time.monotonic()

    def __call__(self, rows: int) -> None:
        if rows == 0:
            self._logged = self._started = time.monotonic()
            if self._enabled and _stderr_is_a_terminal():
                from tqdm import tqdm

                # A terminal that reports no width (some container consoles) would get an empty bar.
                width = None if _terminal_width() else 80
                self._bar = tqdm(total=self._total, unit=" rows", unit_scale=True, file=sys.stderr, delay=BAR_DELAY,
                                 mininterval=0.5, ncols=width, dynamic_ncols=width is None, leave=False,
                                 desc="scoring")
        done, self._rows = rows - self._rows, rows
        if self._bar is not None:
            self._bar.update(done)
        elif self._enabled and time.monotonic() - self._logged >= LOG_EVERY:
            self._logged = time.monotonic()
            _log.info("scored %s rows (%s rows/s)", f"{rows:,}", f"{self.rate():,.0f}")

    def rate(self) -> float:
        """Rows a second since the rows started."""
        return self._rows / max(time.monotonic() - self._started, 1e-9)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Heartbeat:
    """Says, every :data:`HEARTBEAT_EVERY` seconds without a new line, which stage is still running
    and for how long: a transpile of a large forest takes minutes and prints nothing itself."""

    def __init__(self, log: Callable[[str], None], enabled: bool):
        self._log = log
        self._stage: str | None = None
        self._since = time.monotonic()
        self._changed = threading.Event()
        self._stopped = False
        self._thread = None
        if enabled:
            self._thread = threading.Thread(target=self._beat, name="jarscore-heartbeat", daemon=True)
            self._thread.start()

    def line(self, text: str) -> None:
        """Logs ``text``; a line that starts a stage (``[2/4] ...``) restarts the stage's clock."""
        self._log(text)
        if text.startswith("["):
            self._stage = text.split("] ", 1)[-1]
            self._since = time.monotonic()
        self._changed.set()

    def close(self) -> None:
        self._stopped = True
        self._changed.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stopped:
            if self._changed.wait(HEARTBEAT_EVERY):
                self._changed.clear()
                continue
            if self._stage is not None and not self._stopped:
                self._log(f"      {self._stage}: still running, {time.monotonic() - self._since:.0f} s so far")
