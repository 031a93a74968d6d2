"""The bundled demo model's data: synthetic, from a fixed seed, so every run trains the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20261121


def credit_frame(rows: int = 6000, seed: int = SEED) -> tuple[pd.DataFrame, pd.Series]:
    """A small credit-default-like table: numeric features with missing values, one pandas
    categorical, and a binary target that depends on all of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "income": rng.lognormal(10.5, 0.6, rows),
        "debt_ratio": rng.beta(2, 5, rows),
        "age": rng.integers(18, 80, rows).astype(np.float64),
        "late_payments": rng.poisson(0.6, rows).astype(np.float64),
        "region": pd.Categorical(rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1])),
    })
    frame.loc[rng.random(rows) < 0.05, "income"] = np.nan
    frame.loc[rng.random(rows) < 0.03, "debt_ratio"] = np.nan
    logit = (-1.0 + 2.5 * frame["debt_ratio"].fillna(0.3) + 0.6 * frame["late_payments"]
             - 0.3 * (np.log(frame["income"].fillna(30000)) - 10.5) - 0.01 * (frame["age"] - 45)
             + frame["region"].map({"north": 0.0, "south": 0.4, "east": -0.3, "west": 0.2}).astype(float))
    target = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int), name="default")
    return frame, target
