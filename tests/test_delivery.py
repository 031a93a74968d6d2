"""publish, label, rollback, retire and promote (jarscore.delivery and their CLI commands), with the
registry following each change within two polls."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from jarscore.cli import PROMOTE_REFUSED, main
from jarscore.delivery import promote, set_labels
from jarscore.scorer import ModelRegistry, VersionPolicy
from jarscore.scorer.artifact import read_artifact
from jarscore.scorer.labels import read_labels
from registry_models import NAME, publish as copy_version
from zoo import numeric_frame, regression


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def versions_in(root):
    return sorted(p.name for p in (root / NAME).iterdir()) if (root / NAME).exists() else []


def test_concurrent_publish_auto_gives_every_process_its_own_complete_version(tmp_path, registry_sources):
    root = tmp_path / "repo"
    root.mkdir()
    processes = [subprocess.Popen([sys.executable, "-m", "jarscore", "publish", str(registry_sources[1 + i % 2]),
                                   "--repository", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(3)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in processes]
    assert all(code == 0 for code, _, _ in results), results
    assert sorted(out.split()[1] for _, out, _ in results) == [str(root / NAME / str(v)) for v in (1, 2, 3)]
    assert versions_in(root) == [".jarscore.lock", "1", "2", "3"], "no staging folder is left"
    for version in (1, 2, 3):
        manifest = read_artifact(root / NAME / str(version), name=NAME, version=version).manifest
        assert manifest["version"] == version


def test_publish_refuses_a_modified_artifact_and_leaves_nothing(tmp_path, registry_sources, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(registry_sources[1], bad)
    jar = bytearray((bad / "model.jar").read_bytes())
    jar[len(jar) // 2] ^= 0x5A
    (bad / "model.jar").write_bytes(bytes(jar))
    root = tmp_path / "repo"
    root.mkdir()
    code, out, err = run_cli(capsys, "publish", str(bad), "--repository", str(root))
    assert code == 1 and out == ""
    assert err.startswith("jarscore publish: error: cannot publish") and "sha256" in err and err.count("\n") == 1
    assert list(root.iterdir()) == []
    code, _, err = run_cli(capsys, "publish", str(registry_sources[1]), "--repository", str(root), "--version", "x")
    assert code == 1 and "version 'x' is not a version" in err and list(root.iterdir()) == []

    abandoned = root / NAME / ".publish-999999999-x"   # left by a publisher that was killed
    abandoned.mkdir(parents=True)
    code, out, _ = run_cli(capsys, "publish", str(registry_sources[1]), "--repository", str(root), "--version", "4")
    assert code == 0 and out.startswith(f"published {root / NAME / '4'}")
    assert versions_in(root) == [".jarscore.lock", "4"]
    code, _, err = run_cli(capsys, "publish", str(registry_sources[2]), "--repository", str(root), "--version", "4")
    assert code == 1 and "version 4 of 'price' is published" in err


def test_label_rollback_and_retire_are_followed_by_the_registry_within_two_polls(tmp_path, registry_sources, capsys):
    root = tmp_path / "repo"
    for version in (1, 2, 3):
        copy_version(root, version, registry_sources[1 + (version + 1) % 2])
    (root / NAME / "5").mkdir()    # being copied: no manifest yet
    rows = numeric_frame(rows=1, seed=3)
    errors = []
    with ModelRegistry(root, VersionPolicy.label("stable")) as registry:
        registry.on_error(errors.append)
        registry.reload()

        def serves(version):
            for _ in range(2):
                if registry.predict(NAME, rows).version == version:
                    return True
                registry.poll()
            return registry.predict(NAME, rows).version == version

        labelled = run_cli(capsys, "label", str(root), NAME, "stable=1", "canary=2")
        assert labelled[:2] == (0, "price labels: canary=2, stable=1\n")
        assert serves(1) and registry.labels(NAME) == {"stable": 1, "canary": 2}
        code, _, err = run_cli(capsys, "label", str(root), NAME, "stable=7")
        assert code == 1 and "version 7 of 'price' is not in the repository" in err
        assert "versions there: 1, 2, 3, 5" in err
        code, _, err = run_cli(capsys, "label", str(root), NAME, "stable=5")
        assert code == 1 and "version 5" in err and "manifest.json is missing" in err
        assert read_labels(root / NAME).labels == {"stable": 1, "canary": 2}, "a refused label changes nothing"

        assert run_cli(capsys, "label", str(root), NAME, "stable=2")[0] == 0
        assert serves(2)
        code, out, _ = run_cli(capsys, "rollback", str(root), NAME)
        assert code == 0 and out == "price: 'stable' rolled back from version 2 to 1\n"
        assert serves(1)
        code, _, err = run_cli(capsys, "rollback", str(root), NAME)
        assert code == 1 and "label 'stable' has no earlier version" in err

        assert run_cli(capsys, "label", str(root), NAME, "stable=3", "--remove", "canary")[0] == 0
        assert read_labels(root / NAME).history == {"stable": (1,)}
        (root / NAME / "5").rmdir()
        code, out, _ = run_cli(capsys, "retire", str(root), NAME, "--keep", "0")
        assert code == 0 and out == "price: retired versions 1, 2\n", "never the labelled version 3"
        assert versions_in(root) == [".jarscore.lock", "3", "labels.json"]
        assert read_labels(root / NAME).history.get("stable", ()) == (), "retired versions leave the history"
        assert serves(3) and registry.versions(NAME) == [3]
        assert run_cli(capsys, "retire", str(root), NAME, "--keep", "1")[1] == "price: nothing to retire\n"
    assert errors == []


def test_concurrent_label_commands_lose_no_change(tmp_path, registry_sources):
    root = tmp_path / "repo"
    copy_version(root, 1, registry_sources[1])
    threads = [threading.Thread(target=set_labels, args=(root, NAME, {f"label{i}": 1})) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read_labels(root / NAME).labels == {f"label{i}": 1 for i in range(8)}
    assert json.loads((root / NAME / "labels.json").read_text())["labels"]["label0"] == 1


def test_the_gate_refuses_a_worse_candidate_and_promotes_a_better_one(tmp_path, registry_sources, capsys):
    root = tmp_path / "repo"
    copy_version(root, 1, registry_sources[1])    # 10 trees
    copy_version(root, 2, registry_sources[2])    # 40 trees: closer to the target
    holdout = numeric_frame(rows=300, nan_share=0.05, seed=77)
    holdout["y"] = regression(holdout)
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    set_labels(root, NAME, {"stable": 2, "canary": 1})

    code, out, err = run_cli(capsys, "promote", str(root), NAME, "--holdout", str(tmp_path / "holdout.csv"),
                             "--metric", "rmse", "--target", "y")
    assert code == PROMOTE_REFUSED and err == "", err
    assert "stable    v2: " in out and "candidate v1: " in out and "agreement: largest difference" in out
    assert "not promoted: v1 is worse than v2 by" in out
    assert read_labels(root / NAME).labels["stable"] == 2

    set_labels(root, NAME, {"stable": 1, "canary": 2})
    gate = promote(root, NAME, holdout=tmp_path / "holdout.csv", metric="rmse", target="y")
    assert gate.promoted and gate.candidate_metric < gate.stable_metric
    assert read_labels(root / NAME).labels["stable"] == 2 and read_labels(root / NAME).history["stable"] == (1, 2)
    expected = {v: np.sqrt(np.mean((holdout["y"] - predictions(root, v, holdout)) ** 2)) for v in (1, 2)}
    assert gate.stable_metric == pytest.approx(expected[1]) and gate.candidate_metric == pytest.approx(expected[2])

    set_labels(root, NAME, {"stable": 2, "canary": 1})   # a worse candidate within the allowed regression
    allowed = gate.stable_metric - gate.candidate_metric + 1e-9
    assert promote(root, NAME, holdout=tmp_path / "holdout.csv", metric="rmse", target="y",
                   max_regression=allowed * 2).promoted
    code, _, err = run_cli(capsys, "promote", str(root), NAME, "--holdout", str(tmp_path / "holdout.csv"),
                           "--metric", "roc_auc", "--target", "y")
    assert code == 1 and "--metric roc_auc needs a classifier" in err


def predictions(root, version, frame):
    from jarscore.scorer import Scorer

    with Scorer.load(root / NAME / str(version)) as scorer:
        return scorer.predict(frame)
