"""The model zoo: every family x task the parity tests cover, trained from fixed seeds on synthetic
data with missing values, split into training rows and held-out rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import lightgbm
import numpy as np
import pandas as pd
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

SEED = 7


def numeric_frame(rows=1200, features=6, nan_share=0.0, seed=SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    if nan_share:
        frame = frame.mask(rng.random(frame.shape) < nan_share)
    return frame


def _score(frame: pd.DataFrame) -> pd.Series:
    filled = frame[["f0", "f1", "f2", "f3"]].fillna(0.0)
    return 1.5 * filled["f0"] - filled["f1"] + 0.5 * filled["f2"] * filled["f3"]


def binary(frame):
    return (_score(frame) > 0).astype(int)


def multiclass(frame):
    return pd.cut(_score(frame), [-np.inf, -1, 1, np.inf], labels=False).astype(int)


def regression(frame):
    return _score(frame) + 0.1 * np.random.default_rng(SEED).normal(size=len(frame))


def categorical_frame(rows=1200, seed=SEED) -> pd.DataFrame:
    frame = numeric_frame(rows, 4, 0.05, seed)
    rng = np.random.default_rng(seed + 1)
    frame["colour"] = pd.Categorical(rng.choice(["red", "green", "blue", "grey"], rows))
    return frame


def categorical_target(frame):
    return _score(frame) + frame["colour"].map({"red": 2.0, "green": -1.0, "blue": 0.5, "grey": 0.0}).astype(float)


def mixed_frame(rows=1200, seed=SEED) -> pd.DataFrame:
    frame = numeric_frame(rows, 4, 0.05, seed)
    rng = np.random.default_rng(seed + 2)
    frame["city"] = rng.choice(["paris", "oslo", "rome"], rows).astype(object)
    frame.loc[rng.random(rows) < 0.05, "city"] = np.nan
    return frame


def mixed_target(frame):
    city = frame["city"].map({"paris": 1.0, "oslo": -1.0, "rome": 0.0}).fillna(0.0)
    return ((_score(frame) + city) > 0).astype(int)


def pipeline():
    numeric = ["f0", "f1", "f2", "f3"]
    return Pipeline([
        ("prepare", ColumnTransformer([
            ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            ("city", Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("onehot", OneHotEncoder())]), ["city"]),
        ])),
        ("model", LogisticRegression(max_iter=1000)),
    ])


@dataclass(frozen=True)
class ZooModel:
    name: str
    make: Callable[[], object]
    frame: Callable[[], pd.DataFrame]
    target: Callable[[pd.DataFrame], pd.Series]
    task: str

    def split(self):
        frame = self.frame()
        y = self.target(frame)
        cut = int(len(frame) * 0.75)
        return frame.iloc[:cut], y.iloc[:cut], frame.iloc[cut:], y.iloc[cut:]

    def fitted(self):
        X_train, y_train, X_held, _ = self.split()
        return self.make().fit(X_train, y_train), X_held


LGBM = dict(n_estimators=60, num_leaves=15, verbose=-1, random_state=SEED)
# lgbm500's shape, smaller: deep leaf-wise trees of 31 leaves, which the kernel scans (LeafScan)
LGBM_LEAFWISE = dict(n_estimators=150, num_leaves=31, verbose=-1, random_state=SEED)
XGB = dict(n_estimators=60, max_depth=4, random_state=SEED)
nan_frame = lambda: numeric_frame(nan_share=0.05)  # noqa: E731
plain_frame = lambda: numeric_frame()  # noqa: E731

ZOO = [
    ZooModel("lightgbm-binary", lambda: lightgbm.LGBMClassifier(**LGBM), nan_frame, binary, "classification"),
    ZooModel("lightgbm-leafwise", lambda: lightgbm.LGBMClassifier(**LGBM_LEAFWISE), nan_frame, binary, "classification"),
    ZooModel("lightgbm-multiclass", lambda: lightgbm.LGBMClassifier(**LGBM), nan_frame, multiclass, "classification"),
    ZooModel("lightgbm-regression", lambda: lightgbm.LGBMRegressor(**LGBM), nan_frame, regression, "regression"),
    ZooModel("lightgbm-categorical", lambda: lightgbm.LGBMRegressor(**LGBM), categorical_frame, categorical_target, "regression"),
    ZooModel("xgboost-binary", lambda: xgboost.XGBClassifier(**XGB), nan_frame, binary, "classification"),
    ZooModel("xgboost-multiclass", lambda: xgboost.XGBClassifier(**XGB), nan_frame, multiclass, "classification"),
    ZooModel("xgboost-regression", lambda: xgboost.XGBRegressor(**XGB), nan_frame, regression, "regression"),
    ZooModel("sklearn-decision-tree", lambda: DecisionTreeClassifier(max_depth=6, random_state=SEED), plain_frame, multiclass, "classification"),
    ZooModel("sklearn-random-forest", lambda: RandomForestClassifier(n_estimators=30, max_depth=8, random_state=SEED), plain_frame, binary, "classification"),
    ZooModel("sklearn-gradient-boosting", lambda: GradientBoostingClassifier(n_estimators=40, random_state=SEED), plain_frame, multiclass, "classification"),
    ZooModel("sklearn-logistic-regression", lambda: LogisticRegression(max_iter=1000), plain_frame, multiclass, "classification"),
    ZooModel("sklearn-linear-regression", LinearRegression, plain_frame, regression, "regression"),
    ZooModel("sklearn-pipeline", pipeline, mixed_frame, mixed_target, "classification"),
]
