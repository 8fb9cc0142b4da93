"""The indicator catalogue (``config/indicators.yaml``): models, loader and catalogue checks.

The models check the structure (unknown keys rejected, types); :func:`validate_indicators`
then checks the meaning against the variable catalogue, with the key path of the culprit:
unknown variables and benchmarks, codes outside an item's codes, keys that do not fit the
indicator's type, targets outside the indicator's range, disaggregations by variables the
catalogue or the estimates table lack, gaps of unknown indicators and duplicated ids.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, StringConstraints

from perception.config.catalogue import Catalogue, Label, VariableName, WaveId
from perception.config.document import config_error, validate_document
from perception.errors import ConfigError
from perception.estimation import CiMethod
from perception.tables import DOMAIN_DTYPE, reserved_columns, with_domains
from perception.yamlio import YamlDocument, load_yaml

__all__ = [
    "DOMAIN_DTYPE",
    "SET_SEPARATOR",
    "AreaLevel",
    "Benchmark",
    "Defaults",
    "Indicator",
    "IndicatorCatalogue",
    "IndicatorType",
    "domain_set_columns",
    "domain_set_label",
    "load_indicators",
    "validate_indicators",
    "with_domains",
]

IndicatorType = Literal["proportion", "mean", "net", "index", "gap"]
Direction = Literal["higher", "lower"]
Term = Literal["short", "medium", "long"]

#: Joins the columns of a domain set's name, as ``perception.estimation`` labels sets.
SET_SEPARATOR = "×"
NATIONAL = "national"

IndicatorId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
SetName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


@dataclass(frozen=True)
class GapSides:
    """The cells a gap indicator contrasts: indicator ``of`` at ``by == a`` minus ``by == b``."""

    of: str
    by: str
    a: int
    b: int


class _Model(BaseModel):
    """Base of every indicator-catalogue model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Benchmark(_Model):
    """A benchmark of the mission's plan that indicators serve."""

    term: Term
    label: Label


class Defaults(_Model):
    """Settings every indicator inherits unless it sets its own."""

    disaggregations: list[SetName] = Field(min_length=1)
    baseline_wave: WaveId
    ci_method: CiMethod = "logit"


class AreaLevel(_Model):
    """Small-area (Fay-Herriot) estimates by one area level: its covariate file and options.

    ``covariates`` is a CSV file (relative to the project root) with one row per area: a
    column named as the area level holding its catalogue codes, and numeric covariates
    (``columns``, default every other column). See :func:`perception.small_area.small_area`.
    """

    covariates: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    columns: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    variance_method: Literal["reml", "ml", "fh"] = "reml"
    transform: Literal["auto", "none", "arcsin"] = "auto"
    gvf: Literal["none", "unstable", "all"] = "unstable"
    gvf_min_n: Annotated[StrictInt, Field(ge=0)] = 30


class Indicator(_Model):
    """One indicator; which keys apply depends on ``type`` (checked against the catalogue).

    * ``proportion``: ``items`` (one or more) and ``success`` codes; with several items a
      respondent succeeds when any item is a success.
    * ``net``: one item, ``positive`` and ``negative`` codes (% positive − % negative).
    * ``mean``: one item, mean of its substantive codes.
    * ``index``: two or more items, each rescaled to 0..100, averaged per respondent.
    * ``gap``: ``of`` (another indicator), ``by`` (a demographic), ``a`` and ``b`` (its
      codes): the indicator among ``by == a`` minus among ``by == b``.
    """

    id: IndicatorId
    label: Label
    benchmark: VariableName
    type: IndicatorType
    items: list[VariableName] | None = Field(default=None, min_length=1)
    success: list[StrictInt] | None = Field(default=None, min_length=1)
    positive: list[StrictInt] | None = Field(default=None, min_length=1)
    negative: list[StrictInt] | None = Field(default=None, min_length=1)
    of: IndicatorId | None = None
    by: VariableName | None = None
    a: StrictInt | None = None
    b: StrictInt | None = None
    direction: Direction
    baseline_wave: WaveId | None = None
    target: float | None = None
    target_date: date | None = None
    disaggregations: list[SetName] | None = Field(default=None, min_length=1)
    ci_method: CiMethod | None = None
    drivers: list[VariableName] | None = Field(default=None, min_length=1)
    areas: VariableName | None = None


