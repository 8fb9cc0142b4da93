"""Weight diagnostics as one tidy table: Kish deff, effective sample size, spread, margin errors."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from perception.weighting._common import (
    BoolArray,
    FloatArray,
    MarginSpec,
    as_spec,
    key_label,
    level_labels,
    spec_name,
)

Margins = Mapping[MarginSpec, Mapping[Hashable, float]]
"""Population totals by margin: ``{"region": {1: 5e5}, ("gender", "age_band"): {(1, 1): 9e4}}``."""

OVERALL = "overall"
"""The ``domain`` (and ``level``) of the report row about the whole sample."""

REPORT_COLUMNS = (
    "domain",
    "level",
    "n",
    "sum_weights",
    "mean_weight",
    "min_weight",
    "max_weight",
    "max_min_ratio",
    "deff_kish",
    "n_eff",
    "n_trimmed",
    "target",
    "margin_error_abs",
    "margin_error_rel",
    "cap",
    "floor",
    "trim_rounds",
    "iterations",
    "converged",
    "design",
    "n_replicates",
)
"""Columns of :func:`weight_report`, in order. One row per domain level, the first about everyone.

- ``domain``: ``"overall"``, a domain variable (``"region"``) or a crossing (``"gender:age_band"``).
- ``level``: ``"overall"``, a code (``"2"``), a crossed code (``"1:3"``) or ``"<missing>"``.
- ``n``: respondents in the level; ``sum_weights`` and ``mean_weight``: their weight total and mean.
- ``min_weight``, ``max_weight``, ``max_min_ratio``: spread of their weights.
- ``deff_kish``: Kish's design effect due to weighting, n·Σw²/(Σw)², within the level.
- ``n_eff``: effective sample size (Σw)²/Σw² = n / deff_kish, within the level.
- ``n_trimmed``: units of the level set to a trimming bound in the last trim.
- ``target``: population total of the level when the domain is a calibration margin (else NaN;
  NaN on the overall row).
- ``margin_error_abs``, ``margin_error_rel``: |Σw − target| and |Σw − target| / target for that
  level, computed from the final weights. On the overall row they are the LARGEST absolute and
  the LARGEST relative error over every cell of every margin (whether or not it is a domain):
  the achieved calibration error, not the reason calibration stopped.
- ``cap``, ``floor``: the trimming bounds as weights (NaN when not used).
- ``trim_rounds``: trim + re-calibrate rounds; ``iterations``: iterations of the final
  calibration (0 for a closed-form method, -1 when unknown).
