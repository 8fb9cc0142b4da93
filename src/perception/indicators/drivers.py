"""What goes with an indicator: survey-weighted regressions on its ``drivers:`` (associations).

For every indicator of the catalogue that lists ``drivers:``, one model per wave: a logistic
regression of a proportion's 0/1 value (a linear one for net scores, means and indices) on
the drivers as factors, reported as average marginal effects with design-based confidence
intervals (:func:`perception.regression.marginal_effects`). Small predictor levels are pooled
or dropped first, so that no published effect rests on fewer than ``min_n`` respondents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perception.config import Catalogue, DisclosureRules, Indicator, IndicatorCatalogue
from perception.design import SurveyDesign
from perception.errors import ModelError, require_columns
from perception.indicators.scores import item_codes, score_indicator
from perception.regression import Family, marginal_effects, regress
from perception.tables import DRIVERS_TABLE
from perception.words import LANGS, say

__all__ = [
    "DRIVER_COLUMNS",
    "DRIVER_VALUE_COLUMNS",
    "PUBLISHED_DRIVER_COLUMNS",
    "indicator_drivers",
    "publish_drivers",
]

#: The drivers table: every column and its dtype, in order (``perception.tables.DRIVERS_TABLE``).
DRIVER_COLUMNS: dict[str, str] = DRIVERS_TABLE.dtypes(published=False)
#: The published drivers table (:func:`publish_drivers`): the same, disclosure columns appended.
PUBLISHED_DRIVER_COLUMNS: dict[str, str] = DRIVERS_TABLE.dtypes()
#: Columns blanked on a suppressed row of the published drivers table.
DRIVER_VALUE_COLUMNS = DRIVERS_TABLE.hidden

Note = tuple[str, str]
"""A note in English and French."""
_OUTCOME = "_drivers_outcome"
_PREFIX = "_driver_"


@dataclass(frozen=True)
class _Driver:
    """A driver's codes after pooling: ``codes`` (NaN where out of the model), labels, notes."""

    name: str
    codes: np.ndarray
    labels: dict[int, tuple[str, str]]
    notes: tuple[Note, ...]


def _note(key: str, name: Note, names: Note = ("", ""), **fields: object) -> Note:
    """Write a note of words.yaml's ``drivers.<key>`` in English and French."""
    en, fr = (
        say(f"drivers.{key}", lang, name=name[i], names=names[i], **fields)
        for i, lang in enumerate(LANGS)
    )
    return en, fr


def _pool(
    name: Note, codes: np.ndarray, keep: np.ndarray, labels: dict[int, tuple[str, str]], min_n: int
) -> tuple[np.ndarray, dict[int, tuple[str, str]], list[Note]]:
    """Pool the levels with fewer than ``min_n`` kept rows; drop the pool if it is still small.

    ``name`` is the driver's label (English, French).
    """
    codes = codes.copy()
    labels = dict(labels)
    notes: list[Note] = []
    present, counts = np.unique(codes[keep & ~np.isnan(codes)], return_counts=True)
    small = [int(c) for c, n in zip(present, counts, strict=True) if n < min_n]
    if not small:
        return codes, labels, notes
    total = int(sum(n for c, n in zip(present, counts, strict=True) if int(c) in small))
    names = ", ".join(labels[c][0] for c in small)
    names_fr = ", ".join(labels[c][1] for c in small)
    if len(small) > 1 and total >= min_n:
        target = small[0]
        codes[np.isin(codes, small)] = target
        prefix = _note("pooled_prefix", ("", ""))
        labels[target] = (prefix[0] + names, prefix[1] + names_fr)
        notes.append(_note("pooled", name, (names, names_fr), min_n=min_n))
    else:
        codes[np.isin(codes, small)] = np.nan
        notes.append(_note("dropped_levels", name, (names, names_fr), min_n=min_n, total=total))
    return codes, labels, notes


