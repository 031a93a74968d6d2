import os
from pathlib import Path
from types import SimpleNamespace

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


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """A small LightGBM classifier trained once per session: its text model file, held-out rows (CSV),
    and the artifact converted from it, for the tests of the command line and the README."""
    import lightgbm

    from jarscore import convert
    from zoo import binary, numeric_frame

    folder = tmp_path_factory.mktemp("small-model")
    frame = numeric_frame(rows=1000, nan_share=0.05)
    train, held_out = frame.iloc[:600], frame.iloc[600:]
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(train, binary(train))
    model.booster_.save_model(str(folder / "model.txt"))
    held_out.to_csv(folder / "holdout.csv", index=False)
    convert(folder / "model.txt", folder / "artifact", sample=held_out, name="churn", version=1).close()
    return SimpleNamespace(folder=folder, native=model, model_file=folder / "model.txt",
                           holdout=held_out, holdout_csv=folder / "holdout.csv", artifact=folder / "artifact")


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
