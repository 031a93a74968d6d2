import os
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

# hypothesis's pytest plugin imports hypothesis at the end of the session if no test module did.
# After a run that only exercised the Py4J gateway (tests/test_remote.py alone), CPython 3.11.7 then
# failed to parse it ("AST constructor recursion depth mismatch"); importing it up front avoids that.

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(os.environ.get("JARSCORE_CONFORMANCE_DIR", ROOT / "tests" / "data" / "jpmml-conformance"))


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE / "cases.json").is_file():
        pytest.fail(f"conformance corpus not found at {CONFORMANCE} (it ships in tests/data/jpmml-conformance; "
                    "JARSCORE_CONFORMANCE_DIR overrides it)")
    return CONFORMANCE


@pytest.fixture(scope="session")
def zoo_artifact(tmp_path_factory):
    """name -> (fitted model, held-out rows, artifact folder): each zoo model (tests/zoo.py) trained and
    converted once per test session, for every test that needs it (the parity tests, Spark)."""
    from jarscore.converter import convert
    from zoo import ZOO

    entries = {z.name: z for z in ZOO}
    converted = {}

    def get(name: str):
        if name not in converted:
            model, held_out = entries[name].fitted()
            folder = tmp_path_factory.mktemp("zoo") / name
            convert(model, folder, sample=held_out, name=name, log=lambda line: None).close()
            converted[name] = model, held_out, folder
        return converted[name]

    return get
