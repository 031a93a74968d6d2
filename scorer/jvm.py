"""The one module that owns the JVM: where the runtime jars are, start-up through JPype, and the
translation of Java exceptions into jarscore's Python errors. Nothing else imports jpype."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Iterator, Sequence

from jarscore.errors import ArtifactError, InputError, JvmError

_CHECKOUT_JARS = Path(__file__).resolve().parent.parent / "jvm" / "bundle" / "target" / "jars"
_RUNTIME_JAR_GLOB = "jarscore-runtime-*.jar"
_MIN_JAVA = 17
_start_lock = threading.Lock()
_jvm_pid: int | None = None   # the process that started the JVM
# Set in a child forked after the JVM started: a flag, not os.getpid(), which would be a system call
# on every single-row call. Public for the single-row path, which reads it inline before
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

_sigint_to_python = False


def leave_sigint_to_python() -> None:
    """Ctrl-C stays with the SIGINT handler set in Python once the JVM starts, instead of the JVM's,
    which ends the process at once with no word and no clean-up: the JVM starts with -Xrs (no handlers
    of its own for SIGINT, SIGTERM, SIGHUP, SIGQUIT) and JPype with ``interrupt=False`` (no handler
    of its own either), and Python's handler is set again after it started in case anything
    else took the signal. The command line asks for this; a library caller
    keeps JPype's default."""
    global _sigint_to_python
    _sigint_to_python = True
    if _jvm_pid == os.getpid():
        _restore_python_sigint()


def _restore_python_sigint() -> None:
    """Python's record of its SIGINT handler outlives the JVM's sigaction; setting it again puts it back."""
    import signal

    handler = signal.getsignal(signal.SIGINT)
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def check_not_forked() -> None:
    """Raises JvmError in a process forked after the JVM started, before anything touches the JVM."""
    if forked_after_jvm:
        raise JvmError(
            f"this process (pid {os.getpid()}) was forked from pid {_jvm_pid} after the JVM started there, "
            "and a JVM does not survive fork(). Start the JVM only in the processes that score: load the "
            "Scorer or ModelRegistry after the fork, in a parent that has not loaded one (gunicorn: no "
            "--preload of anything that loads a model; multiprocessing: the 'spawn' or 'forkserver' start "
            "method)")


def _bundled_jars() -> Path:
    """The wheel's jars (package data ``jarscore.jars``); in a checkout, the Maven build's bundle."""
    spec = importlib.util.find_spec("jarscore.jars")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return _CHECKOUT_JARS


def runtime_dir() -> Path:
    """The folder whose jars make up jarscore's JVM side: $JARSCORE_JVM_HOME when set, else the
    installed package's jars (in a checkout, jvm/bundle/target/jars, built by 'make setup')."""
    configured = os.environ.get("JARSCORE_JVM_HOME")
    folder = Path(configured) if configured else _bundled_jars()
    if not any(folder.glob(_RUNTIME_JAR_GLOB)):
        where = f"$JARSCORE_JVM_HOME={configured}" if configured else str(folder)
        raise JvmError(
            f"jarscore's JVM runtime is missing: no {_RUNTIME_JAR_GLOB} in {where}. "
            "An installed wheel carries it (reinstall jarscore); in a checkout run 'make setup', which builds "
            "jvm/ with Maven; or point JARSCORE_JVM_HOME at a folder holding the jars of jvm/bundle/target/jars.")
    return folder


def classpath() -> list[str]:
    return sorted(str(p) for p in runtime_dir().glob("*.jar"))


def runtime_version() -> str:
    """The bundled JVM runtime's version, from its jar's manifest (no JVM started)."""
    jar = sorted(runtime_dir().glob(_RUNTIME_JAR_GLOB))[-1]
    with zipfile.ZipFile(jar) as archive:
        manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
    match = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.M)
    return match.group(1) if match else "unknown"


_CHECKOUT_SERVER = Path(__file__).resolve().parent.parent / "jvm" / "server" / "target" / "jarscore-server.jar"


def server_jar() -> Path:
    """The model server's runnable jar: in the jars' server/ folder ($JARSCORE_JVM_HOME, the installed
    package's), else a checkout's Maven build. The error lists every place looked at."""
    places = []
    configured = os.environ.get("JARSCORE_JVM_HOME")
    if configured:
        places.append(Path(configured) / "server" / "jarscore-server.jar")
    places += [_bundled_jars() / "server" / "jarscore-server.jar", _CHECKOUT_SERVER]
    for place in places:
        if place.is_file():
            return place
    raise JvmError("the model server's jar is missing; looked for " + ", ".join(map(str, places)) + ". An installed "
                   "wheel carries it (reinstall jarscore); in a checkout run 'make setup', which builds jvm/ with Maven.")


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


