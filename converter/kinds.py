"""The one table of model kinds jarscore converts, and the parity tolerance of each family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jarscore.errors import ConversionError

# Parity tolerances, |jarscore - native| <= tol * (1 + |native|), per family:
# - double precision: the PMML computes in doubles like the native library; only summation order
#   differs, so agreement to ~1e-12 is normal and 1e-9 leaves headroom.
# - XGBoost computes in float32 (PMML x-mathContext="float"); float32 carries ~7 significant digits.
DOUBLE_TOLERANCE = 1e-9
FLOAT32_TOLERANCE = 1e-5
# A PMML file has no native model; its JAR is compared with JPMML's interpreter on the same PMML.
PMML_TOLERANCE = 1e-12


@dataclass(frozen=True)
class ModelKind:
    family: str  # "lightgbm", "xgboost", "sklearn" or "pmml"
    task: str  # "classification" or "regression"
    estimator: str  # qualified class name of the final estimator

    @property
    def tolerance(self) -> float:
        return {"xgboost": FLOAT32_TOLERANCE, "pmml": PMML_TOLERANCE}.get(self.family, DOUBLE_TOLERANCE)


_CLASSIFIER, _REGRESSOR = "classification", "regression"

SUPPORTED: dict[str, tuple[str, str]] = {
    "lightgbm.sklearn.LGBMClassifier": ("lightgbm", _CLASSIFIER),
    "lightgbm.sklearn.LGBMRegressor": ("lightgbm", _REGRESSOR),
    "xgboost.sklearn.XGBClassifier": ("xgboost", _CLASSIFIER),
    "xgboost.sklearn.XGBRegressor": ("xgboost", _REGRESSOR),
    "sklearn.tree._classes.DecisionTreeClassifier": ("sklearn", _CLASSIFIER),
    "sklearn.tree._classes.DecisionTreeRegressor": ("sklearn", _REGRESSOR),
    "sklearn.ensemble._forest.RandomForestClassifier": ("sklearn", _CLASSIFIER),
    "sklearn.ensemble._forest.RandomForestRegressor": ("sklearn", _REGRESSOR),
    "sklearn.ensemble._forest.ExtraTreesClassifier": ("sklearn", _CLASSIFIER),
    "sklearn.ensemble._forest.ExtraTreesRegressor": ("sklearn", _REGRESSOR),
    "sklearn.ensemble._gb.GradientBoostingClassifier": ("sklearn", _CLASSIFIER),
    "sklearn.ensemble._gb.GradientBoostingRegressor": ("sklearn", _REGRESSOR),
    "sklearn.linear_model._logistic.LogisticRegression": ("sklearn", _CLASSIFIER),
    "sklearn.linear_model._base.LinearRegression": ("sklearn", _REGRESSOR),
    "sklearn.linear_model._ridge.Ridge": ("sklearn", _REGRESSOR),
}


#: Model files converted without a pickle (read as data), per family.
MODEL_FILES: dict[str, str] = {
    "lightgbm": "LightGBM text model (`booster.save_model`)",
    "xgboost": "XGBoost `.json` / `.ubj` model",
    "pmml": "a `.pmml` file",
}

#: scikit-learn preprocessing steps that the parity tests put in front of a supported estimator.
PIPELINE_STEPS = ("ColumnTransformer", "SimpleImputer", "StandardScaler", "OneHotEncoder")


def qualified_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def final_estimator(model: Any) -> Any:
    """The last step of a Pipeline / PMMLPipeline, or the model itself."""
    steps = getattr(model, "steps", None)
    while steps:
        model = steps[-1][1]
        steps = getattr(model, "steps", None)
    return model


def identify(model: Any) -> ModelKind:
    """The kind of a fitted model, or a ConversionError naming what is supported."""
    estimator = final_estimator(model)
    name = qualified_name(estimator)
    if name not in SUPPORTED:
        supported = ", ".join(sorted(n.rsplit(".", 1)[1] for n in SUPPORTED))
        raise ConversionError(
            f"model type {name} is not supported; jarscore converts {supported} "
            "(alone or as the last step of a scikit-learn Pipeline), LightGBM text files, "
            "XGBoost JSON/UBJ files and PMML files"
        )
    family, task = SUPPORTED[name]
    return ModelKind(family, task, name)
