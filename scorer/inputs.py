"""Rows in the shapes users have (DataFrame, 2-D array, mappings) become typed columns in the
model's input-field order, with a clear error for anything the model cannot take."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from numbers import Number, Real
from typing import Any, Mapping, Sequence

import numpy as np

from jarscore.errors import InputError


def _pandas():
    """pandas if this process has imported it, else None: a DataFrame, Series or pd.NA can only come
    from a caller that has, and a caller scoring numpy arrays does not pay for importing it."""
    return sys.modules.get("pandas")


def _series_or_array(values: Any, categorical: bool = False) -> bool:
    if isinstance(values, np.ndarray):
        return True
    pd = _pandas()
    return pd is not None and isinstance(values, (pd.Series, pd.Categorical) if categorical else pd.Series)


def _pandas_missing(value: Any) -> bool:
    pd = _pandas()
    return pd is not None and (value is pd.NA or value is pd.NaT)


@dataclass(frozen=True)
class Field:
    """One model field: name, PMML data and operational type, and valid values (categorical)."""

    name: str
    data_type: str
    op_type: str
    numeric: bool
    values: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"name": self.name, "data_type": self.data_type, "op_type": self.op_type,
                "numeric": self.numeric, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Field":
        return cls(data["name"], data["data_type"], data["op_type"], bool(data["numeric"]),
                   tuple(data.get("values", ())))


def columns_from(X: Any, fields: Sequence[Field], features: Sequence[str] | None = None) -> tuple[list, int]:
    """Returns one column per field (float64 array, or StringColumn) and the row count.

    A 2-D array may have the model's training columns (``features``, from the manifest: the same
    array the native model scores) or just the input fields, in input-field order."""
    names = [f.name for f in fields]
    pd = _pandas()
    if pd is not None and isinstance(X, pd.DataFrame):
        _check_names(list(map(str, X.columns)), names, what="column")
        raw = [X[f.name] for f in fields]
        rows = len(X)
    elif isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise InputError(f"expected a 2-D array of shape (rows, {len(fields)}), got shape {X.shape}; "
                             "use predict_one for a single row")
        positions = _positions(X.shape[1], names, features, what="columns")
        raw = [X[:, i] for i in positions]
        rows = X.shape[0]
    elif isinstance(X, (list, tuple)) and all(isinstance(r, Mapping) for r in X):
        for i, row in enumerate(X):
            _check_names(list(row), names, what="field", row=i)
        raw = [[row.get(f.name) for row in X] for f in fields]
        rows = len(X)
    else:
        raise InputError(f"cannot score {type(X).__name__}: pass a pandas DataFrame, a 2-D numpy array "
                         f"in input-field order {names}, or a list of mappings")
    return [column_for(field, values) for field, values in zip(fields, raw)], rows


def row_columns(row: Any, fields: Sequence[Field], features: Sequence[str] | None = None) -> list:
    """One row given as a mapping, or as a sequence of the training columns or the input fields."""
    names = [f.name for f in fields]
    if isinstance(row, Mapping):
        _check_names(list(row), names, what="field")
        values = [row.get(name) for name in names]
    elif isinstance(row, (Sequence, np.ndarray)) and not isinstance(row, (str, bytes)):
        values = list(row)
        values = [values[i] for i in _positions(len(values), names, features, what="values")]
    else:
        raise InputError(f"cannot score a row of type {type(row).__name__}: pass a mapping of field "
                         f"to value or a sequence in input-field order {names}")
    return [column_for(field, [value]) for field, value in zip(fields, values)]


def _positions(width: int, names: list[str], features: Sequence[str] | None, *, what: str) -> list[int]:
    if features and width == len(features):
        index = {name: i for i, name in enumerate(features)}
        return [index[name] for name in names]
    if width == len(names):
        return list(range(width))
    also = f", or {len(features)} in the training column order {list(features)}" if features else ""
    raise InputError(f"expected {len(names)} {what} in input-field order {names}{also}; got {width}")


def column_for(field: Field, values: Any):
    if field.numeric:
        return _numeric_column(field, values)
    return _string_column(field, values)


def _check_names(given: list[str], expected: list[str], *, what: str, row: int | None = None) -> None:
    where = "" if row is None else f" in row {row}"
    # Extra columns are allowed: training frames often carry ids, targets or features the model
    # ended up not using, and sklearn2pmml leaves unused features out of the model's inputs.
    missing = [n for n in expected if n not in given]
    if missing:
        raise InputError(f"missing input {what}(s) {missing}{where}; the model needs {expected}")


def _numeric_column(field: Field, values: Any) -> np.ndarray:
    array = _as_float_array(field, values)
    bad = np.isinf(array)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"row {row}: field '{field.name}' value {array[row]} is infinite; "
                         "expected a finite number, or NaN/None for a missing value")
    return array


def _as_float_array(field: Field, values: Any) -> np.ndarray:
    array_like = _series_or_array(values)
    if array_like and values.dtype.kind in "biuf":
        return np.asarray(values, dtype=np.float64)
    items = values.tolist() if array_like else list(values)
    out = np.empty(len(items), dtype=np.float64)
    for i, value in enumerate(items):
        out[i] = _to_float(field, value, i)
    return out


def shown(value: Any, limit: int = 80) -> str:
    """repr(value) for an error message, cut short: a message never repeats a 100 000-character input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 20]}... ({len(text)} characters)"


