"""The one module that owns the JVM: where the runtime jars are, start-up through JPype, and the
translation of Java exceptions into jarscore's Python errors. Nothing else imports jpype."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

from jarscore.errors import ArtifactError, InputError, JvmError

_REPO_TARGET = Path(__file__).resolve().parent.parent / "jvm" / "target"
_RUNTIME_JAR = "jarscore-jvm.jar"
_MIN_JAVA = 17
_start_lock = threading.Lock()
_jvm_pid: int | None = None   # the process that started the JVM
# Set in a child forked after the JVM started: a flag, not os.getpid(), which is a system call
# (0.2 us a single-row call on a VM). Public for the single-row path, which reads it inline before
# calling check_not_forked(); nothing outside this module sets it.
forked_after_jvm = False


def _forget_jvm_in_child() -> None:
    """After fork(): the child has a copy of the JVM's memory but none of its threads, so any call
    into it would hang. Never shut it down at exit either (that call would hang too)."""
    global forked_after_jvm
    if _jvm_pid is not None:
        forked_after_jvm = True
        import gc

        import _jpype
        import jpype.config
        jpype.config.onexit = False
        # JPype asks the JVM for a collection when Python's gc runs; in the child that waits forever
        # for the JVM's (absent) VM thread.
        gc.callbacks[:] = [callback for callback in gc.callbacks if callback is not _jpype._collect]
        _restore_python_signal_handlers()


#: Signals the JVM takes over for its shutdown hooks and thread dumps.
_JVM_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")


def _restore_python_signal_handlers() -> None:
    """The JVM's handlers of its shutdown signals only wake a JVM thread, and a forked child has none:
    SIGTERM left the child running (multiprocessing's Pool.terminate() then waited forever). Put back
    what Python had, which for SIGTERM is the default: die."""
    import signal

    for name in _JVM_SIGNALS:
        number = getattr(signal, name, None)
        if number is None:
            continue
        handler = signal.getsignal(number)
        try:
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        except ValueError:  # forked from a thread other than the main one: Python may not set handlers there
            return


os.register_at_fork(after_in_child=_forget_jvm_in_child)


def check_not_forked() -> None:
    """Raises JvmError in a process forked after the JVM started, before anything touches the JVM."""
    if forked_after_jvm:
        raise JvmError(
            f"this process (pid {os.getpid()}) was forked from pid {_jvm_pid} after the JVM started there, "
            "and a JVM does not survive fork(). Start the JVM only in the processes that score: load the "
            "Scorer or ModelRegistry after the fork, in a parent that has not loaded one (gunicorn: no "
            "--preload of anything that loads a model; multiprocessing: the 'spawn' or 'forkserver' start "
            "method)")


def runtime_dir() -> Path:
    """The folder holding jarscore-jvm.jar and lib/: $JARSCORE_JVM_HOME, else the repo's jvm/target."""
    configured = os.environ.get("JARSCORE_JVM_HOME")
    folder = Path(configured) if configured else _REPO_TARGET
    if not (folder / _RUNTIME_JAR).is_file():
        where = f"$JARSCORE_JVM_HOME={configured}" if configured else str(folder)
        raise JvmError(
            f"jarscore's JVM runtime is not built: {_RUNTIME_JAR} not found in {where}. "
            "Run 'make setup' in the jarscore checkout (it builds jvm/ with Maven), "
            "or point JARSCORE_JVM_HOME at a folder holding jarscore-jvm.jar and lib/."
        )
    return folder


def classpath() -> list[str]:
    folder = runtime_dir()
    return [str(folder / _RUNTIME_JAR)] + sorted(str(p) for p in (folder / "lib").glob("*.jar"))


def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise JvmError(
            f"no Java found (JAVA_HOME={home!r}, nothing named 'java' on PATH); jarscore needs JDK "
            f"{_MIN_JAVA} or newer: install it (e.g. 'apt-get install openjdk-17-jdk') or set JAVA_HOME"
        )
    return found


def run_java(main_class: str, args: list[str], *, what: str) -> None:
    """Runs a jarscore JVM command in a child process; raises JvmError with its stderr on failure."""
    command = [java_executable(), "-cp", os.pathsep.join(classpath()), main_class, *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}"
        raise JvmError(f"{what} failed: {detail}")


def start() -> None:
    """Starts the JVM in this process once, with jarscore's runtime on the classpath."""
    global _jvm_pid
    import jpype

    check_not_forked()
    if jpype.isJVMStarted():
        return
    with _start_lock:
        if jpype.isJVMStarted():
            return
        jars = classpath()
        try:
            jvm_path = jpype.getDefaultJVMPath()
        except Exception as exc:  # JPype raises its own JVMNotFoundException
            raise JvmError(
                f"no JVM library found ({exc}); install JDK {_MIN_JAVA}+ "
                "(e.g. 'apt-get install openjdk-17-jdk') or set JAVA_HOME"
            ) from exc
        _refuse_old_java(Path(jvm_path))
        jpype.startJVM(jvm_path, "-Xss4m", classpath=jars, convertStrings=False)
        _jvm_pid = os.getpid()
        version = int(str(jpype.java.lang.Runtime.version().feature()))
        if version < _MIN_JAVA:
            raise JvmError(f"Java {version} found at {jvm_path}; jarscore needs Java {_MIN_JAVA}+ (set JAVA_HOME)")


def _refuse_old_java(jvm_path: Path) -> None:
    """Reads the JDK's `release` file (JAVA_VERSION="11.0.2") before the JVM starts: a JVM cannot be
    started twice in one process, so an old one must be refused before it is."""
    for home in jvm_path.parents[:4]:
        release = home / "release"
        if release.is_file():
            match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', release.read_text(errors="replace"), re.M)
            if match:
                feature = int(match.group(2)) if match.group(1) == "1" else int(match.group(1))  # 1.8 -> 8
                if feature < _MIN_JAVA:
                    raise JvmError(
                        f"Java {feature} found at {home} (from {jvm_path}); jarscore needs Java {_MIN_JAVA} or "
                        f"newer: install it (e.g. 'apt-get install openjdk-17-jdk') and point JAVA_HOME at it")
            return


def jclass(name: str):
    import jpype

    start()
    return jpype.JClass(name)


def double_array(values):
    import jpype

    check_not_forked()
    return jpype.JArray(jpype.JDouble)(values)


def shared_row(java_model, inputs: int, outputs: int):
    """A Java ``SharedRow`` of ``java_model`` over two float64 numpy arrays that share their memory
    with it: write a row into the first, call ``.score()``, read the outputs from the second. The
    three are returned together; keep the arrays as long as the Java object."""
    import jpype.nio
    import numpy as np

    check_not_forked()
    row, result = bytearray(8 * inputs), bytearray(8 * outputs)
    java = java_model.sharedRow(jpype.nio.convertToDirectBuffer(row), jpype.nio.convertToDirectBuffer(result))
    return java, np.frombuffer(row, dtype=np.float64), np.frombuffer(result, dtype=np.float64)


def direct_buffer(array):
    """A Java direct ByteBuffer over a C-contiguous numpy array's own memory (no copy): Java reads
    and writes the array through it. Keep the array alive while Java holds the buffer."""
    import jpype.nio

    check_not_forked()
    if not array.flags.c_contiguous:
        raise ValueError("only a C-contiguous array can be shared with Java")
    return jpype.nio.convertToDirectBuffer(array.reshape(-1))


def string_array(values):
    import jpype

    check_not_forked()
    return jpype.JArray(jpype.JString)(values if isinstance(values, list) else list(values))


def object_array(values):
    import jpype

    check_not_forked()
    return jpype.JArray(jpype.JObject)(values)


def to_python_column(column):
    """A Java double[] becomes a numpy float64 array, a String[] a list of str."""
    import jpype
    import numpy as np

    if isinstance(column, jpype.JArray(jpype.JDouble)):
        return np.asarray(column, dtype=np.float64)
    return [str(v) for v in column]


_ERRORS = {
    "io.jarscore.runtime.ScoringException": InputError,
    "io.jarscore.runtime.ArtifactException": ArtifactError,
}


@contextlib.contextmanager
def java_errors() -> Iterator[None]:
    """Turns Java exceptions raised inside the block into jarscore errors with the Java message."""
    import jpype

    check_not_forked()
    try:
        yield
    except jpype.JException as exc:
        known = exc.getClass().getName() in _ERRORS
        raise translate(exc) from (None if known else exc)


def translate(exc) -> Exception:
    """The jarscore error for a Java exception: its own type when jarscore knows it, else JvmError."""
    java_name = exc.getClass().getName()
    message = str(exc.getMessage())
    error_type = _ERRORS.get(java_name)
    if error_type is not None:
        return error_type(message)
    return JvmError(f"{java_name}: {message}")


def describe_java_version() -> str:
    output = subprocess.run([java_executable(), "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "([^"]+)"', output)
    return match.group(1) if match else "unknown"