class IndicatorCatalogue(_Model):
    """The indicator catalogue: benchmarks, defaults and indicators, in reporting order."""

    benchmarks: dict[VariableName, Benchmark] = Field(min_length=1)
    defaults: Defaults
    indicators: list[Indicator] = Field(min_length=1)
    areas: dict[VariableName, AreaLevel] | None = None
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """Return the file the catalogue was loaded from, if any."""
        return self._path

    @property
    def headline(self) -> str:
        """Return the headline benchmark: the first one under ``benchmarks:``."""
        return next(iter(self.benchmarks))

    def indicator(self, indicator_id: str) -> Indicator:
        """Return the indicator with this id."""
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)

    def disaggregations(self, indicator: Indicator) -> list[str]:
        """Return the names of the domain sets an indicator is estimated in."""
        return list(indicator.disaggregations or self.defaults.disaggregations)

    def ci_method(self, indicator: Indicator) -> CiMethod:
        """Return the confidence-interval method of an indicator's proportions."""
        return indicator.ci_method or self.defaults.ci_method

    def baseline_wave(self, indicator: Indicator) -> str:
        """Return the indicator's baseline wave."""
        return indicator.baseline_wave or self.defaults.baseline_wave

    def unit(self, indicator: Indicator) -> str:
        """Return an indicator's unit: ``"percent"`` (stored as fractions) or ``"score"``."""
        if indicator.type == "gap":
            return self.unit(self.indicator(indicator.of or ""))
        return "percent" if indicator.type in ("proportion", "net") else "score"

    def metadata(self) -> pd.DataFrame:
        """Return one row per indicator, in order, with what the benchmark status reads.

        Columns: ``indicator``, ``benchmark``, ``benchmark_term``, ``label_en``, ``label_fr``,
        ``type``, ``unit``, ``direction``, ``target`` (NaN when none) and ``target_date``
        (a ``datetime.date`` or None).
        """
        rows = [
            {
                "indicator": ind.id,
                "benchmark": ind.benchmark,
                "benchmark_term": self.benchmarks[ind.benchmark].term,
                "label_en": ind.label.en,
                "label_fr": ind.label.fr,
                "type": ind.type,
                "unit": self.unit(ind),
                "direction": ind.direction,
                "target": float("nan") if ind.target is None else ind.target,
                "target_date": ind.target_date,
            }
            for ind in self.indicators
        ]
        return pd.DataFrame(rows).astype({"target": "float64", "target_date": "object"})

    def directions(self) -> dict[str, str]:
        """Return each indicator's good direction, ``"higher"`` or ``"lower"``."""
        return {ind.id: ind.direction for ind in self.indicators}

    def baselines(self) -> dict[str, str]:
        """Return each indicator's baseline wave."""
        return {ind.id: self.baseline_wave(ind) for ind in self.indicators}

    def gap_sides(self) -> dict[str, GapSides]:
        """Return the two sides of every gap indicator, for complementary suppression."""
        return {
            i.id: GapSides(i.of, i.by, i.a, i.b)
            for i in self.indicators
            if i.type == "gap" and i.of and i.by and i.a is not None and i.b is not None
        }


def domain_set_columns(name: str, domains: Sequence[str]) -> tuple[str, ...]:
    """Return the columns of a domain set name: ``national`` → (), ``gender×region`` → both.

    Columns come in the order of the survey's ``domains``, so that ``region×gender`` and
    ``gender×region`` are the same set, labelled ``gender×region`` when gender comes first.
    """
    if name == NATIONAL:
        return ()
    columns = [column.strip() for column in name.split(SET_SEPARATOR)]
    rank = {column: number for number, column in enumerate(domains)}
    return tuple(sorted(columns, key=lambda c: rank.get(c, len(rank))))


