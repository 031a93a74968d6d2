"""An artifact is whole or refused: every file's size and sha256 against the manifest, the manifest's
name and version against the repository folder, the recorded verification outputs; and a version
refused while it was being copied serves once the copy finishes, whatever the copy's file order."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jarscore import ModelRegistry, Scorer
from jarscore.errors import ArtifactError, VersionLoadError
from jarscore.scorer import registry as registry_module
from jarscore.scorer.artifact import sha256_of
from registry_models import NAME, publish, rewrite_manifest
from zoo import numeric_frame

PMML = "model.pmml.gz"
FILES = ("manifest.json", "model.jar", PMML)


@pytest.fixture(scope="module")
def sources(registry_sources):
    return registry_sources


@pytest.fixture(scope="module")
def rows():
    return numeric_frame(rows=40, nan_share=0.05, seed=5)


@pytest.fixture
def errors():
    return []


@pytest.fixture
def registry(tmp_path, errors):
    (tmp_path / "repo").mkdir()
    registry = ModelRegistry(tmp_path / "repo")
    registry.on_error(errors.append)
    yield registry
    registry.close()


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_a_changed_pmml_is_refused_by_scorer_load(sources, tmp_path):
    copy = _copy(sources[1], tmp_path / "copy")
    pmml = gzip.decompress((copy / PMML).read_bytes()).decode()
    threshold = pmml.index('value="', pmml.index("<SimplePredicate")) + len('value="')
    (copy / PMML).write_bytes(gzip.compress((pmml[:threshold] + "1" + pmml[threshold:]).encode()))   # one split moves
    with pytest.raises(ArtifactError, match=r"model\.pmml\.gz does not match its manifest"):
        Scorer.load(copy)


def test_a_file_the_manifest_lists_must_be_there(sources, tmp_path):
    copy = _copy(sources[1], tmp_path / "copy")
    (copy / PMML).unlink()
    with pytest.raises(ArtifactError, match=r"model\.pmml\.gz is missing; the artifact is incomplete"):
        Scorer.load(copy)


def _nudge_recorded_outputs(manifest):
    """Every recorded number 1e-10 relative away: within the 1e-9 a whole model is held to, beyond the
    1e-12 a kernel is, like a format 1 output of the transpiled classes an ulp from the kernel's."""
    for output in manifest["verification"]["outputs"]:
        output.update({k: v * (1 + 1e-10) for k, v in output.items() if isinstance(v, float)})


def test_a_format_1_artifact_with_a_plain_pmml_still_loads(sources, tmp_path, rows):
    copy = _copy(sources[1], tmp_path / "copy")
    plain = copy / "model.pmml"
    plain.write_bytes(gzip.decompress((copy / PMML).read_bytes()))
    (copy / PMML).unlink()

    def as_format_1(manifest):
        manifest["format"] = 1
        del manifest["files"][PMML]
        manifest["files"]["model.pmml"] = {"sha256": sha256_of(plain), "bytes": plain.stat().st_size}
        _nudge_recorded_outputs(manifest)

    rewrite_manifest(copy, as_format_1)
    with Scorer.load(copy) as old, Scorer.load(sources[1]) as new:
        assert old.kernel == "active"   # checked against JPMML interpreting model.pmml
        assert np.array_equal(old.predict(rows), new.predict(rows))
    rewrite_manifest(copy, lambda m: m.update(format=3))
    with pytest.raises(ArtifactError, match=r"unsupported manifest \(expected format 1 or 2, got 3\)"):
        Scorer.load(copy)


def test_a_format_2_kernel_is_checked_against_the_recorded_outputs(sources, tmp_path):
    copy = _copy(sources[1], tmp_path / "copy")
    rewrite_manifest(copy, _nudge_recorded_outputs)
    with Scorer.load(copy) as nudged:
        assert nudged.kernel.startswith("refused: "), nudged.kernel


def test_a_pmml_gz_loads_on_its_own(sources):
    with Scorer.load(sources[1] / PMML) as interpreted:
        assert interpreted.engine == "pmml"


def test_a_manifest_that_lists_a_path_outside_the_artifact_is_refused(sources, tmp_path):
    copy = _copy(sources[1], tmp_path / "copy")
    rewrite_manifest(copy, lambda m: m["files"].update({"../secret": {"sha256": "0" * 64, "bytes": 1}}))
    with pytest.raises(ArtifactError, match=r"names '\.\./secret', which is not a file of the artifact"):
        Scorer.load(copy)


def test_scorer_load_checks_the_recorded_verification_outputs(sources, tmp_path):
    copy = _copy(sources[1], tmp_path / "copy")

    def shift(manifest):
        for outputs in manifest["verification"]["outputs"]:
            for field in outputs:
                outputs[field] += 0.5

    rewrite_manifest(copy, shift)
    with pytest.raises(ArtifactError, match=r"verification row 0: .* the manifest recorded"):
        Scorer.load(copy)


def test_a_copy_of_another_version_is_refused(registry, sources, errors, rows):
    root = registry.repository.root
    publish(root, 1, sources[1])
    shutil.copytree(sources[1], root / NAME / "2")   # v1's files, manifest and all, as version 2
    registry.reload()
    assert registry.versions(NAME) == [1]
    assert len(errors) == 1 and isinstance(errors[0], VersionLoadError) and errors[0].version == 2
    assert "says version 1, but the folder holds version 2" in str(errors[0])


