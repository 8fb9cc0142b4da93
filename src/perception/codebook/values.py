"""Source values as harmonization and scaffolding read them: keys, text, names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

SourceKey = int | float | str
SHOWN_VALUES = 10
"""How many offending values or rows an error message lists."""


class SourceMetadata(Protocol):
    """What harmonization and scaffolding read from ``perception.io.SurveyMetadata``."""

    @property
    def format(self) -> str:
        """File format ("spss", "stata", "kobo-xlsx"...)."""

    @property
    def file_label(self) -> str | None:
        """The file's own label, if any."""

    @property
    def column_labels(self) -> Mapping[str, str]:
        """Variable label per column."""

    @property
    def value_labels(self) -> Mapping[str, Mapping[Any, str]]:
        """Value labels per column."""

    @property
    def missing_ranges(self) -> Mapping[str, Any]:
        """Declared SPSS user-missing values and ranges per column."""

    @property
    def extended_missing(self) -> Mapping[str, Sequence[str]]:
        """Stata extended missing codes (".a"...) present per column."""

    @property
    def variable_types(self) -> Mapping[str, str]:
        """Return "numeric", "string", "date", "datetime" or "time" per column."""


def _texts(values: pd.Series) -> pd.Series:
    """Convert ids and other text to the ``string`` dtype; 12.0 becomes "12"."""
    return pd.Series([_text(v) for v in values.to_numpy(dtype=object)], dtype="string")


def _text(value: object) -> str | None:
    """Return a value as text, or None when it is missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normalized(series: pd.Series) -> pd.Series:
    """Return source values ready for lookup: blanks missing, text stripped, 1.0 as 1."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    return pd.Series(
        [_scalar(v) for v in series.to_numpy(dtype=object)], index=series.index, dtype=object
    )


def _scalar(value: object) -> object:
    """Normalize one source value: NaN/NA/blank → NaN, numpy → Python, 1.0 → 1, text stripped."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        text = value.strip()
        return text if text else np.nan
    if isinstance(value, float):
        if np.isnan(value):
            return np.nan
        return int(value) if value.is_integer() else value
    return value


def _lookup(values: pd.Series, table: Mapping[SourceKey, Any]) -> pd.Series:
    """Map source values through a codebook table; text columns also match numeric keys."""
    if not table:
        return pd.Series(np.nan, index=values.index, dtype=object)
    keys: dict[Any, Any] = dict(table)
    if values.dtype == object:
        for key, value in table.items():
            if not isinstance(key, str):
                keys.setdefault(_text(key), value)
    return values.map(keys)


def _keys(table: Mapping[SourceKey, Any]) -> str:
    """List a table's keys briefly."""
    keys = [repr(k) for k in table]
    return ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")


def _fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: "Sexe du répondant" → "sexe du repondant"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _name_key(name: str) -> str:
    """Normalize a column name: "withinwt_EA" → "withinwt_ea", "grp/sexe" → "grp_sexe"."""
    return _fold(name).replace(" ", "_")


def _key(value: object) -> SourceKey:
    """Normalize a value-label key: 1.0 → 1."""
    scalar = _scalar(value)
    if isinstance(scalar, int | float | str):
        return scalar
    return str(value)


def _categorical(
    codes: npt.NDArray[np.float64], categories: list[int], *, ordered: bool
) -> pd.Series:
    """Build a Categorical with integer categories from float codes (NaN = missing)."""
    index = pd.Index(categories, dtype="int64")
    positions = index.get_indexer(pd.Index(codes))
    return pd.Series(pd.Categorical.from_codes(positions, categories=index, ordered=ordered))
