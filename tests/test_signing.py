"""Signed artifacts (docs/artifact-format.md, "Signature"): keygen, convert --sign and sign write
Ed25519 signatures that Python and Java check alike; with trusted keys configured an unsigned,
tampered or foreign-signed artifact is refused before any class of it loads. The fixtures in
tests/data/signing (regenerate.py) are the ones JUnit's SignedArtifactTest reads."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jarscore import ModelRegistry, Scorer
from jarscore.errors import KeyFileError, SignatureError, VersionLoadError
from jarscore.scorer import jvm
from jarscore.scorer.signing import generate_key_pair

SIGNING = Path(__file__).resolve().parent / "data" / "signing"
SPEC = json.loads((SIGNING / "cases.json").read_text())
TEST_PUB, TEST_KEY, OTHER_PUB = SIGNING / "keys" / "test.pub", SIGNING / "keys" / "test.key", SIGNING / "keys" / "other.pub"
IRIS_ROWS = [{"Sepal.Length": 6.3, "Petal.Length": 4.9, "Petal.Width": 1.8},
             {"Sepal.Length": 5.0, "Petal.Length": 1.4, "Petal.Width": 0.2}]


def jarscore(*args, env=None):
    return subprocess.run([sys.executable, "-m", "jarscore", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _keys(case) -> list[Path]:
    return [SIGNING / SPEC["keys"][name] for name in case["trusted"]]


@pytest.mark.parametrize("case", SPEC["cases"], ids=[c["case"] for c in SPEC["cases"]])
def test_the_shared_cases_in_python(case):
    artifact = SIGNING / case["artifact"]
    if case["refused"] is None:
        with Scorer.load(artifact, trusted_keys=_keys(case)) as scorer:
            assert list(scorer.predict(pd.DataFrame(IRIS_ROWS))) == ["virginica", "setosa"]
    else:
        with pytest.raises(SignatureError) as refused:
            Scorer.load(artifact, trusted_keys=_keys(case))
        assert f"artifact {artifact} is refused: " in str(refused.value)
        assert case["refused"] in str(refused.value)
    # Without trusted keys, sizes and sha256 are all that is checked: every fixture loads, the one
    # whose model.pmml changed and whose manifest was fixed up to match included.
    with Scorer.load(artifact, trusted_keys=[]) as scorer:
        assert scorer.name == "iris"


def test_a_signature_made_now_in_python_is_checked_by_java(tmp_path):
    """``jarscore sign`` signs; Java's Models.load with TrustedKeys accepts it, and refuses it once
    the manifest changes (the shared cases run in JUnit as well)."""
    private, public, key_id = generate_key_pair(tmp_path / "keys")
    artifact = shutil.copytree(SIGNING / "tampered" / "unsigned", tmp_path / "iris")
    signed = jarscore("sign", str(artifact), "--key", str(private))
    assert signed.returncode == 0 and f"with key {key_id}" in signed.stdout, signed.stderr

    Models, TrustedKeys = jvm.jclass("io.jarscore.Models"), jvm.jclass("io.jarscore.registry.TrustedKeys")
    Path_ = jvm.jclass("java.nio.file.Path")
    trusted = TrustedKeys.of(jvm.jclass("java.util.List").of(Path_.of(str(public), [])))
    assert set(map(str, trusted.keyIds())) == {key_id}
    model = Models.load(Path_.of(str(artifact), []), trusted)
    assert str(model.name()) == "iris"
    model.close()

    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["version"] = 1   # the same content, written anew: other bytes than the ones signed
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match=r"ArtifactSignatureException.*does not match manifest\.json"):
        Models.load(Path_.of(str(artifact), []), trusted)
    with pytest.raises(SignatureError, match=r"does not match manifest\.json"):
        Scorer.load(artifact, trusted_keys=[public])


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path):
    made = jarscore("keygen", "--out", str(tmp_path / "keys"), "--name", "ops")
    assert made.returncode == 0, made.stderr
    private, public = tmp_path / "keys" / "ops.key", tmp_path / "keys" / "ops.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = jarscore("keygen", "--out", str(tmp_path / "keys"), "--name", "ops")
    assert again.returncode == 1 and again.stderr.count("\n") == 1, again.stderr
    assert "already exists; keygen never overwrites a key" in again.stderr


@pytest.fixture(scope="module")
def converted_signed(tmp_path_factory):
    """The format 1 fixture's PMML converted now by ``jarscore convert --sign``: a signed format 2
    artifact (model.pmml.gz), its key pair and the convert run."""
    folder = tmp_path_factory.mktemp("converted")
    private, public, key_id = generate_key_pair(folder / "keys")
    pmml = SIGNING / "repo" / "iris" / "1" / "model.pmml"
    converted = jarscore("convert", str(pmml), "--out", str(folder / "art"), "--sign", str(private))
    assert converted.returncode == 0, converted.stderr
    return folder / "art", public, key_id, converted


def test_convert_signs_and_score_checks_the_signature(converted_signed, tmp_path):
    artifact, public, key_id, converted = converted_signed
    assert f"signed with key {key_id}" in converted.stderr
    assert json.loads((artifact / "signature.json").read_text())["key_id"] == key_id
    assert json.loads((artifact / "manifest.json").read_text())["format"] == 2

    rows = tmp_path / "rows.csv"
    rows.write_text("Sepal.Length,Petal.Length,Petal.Width\n6.3,4.9,1.8\n")
    scored = jarscore("score", str(artifact), "--input", str(rows), "--output", str(tmp_path / "out.csv"),
                      "--trusted-key", str(public))
    assert scored.returncode == 0, scored.stderr
    refused = jarscore("score", str(artifact), "--input", str(rows), "--output", str(tmp_path / "no.csv"),
                       "--trusted-key", str(OTHER_PUB))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "which is not one of the trusted keys" in refused.stderr and not (tmp_path / "no.csv").exists()

    pmml = SIGNING / "repo" / "iris" / "1" / "model.pmml"
    not_a_private_key = jarscore("convert", str(pmml), "--out", str(tmp_path / "x"), "--sign", str(public))
    assert not_a_private_key.returncode == 1, not_a_private_key.stderr
    assert f"signing key {public} is not an unencrypted PEM private key" in not_a_private_key.stderr
    assert not (tmp_path / "x").exists()


def test_a_signature_covers_model_pmml_gz_in_python_and_java(converted_signed, tmp_path):
    """The format 2 form of the shared case "model.pmml changed and its hash fixed up": one split of
    model.pmml.gz moves and the manifest is fixed up to match; both languages refuse it with the key,
    and load it without (sizes and sha256 are all that is checked then). Converted without a sample,
    the artifact records no verification rows, so its kernel stays unchecked and JPMML-Evaluator
    interprets model.pmml.gz: the moved split shows in the answers."""
    signed, public, _, _ = converted_signed
    artifact = shutil.copytree(signed, tmp_path / "iris")
    packed = artifact / "model.pmml.gz"
    pmml = gzip.decompress(packed.read_bytes()).decode()
    changed = pmml.replace('value="1.75"', 'value="1.85"', 1)
    assert changed != pmml, "the threshold to change is not in the PMML"
    packed.write_bytes(gzip.compress(changed.encode()))
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["files"]["model.pmml.gz"] = {"sha256": hashlib.sha256(packed.read_bytes()).hexdigest(),
                                          "bytes": packed.stat().st_size}
    (artifact / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    with pytest.raises(SignatureError, match=r"does not match manifest\.json"):
        Scorer.load(artifact, trusted_keys=[public])
    Models, TrustedKeys = jvm.jclass("io.jarscore.Models"), jvm.jclass("io.jarscore.registry.TrustedKeys")
    Path_ = jvm.jclass("java.nio.file.Path")
    trusted = TrustedKeys.of(jvm.jclass("java.util.List").of(Path_.of(str(public), [])))
    with pytest.raises(Exception, match=r"ArtifactSignatureException.*does not match manifest\.json"):
        Models.load(Path_.of(str(artifact), []), trusted)
    with Scorer.load(artifact, trusted_keys=[]) as scorer:
        assert scorer.kernel.startswith("unverified")
        # petal width 1.8 passed the split at 1.75 (virginica), and falls short of it at 1.85
        assert list(scorer.predict(pd.DataFrame(IRIS_ROWS))) == ["versicolor", "setosa"]
    with Scorer.load(signed, trusted_keys=[public]) as scorer:
        assert list(scorer.predict(pd.DataFrame(IRIS_ROWS))) == ["virginica", "setosa"]


def test_sign_refuses_an_artifact_whose_files_do_not_match_its_manifest(tmp_path):
    artifact = shutil.copytree(SIGNING / "tampered" / "unsigned", tmp_path / "iris")
    with open(artifact / "model.pmml", "a") as out:
        out.write("<!-- changed -->")
    refused = jarscore("sign", str(artifact), "--key", str(TEST_KEY))
    assert refused.returncode == 1 and "model.pmml does not match its manifest" in refused.stderr, refused.stderr
    assert not (artifact / "signature.json").exists()


def test_a_registry_with_trusted_keys_serves_a_version_once_it_is_signed(tmp_path):
    version = shutil.copytree(SIGNING / "tampered" / "unsigned", tmp_path / "repo" / "iris" / "1")
    errors = []
    with ModelRegistry(tmp_path / "repo", trusted_keys=[TEST_PUB]) as registry:
        registry.on_error(errors.append)
        registry.reload()
        assert registry.versions("iris") == [] and len(errors) == 1
        assert isinstance(errors[0], VersionLoadError) and "it is not signed" in str(errors[0])
        assert jarscore("sign", str(version), "--key", str(TEST_KEY)).returncode == 0
        registry.poll()   # signature.json changed the folder: tried again at once
        assert registry.versions("iris") == [1]
        assert registry.predict("iris", pd.DataFrame(IRIS_ROWS)).version == 1


def test_trusted_keys_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JARSCORE_TRUSTED_KEYS", f"{OTHER_PUB},{TEST_PUB}")
    Scorer.load(SIGNING / "repo" / "iris" / "1").close()
    with pytest.raises(SignatureError, match="it is not signed"):
        Scorer.load(SIGNING / "tampered" / "unsigned")
    with pytest.raises(SignatureError, match="only a signed artifact directory"):
        Scorer.load(SIGNING / "repo" / "iris" / "1" / "model.pmml")
    Scorer.load(SIGNING / "tampered" / "unsigned", trusted_keys=[]).close()   # an explicit empty list: no check
    monkeypatch.setenv("JARSCORE_TRUSTED_KEYS", str(tmp_path / "missing.pub"))
    with pytest.raises(KeyFileError, match=r"cannot read trusted key .*missing\.pub"):
        Scorer.load(SIGNING / "repo" / "iris" / "1")


def test_publish_keeps_a_signature_or_signs_the_new_manifest_never_drops_it(tmp_path):
    from jarscore import publish
    from jarscore.errors import RepositoryError

    signed = SIGNING / "repo" / "iris" / "1"          # signed for iris version 1
    repo = tmp_path / "repo"
    repo.mkdir()
    first = publish(signed, repo)                      # as the version it was signed for: the signature stays
    assert (first / "signature.json").read_bytes() == (signed / "signature.json").read_bytes()
    with pytest.raises(RepositoryError, match="signed for iris version 1.*--sign KEY"):
        publish(signed, repo)                          # version 2 would need a new signature
    assert sorted(p.name for p in (repo / "iris").iterdir() if not p.name.startswith(".")) == ["1"]
    second = publish(signed, repo, sign_key=TEST_KEY)
    assert second.name == "2"
    with Scorer.load(second, trusted_keys=[TEST_PUB]) as scorer:
        assert scorer.version == 2
    with pytest.raises(SignatureError):
        Scorer.load(second, trusted_keys=[OTHER_PUB])
