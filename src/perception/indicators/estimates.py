"""Indicator estimates of one wave (Table 1, ``indicator_estimates``) and index reliability.

Each indicator's per-respondent values (:mod:`perception.indicators.scores`) become columns of
the calibrated design, and one :func:`perception.estimation.estimate_domains` call per
statistic estimates every indicator, variant and domain at once; gaps come from
:func:`perception.contrasts.domain_gaps`, with the covariance of their two sides.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from perception.config import Catalogue, Indicator, IndicatorCatalogue
from perception.config.indicators import (
    domain_set_columns,
    domain_set_label,
)
from perception.contrasts import domain_gaps
from perception.design import SurveyDesign
from perception.errors import ConfigError
from perception.estimation import CiMethod, Stat, estimate_domains
from perception.indicators.scores import (
    VARIANTS,
    Responses,
    cronbach_alpha,
    item_codes,
    rescaled_items,
    score_indicator,
)
from perception.tables import ESTIMATES_TABLE

__all__ = [
    "ESTIMATE_COLUMNS",
    "RELIABILITY_COLUMNS",
    "compute_indicators",
    "estimate_columns",
    "index_reliability",
]

#: Table 1 (``indicator_estimates``): its fixed columns and their dtypes, in order; the table
#: has the survey's domain columns after ``domain_set`` (:func:`estimate_columns`).
ESTIMATE_COLUMNS: dict[str, str] = ESTIMATES_TABLE.dtypes(published=False)
#: Cronbach's alpha of each index indicator in a wave: every column and its dtype.
RELIABILITY_COLUMNS: dict[str, str] = {
    "survey": "str",
    "wave": "str",
    "indicator": "str",
    "n_items": "Int64",
    "n": "Int64",
    "alpha": "float64",
}
_VALUES = tuple(c for c, dtype in ESTIMATE_COLUMNS.items() if dtype == "float64")
_RESULTS = ("estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_weighted", "n_eff")
_NONE = -1  # domain code of a column the domain set does not use, while merging


def estimate_columns(domains: Sequence[str]) -> dict[str, str]:
    """Return every column of Table 1 and its dtype, in order, for a survey's domain columns."""
    return ESTIMATES_TABLE.dtypes(domains, published=False)


