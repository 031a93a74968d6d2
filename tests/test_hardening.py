"""Refusing clearly: PMML with XML external entities, an old Java, missing runtime jars. Each case
runs where it cannot disturb this process's JVM (a JVM starts once per process)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import CONFORMANCE
from jarscore.converter import convert
from jarscore.errors import ArtifactError, JarscoreError
from jarscore.scorer import Scorer

ROOT = Path(__file__).resolve().parent.parent
IRIS = CONFORMANCE / "pmml" / "DecisionTreeIris.pmml"


def _with_external_entity(pmml: str, secret: Path) -> str:
    """The PMML with a DOCTYPE declaring an entity that reads ``secret``, used in the Header."""
    declaration_end = pmml.index("?>") + 2
    doctype = f'\n<!DOCTYPE PMML [<!ENTITY secret SYSTEM "{secret.as_uri()}">]>\n'
    return pmml[:declaration_end] + doctype + pmml[declaration_end:].replace("<Header", '<Header description="&secret;"', 1)


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-VALUE")
    return path


def test_pmml_with_an_external_entity_is_refused_unread(tmp_path, secret):
    hostile = tmp_path / "hostile.pmml"
    hostile.write_text(_with_external_entity(IRIS.read_text(), secret))
    with pytest.raises(ArtifactError, match="DOCTYPE is disallowed") as refused:
        Scorer.load(hostile)
    assert "TOP-SECRET" not in str(refused.value)


def test_converting_pmml_with_an_external_entity_fails_and_writes_nothing(tmp_path, secret):
    hostile = tmp_path / "hostile.pmml"
    hostile.write_text(_with_external_entity(IRIS.read_text(), secret))
    with pytest.raises(JarscoreError, match="DOCTYPE is disallowed") as refused:
        convert(hostile, tmp_path / "out", log=lambda line: None)
    assert "TOP-SECRET" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.pmml", "secret.txt"]


def test_an_artifact_whose_pmml_gained_an_external_entity_is_refused(tmp_path, secret):
    artifact = tmp_path / "iris"
    convert(IRIS, artifact, log=lambda line: None)
    pmml = gzip.decompress((artifact / "model.pmml.gz").read_bytes()).decode()
    (artifact / "model.pmml.gz").write_bytes(gzip.compress(_with_external_entity(pmml, secret).encode()))
    with pytest.raises(ArtifactError, match="model.pmml") as refused:
        Scorer.load(artifact)
    assert "TOP-SECRET" not in str(refused.value)


def _python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


LOAD_IRIS = f"""
    from jarscore.errors import JvmError
    from jarscore.scorer import Scorer
    try:
        Scorer.load({str(IRIS)!r})
        print("loaded")
    except JvmError as exc:
        print(f"JvmError: {{exc}}")
"""


def test_too_old_a_java_is_named_before_the_jvm_starts(tmp_path):
    old = tmp_path / "jdk-11"
    (old / "lib" / "server").mkdir(parents=True)
    (old / "lib" / "server" / "libjvm.so").write_bytes(b"")   # never loaded: refused first
    (old / "release").write_text('JAVA_VERSION="11.0.2"\n')
    done = _python(LOAD_IRIS, {"JAVA_HOME": str(old)})
    assert done.returncode == 0, done.stderr
    assert f"JvmError: Java 11 found at {old}" in done.stdout
    assert "needs Java 17 or newer" in done.stdout and "JAVA_HOME" in done.stdout


def test_missing_runtime_jars_name_the_folder_and_the_fix(tmp_path):
    done = _python(LOAD_IRIS, {"JARSCORE_JVM_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "JvmError:" in done.stdout and str(tmp_path) in done.stdout and "make setup" in done.stdout


def test_pmml_with_a_huge_attribute_is_refused_before_it_is_parsed(tmp_path):
    """A 32 MB attribute: refused by the limits' streaming pass, naming the limit and how to raise it."""
    pmml = IRIS.read_text()
    end = pmml.index("?>") + 2
    hostile = tmp_path / "huge.pmml"
    hostile.write_text(pmml[:end] + pmml[end:].replace("<Header", f'<Header description="{"x" * (32 << 20)}"', 1))
    with pytest.raises(ArtifactError, match=r"over the limit maxAttributeLength = 1048576.*-Djarscore\.pmml\."):
        Scorer.load(hostile)
    with pytest.raises(JarscoreError, match=r"maxAttributeLength"):
        convert(hostile, tmp_path / "out", log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.pmml"]