def die_with_parent() -> None:
    """Run in a child between fork and exec (``preexec_fn``): on Linux, the kernel kills the child when
    the thread that started it dies, so a killed ``jarscore convert`` leaves no JVM behind."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


#: JVM options for a child JVM whose job takes seconds: the C1 compiler alone, as C2's threads would
#: cost more CPU than their code gives back (docs/kernel.md, "What conversion produces").
C1_ONLY = ("-XX:TieredStopAtLevel=1",)
_COMPILER_CHOICES = ("-XX:TieredStopAtLevel", "-XX:+TieredCompilation", "-XX:-TieredCompilation")


class JavaCommand:
    """A jarscore JVM command, started in a child process when this is made: :meth:`wait` for it, or
    :meth:`kill` it. Its output goes to temporary files, so a child that writes much never blocks
    on a full pipe while this process does other work. ``jvm_options`` go before the class path."""

    def __init__(self, main_class: str, args: list[str], *, what: str, jvm_options: Sequence[str] = ()):
        self.what = what
        command = [java_executable(), *jvm_options, "-cp", os.pathsep.join(classpath()), main_class, *args]
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                             preexec_fn=die_with_parent)
        except BaseException:
            self._close_output()
            raise

    def wait(self) -> None:
        """Waits for the command to end; raises JvmError with its stderr (else its stdout) when it failed.
        Interrupted (Ctrl-C), it kills the child before the interruption goes on."""
        try:
            code = self._process.wait()
        except BaseException:
            self.kill()
            raise
        try:
            if code != 0:
                detail = self._read(self._err) or self._read(self._out) or f"exit code {code}"
                raise JvmError(f"{self.what} failed: {detail}")
        finally:
            self._close_output()

    def kill(self) -> None:
        """Stops the command if it still runs, and waits until it has."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._close_output()

    @staticmethod
    def _read(file) -> str:
        file.seek(0)
        return file.read().decode("utf-8", errors="replace").strip()

    def _close_output(self) -> None:
        self._out.close()
        self._err.close()


def run_java(main_class: str, args: list[str], *, what: str) -> None:
    """Runs a jarscore JVM command in a child process; raises JvmError with its stderr on failure."""
    JavaCommand(main_class, args, what=what).wait()


# -Xss4m: deep trees evaluated by JPMML recurse once per level. -XX:-OmitStackTraceInFastThrow: the
# JIT would otherwise drop the message of an exception the model throws often (a NullPointerException
# on a missing value), and the error would no longer say why.
_DEFAULT_OPTIONS = ("-Xss4m", "-XX:-OmitStackTraceInFastThrow")
# The Vector API (an incubator module) lets the fast kernel score blocks of rows with SIMD; the
# kernel falls back to its scalar path, with the same results, where the JVM lacks it.
# -Djarscore.simd=false among the caller's options leaves the module out (docs/kernel.md).
SIMD_MODULE = "--add-modules=jdk.incubator.vector"
SIMD_OFF = "-Djarscore.simd=false"
#: The line a JVM prints on stderr when it starts with an incubator module; jarscore drops it.
_INCUBATOR_WARNING = b"WARNING: Using incubator modules: jdk.incubator.vector"
_options: list[str] = []          # set by configure_jvm()
_runtime_loader = None           # jarscore's own class loader, in a JVM that someone else started


def configure_jvm(options: list[str]) -> None:
    """JVM options (``["-Xmx8g", "-XX:+UseZGC"]``) for the JVM that jarscore starts in this process,
    added after the defaults and after ``$JARSCORE_JVM_OPTS``. Call it before the first Scorer,
    ModelRegistry or convert: a running JVM cannot take new options."""
    import jpype

    if jpype.isJVMStarted():
        raise JvmError(f"the JVM is already running in this process, so it cannot take the options {options}: "
                       "call jarscore.configure_jvm() before the first model is loaded")
    bad = [option for option in options if not isinstance(option, str) or not option.startswith("-")]
    if bad:
        raise JvmError(f"JVM options are strings that start with '-', got {bad!r}")
    _options[:] = list(options)


def jvm_options() -> list[str]:
    """The options jarscore starts the JVM with: its defaults (with the Vector API module unless the
    caller's options hold -Djarscore.simd=false), $JARSCORE_JVM_OPTS, configure_jvm()'s."""
    caller = [*shlex.split(os.environ.get("JARSCORE_JVM_OPTS", "")), *_options]
    simd = [] if SIMD_OFF in caller else [SIMD_MODULE]
    return [*_DEFAULT_OPTIONS, *simd, *caller]


_short_lived = False


def mark_short_lived() -> None:
    """This process is a command that ends after one job (the command line's convert): a JVM it
    starts for a short job (``start(short_job=True)``) runs the C1 compiler alone. Such a job is
    mostly class loading and code run once, for which C2's compile threads take a third of the CPU
    and give back nothing (docs/kernel.md)."""
    global _short_lived
    _short_lived = True