def compute_indicators(
    design: SurveyDesign,
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    *,
    survey: str,
    wave: str,
    level: float = 0.95,
) -> pd.DataFrame:
    """Estimate every indicator of the catalogue in one wave, in every domain and variant.

    Parameters
    ----------
    design
        The wave's calibrated design (:func:`perception.weighting.workflow.weight_wave`); its
        data are the harmonized responses.
    indicators
        The indicator catalogue (:func:`perception.config.load_indicators`).
    catalogue
        The variable catalogue.
    survey, wave
        The survey key and the wave id written in every row.
    level
        Confidence level. Proportions use their indicator's ``ci_method`` (default logit, and
        Korn-Graubard at p = 0 or 1, see :func:`perception.estimation.confidence_interval`);
        other types use symmetric Student-t intervals.

    Returns
    -------
    pandas.DataFrame
        Table 1: the columns of :func:`estimate_columns` with their dtypes; one row per
        indicator × variant × domain of each of the indicator's domain sets (every catalogue
        code, present in the wave or not), indicators in catalogue order.

    Raises
    ------
    ConfigError
        When a disaggregation or a gap uses a variable the wave lacks.

    Notes
    -----
    * Base (``n``): respondents asked with a determined value, plus "don't know" in the
      ``"all"`` variant of proportions and net scores (see
      :mod:`perception.indicators.scores`); refusals are never in it (``n_refused``).
    * ``dk_share`` is the weighted share of "don't know" among the respondents asked,
      refusals excluded; it is the same in both variants.
    * ``availability`` is ``"not_asked"`` when the wave lacks an item (every value and count
      NA), ``"no_data"`` when the domain has nobody in the base (``n`` 0, values NA).
    * Gap rows: ``estimate`` is ``a − b`` within the row's domain, with the covariance of the
      two sides; ``n`` is the smaller side's base, ``n_a`` and ``n_b`` both; ``deff``,
      ``n_weighted``, ``n_eff``, ``dk_share`` and ``n_refused`` are NA. A gap's domain sets
      are its disaggregations without those holding its ``by`` variable. ``p_value`` tests
      ``a − b = 0``; ``p_adjusted`` is Benjamini-Hochberg over all gaps of the wave and
      variant. Both are NA on other rows.
    * Variance: Taylor linearization on the calibrated design (calibration-aware), domains
      over the whole design.

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley.
    .. [2] ICF (2020). *Guide to DHS Statistics*, DHS-7 (denominators, "don't know").

    """
    data = design.data
    domains = catalogue.domain_columns
    sets = {ind.id: _sets(indicators, ind, domains) for ind in indicators.indicators}
    clean = _domain_codes(data, indicators, catalogue, sets, wave)
    responses = {
        ind.id: score_indicator(data, ind, catalogue)
        for ind in indicators.indicators
        if ind.type != "gap"
    }
    columns: dict[str, np.ndarray] = dict(clean)
    for ind_id, answers in responses.items():
        if answers is not None:
            columns.update(_score_columns(ind_id, answers))
    work = design.with_columns(columns)
    asked = {
        ind.id: responses[ind.of or "" if ind.type == "gap" else ind.id] is not None
        for ind in indicators.indicators
    }
    plain = [i for i in indicators.indicators if i.type != "gap"]
    gaps = [i for i in indicators.indicators if i.type == "gap"]
    grid = _grid(catalogue, [s for ss in sets.values() for s in ss])
    keys = ["domain_set", *domains]
    found = _estimate_all(work, plain, asked, sets, level, indicators, domains)
    rows = [_fill(_plan(plain, sets, grid), found, keys)]
    if gaps:
        contrasts = [
            _gaps(work, gap, indicators.indicator(gap.of or ""), sets[gap.id], level, domains)
            for gap in gaps
            if asked[gap.id]
        ]
        rows.append(_fill_gap(_plan(gaps, sets, grid), contrasts, keys))
    table = pd.concat(rows, ignore_index=True)
    order = {ind.id: number for number, ind in enumerate(indicators.indicators)}
    table = table.sort_values(
        "indicator", key=lambda ids: ids.map(order), kind="stable", ignore_index=True
    )
    by_id = {ind.id: ind for ind in indicators.indicators}
    table = table.assign(
        survey=survey,
        wave=wave,
        benchmark=table["indicator"].map(lambda i: by_id[i].benchmark),
        type=table["indicator"].map(lambda i: by_id[i].type),
        unit=table["indicator"].map(lambda i: indicators.unit(by_id[i])),
        availability=table["availability"].where(table["indicator"].map(asked), "not_asked"),
    )
    return _typed(_adjust_gap_p_values(table), estimate_columns(domains), domains)


def _adjust_gap_p_values(table: pd.DataFrame) -> pd.DataFrame:
    """Add Benjamini-Hochberg adjusted p-values over every gap of a wave, per variant.

    All the gaps of a wave (every gap indicator in every domain) are tested at once, so their
    p-values are adjusted together for the false discovery rate [1]_.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate.
       *Journal of the Royal Statistical Society B*, 57(1), 289-300.

    """
    adjusted = pd.Series(np.nan, index=table.index)
    if "p_value" in table.columns:
        tested = table["p_value"].notna() & table["availability"].eq("estimated")
        for _, group in table[tested].groupby("variant"):
            adjusted[group.index] = multipletests(group["p_value"], method="fdr_bh")[1]
    return table.assign(p_adjusted=adjusted)


def index_reliability(
    design: SurveyDesign,
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    *,
    survey: str,
    wave: str,
) -> pd.DataFrame:
    """Weighted Cronbach's alpha of every index indicator in one wave.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`RELIABILITY_COLUMNS`: one row per index indicator, with the
        number of items, the complete cases ``n`` (0 and alpha NA when the wave lacks an
        item) and alpha on the items rescaled to 0..100 (see
        :func:`perception.indicators.scores.cronbach_alpha`).

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       *Psychometrika*, 16(3), 297-334.

    """
    rows = []
    for ind in indicators.indicators:
        if ind.type != "index":
            continue
        items = list(ind.items or [])
        alpha, n = float("nan"), 0
        if score_indicator(design.data, ind, catalogue) is not None:
            alpha, n = cronbach_alpha(
                rescaled_items(design.data, items, catalogue), np.asarray(design.weights)
            )
        rows.append(
            {"survey": survey, "wave": wave, "indicator": ind.id, "n_items": len(items)}
            | {"n": n, "alpha": alpha}
        )
    return _typed(pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS)), RELIABILITY_COLUMNS)