- ``converged``: whether calibration converged and the final weights meet the bounds and margins.
- ``design``: the caveat the sampling design needs in words, empty when there is none (e.g.
  "no PSU ids were released: each respondent is treated as its own cluster within strata,
  which understates SEs if the sample is clustered").
- ``n_replicates``: replicate weights the variance uses (delivered with the data or built from
  the strata and PSUs); 0 for Taylor linearisation.
  The last six are properties of the whole run, repeated on every row.
"""


def kish_deff(weights: FloatArray) -> float:
    r"""Return Kish's design effect due to unequal weighting, :math:`n\sum w^2 / (\sum w)^2`.

    Parameters
    ----------
    weights : numpy.ndarray
        Final weights of the respondents (or of one domain).

    Returns
    -------
    float
        1 for equal weights, larger as weights vary: :math:`1 + CV^2` of the weights, with the
        coefficient of variation computed with divisor n.

    Notes
    -----
    It is the variance inflation of a weighted mean over an unweighted one when the variable is
    unrelated to the weights, ignoring clustering and stratification.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Kish, L. (1992). Weighting for unequal Pi. *Journal of Official Statistics* 8(2), 183-200.

    """
    return float(len(weights) * np.sum(weights**2) / np.sum(weights) ** 2)


def effective_sample_size(weights: FloatArray) -> float:
    r"""Return Kish's effective sample size, :math:`(\sum w)^2 / \sum w^2 = n / \mathrm{deff}`.

    Parameters
    ----------
    weights : numpy.ndarray
        Final weights of the respondents (or of one domain).

    Returns
    -------
    float
        The number of equally weighted respondents that would give the same precision.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    return float(np.sum(weights) ** 2 / np.sum(weights**2))


MARGIN_ERROR_COLUMNS = ("margin", "level", "target", "achieved", "error_abs", "error_rel")
"""Columns of :func:`margin_errors`."""


def margin_errors(
    data: pd.DataFrame,
    weights: FloatArray,
    margins: Margins,
    *,
    missing_codes: Sequence[Hashable] = (),
) -> pd.DataFrame:
    r"""Return the achieved error of every margin cell: weighted total against population target.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents, holding the margin variables.
    weights : numpy.ndarray
        Final weights aligned with ``data``.
    margins : mapping
        Targets by margin (a variable or a tuple of crossed variables) and level (a code, a tuple
        of codes, or ``"<missing>"``).
    missing_codes : sequence
        Codes that count as the ``<missing>`` level (with NA).

    Returns
    -------
    pandas.DataFrame
        One row per margin cell (columns :data:`MARGIN_ERROR_COLUMNS`): ``achieved`` is
        :math:`\sum w` over the cell's respondents, ``error_abs`` is
        :math:`|\text{achieved} - \text{target}|` and ``error_rel`` is ``error_abs / target``. A
        level present in the data but without a target appears with target 0 (relative error
        infinite).

    References
    ----------
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
    *Journal of the American Statistical Association* 87(418), 376-382.

    """
    frames = []
    for raw_spec, cells in margins.items():
        spec = as_spec(raw_spec)
        labels = level_labels(data, spec, missing_codes)
        achieved = pd.Series(weights).groupby(labels).sum()
        target = pd.Series({key_label(k): float(v) for k, v in cells.items()})
        levels = target.index.union(achieved.index, sort=False)
        target = target.reindex(levels, fill_value=0.0)
        achieved = achieved.reindex(levels, fill_value=0.0)
        error = (achieved - target).abs()
        frames.append(
            pd.DataFrame(
                {
                    "margin": spec_name(spec),
                    "level": levels.astype(str),
                    "target": target.to_numpy(),
                    "achieved": achieved.to_numpy(),
                    "error_abs": error.to_numpy(),
                    "error_rel": np.divide(
                        error.to_numpy(),
                        target.to_numpy(),
                        out=np.full(len(levels), np.inf),
                        where=target.to_numpy() > 0,
                    ),
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in MARGIN_ERROR_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(MARGIN_ERROR_COLUMNS)]


def largest_margin_error(
    data: pd.DataFrame,
    weights: FloatArray,
    margins: Margins,
    *,
    missing_codes: Sequence[Hashable] = (),
) -> float:
    """Return the largest relative margin error over every cell (0 without margins)."""
    errors = margin_errors(data, weights, margins, missing_codes=missing_codes)["error_rel"]
    return float(errors.max()) if len(errors) else 0.0


def _natural_key(label: str) -> tuple[tuple[int, float, str], ...]:
    """Sort key ordering ``"2"`` before ``"10"`` and ``"<missing>"`` last."""
    parts = []
    for part in label.split(":"):
        try:
            parts.append((0, float(part), ""))
        except ValueError:
            parts.append((1, 0.0, part))
    return tuple(parts)


def _summaries(labels: np.ndarray, weights: FloatArray, trimmed: BoolArray) -> pd.DataFrame:
    """Return the weight summary of each level (index: level label)."""
    frame = pd.DataFrame({"level": labels, "w": weights, "w2": weights**2, "t": trimmed})
    grouped = frame.groupby("level", sort=False)
    out = grouped.agg(
        n=("w", "size"),
        sum_weights=("w", "sum"),
        sum_squares=("w2", "sum"),
        min_weight=("w", "min"),
        max_weight=("w", "max"),
        n_trimmed=("t", "sum"),
    )
    out["mean_weight"] = out["sum_weights"] / out["n"]
    out["max_min_ratio"] = out["max_weight"] / out["min_weight"]
    out["deff_kish"] = out["n"] * out["sum_squares"] / out["sum_weights"] ** 2
    out["n_eff"] = out["sum_weights"] ** 2 / out["sum_squares"]
    return out.drop(columns="sum_squares")


def weight_report(
    data: pd.DataFrame,
    weights: FloatArray,
    *,
    domains: Sequence[str | Sequence[str]] = (),
    margins: Margins | None = None,
    trimmed: BoolArray | None = None,
    cap: float = np.nan,
    floor: float = np.nan,
    trim_rounds: int = 0,
    iterations: int = -1,
    converged: bool = True,
    missing_codes: Sequence[Hashable] = (),
    design: str = "",
    n_replicates: int = 0,
) -> pd.DataFrame:
    """Return the tidy weighting report: one row overall, then one per level of each domain.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents, holding the domain and margin variables.
    weights : numpy.ndarray
        Final weights aligned with ``data``.
    domains : sequence
        Domain variables (``"region"``) or crossings (``["gender", "age_band"]``).
    margins : mapping, optional
        Calibration targets (see :func:`margin_errors`); they fill ``target`` and the margin
        errors.
    trimmed : numpy.ndarray, optional
        Units set to a trimming bound in the last trim.
    cap, floor : float
        Trimming bounds as weights (NaN when not used).
    trim_rounds, iterations : int
        Trim + re-calibrate rounds, and iterations of the final calibration (-1 when unknown).
    converged : bool
        Whether the run met all its targets.
    missing_codes : sequence
        Codes reported as the ``<missing>`` level of a domain.
    design : str
        The design's caveat in words (``DesignSettings.note``), empty when there is none.
    n_replicates : int
        Replicate weights of the design's variance (0: Taylor linearisation).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REPORT_COLUMNS` (documented there), one row for the whole sample then one
        per level of each domain, levels in natural code order.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    is_trimmed = np.zeros(len(weights), dtype=bool) if trimmed is None else trimmed
    targets = {as_spec(k): v for k, v in (margins or {}).items()}
    errors = margin_errors(data, weights, targets, missing_codes=missing_codes)
    overall = _summaries(np.full(len(weights), OVERALL, dtype=object), weights, is_trimmed)
    overall.insert(0, "domain", OVERALL)
    overall["target"] = np.nan
    overall["margin_error_abs"] = errors["error_abs"].max() if len(errors) else np.nan
    overall["margin_error_rel"] = errors["error_rel"].max() if len(errors) else np.nan
    rows = [overall.reset_index()]
    for raw in domains:
        spec = as_spec(raw)
        table = _summaries(level_labels(data, spec, missing_codes), weights, is_trimmed)
        cells = errors[errors["margin"] == spec_name(spec)].set_index("level")
        if spec in targets:
            table = table.reindex(table.index.union(cells.index, sort=False))
            table["n"] = table["n"].fillna(0)
            table["sum_weights"] = table["sum_weights"].fillna(0.0)
            table["n_trimmed"] = table["n_trimmed"].fillna(0)
        table["target"] = cells["target"].reindex(table.index)
        table["margin_error_abs"] = cells["error_abs"].reindex(table.index)
        table["margin_error_rel"] = cells["error_rel"].reindex(table.index)
        table = table.loc[sorted(table.index, key=_natural_key)]
        table.insert(0, "domain", spec_name(spec))
        rows.append(table.reset_index(names="level"))
    report = pd.concat(rows, ignore_index=True)
    report["cap"] = cap
    report["floor"] = floor
    report["trim_rounds"] = trim_rounds
    report["iterations"] = iterations
    report["converged"] = converged
    report["design"] = design
    report["n_replicates"] = int(n_replicates)
    report["n"] = report["n"].astype(np.int64)
    report["n_trimmed"] = report["n_trimmed"].astype(np.int64)
    report["level"] = report["level"].astype(str)
    return report[list(REPORT_COLUMNS)]
