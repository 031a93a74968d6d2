"""PMML file to JAR through jarscore's JVM transpile tool (the kernel compiler, JPMML-Transpiler)."""

from __future__ import annotations

import re
from pathlib import Path

from jarscore.scorer import jvm

_TOOL = "io.jarscore.transpile.TranspileCommand"


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
    return jvm.JavaCommand(_TOOL, args, what=f"transpiling {pmml_path.name} to a JAR")


def transpile(pmml_path: Path, jar_path: Path, java_class: str, sources_dir: Path | None = None, *,
              transpiled_classes: bool = False) -> None:
    """Writes the model's JAR (see :func:`start_transpile`) and returns when it is written."""
    start_transpile(pmml_path, jar_path, java_class, sources_dir, transpiled_classes=transpiled_classes).wait()