# --------------------------------------------------------------------------- preparation


def _sets(
    indicators: IndicatorCatalogue, indicator: Indicator, domains: Sequence[str]
) -> list[tuple[str, ...]]:
    """Return an indicator's domain sets (a gap: those without its ``by`` variable)."""
    sets = [domain_set_columns(name, domains) for name in indicators.disaggregations(indicator)]
    if indicator.type == "gap":
        sets = [s for s in sets if indicator.by not in s]
    return list(dict.fromkeys(sets))


def _domain_codes(
    data: pd.DataFrame,
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    sets: dict[str, list[tuple[str, ...]]],
    wave: str,
) -> dict[str, np.ndarray]:
    """Return each domain column as float codes, NaN outside the catalogue's substantive codes."""
    users: dict[str, str] = {}
    for ind in indicators.indicators:
        for column in [c for s in sets[ind.id] for c in s] + ([ind.by] if ind.by else []):
            users.setdefault(column, ind.id)
    clean: dict[str, np.ndarray] = {}
    for column, user in users.items():
        codes = item_codes(data[column]) if column in data.columns else np.full(len(data), np.nan)
        codes = np.where(np.isin(codes, list(catalogue.codes(column))), codes, np.nan)
        if np.isnan(codes).all():
            raise ConfigError(
                f"Indicator {user!r}: disaggregation by {column!r}, which wave {wave} lacks",
                expected=f"values of {column} ({sorted(catalogue.codes(column))}) in the wave",
                found="no such column" if column not in data.columns else "no valid value",
                hint=f"map {column} in the wave's codebook, or remove the disaggregation (and "
                "gaps by it) from the indicator catalogue",
                file=indicators.path,
                column=column,
            )
        clean[column] = codes
    return clean


def _score_columns(ind_id: str, answers: Responses) -> dict[str, np.ndarray]:
    """Return the design columns of an indicator: one per variant, its DK and refusal flags."""
    columns = {f"{ind_id}.{variant}": answers.variant(variant) for variant in VARIANTS}
    columns[f"{ind_id}.dk"] = answers.dont_know_flag()
    columns[f"{ind_id}.refused"] = answers.refused_flag()
    return columns


def _grid(catalogue: Catalogue, sets: Sequence[tuple[str, ...]]) -> pd.DataFrame:
    """Return every domain of every set: one row per combination of catalogue codes."""
    frames = []
    for columns in dict.fromkeys(sets):
        combos = list(itertools.product(*(sorted(catalogue.codes(c)) for c in columns)))
        frame = pd.DataFrame({"domain_set": [domain_set_label(columns)] * len(combos)})
        for column in catalogue.domain_columns:
            at = columns.index(column) if column in columns else None
            frame[column] = [combo[at] if at is not None else _NONE for combo in combos]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _keyed(frame: pd.DataFrame, domains: Sequence[str]) -> pd.DataFrame:
    """Give an estimation result integer domain keys (``_NONE`` where a set lacks a column)."""
    out = frame.copy()
    for column in domains:
        values = out[column] if column in out.columns else pd.Series(np.nan, index=out.index)
        out[column] = values.astype("float64").fillna(_NONE).astype("int64")
    return out


# --------------------------------------------------------------------------- estimation


def _estimate_all(
    work: SurveyDesign,
    plain: list[Indicator],
    asked: dict[str, bool],
    sets: dict[str, list[tuple[str, ...]]],
    level: float,
    indicators: IndicatorCatalogue,
    domains: Sequence[str],
) -> pd.DataFrame:
    """Estimate every scored column in every domain: one ``estimate_domains`` call per stat.

    Returns the results keyed by ``indicator``, ``kind`` (a variant, ``dk`` or ``refused``)
    and the integer domain keys.
    """
    chosen = [i for i in plain if asked[i.id]]
    by_stat: dict[tuple[Stat, CiMethod], list[str]] = {}
    for i in chosen:
        method = indicators.ci_method(i)
        flags = [f"{i.id}.{flag}" for flag in ("dk", "refused")]
        by_stat.setdefault(("proportion", method), []).extend(flags)
        key: tuple[Stat, CiMethod] = (
            ("proportion", method) if i.type == "proportion" else ("mean", "logit")  # unused
        )
        by_stat.setdefault(key, []).extend(f"{i.id}.{v}" for v in VARIANTS)
    domain_sets = list(dict.fromkeys(s for i in chosen for s in sets[i.id]))
    results = [
        estimate_domains(work, variables, [list(s) for s in domain_sets], stat, method, level)
        for (stat, method), variables in by_stat.items()
    ]
    if not results:
        return pd.DataFrame(columns=["indicator", "kind", "domain_set", *domains, *_RESULTS])
    found = pd.concat(results, ignore_index=True)
    split = found["variable"].str.rsplit(".", n=1)
    found = found.assign(indicator=split.str[0], kind=split.str[1]).drop(columns="variable")
    return _keyed(found, domains)