def start(short_job: bool = False) -> None:
    """Starts the JVM in this process once, with jarscore's runtime on the classpath. When another
    library started it first, jarscore's runtime gets a class loader of its own instead."""
    global _jvm_pid
    import jpype

    check_not_forked()
    if jpype.isJVMStarted():
        if _jvm_pid is None and _runtime_loader is None:
            _adopt_running_jvm()
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
        options = jvm_options()
        if short_job and _short_lived and not any(option.startswith(_COMPILER_CHOICES) for option in options):
            options += C1_ONLY   # unless the caller chose the JIT compilers
        if _sigint_to_python and "-Xrs" not in options:
            options.append("-Xrs")   # the JVM installs no SIGINT handler even while it starts
        try:
            with _stderr_without(_INCUBATOR_WARNING):
                # interrupt=False: JPype installs no SIGINT handler of its own as the JVM starts; its
                # handler halts the process with exit 130 and no word, which a Ctrl-C between its
                # install and the restore below would meet
                jpype.startJVM(jvm_path, *options, classpath=jars, convertStrings=False,
                               interrupt=not _sigint_to_python)
        except Exception as exc:  # a bad option: the JVM refuses to start and says why on stderr
            raise JvmError(f"the JVM did not start with the options {options} "
                           f"(defaults, $JARSCORE_JVM_OPTS, configure_jvm()): {exc}") from exc
        _jvm_pid = os.getpid()
        if _sigint_to_python:
            _restore_python_sigint()
        version = _java_feature()
        if version < _MIN_JAVA:
            raise JvmError(f"Java {version} found at {jvm_path}; jarscore needs Java {_MIN_JAVA}+ (set JAVA_HOME)")


def started_here(short_job: bool = False) -> bool:
    """Starts the JVM if need be (see :func:`start`); whether jarscore started it, with its jars on the
    class path (javac, which compiles the kernel, sees that path), rather than adopting one that
    another library started."""
    start(short_job)
    return _runtime_loader is None


@contextlib.contextmanager
def _stderr_without(line: bytes) -> Iterator[None]:
    """Runs the block with file descriptor 2 in a temporary file, then writes what it got back to
    stderr without ``line``: the JVM prints the incubator warning itself, at start-up, to the
    process's stderr, where Python cannot filter it otherwise. Everything else is kept. A Ctrl-C
    that ends the command line while the JVM starts puts stderr back first, so its one line is seen."""
    from jarscore._interrupt import cleanup_on_interrupt

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):   # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        restored = threading.Lock()   # held once stderr is back: by the block's end or by Ctrl-C

        def restore() -> None:
            if not restored.acquire(blocking=False):
                return
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [text for text in captured.read().splitlines(keepends=True) if text.rstrip() != line]
            if kept:
                os.write(2, b"".join(kept))

        os.dup2(captured.fileno(), 2)
        with cleanup_on_interrupt(restore):
            try:
                yield
            finally:
                restore()


def _adopt_running_jvm() -> None:
    """A JVM started by another library (jpmml_evaluator's JPype backend, say): its classpath may hold
    other versions of JPMML or nothing of jarscore's, so jarscore's jars get a URLClassLoader whose
    parent is the platform loader, and every class jarscore names is looked up through it."""
    global _runtime_loader, _jvm_pid
    import jpype

    with _start_lock:
        if _runtime_loader is not None:
            return
        version = _java_feature()
        if version < _MIN_JAVA:
            raise JvmError(f"the JVM running in this process (started before jarscore) is Java {version}; "
                           f"jarscore needs Java {_MIN_JAVA}+")
        _check_running_options()
        File = jpype.JClass("java.io.File")
        urls = [File(jar).toURI().toURL() for jar in classpath()]
        URLClassLoader = jpype.JClass("java.net.URLClassLoader")
        platform = jpype.JClass("java.lang.ClassLoader").getPlatformClassLoader()
        _runtime_loader = URLClassLoader("jarscore", jpype.JArray(jpype.JClass("java.net.URL"))(urls), platform)
        _jvm_pid = os.getpid()


def _java_feature() -> int:
    """The running JVM's feature release (17, 25). Through JClass: the first ``jpype.java`` package
    lookup costs about 0.3 s of start-up."""
    import jpype

    return int(str(jpype.JClass("java.lang.Runtime").version().feature()))


def _check_running_options() -> None:
    import jpype

    wanted = [*shlex.split(os.environ.get("JARSCORE_JVM_OPTS", "")), *_options]
    if not wanted:
        return
    running = {str(a) for a in jpype.JClass("java.lang.management.ManagementFactory").getRuntimeMXBean()
               .getInputArguments()}
    missing = [option for option in wanted if option not in running]
    if missing:
        raise JvmError(
            f"the JVM in this process was started before jarscore, without the options {missing} that "
            "$JARSCORE_JVM_OPTS or configure_jvm() ask for, and a running JVM cannot take them: pass them "
            "to whatever starts the JVM (jpype.startJVM(...)), or unset them")


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
    """A Java class by name: jarscore's own through its class loader, the JDK's as usual."""
    import jpype

    start()
    if _runtime_loader is not None and not name.startswith("java."):
        return jpype.JClass(name, loader=_runtime_loader)
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
