"""PMML file to JAR through jarscore's JVM transpile tool (the kernel compiler, JPMML-Transpiler)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from jarscore.scorer import jvm

_TOOL = "io.jarscore.transpile.TranspileCommand"
#: PMML below this size makes the transpile tool a job of a few seconds, in which the C2 compiler's
#: threads cost more CPU than their code gives back: its JVM then runs the C1 compiler alone
#: (docs/kernel.md, "What conversion produces", has the measurements). Larger PMML keeps both.
SHORT_JOB_PMML_BYTES = 32 << 20


def class_name(name: str, version: int) -> str:
    """A deterministic Java class name for a model name and version."""
    safe = re.sub(r"[^0-9A-Za-z_]", "_", name) or "model"
    if safe[0].isdigit():
        safe = "_" + safe
    return f"jarscore.models.{safe}_v{version}"


def start_transpile(pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None, *,
                    transpiled_classes: bool = False) -> jvm.JavaCommand:
    """Starts writing the model's JAR in a JVM of its own and returns at once (``wait()`` for it): the
    fast kernel alone where the kernel compiler supports the model, unless ``transpiled_classes``;
    else JPMML-Transpiler's classes beside the kernel (or beside the reason there is none)."""
    args = ["--pmml", str(pmml_path), "--jar", str(jar_path), "--class-name", java_class]
    if transpiled_classes:
        args.append("--transpiled-classes")
    if sources_dir is not None:
        args += ["--sources", str(sources_dir)]
    return jvm.JavaCommand(_TOOL, args, what=f"transpiling {pmml_path.name} to a JAR",
                           jvm_options=jvm_options(pmml_path))


def jvm_options(pmml_path: Path) -> tuple[str, ...]:
    """The transpile tool's JVM options for this PMML: C1 alone below SHORT_JOB_PMML_BYTES of XML."""
    return jvm.C1_ONLY if _xml_bytes(pmml_path) < SHORT_JOB_PMML_BYTES else ()


def _xml_bytes(path: Path) -> int:
    """The PMML's size as XML; a .gz file's is in its trailer (modulo 4 GiB, so the compressed size
    counts too). A file that cannot be read counts as large: the tool says what is wrong with it."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if path.suffix != ".gz":
                return size
            file.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(file.read(4), "little"))
    except OSError:
        return SHORT_JOB_PMML_BYTES


def transpile(pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None, *,
              transpiled_classes: bool = False) -> None:
    """Writes the model's JAR (see :func:`start_transpile`) and returns when it is written."""
    start_transpile(pmml_path, jar_path, java_class, sources_dir, transpiled_classes=transpiled_classes).wait()
