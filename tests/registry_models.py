"""Two versions of one model for the registry tests: LightGBM regressors on the same features with
different trees, so their outputs differ on every row, converted by the real converter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightgbm

from jarscore.converter import convert
from zoo import SEED, numeric_frame, regression

NAME = "price"


def train_versions() -> dict[int, lightgbm.LGBMRegressor]:
    """The native models of version 1 and 2 (fixed seeds: the same trees every time they are trained)."""
    frame = training_frame()
    target = regression(frame)
    return {version: lightgbm.LGBMRegressor(n_estimators=trees, num_leaves=7, verbose=-1, random_state=SEED)
            .fit(frame, target) for version, trees in ((1, 10), (2, 40))}


def training_frame():
    return numeric_frame(rows=600, nan_share=0.05)


def build_versions(folder: Path) -> dict[int, Path]:
    """Converted artifacts of version 1 and 2 under ``folder``, keyed by version."""
    sample = training_frame().head(200)
    sources = {}
    for version, model in train_versions().items():
        out = folder / f"v{version}"
        convert(model, out, sample=sample, name=NAME, version=version, log=lambda line: None).close()
        sources[version] = out
    return sources


def publish(root: Path, version: int, source: Path, name: str = NAME) -> Path:
    """Copies an artifact into ROOT/NAME/VERSION as the converter publishes: a hidden staging
    directory renamed into place. Its manifest says NAME and VERSION, as a conversion to that name and
    version would (a folder whose manifest names another is refused)."""
    model_dir = root / name
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f".partial-{version}"
    shutil.copytree(source, staging)
    rewrite_manifest(staging, lambda manifest: manifest.update(name=name, version=version))
    target = model_dir / str(version)
    staging.rename(target)
    return target


def rewrite_manifest(directory: Path, change) -> None:
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    change(manifest)
    manifest_path.write_text(json.dumps(manifest))