def domain_set_label(columns: Sequence[str]) -> str:
    """Return the name of a domain set from its columns (``national`` for none)."""
    return SET_SEPARATOR.join(columns) if columns else NATIONAL


# --------------------------------------------------------------------------- loading


def load_indicators(
    path: str | Path, catalogue: Catalogue, *, waves: Iterable[str] | None = None
) -> IndicatorCatalogue:
    """Load ``config/indicators.yaml`` and check it against the variable catalogue.

    Parameters
    ----------
    path
        The indicator catalogue file.
    catalogue
        The variable catalogue (``config/variables.yaml``).
    waves
        The survey's wave ids; when given, every baseline wave must be one of them.

    Raises
    ------
    ConfigError
        On the first problem, naming the file, the indicator, the key path and its line.

    """
    doc = load_yaml(path)
    try:
        indicators = validate_document(IndicatorCatalogue, doc, "indicator catalogue")
    except ConfigError as error:
        raise _with_indicator_id(error, doc) from None
    _Checker(indicators, catalogue, doc, waves).run()
    indicators._path = doc.path
    return indicators


def _with_indicator_id(error: ConfigError, doc: YamlDocument) -> ConfigError:
    """Name the indicator a structural error is about (``indicators[4]`` → its id)."""
    match = re.search(r"\bat indicators\[(\d+)\]", error.message)
    entries = doc.data.get("indicators") if isinstance(doc.data, dict) else None
    if match is None or not isinstance(entries, list) or int(match[1]) >= len(entries):
        return error
    entry = entries[int(match[1])]
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return error
    return ConfigError(
        f"Indicator {entry['id']!r}: {error.message}",
        expected=error.expected,
        found=error.found,
        hint=error.hint,
        file=error.file,
    )


def validate_indicators(
    indicators: IndicatorCatalogue, catalogue: Catalogue, *, waves: Iterable[str] | None = None
) -> None:
    """Check an indicator catalogue built in Python; raise ConfigError on the first problem."""
    data = indicators.model_dump(mode="json", exclude_none=True)
    doc = YamlDocument(path=Path("(in memory)"), data=data, lines={})
    _Checker(indicators, catalogue, doc, waves).run()


