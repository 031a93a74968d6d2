"""Regenerates the signing fixtures shared by pytest (tests/test_signing.py) and JUnit
(io.jarscore.registry.SignedArtifactTest, io.jarscore.kafka.AppConfigTest): a test key pair, a
second public key that is not trusted, a tiny signed artifact, tampered copies of it, and
cases.json, what a loader must do with each.

    .venv/bin/python tests/data/signing/regenerate.py     (from the repository's root)

Everything here is made anew on each run (new keys, new signatures): never edit it by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

# What every loader does with each fixture artifact (cases.json): "refused" is a phrase of the error
# both languages raise, null when it loads. Without trusted keys every one of them loads.
CASES = [
    {"case": "signed by the trusted key", "artifact": "repo/iris/1", "trusted": ["test"], "refused": None},
    {"case": "signed by one of the trusted keys", "artifact": "repo/iris/1", "trusted": ["other", "test"],
     "refused": None},
    {"case": "signed by a key that is not trusted", "artifact": "repo/iris/1", "trusted": ["other"],
     "refused": "which is not one of the trusted keys"},
    {"case": "unsigned", "artifact": "tampered/unsigned", "trusted": ["test"], "refused": "it is not signed"},
    {"case": "manifest changed after signing", "artifact": "tampered/manifest-changed", "trusted": ["test"],
     "refused": "does not match manifest.json"},
    {"case": "model.pmml changed and its hash fixed up", "artifact": "tampered/pmml-rehashed",
     "trusted": ["test"], "refused": "does not match manifest.json"},
    {"case": "signature bytes changed", "artifact": "tampered/signature-changed", "trusted": ["test"],
     "refused": "does not match manifest.json"},
    {"case": "signature.json without a key id", "artifact": "tampered/signature-malformed", "trusted": ["test"],
     "refused": "has no key_id"},
]
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PMML = Path("tests/data/jpmml-conformance/pmml/DecisionTreeIris.pmml")   # relative: the manifest records it
ROWS = Path("tests/data/jpmml-conformance/csv/Iris.csv")


def main() -> int:
    os.chdir(ROOT)
    from jarscore import convert
    from jarscore.scorer.signing import generate_key_pair

    for stale in ("keys", "repo", "tampered"):
        shutil.rmtree(HERE / stale, ignore_errors=True)
    generate_key_pair(HERE / "keys", "test")
    other_key, _, _ = generate_key_pair(HERE / "keys", "other")
    other_key.unlink()   # only its public half is used: a key nobody signed these artifacts with

    signed = HERE / "repo" / "iris" / "1"
    sample = pd.read_csv(ROWS).drop(columns=["Species"]).iloc[::5]
    convert(PMML, signed, sample=sample, name="iris", version=1,
            sign_key=HERE / "keys" / "test.key", log=print).close()

    tampered = HERE / "tampered"
    unsigned = _copy(signed, tampered / "unsigned")
    (unsigned / "signature.json").unlink()

    manifest_changed = _copy(signed, tampered / "manifest-changed")
    manifest = json.loads((manifest_changed / "manifest.json").read_text())
    manifest["created"] = "2000-01-01T00:00:00+00:00"
    (manifest_changed / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    # The attack a checksum alone does not stop: a changed split threshold in model.pmml, its size and
    # sha256 fixed up in the manifest. Without trusted keys this artifact loads.
    rehashed = _copy(signed, tampered / "pmml-rehashed")
    pmml = (rehashed / "model.pmml").read_text()
    changed = pmml.replace('value="1.75"', 'value="1.85"', 1)
    assert changed != pmml, "the threshold to change is not in the PMML"
    (rehashed / "model.pmml").write_text(changed)
    manifest = json.loads((rehashed / "manifest.json").read_text())
    manifest["files"]["model.pmml"] = {"sha256": hashlib.sha256(changed.encode()).hexdigest(),
                                       "bytes": len(changed.encode())}
    (rehashed / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    signature_changed = _copy(signed, tampered / "signature-changed")
    entry = json.loads((signature_changed / "signature.json").read_text())
    raw = bytearray(base64.b64decode(entry["signature"]))
    raw[0] ^= 1
    entry["signature"] = base64.b64encode(bytes(raw)).decode()
    (signature_changed / "signature.json").write_text(json.dumps(entry, indent=2) + "\n")

    malformed = _copy(signed, tampered / "signature-malformed")
    entry = json.loads((malformed / "signature.json").read_text())
    del entry["key_id"]
    (malformed / "signature.json").write_text(json.dumps(entry, indent=2) + "\n")
    keys = {"test": "keys/test.pub", "other": "keys/other.pub"}
    (HERE / "cases.json").write_text(json.dumps({"keys": keys, "cases": CASES}, indent=2) + "\n")
    print(f"wrote {HERE}")
    return 0


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


if __name__ == "__main__":
    sys.exit(main())
