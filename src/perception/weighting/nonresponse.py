"""Nonresponse adjustment by weighting classes, with optional (announced) class collapsing."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.errors import CalibrationError, DesignError
from perception.weighting._common import (
    MISSING_LABEL,
    BoolArray,
    FloatArray,
    MissingPolicy,
    WeightingWarning,
    as_spec,
    level_labels,
    missing_mask,
    positions,
    spec_name,
)

CLASS_COLUMNS = (
    "class",
    "adjustment_class",
    "n_eligible",
    "n_respondents",
    "sum_weights_eligible",
    "sum_weights_respondents",
    "response_rate",
    "factor",
)
"""Columns of :attr:`NonresponseResult.classes`, one row per original weighting class."""


@dataclass(frozen=True)
class NonresponseResult:
    """Outcome of a nonresponse adjustment.

    Attributes
    ----------
    weights : numpy.ndarray
        Adjusted weights aligned with the input rows: respondents carry their adjusted weight,
        nonrespondents and ineligible units carry 0.
    respondents : numpy.ndarray
        Boolean mask of the eligible respondents (the rows that keep a weight).
    classes : pandas.DataFrame
        One row per original class (columns :data:`CLASS_COLUMNS`). ``adjustment_class`` is the
        class whose factor was applied, which differs from ``class`` when classes were collapsed;
        the counts, weight sums, weighted response rate and factor are those of that class.

    """

    weights: FloatArray
    respondents: BoolArray
    classes: pd.DataFrame


def _flag_column(data: pd.DataFrame, column: str, role: str) -> BoolArray:
    """Return a 0/1 or boolean column as a boolean array, or raise DesignError."""
    if column not in data.columns:
        raise DesignError(
            f"The {role} column is not in the data.",
            expected=f"a column named {column!r}",
            found=f"columns {list(map(str, data.columns))[:20]}",
            hint="Check nonresponse settings in config/weighting.yaml.",
            column=column,
        )
    raw = data[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        rows = positions(bad)
        raise DesignError(
            f"The {role} column must be a 0/1 (or true/false) flag on every row.",
            expected="0/1 or true/false, never missing",
            found=f"{int(bad.sum())} other value(s), first {raw.iloc[rows[0]]!r}",
            hint=f"Code every sampled unit's {role} status.",
            column=column,
            rows=rows,
        )
    return np.asarray(values == 1.0, dtype=bool)


def class_labels(
    data: pd.DataFrame,
    classes: Sequence[str],
    *,
    within: BoolArray,
    missing_policy: MissingPolicy = "error",
    missing_codes: Sequence[int] = (),
) -> npt.NDArray[np.object_]:
    """Return each row's weighting-class label, applying the missing policy to rows in ``within``.

    A missing value (or one of ``missing_codes``) in a class variable raises a CalibrationError
    under ``missing_policy="error"``. Under ``"separate_category"`` it becomes the class level
    ``<missing>`` and a :class:`WeightingWarning` says how many rows it affects.
    """
    for column in classes:
        if column not in data.columns:
            raise CalibrationError(
                "A nonresponse class variable is not in the data.",
                expected=f"a column named {column!r}",
                found=f"columns {list(map(str, data.columns))[:20]}",
                hint="Check nonresponse.classes in config/weighting.yaml.",
                column=column,
            )
        missing = missing_mask(data[column], missing_codes) & within
        if not missing.any():
            continue
        if missing_policy == "error":
            raise CalibrationError(
                "A weighting-class variable has missing values.",
                expected=f"a known value of {column!r} for every eligible sampled unit",
                found=f"{int(missing.sum())} missing value(s)",
                hint="Fix the values, or set missing_policy: separate_category to weight them "
                "as their own class.",
                column=column,
                rows=positions(missing),
            )
        warnings.warn(
            f"{int(missing.sum())} eligible unit(s) with missing {column!r} form a separate "
            f"{MISSING_LABEL} level of the nonresponse classes "
            "(missing_policy: separate_category).",
            WeightingWarning,
            stacklevel=3,
        )
    return level_labels(data, as_spec(classes), missing_codes)


def _collapse(
    stats: pd.DataFrame, min_respondents: int
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Merge classes with too few respondents into the class with the nearest response rate."""
    members: dict[str, list[str]] = {label: [label] for label in stats.index}
    sums = stats[["n_respondents", "sum_weights_eligible", "sum_weights_respondents"]].copy()
    merges: list[tuple[str, str]] = []
    while len(sums) > 1:
        small = sums[sums["n_respondents"] < min_respondents]
        if small.empty:
            break
        source = str(small.sort_values("n_respondents", kind="stable").index[0])
        rate = sums["sum_weights_respondents"] / sums["sum_weights_eligible"]
        distance = (rate.drop(source) - rate[source]).abs()
        target = str(distance.sort_values(kind="stable").index[0])
        sums.loc[target] = sums.loc[[target, source]].sum()
        sums = sums.drop(source)
        members[target] += members.pop(source)
        merges.append((source, target))
    mapping = {original: final for final, group in members.items() for original in group}
    return mapping, merges


