"""Ctrl-C for the command line: one line, exit 130 and no half-written output, wherever the main
thread is, even inside a long JVM call (where Python could not raise KeyboardInterrupt until the call
returned) or inside JPype (where a KeyboardInterrupt raised in its callbacks is a fatal error).

So Ctrl-C never raises in the main thread: Python's SIGINT handler does nothing, and a watcher thread
that hears the signal through :func:`signal.set_wakeup_fd` runs the registered clean-ups, prints the
line and ends the process. ``jarscore.scorer.jvm`` hands SIGINT back to this handler after the JVM,
which takes it over, starts."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from typing import Callable, Iterator

_cleanups: dict[int, Callable[[], None]] = {}
_ids = itertools.count()
_lock = threading.Lock()
_claimed = False
_installed = False


@contextlib.contextmanager
def cleanup_on_interrupt(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, ``callback`` runs if Ctrl-C ends the process. It must be idempotent and safe to
    run while the main thread is anywhere (it runs in the watcher thread)."""
    key = next(_ids)
    _cleanups[key] = callback
    try:
        yield
    finally:
        _cleanups.pop(key, None)


def claim_report() -> bool:
    """True for the first caller only: whoever reports the failure (the main thread or the watcher)."""
    global _claimed
    with _lock:
        if _claimed:
            return False
        _claimed = True
        return True


def installed() -> bool:
    return _installed


def install(report: Callable[[], None]) -> bool:
    """Arms the watcher, once per process and from the main thread only; ``report`` prints the
    one-line message."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return False
    _installed = True
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.signal(signal.SIGINT, _noted)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read, report), name="jarscore-ctrl-c", daemon=True).start()
    return True


def _noted(signum, frame) -> None:
    """The watcher does the work: raising here could land inside JPype."""


def _watch(read: int, report: Callable[[], None]) -> None:
    while signal.SIGINT not in os.read(read, 64):
        pass
    if not claim_report():
        return            # the main thread is already reporting another failure
    for callback in reversed(list(_cleanups.values())):
        try:
            callback()
        except Exception:  # noqa: BLE001 (best effort on the way out)
            pass
    try:
        report()
    finally:
        os._exit(130)
