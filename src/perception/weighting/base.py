"""Base (design) weights: read from a column, or built from selection probabilities by stage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from perception.errors import DesignError
from perception.weighting._common import FloatArray, positions


def _numeric_column(data: pd.DataFrame, column: str, role: str) -> FloatArray:
    """Return ``data[column]`` as floats; an absent or non-numeric column is a DesignError."""
    if column not in data.columns:
        raise DesignError(
            f"The {role} column is not in the data.",
            expected=f"a column named {column!r}",
            found=f"columns {list(map(str, data.columns))[:20]}",
            hint="Check the column name in config/weighting.yaml against the harmonized data.",
            column=column,
        )
    raw = data[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & ~raw.isna().to_numpy(dtype=bool)
    if bad.any():
        rows = positions(bad)
        raise DesignError(
            f"The {role} column holds values that are not numbers.",
            expected="numbers",
            found=f"{bad.sum()} non-numeric value(s), first {raw.iloc[rows[0]]!r}",
            hint="Fix the values or the codebook that produces this column.",
            column=column,
            rows=rows,
        )
    return values


def check_weights(weights: FloatArray, column: str) -> FloatArray:
    """Return ``weights`` if every weight is finite and positive, else raise a DesignError."""
    for mask, what in (
        (np.isnan(weights), "missing"),
        (np.isinf(weights), "infinite"),
        (weights <= 0, "zero or negative"),
    ):
        if mask.any():
            rows = positions(mask)
            raise DesignError(
                f"Weights in {column!r} must be finite and positive.",
                expected="a finite, positive weight on every row",
                found=f"{int(mask.sum())} {what} weight(s), first {weights[rows[0]]!r}",
                hint="Fix these rows in the source file, or drop out-of-scope rows first.",
                column=column,
                rows=rows,
            )
    return weights


def base_weights_from_column(data: pd.DataFrame, column: str) -> FloatArray:
    """Return the base weights stored in ``data[column]``, checked finite and positive.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit.
    column : str
        The column holding the base (design) weight, the inverse of the inclusion probability.

    Returns
    -------
    numpy.ndarray
        Float weights aligned with the rows of ``data``.

    Raises
    ------
    DesignError
        If the column is absent, or a weight is non-numeric, missing, infinite, zero or negative.
        The error names the column and the offending row positions.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.

    """
    return check_weights(_numeric_column(data, column, "base weight"), column)


def base_weights_from_probabilities(data: pd.DataFrame, columns: Sequence[str]) -> FloatArray:
    r"""Return base weights :math:`w_i = 1 / \prod_s p_{s,i}` from selection probabilities by stage.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit.
    columns : sequence of str
        One column per sampling stage, each holding the unit's conditional probability of
        selection at that stage (e.g. PSU within stratum, household within PSU, person within
        household).

    Returns
    -------
    numpy.ndarray
        Float weights aligned with the rows of ``data``.

    Raises
    ------
    DesignError
        If no column is given, a column is absent, or a probability is non-numeric, missing or
        outside (0, 1]; or if the product underflows so that a weight is not finite. The error
        names the column and the offending row positions.

    Notes
    -----
    The overall inclusion probability of a multistage design is the product of the conditional
    stage probabilities, and the base weight is its inverse (the Horvitz-Thompson weight).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    if not columns:
        raise DesignError(
            "No selection-probability column was given.",
            expected="one column per sampling stage",
            found="an empty list",
            hint="List the stage probability columns in base_weight.stage_probabilities.",
        )
    probability = np.ones(len(data), dtype=np.float64)
    for column in columns:
        p = _numeric_column(data, column, "selection probability")
        bad = np.isnan(p) | (p <= 0) | (p > 1)
        if bad.any():
            rows = positions(bad)
            raise DesignError(
                "Selection probabilities must lie in (0, 1].",
                expected="a probability p with 0 < p <= 1 on every row",
                found=f"{int(bad.sum())} value(s) outside (0, 1] or missing, first {p[rows[0]]!r}",
                hint="A stage probability is n/N for that stage; a certainty unit has p = 1.",
                column=column,
                rows=rows,
            )
        probability *= p
    with np.errstate(divide="ignore", over="ignore"):
        weights = 1.0 / probability
    return check_weights(weights, " × ".join(columns))