def adjust_nonresponse(
    data: pd.DataFrame,
    weights: FloatArray,
    *,
    classes: Sequence[str],
    responded: str,
    eligible: str | None = None,
    min_respondents: int | None = None,
    missing_policy: MissingPolicy = "error",
    missing_codes: Sequence[int] = (),
) -> NonresponseResult:
    r"""Adjust respondents' weights for nonresponse within weighting classes.

    In class :math:`c`, every respondent's weight is multiplied by

    .. math:: f_c = \frac{\sum_{i \in E_c} w_i}{\sum_{i \in R_c} w_i},

    where :math:`E_c` are the eligible sampled units and :math:`R_c` the eligible respondents of
    the class, so that respondents carry the weight of the whole eligible sample of their class.

    Parameters
    ----------
    data : pandas.DataFrame
        Every sampled unit, respondents and nonrespondents.
    weights : numpy.ndarray
        Base weights aligned with ``data``.
    classes : sequence of str
        Columns whose crossed levels form the classes (e.g. ``["region", "urban_rural"]``).
    responded : str
        0/1 (or boolean) column: 1 for a responding unit.
    eligible : str, optional
        0/1 column: 1 for an eligible unit. Ineligible units are out of scope and get weight 0.
        All units are eligible when omitted.
    min_respondents : int, optional
        Collapse classes with fewer respondents than this. Each small class (smallest first) is
        merged into the class whose weighted response rate is nearest, until every class has
        enough respondents. Every merge is announced by a :class:`WeightingWarning` and shown in
        the ``classes`` table. When omitted, no class is collapsed.
    missing_policy : {"error", "separate_category"}
        What to do with a missing class variable among eligible units (see :func:`class_labels`).
    missing_codes : sequence of int
        Codes treated as missing in the class variables (e.g. 98 and 99).

    Returns
    -------
    NonresponseResult
        Adjusted weights (0 for nonrespondents and ineligible units), the respondent mask and a
        table of classes.

    Raises
    ------
    CalibrationError
        If a class has eligible units but no respondents (and collapsing is off or cannot help),
        or a class variable is missing under the default policy.
    DesignError
        If the response or eligibility flag is absent or not a 0/1 value on every row.

    Notes
    -----
    The adjustment preserves the weighted total of the eligible sample in every class. It is
    unbiased when response is independent of the survey variables within classes (missing at
    random given the classes). Collapsing merges classes with similar response propensities,
    which keeps that assumption as plausible as possible while bounding the adjustment factors.

    References
    ----------
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
    Statistics* 19(2), 81-97.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    is_eligible = (
        np.ones(len(data), dtype=bool)
        if eligible is None
        else _flag_column(data, eligible, "eligibility")
    )
    is_respondent = _flag_column(data, responded, "response") & is_eligible
    labels = class_labels(
        data,
        classes,
        within=is_eligible,
        missing_policy=missing_policy,
        missing_codes=missing_codes,
    )
    frame = pd.DataFrame(
        {
            "class": labels[is_eligible],
            "n_eligible": 1,
            "n_respondents": is_respondent[is_eligible].astype(np.int64),
            "sum_weights_eligible": weights[is_eligible],
            "sum_weights_respondents": np.where(is_respondent, weights, 0.0)[is_eligible],
        }
    )
    stats = frame.groupby("class", sort=True).sum()
    mapping: dict[str, str] = {str(label): str(label) for label in stats.index}
    if min_respondents is not None:
        mapping, merges = _collapse(stats, min_respondents)
        if merges:
            described = "; ".join(f"{a} -> {b}" for a, b in merges)
            warnings.warn(
                f"Nonresponse classes with fewer than {min_respondents} respondents were "
                f"collapsed into the class with the nearest weighted response rate: {described}.",
                WeightingWarning,
                stacklevel=2,
            )
    merged = stats.groupby(stats.index.map(mapping)).sum()
    empty = merged.index[merged["n_respondents"] == 0]
    if len(empty) > 0:
        in_empty = is_eligible & np.isin(labels, [k for k, v in mapping.items() if v in empty])
        raise CalibrationError(
            "A nonresponse weighting class has no respondents.",
            expected="at least one respondent in every class",
            found=f"no respondents in class(es) {list(map(str, empty))} of "
            f"{spec_name(as_spec(classes))}",
            hint="Collapse classes: set nonresponse.min_respondents (e.g. 20) to merge small "
            "classes with the class of nearest response rate, or use coarser class variables.",
            column=spec_name(as_spec(classes)),
            rows=positions(in_empty),
        )
    merged["response_rate"] = merged["sum_weights_respondents"] / merged["sum_weights_eligible"]
    merged["factor"] = merged["sum_weights_eligible"] / merged["sum_weights_respondents"]
    factor_of = merged["factor"].to_dict()
    row_factor = np.array([factor_of[mapping[str(label)]] for label in labels[is_respondent]])
    adjusted = np.zeros(len(data), dtype=np.float64)
    adjusted[is_respondent] = weights[is_respondent] * row_factor
    table = merged.loc[[mapping[str(label)] for label in stats.index]].reset_index(drop=True)
    table.insert(0, "adjustment_class", [mapping[str(label)] for label in stats.index])
    table.insert(0, "class", [str(label) for label in stats.index])
    return NonresponseResult(
        weights=adjusted, respondents=is_respondent, classes=table[list(CLASS_COLUMNS)]
    )
