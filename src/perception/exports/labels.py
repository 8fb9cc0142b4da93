"""Human labels for the workbook: indicators, benchmarks, domains, and the workbook's own texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import pandas as pd

from perception.config import Catalogue, SurveyConfig
from perception.errors import ConfigError, ValidationError
from perception.status import STATUSES, status_label

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

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
            return text("national", lang)
        return " × ".join(self.variables[c][lang] for c in set_columns(domain_set))

    def domain(self, domain_set: str, codes: Mapping[str, int], lang: Lang) -> str:
        """Name a domain for people: ``National``, ``Women`` or ``Women, 18-24, Lake District``."""
        if domain_set == NATIONAL:
            return text("national", lang)
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


_TEXTS: Mapping[str, Mapping[Lang, str]] = {
    "national": {"en": "National", "fr": "Ensemble du pays"},
    "status_sheet": {"en": "Status", "fr": "Statut"},
    "methodology_sheet": {"en": "Methodology", "fr": "Méthodologie"},
    "indicator": {"en": "Indicator", "fr": "Indicateur"},
    "breakdown": {"en": "Breakdown", "fr": "Ventilation"},
    "domain": {"en": "Domain", "fr": "Domaine"},
    "estimate": {"en": "{wave}: estimate", "fr": "{wave} : estimation"},
    "ci_low": {"en": "{wave}: 95% CI low", "fr": "{wave} : IC 95 % bas"},
    "ci_high": {"en": "{wave}: 95% CI high", "fr": "{wave} : IC 95 % haut"},
    "n": {"en": "{wave}: n", "fr": "{wave} : n"},
    "dk": {"en": "{wave}: don't know", "fr": "{wave} : ne sait pas"},
    "change": {"en": "Change since {wave}", "fr": "Évolution depuis {wave}"},
    "change_ci_low": {"en": "Change: 95% CI low", "fr": "Évolution : IC 95 % bas"},
    "change_ci_high": {"en": "Change: 95% CI high", "fr": "Évolution : IC 95 % haut"},
    "trend": {"en": "Trend", "fr": "Tendance"},
    "improving": {"en": "Improving", "fr": "En amélioration"},
    "worsening": {"en": "Worsening", "fr": "En dégradation"},
    "no change": {"en": "No change", "fr": "Pas de changement"},
    "subtitle": {
        "en": "{survey}. {waves}. Estimates keep don't know in the base.",
        "fr": "{survey}. {waves}. Les estimations gardent « ne sait pas » dans la base.",
    },
    "short": {"en": "Short", "fr": "Court"},
    "medium": {"en": "Medium", "fr": "Moyen"},
    "long": {"en": "Long", "fr": "Long"},
    "term_short": {"en": "Short-term benchmark.", "fr": "Critère à court terme."},
    "term_medium": {"en": "Medium-term benchmark.", "fr": "Critère à moyen terme."},
    "term_long": {"en": "Long-term benchmark.", "fr": "Critère à long terme."},
    "benchmark": {"en": "Benchmark", "fr": "Critère"},
    "benchmark_term": {"en": "Term", "fr": "Terme"},
    "latest_wave": {"en": "Latest wave", "fr": "Dernière vague"},
    "status_estimate": {"en": "Estimate", "fr": "Estimation"},
    "status_ci_low": {"en": "95% CI low", "fr": "IC 95 % bas"},
    "status_ci_high": {"en": "95% CI high", "fr": "IC 95 % haut"},
    "change_previous": {
        "en": "Change since previous wave",
        "fr": "Évolution depuis la vague précédente",
    },
    "change_baseline": {"en": "Change since baseline", "fr": "Évolution depuis la référence"},
    "p_value": {"en": "p-value", "fr": "valeur p"},
    "target": {"en": "Target", "fr": "Cible"},
    "target_date": {"en": "Target date", "fr": "Date cible"},
    "status": {"en": "Status", "fr": "Statut"},
    "reason": {"en": "Reason", "fr": "Justification"},
    **{status: {code: status_label(status, code) for code in LANGS} for status in STATUSES},
    "status_title": {
        "en": "Benchmark status: latest estimate, trend and target of each indicator",
        "fr": "Statut des critères : dernière estimation, tendance et cible de chaque indicateur",
    },
    "status_subtitle": {
        "en": "{survey}. National estimates, don't know kept in the base.",
        "fr": "{survey}. Estimations nationales, « ne sait pas » gardé dans la base.",
    },
    "methodology_title": {
        "en": "Methodology: samples, fieldwork, weighting and disclosure rules",
        "fr": "Méthodologie : échantillons, collecte, pondération et règles de diffusion",
    },
    "wave": {"en": "Wave", "fr": "Vague"},
    "wave_label": {"en": "Label", "fr": "Libellé"},
    "fieldwork_start": {"en": "Fieldwork start", "fr": "Début de la collecte"},
    "fieldwork_end": {"en": "Fieldwork end", "fr": "Fin de la collecte"},
    "provider": {"en": "Provider", "fr": "Prestataire"},
    "source_file": {"en": "Source file", "fr": "Fichier source"},
    "n_respondents": {"en": "Respondents (n)", "fr": "Répondants (n)"},
    "deff_kish": {"en": "Design effect (Kish)", "fr": "Effet de plan (Kish)"},
    "n_eff": {"en": "Effective sample size", "fr": "Taille effective de l'échantillon"},
    "moe_95": {
        "en": "Margin of error (95%, ±)",
        "fr": "Marge d'erreur (95 %, ±)",
    },
    "weighting": {"en": "Weighting", "fr": "Pondération"},
    "design": {"en": "Sampling design", "fr": "Plan de sondage"},
    "note_suppressed": {
        "en": "* Suppressed: fewer than {suppress} respondents in the base (unweighted), or "
        "hidden so that it cannot be worked out from other published cells.",
        "fr": "* Masqué : moins de {suppress} répondants dans la base (non pondéré), ou masqué "
        "pour qu'il ne puisse pas être déduit des autres cellules publiées.",
    },
    "note_flagged": {
        "en": "( ) {suppress} to {flag_last} respondents in the base: interpret with caution.",
        "fr": "( ) De {suppress} à {flag_last} répondants dans la base : à interpréter avec "
        "prudence.",
    },
    "note_dk": {
        "en": "Don't know is kept in the base: estimates are shares of everyone asked, and the "
        "don't know column gives its weighted share. Estimates excluding don't know are in "
        "indicators.csv (variant excl_dk). Refusals are always excluded from the base.",
        "fr": "« Ne sait pas » est gardé dans la base : les estimations sont des parts de "
        "toutes les personnes interrogées, et la colonne « ne sait pas » en donne la part "
        "pondérée. Les estimations hors « ne sait pas » sont dans indicators.csv (variante "
        "excl_dk). Les refus sont toujours exclus de la base.",
    },
    "note_missing": {
        "en": "n/a: question not asked in this wave. –: no respondent in this domain.",
        "fr": "n/a : question non posée lors de cette vague. – : aucun répondant dans ce domaine.",
    },
    "note_units": {
        "en": "Percentages are weighted shares; net scores, gaps and changes of percentages "
        "are in percentage points (pp). 95% confidence intervals account for weights, strata "
        "and clusters.",
        "fr": "Les pourcentages sont des parts pondérées ; les scores nets, les écarts et les "
        "évolutions de pourcentages sont en points de pourcentage (pp). Les intervalles de "
        "confiance à 95 % tiennent compte des poids, des strates et des grappes.",
    },
    "note_trend": {
        "en": "Trend: “Improving” or “Worsening” only when the change is significant after "
        "Benjamini-Hochberg control of the false discovery rate and its 95% interval excludes "
        "zero.",
        "fr": "Tendance : « En amélioration » ou « En dégradation » seulement lorsque "
        "l'évolution est significative après contrôle du taux de fausses découvertes "
        "(Benjamini-Hochberg) et que son intervalle à 95 % exclut zéro.",
    },
    "note_moe": {
        "en": "Margin of error: 1.96 × √(0.25 × deff / n), for a 50% proportion at the "
        "weighting design effect; the confidence intervals of each estimate are the ones to "
        "quote.",
        "fr": "Marge d'erreur : 1,96 × √(0,25 × deff / n), pour une proportion de 50 % à "
        "l'effet de plan de la pondération ; citer les intervalles de confiance de chaque "
        "estimation.",
    },
    "drivers_sheet": {"en": "Drivers", "fr": "Facteurs"},
    "drivers_title": {
        "en": "What goes with each indicator: average marginal effects of its drivers",
        "fr": "Ce qui va de pair avec chaque indicateur : effets marginaux moyens de ses facteurs",
    },
    "drivers_subtitle": {
        "en": "{survey}. Associations, not causes.",
        "fr": "{survey}. Des associations, pas des causes.",
    },
    "driver": {"en": "Factor", "fr": "Facteur"},
    "driver_level": {"en": "Group", "fr": "Groupe"},
    "driver_reference": {"en": "Compared with", "fr": "Par rapport à"},
    "driver_effect": {"en": "Difference (marginal effect)", "fr": "Écart (effet marginal)"},
    "driver_p_value": {"en": "Factor p-value", "fr": "Valeur p du facteur"},
    "driver_n_level": {"en": "n (group)", "fr": "n (groupe)"},
    "driver_n_reference": {"en": "n (compared with)", "fr": "n (référence)"},
    "driver_n": {"en": "n (model)", "fr": "n (modèle)"},
    "driver_note": {"en": "Note", "fr": "Remarque"},
    "note_drivers": {
        "en": "Each difference compares a group with the group it is compared with, holding "
        "the indicator's other factors fixed (average marginal effect of a survey-weighted "
        "regression: logistic for percentages, linear for scores), in percentage points (pp) "
        "for percentages and net scores. These are associations, not causes: a factor goes "
        "with the indicator once the others are accounted for; changing it would not "
        "necessarily change the indicator. 95% confidence intervals account for weights, "
        "strata and clusters; the factor p-value tests all its groups at once.",
        "fr": "Chaque écart compare un groupe au groupe de référence, les autres facteurs de "
        "l'indicateur étant tenus constants (effet marginal moyen d'une régression pondérée : "
        "logistique pour les pourcentages, linéaire pour les scores), en points de "
        "pourcentage (pp) pour les pourcentages et les scores nets. Ce sont des associations, "
        "pas des causes : un facteur va de pair avec l'indicateur une fois les autres pris "
        "en compte ; le modifier ne changerait pas nécessairement l'indicateur. Les "
        "intervalles de confiance à 95 % tiennent compte des poids, des strates et des "
        "grappes ; la valeur p du facteur teste tous ses groupes à la fois.",
    },
    "note_drivers_small": {
        "en": "* Suppressed: fewer than {suppress} respondents in the group or in the group it "
        "is compared with. Groups with fewer than {suppress} respondents are pooled with the "
        "factor's other small groups, or left out of the model, as the note says.",
        "fr": "* Masqué : moins de {suppress} répondants dans le groupe ou dans le groupe de "
        "référence. Les groupes de moins de {suppress} répondants sont regroupés avec les "
        "autres petits groupes du facteur, ou laissés hors du modèle, comme l'indique la "
        "remarque.",
    },
    "note_drivers_dk": {
        "en": "Don't know is kept in the base of percentages (counted among those who did not "
        "give the answer shown) and excluded from scores; refusals are always excluded.",
        "fr": "« Ne sait pas » est gardé dans la base des pourcentages (compté parmi ceux qui "
        "n'ont pas donné la réponse indiquée) et exclu des scores ; les refus sont toujours "
        "exclus.",
    },
    "note_source": {
        "en": "Source: {survey}, {waves}; weighted estimates. Generated {generated}.",
        "fr": "Source : {survey}, {waves} ; estimations pondérées. Produit le {generated}.",
    },
}


def text(key: str, lang: Lang, **values: object) -> str:
    """Return a workbook text in ``lang``, with ``{placeholders}`` filled from ``values``."""
    return _TEXTS[key][lang].format(**values)
