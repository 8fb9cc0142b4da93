"""Per-respondent indicator values from harmonized answers, and Cronbach's alpha.

Every indicator turns a respondent's answers to its items into one of four states:

* a *value* (0/1 for a proportion, +1/0/−1 for a net score, the code for a mean, the
  0..100 average for an index);
* *don't know* (no value can be given and at least one item is "don't know", 98);
* *refused* (no value can be given, no "don't know", at least one refusal, 99);
* *not asked* (every item missing: skipped by the questionnaire routing, or not in the file).

With several items a value is given when it is determined: a proportion succeeds when any
item is a success and fails when every asked item is a substantive non-success; an index
averages the substantive items (at least one). The two denominator variants follow:

* ``"all"`` keeps "don't know" in the base, as a non-success (proportion) or as neither
  positive nor negative (net score, 0);
* ``"excl_dk"`` drops it from the base.

A "don't know" has no place on a mean's or an index's scale, so for those two types both
variants leave it out of the base and coincide; its share is still reported (``dk_share``).
Refusals are always out of the base, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.config import Catalogue, Indicator

__all__ = [
    "VARIANTS",
    "Responses",
    "cronbach_alpha",
    "item_codes",
    "rescaled_items",
    "score_indicator",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The denominator variants of every indicator, in table order.
VARIANTS: tuple[str, ...] = ("all", "excl_dk")


@dataclass(frozen=True)
class Responses:
    """Each respondent's state for one indicator in one wave.

    Attributes
    ----------
    value
        The respondent's value where one is determined, NaN elsewhere.
    dont_know, refused
        Respondents without a value because of "don't know" / of a refusal only.
    kind
        The indicator type (decides how "don't know" enters the ``"all"`` variant).

    """

    value: FloatArray
    dont_know: BoolArray
    refused: BoolArray
    kind: str

    def variant(self, variant: str) -> FloatArray:
        """Return the values of a denominator variant (NaN outside its base)."""
        if variant == "all" and self.kind in ("proportion", "net"):
            return np.where(self.dont_know, 0.0, self.value)
        return self.value

    def dont_know_flag(self) -> FloatArray:
        """Return 1 for "don't know", 0 for a value, NaN elsewhere: its mean is the DK share."""
        return np.where(self.dont_know, 1.0, np.where(np.isnan(self.value), np.nan, 0.0))

    def refused_flag(self) -> FloatArray:
        """Return 1 for a refusal and NaN elsewhere: its count per domain is ``n_refused``."""
        return np.where(self.refused, 1.0, np.nan)


def item_codes(series: pd.Series) -> FloatArray:
    """Return a harmonized item's integer codes as float64, NaN where missing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = np.asarray(series.cat.categories, dtype=np.float64)
        codes = series.cat.codes.to_numpy()
        return np.where(codes >= 0, categories[np.maximum(codes, 0)], np.nan)
    values: FloatArray = pd.to_numeric(series, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return values


def _asked(data: pd.DataFrame, items: list[str]) -> bool:
    """Tell whether the wave asked every item (present with at least one answer)."""
    return all(item in data.columns and bool(data[item].notna().any()) for item in items)


def rescaled_items(data: pd.DataFrame, items: list[str], catalogue: Catalogue) -> FloatArray:
    """Return the substantive answers of each item rescaled to 0..100 (NaN elsewhere), n × k."""
    columns = []
    for item in items:
        codes = catalogue.codes(item)
        low, high = float(min(codes)), float(max(codes))
        x = item_codes(data[item])
        substantive = np.isin(x, list(codes))
        columns.append(np.where(substantive, 100.0 * (x - low) / (high - low), np.nan))
    return np.column_stack(columns)


def score_indicator(
    data: pd.DataFrame, indicator: Indicator, catalogue: Catalogue
) -> Responses | None:
    """Return every respondent's state for a non-gap indicator, or None when not asked.

    The wave has not asked the indicator when any of its items is absent or entirely missing.
    """
    items = list(indicator.items or [])
    if not _asked(data, items):
        return None
    x = np.column_stack([item_codes(data[item]) for item in items])
    special = catalogue.special_codes
    answered = ~np.isnan(x)
    substantive = np.column_stack(
        [np.isin(x[:, j], list(catalogue.codes(item))) for j, item in enumerate(items)]
    )
    if indicator.type == "proportion":
        success = (np.isin(x, indicator.success or []) & substantive).any(axis=1)
        complete = (substantive | ~answered).all(axis=1) & answered.any(axis=1)
        value = np.where(success, 1.0, np.where(complete, 0.0, np.nan))
    elif indicator.type == "net":
        code = x[:, 0]
        value = np.where(
            np.isin(code, indicator.positive or []),
            1.0,
            np.where(np.isin(code, indicator.negative or []), -1.0, 0.0),
        )
        value = np.where(substantive[:, 0], value, np.nan)
    elif indicator.type == "mean":
        value = np.where(substantive[:, 0], x[:, 0], np.nan)
    else:
        rescaled = rescaled_items(data, items, catalogue)
        count = substantive.sum(axis=1)
        value = np.where(count > 0, np.nansum(rescaled, axis=1) / np.maximum(count, 1), np.nan)
    undetermined = np.isnan(value) & answered.any(axis=1)
    dont_know = undetermined & (x == special.dont_know).any(axis=1)
    refused = undetermined & ~dont_know & (x == special.refused).any(axis=1)
    return Responses(value=value, dont_know=dont_know, refused=refused, kind=indicator.type)


def cronbach_alpha(items: FloatArray, weights: FloatArray) -> tuple[float, int]:
    """Weighted Cronbach's alpha of the complete cases of an n × k item matrix.

    Parameters
    ----------
    items
        Item scores (NaN where not answered); rows with any NaN are left out.
    weights
        Survey weights of the rows.

    Returns
    -------
    tuple of (float, int)
        Alpha (NaN with fewer than two complete cases or a constant total) and the number
        of complete cases.

    Notes
    -----
    ``α = k/(k−1) · (1 − Σ_j s_j² / s_T²)`` with ``s_j²`` the variance of item ``j`` and
    ``s_T²`` that of the respondent's sum of items. Variances are weighted,
    ``Σw(x − x̄_w)² / Σw``; the common factor cancels in the ratio, so with equal weights
    this is the textbook (unweighted) alpha. Weighting estimates the reliability of the
    scale in the population rather than in the (unequally drawn) sample.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       *Psychometrika*, 16(3), 297-334.

    """
    complete = ~np.isnan(items).any(axis=1)
    x, w = items[complete], weights[complete]
    n, k = x.shape
    if n < 2 or k < 2:
        return float("nan"), int(n)

    def variance(values: FloatArray) -> FloatArray:
        mean = (w[:, None] * values).sum(axis=0) / w.sum()
        result: FloatArray = (w[:, None] * (values - mean) ** 2).sum(axis=0) / w.sum()
        return result

    total = float(variance(x.sum(axis=1)[:, None])[0])
    if total <= 0:
        return float("nan"), int(n)
    return float(k / (k - 1) * (1.0 - variance(x).sum() / total)), int(n)