def _drivers(
    data: pd.DataFrame,
    names: Sequence[str],
    catalogue: Catalogue,
    outcome: np.ndarray,
    min_n: int,
) -> tuple[list[_Driver], list[Note]]:
    """Code each driver (substantive codes only), pooling small levels until none is left."""
    notes: list[Note] = []
    drivers: dict[str, np.ndarray] = {}
    labels: dict[str, dict[int, tuple[str, str]]] = {}
    titles: dict[str, Note] = {}
    for name in names:
        label = catalogue.variables[name].label
        titles[name] = (label.en, label.fr)
        if name not in data.columns or not data[name].notna().any():
            notes.append(_note("not_asked", (label.en, label.fr)))
            continue
        codes = item_codes(data[name])
        known = catalogue.codes(name)
        drivers[name] = np.where(np.isin(codes, list(known)), codes, np.nan)
        labels[name] = {int(c): (lab.en, lab.fr) for c, lab in known.items()}
    pooled_notes: dict[str, list[Note]] = {name: [] for name in drivers}
    for _ in range(10):
        keep = ~np.isnan(outcome)
        for codes in drivers.values():
            keep &= ~np.isnan(codes)
        changed = False
        for name in list(drivers):
            new, labels[name], found = _pool(titles[name], drivers[name], keep, labels[name], min_n)
            if found:
                changed = True
                pooled_notes[name].extend(found)
                drivers[name] = new
        if not changed:
            break
    out: list[_Driver] = []
    keep = ~np.isnan(outcome)
    for codes in drivers.values():
        keep &= ~np.isnan(codes)
    for name, codes in drivers.items():
        if np.unique(codes[keep]).size < 2:
            notes.append(_note("too_few_levels", titles[name], min_n=min_n))
            continue
        out.append(_Driver(name, codes, labels[name], tuple(pooled_notes[name])))
    return out, notes


def _notes(notes: Sequence[Note]) -> dict[str, str]:
    """Return the ``note_en`` and ``note_fr`` cells of a row: its notes joined by "; "."""
    return {
        "note_en": "; ".join(note[0] for note in notes),
        "note_fr": "; ".join(note[1] for note in notes),
    }


def _model(indicator: Indicator) -> tuple[Family, str]:
    """Return the model family and the unit of the effects for an indicator type."""
    if indicator.type == "proportion":
        return "binomial", "percentage points"
    if indicator.type == "net":
        return "gaussian", "percentage points"
    return "gaussian", "points"


def indicator_drivers(
    design: SurveyDesign,
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    *,
    survey: str,
    wave: str,
    min_n: int = 25,
    level: float = 0.95,
) -> pd.DataFrame:
    """Average marginal effects of each indicator's drivers in one wave (a tidy table).

    Parameters
    ----------
    design
        The wave's calibrated design; its data are the harmonized responses.
    indicators
        The indicator catalogue; indicators without ``drivers:`` are skipped.
    catalogue
        The variable catalogue (codes and labels of the drivers).
    survey, wave
        Written into every row.
    min_n
        Smallest number of respondents (in the model) behind a published level: smaller
        levels of a driver are pooled into one level when together they reach ``min_n``,
        and left out of the model otherwise; a driver left with one level is dropped. The
        ``note_en`` and ``note_fr`` columns say what was done. Use the disclosure rules'
        ``suppress_below``.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        :data:`DRIVER_COLUMNS`: one row per indicator × driver × non-reference level, with
        the effect of that level against the driver's reference level (its first code)
        holding the other drivers fixed, in percentage points for proportions and net scores
        (points on the indicator's scale otherwise); ``driver_p_value`` is the Wald F test of
        the whole driver; ``n_level`` and ``n_reference`` count the respondents of the level
        and of the reference level in the model. A model that cannot be fitted gives one row
        with NaN effects and the reason in ``note_en`` and ``note_fr``. Disclosure columns
        are added by :func:`publish_drivers`.

    Notes
    -----
    The outcome is the indicator's value in the ``"all"`` variant (don't know in the base).
    Rows with a missing or special code in the outcome or a driver are left out of the fit
    but stay in the design (:func:`perception.regression.regress`). These are associations
    in the population, not causes: a driver's effect is what goes with it once the other
    drivers are held fixed, not what changing it would do.

    References
    ----------
    .. [1] Graubard, B. I. and Korn, E. L. (1999). Predictive margins with survey data.
       *Biometrics*, 55(2), 652-659.

    """
    rows: list[dict[str, object]] = []
    data = design.data
    for indicator in indicators.indicators:
        if not indicator.drivers:
            continue
        responses = score_indicator(data, indicator, catalogue)
        if responses is None:
            continue
        family, unit = _model(indicator)
        outcome = responses.variant("all")
        base = {"survey": survey, "wave": wave, "indicator": indicator.id, "model": family}
        drivers, notes = _drivers(data, indicator.drivers, catalogue, outcome, min_n)
        if not drivers:
            rows.append({**base, "unit": unit, **_notes(notes or [("no driver", "aucun facteur")])})
            continue
        columns: dict[str, pd.Series | np.ndarray] = {_OUTCOME: outcome}
        for driver in drivers:
            present = sorted(int(c) for c in np.unique(driver.codes[~np.isnan(driver.codes)]))
            columns[_PREFIX + driver.name] = pd.Series(
                pd.Categorical(pd.Series(driver.codes).astype("Int64"), categories=present)
            )
        formula = f"{_OUTCOME} ~ " + " + ".join(_PREFIX + d.name for d in drivers)
        try:
            model = regress(design.with_columns(columns), formula, family, level=level)
        except ModelError as error:
            reason = f"{error.message} ({error.found})"
            notes.append(_note("not_fitted", ("", ""), reason=reason))
            rows.append({**base, "unit": unit, **_notes(notes)})
            continue
        effects = marginal_effects(model)
        used = model.rows
        for driver in drivers:
            test = model.wald_test([_PREFIX + driver.name])
            variable = catalogue.variables[driver.name]
            counts = pd.Series(driver.codes[used]).value_counts()
            note = _notes([*driver.notes, *notes])
            mine = effects[effects["variable"] == _PREFIX + driver.name]
            for effect in mine.itertuples(index=False):
                code, reference = int(str(effect.level)), int(str(effect.reference))
                n_level = int(counts.get(float(code), 0))
                n_reference = int(counts.get(float(reference), 0))
                rows.append(
                    {
                        **base,
                        "driver": driver.name,
                        "driver_label_en": variable.label.en,
                        "driver_label_fr": variable.label.fr,
                        "level": code,
                        "level_label_en": driver.labels[code][0],
                        "level_label_fr": driver.labels[code][1],
                        "reference": reference,
                        "reference_label_en": driver.labels[reference][0],
                        "reference_label_fr": driver.labels[reference][1],
                        "estimate": effect.estimate,
                        "se": effect.se,
                        "ci_low": effect.ci_low,
                        "ci_high": effect.ci_high,
                        "df": effect.df,
                        "p_value": effect.p_value,
                        "driver_p_value": test.p_value,
                        "unit": unit,
                        "n_level": n_level,
                        "n_reference": n_reference,
                        "n": model.n,
                        **note,
                    }
                )
    table = pd.DataFrame(rows, columns=list(DRIVER_COLUMNS))
    table[["note_en", "note_fr"]] = table[["note_en", "note_fr"]].fillna("")
    return table.astype(DRIVER_COLUMNS)


