"""Human labels for the workbook: indicators, benchmarks, domains and codes, from config/."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pandas as pd

from perception.config import Catalogue, SurveyConfig
from perception.errors import ConfigError, ValidationError
from perception.words import LANGS, Lang, say

__all__ = ["CROSS", "LANGS", "NATIONAL", "ExportLabels", "Lang", "Text", "set_columns"]

Text = Mapping[str, str]
"""A text by language: ``{"en": "Women", "fr": "Femmes"}``."""

NATIONAL = "national"
CROSS = "×"
"""Separator of the columns of a crossed domain set (``gender×region``), as estimation names it."""


@dataclass(frozen=True)
class ExportLabels:
    """Labels of everything the workbook names, each as ``{"en": ..., "fr": ...}``.

    ``variables`` and ``codes`` label the survey's domain columns, in table order, and their
    codes (from the variable catalogue, see :meth:`from_config`); ``groups`` names a code as a
    group of people ("Women"; the catalogue's ``groups:``, else the code's label);
    ``indicators`` and ``benchmarks`` come from the indicator catalogue; ``survey`` is the
    survey's title.
    """

    survey: Text
    indicators: Mapping[str, Text]
    benchmarks: Mapping[str, Text]
    variables: Mapping[str, Text]
    codes: Mapping[str, Mapping[int, Text]]
    groups: Mapping[str, Mapping[int, Text]] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        survey: SurveyConfig,
        catalogue: Catalogue,
        *,
        indicators: Mapping[str, Text],
        benchmarks: Mapping[str, Text],
    ) -> ExportLabels:
        """Build the labels from the survey file and the catalogue's domains."""
        domains = catalogue.domain_columns
        return cls(
            survey=survey.title.model_dump(),
            indicators=indicators,
            benchmarks=benchmarks,
            variables={c: catalogue.variables[c].label.model_dump() for c in domains},
            codes={
                c: {code: label.model_dump() for code, label in catalogue.codes(c).items()}
                for c in domains
            },
            groups={
                c: {
                    code: catalogue.group_label(c, code).model_dump() for code in catalogue.codes(c)
                }
                for c in domains
            },
        )

    @property
    def domains(self) -> tuple[str, ...]:
        """Return the survey's domain columns, in table order."""
        return tuple(self.variables)

    def domain_set(self, domain_set: str, lang: Lang) -> str:
        """Name a domain set: ``National``, ``Gender`` or ``Gender × Region``."""
        if domain_set == NATIONAL:
            return say("national", lang)
        return " × ".join(self.variables[c][lang] for c in set_columns(domain_set))

    def domain(self, domain_set: str, codes: Mapping[str, int], lang: Lang) -> str:
        """Name a domain for people: ``National``, ``Women`` or ``Women, 18-24, Lake District``."""
        if domain_set == NATIONAL:
            return say("national", lang)
        return ", ".join(
            (self.groups.get(c, {}).get(codes[c]) or self.codes[c][codes[c]])[lang]
            for c in set_columns(domain_set)
        )

    def check(
        self,
        estimates: pd.DataFrame,
        status: pd.DataFrame,
        lang: Lang,
        drivers: pd.DataFrame | None = None,
    ) -> None:
        """Check that every indicator, benchmark, domain and code of the tables has a label.

        Raises
        ------
        ConfigError
            Naming the first kind of missing label and every key that lacks one.

        """
        self._require(
            "survey title", [lang] if lang not in self.survey else [], "the survey file's title"
        )
        needed_indicators = sorted(
            set(estimates["indicator"])
            | set(status["indicator"])
            | set(() if drivers is None else drivers["indicator"])
        )
        self._require("indicator", _lacking(self.indicators, needed_indicators, lang), "indicators")
        needed_benchmarks = sorted(set(estimates["benchmark"]) | set(status["benchmark"]))
        self._require("benchmark", _lacking(self.benchmarks, needed_benchmarks, lang), "benchmarks")
        sets = sorted(set(estimates["domain_set"]))
        columns = sorted({c for s in sets for c in set_columns(s)})
        unknown = [c for c in columns if c not in self.variables]
        self._require("domain column", unknown, "domains of config/variables.yaml")
        for domain_set in sets:
            _check_codes_present(estimates, domain_set)
        self._require("domain variable", _lacking(self.variables, columns, lang), "variables")
        for column in columns:
            used = estimates[column].dropna().astype(int).unique()
            codes = sorted(int(c) for c in used)
            self._require(
                f"{column} code", _lacking(self.codes.get(column, {}), codes, lang), "codes"
            )

    @staticmethod
    def _require(what: str, missing: Sequence[object], where: str) -> None:
        """Raise a ConfigError when any label is missing."""
        if missing:
            raise ConfigError(
                f"No label for some {what}s of the exported tables",
                expected=f"a label in English and French for every {what}",
                found=f"unlabelled: {', '.join(map(str, missing))}",
                hint=f"add their labels to the {where} in config/ (indicators.yaml or "
                "variables.yaml)",
            )


K = TypeVar("K", str, int)


def _lacking(labels: Mapping[K, Text], keys: Iterable[K], lang: Lang) -> list[K]:
    """Return the keys without a label in ``lang``."""
    return [k for k in keys if k not in labels or lang not in labels[k]]


def set_columns(domain_set: str) -> list[str]:
    """Return the domain columns of a domain set: ``[]`` for national, ``[gender, region]``."""
    return [] if domain_set == NATIONAL else domain_set.split(CROSS)


def _check_codes_present(estimates: pd.DataFrame, domain_set: str) -> None:
    """Refuse rows of a domain set with no code in one of the set's own columns."""
    rows = estimates["domain_set"] == domain_set
    for column in set_columns(domain_set):
        if column not in estimates.columns:
            continue
        blank = (rows & estimates[column].isna()).to_numpy(dtype=bool)
        if blank.any():
            raise ValidationError(
                f"Rows of domain set `{domain_set}` have no `{column}` code",
                expected=f"a code in `{column}` on every row of domain set `{domain_set}`",
                found=f"{int(blank.sum())} row(s) with NA",
                hint="build Table 1 with perception.indicators",
                column=column,
                rows=[int(i) for i in blank.nonzero()[0]],
            )