class _Checker:
    """Check an indicator catalogue against the variable catalogue, one rule at a time."""

    def __init__(
        self,
        indicators: IndicatorCatalogue,
        catalogue: Catalogue,
        doc: YamlDocument,
        waves: Iterable[str] | None,
    ) -> None:
        self.indicators = indicators
        self.catalogue = catalogue
        self.doc = doc
        self.waves = None if waves is None else list(waves)

    def error(
        self, key: Sequence[Hashable], message: str, *, expected: str, found: str, hint: str
    ) -> ConfigError:
        """Build a ConfigError about ``key`` naming the file, the key path and its line."""
        return config_error(self.doc, key, message, expected=expected, found=found, hint=hint)

    def run(self) -> None:
        """Apply every rule; the first problem raises."""
        self.check_domains()
        self.check_sets(("defaults", "disaggregations"), self.indicators.defaults.disaggregations)
        self.check_wave(("defaults", "baseline_wave"), self.indicators.defaults.baseline_wave)
        self.check_area_levels()
        seen: dict[str, int] = {}
        for number, indicator in enumerate(self.indicators.indicators):
            if indicator.id in seen:
                raise self.error(
                    ("indicators", number, "id"),
                    f"Indicator {indicator.id!r} is defined twice",
                    expected="each indicator id once",
                    found=f"{indicator.id!r} at indicators[{seen[indicator.id]}] and "
                    f"indicators[{number}]",
                    hint="rename one of them or merge them",
                )
            seen[indicator.id] = number
        # Gaps last: a gap's target range comes from the (checked) indicator it is a gap of.
        numbered = list(enumerate(self.indicators.indicators))
        for number, indicator in sorted(numbered, key=lambda item: item[1].type == "gap"):
            self.check_indicator(("indicators", number), indicator)

    def check_domains(self) -> None:
        """Check that no domain of the catalogue takes the name of a fixed table column."""
        reserved = reserved_columns()
        clash = [d for d in self.catalogue.domain_columns if d in reserved]
        if clash:
            raise ConfigError(
                "A domain of the variable catalogue has the name of a published table column",
                expected="domain names other than " + ", ".join(sorted(reserved)),
                found=", ".join(repr(c) for c in clash),
                hint="rename the variable in config/variables.yaml (and its codebooks)",
                file=self.doc.path,
            )

    def check_indicator(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check one indicator."""
        name = f"Indicator {indicator.id!r}"
        if indicator.benchmark not in self.indicators.benchmarks:
            known = list(self.indicators.benchmarks)
            raise self.error(
                (*key, "benchmark"),
                f"{name}: unknown benchmark",
                expected=f"one of the benchmarks {', '.join(known)}",
                found=repr(indicator.benchmark),
                hint=_did_you_mean(indicator.benchmark, known, "declare it under `benchmarks:`"),
            )
        self.check_keys(key, indicator)
        if indicator.type == "gap":
            self.check_gap(key, indicator)
        else:
            self.check_items(key, indicator)
        self.check_target(key, indicator)
        if indicator.disaggregations is not None:
            self.check_sets((*key, "disaggregations"), indicator.disaggregations, name)
        if indicator.baseline_wave is not None:
            self.check_wave((*key, "baseline_wave"), indicator.baseline_wave, name)
        if indicator.drivers is not None:
            self.check_drivers((*key, "drivers"), indicator)
        if indicator.areas is not None:
            self.check_indicator_areas((*key, "areas"), indicator)

    def check_area_levels(self) -> None:
        """Check that every area level under ``areas:`` is a domain of the catalogue."""
        domains = self.catalogue.domain_columns
        for level in self.indicators.areas or {}:
            if level not in domains:
                raise self.error(
                    ("areas", level),
                    "Small-area estimates by a variable that is not one of the catalogue's domains",
                    expected=f"a domain of config/variables.yaml: one of {', '.join(domains)}",
                    found=repr(level),
                    hint=_did_you_mean(
                        level, list(domains), "add it to `domains:` in config/variables.yaml"
                    ),
                )

    def check_indicator_areas(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check an indicator's ``areas:``: a declared level it is disaggregated by, not a gap."""
        name = f"Indicator {indicator.id!r}"
        level = indicator.areas or ""
        declared = list(self.indicators.areas or {})
        if indicator.type == "gap":
            raise self.error(
                key,
                f"{name}: a gap has no small-area estimates",
                expected="`areas:` on a proportion, net, mean or index indicator",
                found="`areas:` on a gap",
                hint=f"list the areas under the indicator the gap is of ({indicator.of!r})",
            )
        if level not in declared:
            raise self.error(
                key,
                f"{name}: small-area estimates by an undeclared area level",
                expected="an area level declared under `areas:` at the top of the file"
                + (f" ({', '.join(declared)})" if declared else ""),
                found=repr(level),
                hint=f"declare `areas: {{{level}: {{covariates: <csv file>}}}}` at the top level",
            )
        if level not in self.indicators.disaggregations(indicator):
            raise self.error(
                key,
                f"{name}: small-area estimates need the direct estimates by {level!r}",
                expected=f"{level!r} among the indicator's disaggregations",
                found=f"disaggregations {self.indicators.disaggregations(indicator)}",
                hint=f"add {level} to the indicator's (or the defaults') `disaggregations:`",
            )

    def check_drivers(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check drivers: categorical catalogue variables, each once, not the indicator's items."""
        name = f"Indicator {indicator.id!r}"
        drivers = indicator.drivers or []
        if indicator.type == "gap":
            raise self.error(
                key,
                f"{name}: a gap has no drivers",
                expected="`drivers:` on a proportion, net, mean or index indicator",
                found="`drivers:` on a gap",
                hint=f"list the drivers under the indicator the gap is of ({indicator.of!r})",
            )
        for number, driver in enumerate(drivers):
            var = self.catalogue.variables.get(driver)
            if var is None or var.kind != "categorical":
                known = [n for n, v in self.catalogue.variables.items() if v.kind == "categorical"]
                raise self.error(
                    (*key, number),
                    f"{name}: unknown driver" if var is None else f"{name}: driver not categorical",
                    expected="a categorical variable of the variable catalogue",
                    found=repr(driver) if var is None else f"{driver!r} of kind {var.kind}",
                    hint=_did_you_mean(driver, known, "use a banded version (e.g. age_band)"),
                )
            if drivers.index(driver) != number or driver in (indicator.items or []):
                raise self.error(
                    (*key, number),
                    f"{name}: driver listed twice or one of the indicator's own items",
                    expected="each driver once, and not an item of the indicator",
                    found=repr(driver),
                    hint="remove it from `drivers:`",
                )

    def check_keys(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check that the indicator has the keys its type needs and no keys of other types."""
        needs = {
            "proportion": ("items", "success"),
            "net": ("items", "positive", "negative"),
            "mean": ("items",),
            "index": ("items",),
            "gap": ("of", "by", "a", "b"),
        }[indicator.type]
        optional = ("items", "success", "positive", "negative", "of", "by", "a", "b")
        for field in optional:
            present = getattr(indicator, field) is not None
            if present != (field in needs):
                raise self.error(
                    (*key, field if present else "type"),
                    f"Indicator {indicator.id!r}: "
                    + (f"`{field}` does not apply" if present else f"`{field}` is missing"),
                    expected=f"the keys {', '.join(needs)} for a {indicator.type} indicator",
                    found=f"`{field}:` present" if present else f"no `{field}:`",
                    hint=_TYPE_HINTS[indicator.type],
                )
        count = len(indicator.items or [])
        wanted = {"net": (1, 1), "mean": (1, 1), "index": (2, None)}.get(indicator.type)
        if wanted is not None and not (
            wanted[0] <= count and (wanted[1] is None or count <= wanted[1])
        ):
            raise self.error(
                (*key, "items"),
                f"Indicator {indicator.id!r}: wrong number of items",
                expected="one item" if wanted[1] == 1 else "two or more items",
                found=f"{count} item(s)",
                hint=_TYPE_HINTS[indicator.type],
            )
        if indicator.ci_method is not None and indicator.type != "proportion":
            raise self.error(
                (*key, "ci_method"),
                f"Indicator {indicator.id!r}: `ci_method` does not apply",
                expected="ci_method only on proportion indicators",
                found=f"ci_method: {indicator.ci_method} on a {indicator.type} indicator",
                hint="remove it: means, net scores, indices and gaps use symmetric t intervals",
            )
        if indicator.target_date is not None and indicator.target is None:
            raise self.error(
                (*key, "target_date"),
                f"Indicator {indicator.id!r}: a target date without a target",
                expected="`target:` next to `target_date:`",
                found="no `target:`",
                hint="add the target value, or remove the date",
            )

    def check_items(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check that every item is a catalogue item and every code is one of its codes."""
        name = f"Indicator {indicator.id!r}"
        items = indicator.items or []
        for number, item in enumerate(items):
            var = self.catalogue.variables.get(item)
            if var is None or var.role != "item":
                items_known = [n for n, v in self.catalogue.variables.items() if v.role == "item"]
                raise self.error(
                    (*key, "items", number),
                    f"{name}: unknown variable" if var is None else f"{name}: not an item",
                    expected="a perception item of the variable catalogue (role: item)",
                    found=repr(item) if var is None else f"{item!r} with role {var.role}",
                    hint=_did_you_mean(item, items_known, "add it to config/variables.yaml"),
                )
            if items.index(item) != number:
                raise self.error(
                    (*key, "items", number),
                    f"{name}: item listed twice",
                    expected="each item once",
                    found=repr(item),
                    hint="remove the repeated item",
                )
            codes = self.catalogue.codes(item)
            if indicator.type in ("mean", "index") and not (var.ordered or len(codes) == 2):
                raise self.error(
                    (*key, "items", number),
                    f"{name}: a {indicator.type} of an unordered item",
                    expected="an ordered item (ordered: true) or a two-code item",
                    found=f"{item!r} with unordered codes {sorted(codes)}",
                    hint="use a proportion with success codes instead",
                )
            for field in ("success", "positive", "negative"):
                for position, code in enumerate(getattr(indicator, field) or []):
                    if code not in codes:
                        special = self.catalogue.special_codes
                        raise self.error(
                            (*key, field, position),
                            f"{name}: {field} code outside the codes of {item!r}",
                            expected=f"one of {sorted(codes)}",
                            found=f"code {code}",
                            hint=f"don't know ({special.dont_know}) and refused "
                            f"({special.refused}) are never successes; see the codes of "
                            f"{item} in config/variables.yaml",
                        )
        overlap = sorted(set(indicator.positive or []) & set(indicator.negative or []))
        if overlap:
            raise self.error(
                (*key, "negative"),
                f"{name}: a code both positive and negative",
                expected="positive and negative codes that do not overlap",
                found=f"code {overlap[0]} in both",
                hint="remove it from one of them; middle codes can be in neither",
            )

    def check_gap(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check a gap: a known non-gap indicator, a demographic ``by`` and its codes."""
        name = f"Indicator {indicator.id!r}"
        ids = [i.id for i in self.indicators.indicators]
        of = indicator.of or ""
        base = next((i for i in self.indicators.indicators if i.id == of), None)
        if base is None or base.type == "gap":
            raise self.error(
                (*key, "of"),
                f"{name}: gap of an unknown indicator" if base is None else f"{name}: gap of a gap",
                expected="the id of a proportion, mean, net or index indicator",
                found=repr(of) if base is None else f"{of!r}, itself a gap",
                hint=_did_you_mean(of, ids, "define the indicator first"),
            )
        by = indicator.by or ""
        groups = self.catalogue.domain_columns
        if by not in groups:
            raise self.error(
                (*key, "by"),
                f"{name}: gap by an unknown variable"
                if by not in self.catalogue.variables
                else f"{name}: gap by a variable that is not one of the catalogue's domains",
                expected=f"a domain of config/variables.yaml: one of {', '.join(groups)}",
                found=repr(by),
                hint=_did_you_mean(
                    by, list(groups), "add it to `domains:` in config/variables.yaml"
                ),
            )
        codes = self.catalogue.codes(by)
        for field in ("a", "b"):
            code = getattr(indicator, field)
            if code not in codes:
                raise self.error(
                    (*key, field),
                    f"{name}: `{field}` is not a code of {by!r}",
                    expected=f"one of {sorted(codes)}",
                    found=f"code {code}",
                    hint=f"see the codes of {by} in config/variables.yaml",
                )
        if indicator.a == indicator.b:
            raise self.error(
                (*key, "b"),
                f"{name}: both sides of the gap are the same group",
                expected="two different codes for a and b",
                found=f"a = b = {indicator.a}",
                hint="a gap is a − b between two groups, e.g. a: 2 (women), b: 1 (men)",
            )

    def value_range(self, indicator: Indicator) -> tuple[float, float]:
        """Return the range of an indicator's values, in its unit."""
        if indicator.type == "gap":
            low, high = self.value_range(self.indicators.indicator(indicator.of or ""))
            return low - high, high - low
        if indicator.type == "proportion":
            return 0.0, 1.0
        if indicator.type == "net":
            return -1.0, 1.0
        if indicator.type == "index":
            return 0.0, 100.0
        codes = self.catalogue.codes((indicator.items or [""])[0])
        return float(min(codes)), float(max(codes))

    def check_target(self, key: tuple[Hashable, ...], indicator: Indicator) -> None:
        """Check that the target lies in the indicator's range (fractions for percentages)."""
        if indicator.target is None:
            return
        low, high = self.value_range(indicator)
        if not low <= indicator.target <= high:
            unit = {
                "proportion": "a fraction: 0.55 means 55%",
                "net": "a fraction from -1 to 1: 0.2 means +20 points",
                "index": "a score from 0 to 100",
                "mean": "a score on the item's code scale",
                "gap": "in the unit of the indicator it is a gap of (fractions for percentages)",
            }[indicator.type]
            raise self.error(
                (*key, "target"),
                f"Indicator {indicator.id!r}: target outside the indicator's range",
                expected=f"a value from {low:g} to {high:g}",
                found=f"target {indicator.target:g}",
                hint=f"the target of a {indicator.type} indicator is {unit}",
            )

    def check_sets(self, key: tuple[Hashable, ...], names: Sequence[str], who: str = "") -> None:
        """Check domain set names: known catalogue variables among the table's domain columns."""
        prefix = f"{who}: " if who else ""
        domains = self.catalogue.domain_columns
        labels = [domain_set_label(domain_set_columns(name, domains)) for name in names]
        for number, set_name in enumerate(names):
            where = (*key, number)
            if labels.index(labels[number]) != number:
                raise self.error(
                    where,
                    f"{prefix}disaggregation listed twice",
                    expected="each domain set once",
                    found=repr(set_name),
                    hint="remove the repeated entry",
                )
            columns = domain_set_columns(set_name, domains)
            for column in columns:
                if column not in self.catalogue.variables:
                    close = difflib.get_close_matches(column, list(domains), n=1)
                    hint = f"did you mean {close[0]!r}?" if close else ""
                    if any(sep in set_name for sep in ("*", " x ", ":", ",", "+")):
                        hint = f"join crossed variables with {SET_SEPARATOR!r}, e.g. gender×region"
                    raise self.error(
                        where,
                        f"{prefix}disaggregation by a variable the catalogue lacks",
                        expected=f"{NATIONAL!r} or variables of config/variables.yaml "
                        f"joined by {SET_SEPARATOR!r}",
                        found=f"{column!r} in {set_name!r}",
                        hint=hint or "add the variable to config/variables.yaml first",
                    )
                if column not in domains:
                    raise self.error(
                        where,
                        f"{prefix}disaggregation by a variable that is not one of the "
                        "catalogue's domains",
                        expected=f"domains of config/variables.yaml: {', '.join(domains)}",
                        found=f"{column!r} in {set_name!r}",
                        hint=f"add {column} to `domains:` in config/variables.yaml",
                    )
            if len(set(columns)) != len(columns):
                raise self.error(
                    where,
                    f"{prefix}a variable crossed with itself",
                    expected="distinct variables in a crossed domain set",
                    found=repr(set_name),
                    hint="list each variable once",
                )

    def check_wave(self, key: tuple[Hashable, ...], wave: str, who: str = "") -> None:
        """Check that a baseline wave is one of the survey's waves (when they are known)."""
        if self.waves is not None and wave not in self.waves:
            raise self.error(
                key,
                f"{who + ': ' if who else ''}unknown baseline wave",
                expected=f"one of the survey's waves {', '.join(self.waves)}",
                found=repr(wave),
                hint=_did_you_mean(wave, self.waves, "see the waves in config/survey.yaml"),
            )


_TYPE_HINTS = {
    "proportion": "a proportion has `items:` and `success:` codes",
    "net": "a net score has one item in `items:` with `positive:` and `negative:` codes",
    "mean": "a mean has one item in `items:` and no codes",
    "index": "an index has two or more items in `items:` and no codes",
    "gap": "a gap has `of:` (an indicator id), `by:` (e.g. gender), `a:` and `b:` (its codes)",
}


def _did_you_mean(value: str, options: Sequence[str], otherwise: str) -> str:
    """Suggest the closest option, or fall back to ``otherwise``."""
    close = difflib.get_close_matches(value, list(options), n=1)
    return f"did you mean {close[0]!r}?" if close else otherwise
