"""Shared vocabulary of the weighting package: array type, level labels, warnings, row lookups."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.intp]

MarginSpec: TypeAlias = str | tuple[str, ...]
"""A weighting variable (``"region"``) or a crossing of several (``("gender", "age_band")``)."""

MissingPolicy: TypeAlias = Literal["error", "separate_category"]
"""What a missing value in a weighting variable does (see ``WeightingConfig``)."""

MISSING_LABEL = "<missing>"
"""Level label of the category holding missing values (``missing_policy: separate_category``)."""

CROSS = ":"
"""Separator of crossed variables and of their level labels, as in R's ``gender:age_band``."""


class WeightingWarning(UserWarning):
    """A weighting step changed something the data officer must know about."""


def as_spec(spec: str | Sequence[str]) -> MarginSpec:
    """Return a margin spec in canonical form: a name, or a tuple of two or more names."""
    if isinstance(spec, str):
        return spec
    names = tuple(spec)
    return names[0] if len(names) == 1 else names


def spec_variables(spec: MarginSpec) -> tuple[str, ...]:
    """Return the variables a margin spec is made of."""
    return (spec,) if isinstance(spec, str) else spec


def spec_name(spec: MarginSpec) -> str:
    """Return the display name of a margin spec: ``gender`` or ``gender:age_band``."""
    return CROSS.join(spec_variables(spec))


def code_label(value: Any) -> str:
    """Return the label of one code: ``1.0`` as ``"1"``, a missing value as ``"<missing>"``."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING_LABEL
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def key_label(key: Hashable) -> str:
    """Return the label of a margin key: a code, or a tuple of codes joined by ``:``."""
    if isinstance(key, tuple):
        return CROSS.join(code_label(v) for v in key)
    return code_label(key)


def level_labels(
    data: pd.DataFrame, spec: MarginSpec, missing_codes: Sequence[Hashable] = ()
) -> npt.NDArray[np.object_]:
    """Return each row's level label of ``spec``; NA and ``missing_codes`` become ``<missing>``.

    A crossed level with any missing part is ``<missing>`` as a whole (its cell is unknown).
    """
    codes: list[npt.NDArray[np.intp]] = []
    names: list[npt.NDArray[np.object_]] = []
    for variable in spec_variables(spec):
        factor, uniques = pd.factorize(data[variable])
        labels = np.empty(len(uniques) + 1, dtype=object)
        labels[:] = [
            MISSING_LABEL if value in missing_codes else code_label(value) for value in uniques
        ] + [MISSING_LABEL]
        codes.append(np.where(factor < 0, len(uniques), factor))
        names.append(labels)
    if len(codes) == 1:
        return names[0][codes[0]]
    cells, inverse = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
    cell_labels = np.empty(len(cells), dtype=object)
    cell_labels[:] = [
        MISSING_LABEL
        if any(n[c] == MISSING_LABEL for n, c in zip(names, cell, strict=True))
        else CROSS.join(str(n[c]) for n, c in zip(names, cell, strict=True))
        for cell in cells
    ]
    return cell_labels[inverse.ravel()]


def missing_mask(series: pd.Series[Any], missing_codes: Sequence[Hashable] = ()) -> BoolArray:
    """Return which values are missing: NA/NaN, or one of ``missing_codes`` (e.g. 98, 99)."""
    mask = series.isna().to_numpy(dtype=bool, copy=True)
    if missing_codes:
        mask |= series.isin(list(missing_codes)).to_numpy(dtype=bool)
    return mask


def positions(mask: BoolArray, at: npt.NDArray[np.intp] | None = None) -> list[int]:
    """Return the row positions where ``mask`` holds, mapped through ``at`` (original positions)."""
    hits = np.flatnonzero(mask)
    return [int(i) for i in (hits if at is None else at[hits])]
