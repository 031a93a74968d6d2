import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(os.environ.get("JARSCORE_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance" / "jpmml"))


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE / "cases.json").is_file():
        pytest.fail(f"conformance corpus not found at {CONFORMANCE} (expected ../shared/conformance/jpmml "
                    "beside the checkout, or set JARSCORE_CONFORMANCE_DIR)")
    return CONFORMANCE