def publish_drivers(drivers: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """Return the drivers table of every wave under the disclosure rules, ready to publish.

    Parameters
    ----------
    drivers
        Tables of :func:`indicator_drivers` (:data:`DRIVER_COLUMNS`), one or more waves.
    rules
        The survey's disclosure rules (``config/disclosure.yaml``).

    Returns
    -------
    pandas.DataFrame
        :data:`PUBLISHED_DRIVER_COLUMNS`: a row is ``suppressed`` (its
        :data:`DRIVER_VALUE_COLUMNS` set to NA) when its level or its reference level has
        fewer than ``suppress_below`` respondents in the model, and ``flagged`` when the
        smaller of the two is below ``flag_below``; ``disclosure`` gives the reason. With
        ``indicator_drivers(min_n=suppress_below)`` nothing is suppressed (small levels were
        pooled or left out); this is the check that a table computed under other rules cannot
        publish a small level. Counts stay published, as in Table 1.

    Raises
    ------
    ValidationError
        If a column of :data:`DRIVER_COLUMNS` is missing (a table from an older version:
        rerun the wave) or present twice.

    """
    require_columns(
        drivers.columns,
        DRIVER_COLUMNS,
        "The drivers table",
        hint="recompute it with perception.indicators.indicator_drivers (rerun the wave "
        "job: the drivers asset)",
    )
    table = drivers.loc[:, list(DRIVER_COLUMNS)].reset_index(drop=True).astype(DRIVER_COLUMNS)
    smallest = np.fmin(
        table["n_level"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        table["n_reference"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
    )
    counted = ~np.isnan(smallest)
    suppressed = counted & (smallest < rules.suppress_below)
    flagged = counted & ~suppressed & (smallest < rules.flag_below)
    table.loc[suppressed, list(DRIVER_VALUE_COLUMNS)] = np.nan
    table["suppressed"] = suppressed
    table["flagged"] = flagged
    table["disclosure"] = np.where(
        suppressed, rules.small_reason, np.where(flagged, rules.flag_reason, "")
    )
    return table.astype(PUBLISHED_DRIVER_COLUMNS)