def _to_float(field: Field, value: Any, row: int) -> float:
    if value is None or _pandas_missing(value):
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, Real):           # not complex: no number a model takes has an imaginary part
        try:
            return float(value)
        except OverflowError:
            raise InputError(f"row {row}: field '{field.name}' value {shown(value)} is too large for a "
                             f"{field.data_type}; expected a finite number") from None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise InputError(f"row {row}: field '{field.name}' value {shown(value)} is not a number; "
                     f"expected a {field.data_type} (or None/NaN for a missing value)")


class StringColumn(Sequence):
    """A string column, factorized: ``codes[i]`` is row i's position in ``categories`` (-1: missing).
    Reads as a sequence of str or None; the fast kernel encodes it with one table lookup per
    category instead of one per row."""

    def __init__(self, codes: np.ndarray, categories: list[str]):
        self.codes = codes
        self.categories = categories

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._value(c) for c in self.codes[i].tolist()]
        return self._value(int(self.codes[i]))

    def __iter__(self):
        return map(self._value, self.codes.tolist())

    def _value(self, code: int) -> str | None:
        return None if code < 0 else self.categories[code]

    def tolist(self) -> list:
        return list(self)


#: Columns at least this long are factorized by pandas and checked by category; shorter ones (and
#: columns holding anything but strings) are checked value by value.
FACTORIZE_FROM_ROWS = 256


def _string_column(field: Field, values: Any) -> StringColumn:
    if _series_or_array(values) and len(values) >= FACTORIZE_FROM_ROWS and _only_strings(values):
        return _factorized_string_column(field, values)
    items = values.tolist() if _series_or_array(values, categorical=True) else list(values)
    valid = set(field.values)
    position: dict[str, int] = {}
    codes = [-1 if text is None else position.setdefault(text, len(position))
             for text in (_to_string(field, value, valid, i) for i, value in enumerate(items))]
    return StringColumn(np.asarray(codes, dtype=np.int64), list(position))


def _only_strings(values: pd.Series | np.ndarray) -> bool:
    """True when every value is a str or missing (numbers, bools or bytes take the per-value path,
    which names each as ``_to_string`` does: pandas would count 1, 1.0 and True as one value)."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(values.cat.categories, skipna=True) == "string"
    return values.dtype.kind in "OUT" and pd.api.types.infer_dtype(values, skipna=True) == "string"


def _factorized_string_column(field: Field, values: Any) -> StringColumn:
    """Strings (and missing values) only, as ``infer_dtype`` found: each distinct value is checked
    once, as ``_to_string`` checks it, and an error names the first row that holds it. pandas counts
    None, NaN and pd.NA as missing, as ``_to_string`` does."""
    import pandas as pd

    if isinstance(values, pd.Series) and not isinstance(values.dtype, pd.CategoricalDtype):
        # the values themselves, not the Series: pandas factorizes an object array faster than a
        # Series of its "str" dtype, with the same codes
        values = values.to_numpy(dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    valid = set(field.values)
    categories = []
    for k, value in enumerate(uniques.tolist()):
        try:
            categories.append(_to_string(field, value, valid, 0))
        except InputError:
            row = int(np.argmax(codes == k))
            _to_string(field, value, valid, row)  # raises again, naming the row
            raise
    return StringColumn(np.asarray(codes, dtype=np.int64), categories)


def _to_string(field: Field, value: Any, valid: set[str], row: int) -> str | None:
    if value is None or _pandas_missing(value):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise InputError(f"row {row}: field '{field.name}' value {value} is infinite; expected a category")
        # A float column holding integral codes (8.0) names the category "8".
        text = repr(value)
        if text not in valid and value.is_integer():
            return str(int(value))
        return text
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"row {row}: field '{field.name}' value {shown(value)} is not valid UTF-8") from None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"row {row}: field '{field.name}' value {shown(value)} is not valid Unicode text "
                             "(it holds a lone surrogate); expected a string that encodes as UTF-8") from None
        return value
    if isinstance(value, (Number, np.generic)):
        return str(value)
    raise InputError(f"row {row}: field '{field.name}' value {shown(value)} of type {type(value).__name__} "
                     "cannot be a category; expected a string or a number")