def _write_in_chunks(source: Path, target: Path, registry: ModelRegistry, chunks: int = 3) -> None:
    data = source.read_bytes()
    with open(target, "wb") as out:
        for i in range(chunks):
            out.write(data[i * len(data) // chunks:(i + 1) * len(data) // chunks])
            out.flush()
            registry.poll()


COPY_ORDERS = {
    "manifest first (cp, rsync), pmml last in chunks": ("manifest.json", "model.jar", PMML),
    "jar first": ("model.jar", PMML, "manifest.json"),
    "pmml first": (PMML, "manifest.json", "model.jar"),
}


@pytest.mark.parametrize("order", list(COPY_ORDERS))
def test_a_version_copied_in_any_order_serves_within_two_polls_of_the_copy_finishing(
        registry, sources, rows, order):
    root = registry.repository.root
    publish(root, 1, sources[1])
    registry.poll()
    source = root / NAME / ".source-2"
    publish(root, 2, sources[2]).rename(source)   # v2 with its manifest saying 2, to copy from
    target = root / NAME / "2"
    target.mkdir()
    for name in COPY_ORDERS[order]:
        _write_in_chunks(source / name, target / name, registry)
        assert registry.versions(NAME) in ([1], [2])
    shutil.rmtree(source)
    registry.poll()
    registry.poll()
    assert registry.versions(NAME) == [2], f"copied {order}: still serving {registry.versions(NAME)}"
    assert registry.predict(NAME, rows).version == 2


def test_a_file_truncated_then_completed_serves(registry, sources):
    root = registry.repository.root
    target = publish(root, 2, sources[2])
    jar = (target / "model.jar").read_bytes()
    (target / "model.jar").write_bytes(jar[: len(jar) // 3])
    registry.poll()
    assert registry.versions(NAME) == []
    (target / "model.jar").write_bytes(jar)
    registry.poll()
    registry.poll()
    assert registry.versions(NAME) == [2]


def test_an_unchanged_refusal_is_reported_once_and_retried_after_a_back_off(registry, sources, errors, monkeypatch):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    asked = []
    allow = []

    @registry.before_swap
    def only_when_allowed(candidate):
        asked.append(candidate.version)
        return candidate.version != 2 or bool(allow)

    registry.poll()
    assert registry.versions(NAME) == [1] and asked.count(2) == 1 and len(errors) == 1
    for _ in range(3):
        registry.poll()
    assert asked.count(2) == 1, "an unchanged refused version waits for its back-off"

    clock = registry_module.time.monotonic() + registry_module._RETRY_FIRST_SECONDS + 1
    monkeypatch.setattr(registry_module.time, "monotonic", lambda: clock)
    registry.poll()
    assert asked.count(2) == 2, "tried again once the back-off passed"
    assert len(errors) == 1, "the same refusal of the same unchanged folder is reported once"
    refusal = registry._refused[root / NAME / "2"]
    assert refusal.delay == 2 * registry_module._RETRY_FIRST_SECONDS, "the back-off doubles"

    registry.reload()
    assert asked.count(2) == 3, "reload() tries refused versions again"
    allow.append(True)
    registry.reload()
    assert registry.versions(NAME) == [2] and len(errors) == 1
    assert registry.metrics()["models"][NAME]["load_errors"] == 1


def test_every_file_of_the_folder_counts_for_a_retry(registry, sources, errors):
    root = registry.repository.root
    target = publish(root, 2, sources[2])
    manifest = json.loads((target / "manifest.json").read_text())
    (target / PMML).write_bytes(b"")           # refused: 0 bytes
    registry.poll()
    assert registry.versions(NAME) == [] and len(errors) == 1
    (target / PMML).write_bytes((sources[2] / PMML).read_bytes())   # only the pmml changes
    registry.poll()
    assert registry.versions(NAME) == [2]
    assert manifest["files"][PMML]["bytes"] == (target / PMML).stat().st_size
    assert np.isfinite(registry.predict(NAME, numeric_frame(rows=3, seed=1)).values).all()


class _Answers:
    """Stands in for a loaded model in the comparison rule's own test: evaluate() returns fixed outputs."""

    def __init__(self, **columns):
        import pandas as pd

        self.frame = pd.DataFrame(columns)

    def evaluate(self, rows):
        return self.frame


def test_float32_outputs_may_differ_by_an_ulp_double_outputs_may_not():
    from jarscore.scorer.verification import check_recorded_outputs

    recorded = 0.37795770168304443             # a float32 value, as XGBoost's PMML computes
    next_down = float(np.nextafter(np.float32(recorded), np.float32(0)))   # one float32 ulp below
    manifest = {"outputs": [{"name": "p", "data_type": "float"}, {"name": "q", "data_type": "double"}],
                "verification": {"rows": [{"x": 1.0}], "outputs": [{"p": recorded, "q": 0.5}]}}
    check_recorded_outputs(_Answers(p=[next_down], q=[0.5]), manifest, "float32")
    manifest["verification"]["outputs"] = [{"p": 0.5, "q": recorded}]
    with pytest.raises(ArtifactError, match=r"verification row 0: 'q'"):
        check_recorded_outputs(_Answers(p=[0.5], q=[next_down]), manifest, "double")
    manifest["verification"]["outputs"] = [{"p": recorded, "q": 0.5}]
    with pytest.raises(ArtifactError, match=r"verification row 0: 'p'"):
        check_recorded_outputs(_Answers(p=[recorded * (1 + 1e-5)], q=[0.5]), manifest, "far")
