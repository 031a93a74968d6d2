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
def registry_sources(tmp_path_factory) -> dict[int, Path]:
    """Two converted versions of one model (tests/registry_models.py), built once for every test file
    that publishes them into repositories; the tests copy them, never change them."""
    from registry_models import build_versions

    return build_versions(tmp_path_factory.mktemp("registry-sources"))
