"""PMML file to JAR through jarscore's JVM transpile tool (the kernel compiler, JPMML-Transpiler):
:class:`OneParse` in a JVM jarscore started, the kernel JAR and JPMML-Evaluator's model from one
parse; :func:`start_transpile` for JPMML-Transpiler's classes, or a JVM another library started."""

from __future__ import annotations

import os
import re
from pathlib import Path

from jarscore.errors import JvmError
from jarscore.scorer import jvm

_TOOL = "io.jarscore.transpile.TranspileCommand"
#: PMML below this size makes reading and transpiling it a job of a few seconds: `jarscore convert`
#: starts its JVM with the C1 compiler alone for it, and start_transpile runs the tool in this
#: process's JVM, which has JAXB and JPMML loaded for the parity check anyway, or, where another
#: library started that JVM, in a JVM of its own with the C1 compiler alone, whose C2 threads would
#: cost more CPU than their code gives back (docs/kernel.md, "What conversion produces", has the
#: measurements). Larger PMML gets a JVM of its own with both compilers and a heap of its own.
SHORT_JOB_PMML_BYTES = 32 << 20


def class_name(name: str, version: int) -> str:
    """A deterministic Java class name for a model name and version."""
    safe = re.sub(r"[^0-9A-Za-z_]", "_", name) or "model"
    if safe[0].isdigit():
        safe = "_" + safe
    return f"jarscore.models.{safe}_v{version}"


def start_transpile(pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None, *,
                    transpiled_classes: bool = False) -> jvm.JavaCommand | InProcessTranspile:
    """Starts writing the model's JAR and returns at once (``wait()`` for it): the fast kernel alone
    where the kernel compiler supports the model, unless ``transpiled_classes``; else JPMML-Transpiler's
    classes beside the kernel (or beside the reason there is none). Short jobs (see
    SHORT_JOB_PMML_BYTES) run in this process's JVM when jarscore started it, the rest in a JVM of
    their own."""
    what = f"transpiling {pmml_path.name} to a JAR"
    small = is_short_job(pmml_path)
    if small and jvm.started_here(short_job=True):
        return InProcessTranspile(pmml_path, jar_path, java_class, sources_dir, transpiled_classes, what)
    args = ["--pmml", str(pmml_path), "--jar", str(jar_path), "--class-name", java_class]
    if transpiled_classes:
        args.append("--transpiled-classes")
    if sources_dir is not None:
        args += ["--sources", str(sources_dir)]
    return jvm.JavaCommand(_TOOL, args, what=what, jvm_options=jvm.C1_ONLY if small else ())


class OneParse:
    """The model's JAR written in this process's JVM (the kernel alone where the kernel compiler
    supports the model) and JPMML-Evaluator interpreting its PMML, from one parse of the XML:
    conversion checks the one against the other. The JAR is written on a thread of its own (javac
    compiling the kernel) while the caller scores with :attr:`interpreted`; :meth:`wait` and
    :meth:`kill` behave as a :class:`jarscore.scorer.jvm.JavaCommand`'s. For a JVM jarscore started
    (:func:`jarscore.scorer.jvm.started_here`), whose class path javac sees. A PMML that cannot be
    read raises the error loading it would."""

    def __init__(self, pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None):
        import jpype

        self.what = f"transpiling {pmml_path.name} to a JAR"
        self._tool = jvm.jclass(_TOOL)
        pmml, jar, sources = _java_paths(pmml_path, jar_path, sources_dir)
        try:
            self._job = self._tool.startFromOneParse(pmml, jar, java_class, sources)
        except jpype.JException as exc:
            raise self._error(exc) from None
        #: The Java model of JPMML-Evaluator interpreting the PMML; the caller closes it.
        self.interpreted = self._job.interpreted()

    def wait(self) -> None:
        """Returns when the JAR is written; raises JvmError with the tool's reason when it failed."""
        import jpype

        try:
            self._job.awaitJar()
        except jpype.JException as exc:
            raise self._error(exc) from None

    def kill(self) -> None:
        """Stops the JAR's writing and returns when nothing writes it any more."""
        self._job.cancel()

    def _error(self, exc) -> Exception:
        if exc.getClass().getName() == "io.jarscore.runtime.ArtifactException":
            return jvm.translate(exc)
        return JvmError(f"{self.what} failed: {self._tool.failure(exc)}")


def _java_paths(*paths: Path | None) -> list:
    """Java Paths for ``paths`` (None stays null)."""
    file = jvm.jclass("java.io.File")
    return [None if path is None else file(str(path)).toPath() for path in paths]


def is_short_job(pmml_path: Path) -> bool:
    """Whether the PMML holds less than SHORT_JOB_PMML_BYTES of XML; a .gz file is sized by its trailer
    (the XML modulo 4 GiB, so its own size counts too), and a file that cannot be read counts as large:
    the tool then says what is wrong with it."""
    try:
        with open(pmml_path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if pmml_path.suffix == ".gz":
                file.seek(-4, os.SEEK_END)
                size = max(size, int.from_bytes(file.read(4), "little"))
    except OSError:
        return False
    return size < SHORT_JOB_PMML_BYTES


class InProcessTranspile:
    """The transpile tool's work in this process's JVM, done by :meth:`wait` on the caller's thread:
    a short job runs faster after whatever the caller does with the JVM meanwhile (the parity
    check's parse of the same PMML loads JAXB and JPMML) than beside it, where the two share the
    JIT's threads. ``wait`` and ``kill`` behave as a :class:`jarscore.scorer.jvm.JavaCommand`'s."""

    def __init__(self, pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None,
                 transpiled_classes: bool, what: str):
        self.what = what
        self._args: tuple | None = (pmml_path, jar_path, java_class, sources_dir, transpiled_classes)

    def wait(self) -> None:
        """Writes the JAR; raises JvmError with the reason the tool's command would print when it fails."""
        import jpype

        if self._args is None:
            return
        pmml_path, jar_path, java_class, sources_dir, transpiled_classes = self._args
        self._args = None
        tool = jvm.jclass(_TOOL)
        pmml, jar, sources = _java_paths(pmml_path, jar_path, sources_dir)
        try:
            tool.transpile(pmml, jar, java_class, sources, transpiled_classes)
        except jpype.JException as exc:
            raise JvmError(f"{self.what} failed: {tool.failure(exc)}") from None

    def kill(self) -> None:
        """Nothing runs until :meth:`wait`; after this, it never will."""
        self._args = None


def transpile(pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None, *,
              transpiled_classes: bool = False) -> None:
    """Writes the model's JAR (see :func:`start_transpile`) and returns when it is written."""
    start_transpile(pmml_path, jar_path, java_class, sources_dir, transpiled_classes=transpiled_classes).wait()
