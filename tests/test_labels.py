"""Version labels (ROOT/<name>/labels.json): read by the rules Java reads them by (the shared cases in
tests/data/labels-cases.json), and followed by the registry at its next poll."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from jarscore.errors import ModelNotServedError, RepositoryError, VersionLoadError
from jarscore.scorer import ModelRegistry, VersionPolicy
from jarscore.scorer.labels import LABELS_FILE, Labels, parse_labels, read_labels
from registry_models import NAME, publish
from zoo import numeric_frame

CASES = json.loads((Path(__file__).parent / "data" / "labels-cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_labels_json_is_read_as_java_reads_it(case):
    if "error" in case:
        with pytest.raises(RepositoryError) as caught:
            parse_labels(case["text"], "labels.json")
        message = str(caught.value)
        assert message.startswith("labels.json: ") and all(part in message for part in case["error"]), message
    else:
        labels = parse_labels(case["text"], "labels.json")
        assert dict(labels.labels) == case["labels"]
        assert {k: list(v) for k, v in labels.history.items()} == case["history"]


def test_history_keeps_earlier_versions_most_recent_first_and_rolls_back(tmp_path):
    labels = Labels().with_label("stable", 1).with_label("stable", 2).with_label("stable", 3)
    assert labels.labels == {"stable": 3} and labels.history == {"stable": (2, 1)}
    back = labels.rolled_back("stable")
    assert back.labels == {"stable": 2} and back.history == {"stable": (1,)}
    assert back.rolled_back("stable").labels == {"stable": 1}
    with pytest.raises(RepositoryError, match="no earlier version"):
        back.rolled_back("stable").rolled_back("stable")
    assert read_labels(tmp_path) == Labels()


def write_labels(root: Path, text: str) -> None:
    """As `jarscore label` writes it: a temporary file in the same folder renamed over labels.json."""
    temporary = root / NAME / ".labels.test.tmp"
    temporary.write_text(text)
    os.replace(temporary, root / NAME / LABELS_FILE)


@pytest.fixture(scope="module")
def row():
    return numeric_frame(rows=1, nan_share=0.0, seed=3)


def assert_serves(registry, version, loaded, row):
    assert registry.versions(NAME) == sorted(loaded)
    assert registry.current_version(NAME) == version
    assert registry.predict(NAME, row).version == version


def test_label_policy_follows_labels_and_ignores_a_missing_version_with_one_report(
        tmp_path, registry_sources, row):
    root = tmp_path / "repo"
    publish(root, 1, registry_sources[1])
    publish(root, 2, registry_sources[2])
    publish(root, 3, registry_sources[1])
    errors = []
    with ModelRegistry(root, VersionPolicy.label("stable")) as registry:
        registry.on_error(errors.append)
        registry.reload()
        assert_serves(registry, 3, [3], row)   # no labels.json yet: the latest
        with pytest.raises(ModelNotServedError, match="no label 'stable'"):
            registry.version_for_label(NAME, "stable")

        write_labels(root, '{"labels": {"stable": 2, "canary": 3}}')
        registry.poll()
        assert_serves(registry, 2, [2, 3], row)
        assert registry.labels(NAME) == {"stable": 2, "canary": 3}
        registry.route(NAME, {"stable": 1, "canary": 1})
        assert {registry.predict(NAME, row, key=f"key-{k}").version for k in range(40)} == {2, 3}

        write_labels(root, '{"labels": {"stable": 1, "canary": 3}}')   # a rollback
        registry.poll()
        assert_serves(registry, 1, [1, 3], row)
        assert {registry.predict(NAME, row, key=f"key-{k}").version for k in range(40)} == {1, 3}

        shutil.rmtree(root / NAME / "2")   # a retire of an unlabelled version
        registry.poll()
        assert_serves(registry, 1, [1, 3], row)
        assert errors == []

        write_labels(root, '{"labels": {"stable": 9, "canary": 3}}')   # edited by hand
        registry.poll()
        registry.poll()
        assert_serves(registry, 1, [1, 3], row)
        assert registry.labels(NAME) == {"stable": 1, "canary": 3}
        assert len(errors) == 1 and isinstance(errors[0], VersionLoadError) and errors[0].version == 9
        assert "label 'stable' names it, but it is not in the repository" in str(errors[0])
        assert "stays at version 1" in str(errors[0])

        publish(root, 9, registry_sources[2])
        registry.poll()
        assert_serves(registry, 9, [3, 9], row)

        write_labels(root, '{"labels": {"stable": "nine"}}')
        registry.poll()
        registry.poll()
        assert_serves(registry, 9, [3, 9], row)
        assert len(errors) == 2 and "'labels.stable' is 'nine'" in str(errors[1])


def test_latest_policy_keeps_labelled_versions_loaded(tmp_path, registry_sources, row):
    root = tmp_path / "repo"
    publish(root, 1, registry_sources[1])
    publish(root, 2, registry_sources[2])
    write_labels(root, '{"labels": {"stable": 1}}')
    with ModelRegistry(root) as registry:
        registry.reload()
        assert_serves(registry, 2, [1, 2], row)
        assert registry.version_for_label(NAME, "stable") == 1
        write_labels(root, '{"labels": {}}')
        registry.poll()
        assert_serves(registry, 2, [2], row)