def _gaps(
    work: SurveyDesign,
    gap: Indicator,
    base: Indicator,
    sets: list[tuple[str, ...]],
    level: float,
    domains: Sequence[str],
) -> pd.DataFrame:
    """Estimate a gap indicator's contrasts in both variants within each of its domain sets."""
    found = domain_gaps(
        work,
        [f"{base.id}.{variant}" for variant in VARIANTS],
        gap.by or "",
        gap.a,
        gap.b,
        [list(s) for s in sets],
        "proportion" if base.type == "proportion" else "mean",
        level,
    )
    variant = found["variable"].str.rsplit(".", n=1).str[-1]
    found = found.assign(indicator=gap.id, variant=variant)
    return _keyed(found.drop(columns=["variable"]), domains)


def _plan(
    chosen: list[Indicator], sets: dict[str, list[tuple[str, ...]]], grid: pd.DataFrame
) -> pd.DataFrame:
    """Return one row per indicator × variant × domain of its sets, in reporting order."""
    spec = pd.DataFrame(
        [
            (ind.id, variant, domain_set_label(columns))
            for ind in chosen
            for variant in VARIANTS
            for columns in sets[ind.id]
        ],
        columns=["indicator", "variant", "domain_set"],
    )
    return spec.merge(grid, on="domain_set", how="left")


def _fill(rows: pd.DataFrame, found: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Attach estimates, DK shares and refusal counts to the planned rows."""
    on = ["indicator", *keys]
    main = found[found["kind"].isin(VARIANTS)].rename(columns={"kind": "variant"})
    dk = found.loc[found["kind"] == "dk", [*on, "estimate"]]
    refused = found.loc[found["kind"] == "refused", [*on, "n"]]
    out = (
        rows.merge(main, on=["variant", *on], how="left")
        .merge(dk.rename(columns={"estimate": "dk_share"}), on=on, how="left")
        .merge(refused.rename(columns={"n": "n_refused"}), on=on, how="left")
    )
    out["n"] = out["n"].fillna(0)
    out["n_refused"] = out["n_refused"].fillna(0)
    out["availability"] = np.where(out["n"] > 0, "estimated", "no_data")
    return out


def _fill_gap(rows: pd.DataFrame, found: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Attach the gaps' contrasts to their planned rows; ``n`` is the smaller side."""
    if found:
        rows = rows.merge(
            pd.concat(found, ignore_index=True), on=["indicator", "variant", *keys], how="left"
        )
    out = rows.assign(
        n_a=rows["n_a"].fillna(0) if "n_a" in rows else 0,
        n_b=rows["n_b"].fillna(0) if "n_b" in rows else 0,
    )
    out["n"] = np.minimum(out["n_a"], out["n_b"])
    out["availability"] = np.where(out["n"] > 0, "estimated", "no_data")
    return out


def _typed(
    table: pd.DataFrame, schema: dict[str, str], domains: Sequence[str] = ()
) -> pd.DataFrame:
    """Return the schema's columns in order and dtype; blank values outside estimated rows."""
    columns: dict[str, pd.Series] = {}
    estimated = table["availability"].eq("estimated") if "availability" in table.columns else None
    counted = table["availability"].ne("not_asked") if "availability" in table.columns else None
    for name, dtype in schema.items():
        values = table[name] if name in table.columns else pd.Series(np.nan, index=table.index)
        if name in domains:
            values = values.where(values != _NONE)
        if estimated is not None and name in _VALUES:
            values = values.where(estimated)
        if counted is not None and name in ("n", "n_refused", "n_a", "n_b"):
            values = values.where(counted)
        if dtype == "Int64":
            values = values.astype("float64").round().astype("Int64")
        columns[name] = values.astype(pd.api.types.pandas_dtype(dtype))
    return pd.DataFrame(columns)
