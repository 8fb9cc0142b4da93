"""The brief's house style: sentence templates in English and French (``config/brief.yaml``).

Each template is a Python format string whose ``{fields}`` the brief fills from the published
tables; :data:`FIELDS` lists the fields each template may use, and a template naming any other
field is a :class:`~perception.errors.ConfigError` naming the file and the key. Which template
a sentence uses is decided by the statistics, never by the template (:mod:`perception.brief.rules`).
Without ``config/brief.yaml`` the defaults below are used.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from perception.config import validate_document
from perception.yamlio import load_yaml

BRIEF_FILE = "config/brief.yaml"

_LEVEL = ("label", "about", "value", "wave", "ci", "n")
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("survey", "wave"),
    "intro": ("survey", "wave", "previous_wave"),
    "intro_first": ("survey", "wave"),
    "interval": ("low", "high"),
    "about": (),
    "level": _LEVEL,
    "level_suppressed": ("label", "wave"),
    "level_not_asked": ("label", "wave"),
    "level_no_data": ("label", "wave"),
    "rose": ("about", "change", "change_ci", "reference_wave"),
    "fell": ("about", "change", "change_ci", "reference_wave"),
    "no_change": ("about", "change", "change_ci", "reference_wave"),
    "change_suppressed": ("reference_wave",),
    "gap_above": ("a", "b"),
    "gap_below": ("a", "b"),
    "gap_none": ("a", "b"),
    "sentence": ("level", "change"),
    "sentence_alone": ("level",),
    "regions_above": ("regions",),
    "regions_below": ("regions",),
    "region": ("region", "about", "value", "ci"),
    "scorecard": (),
    "headline_table": ("label", "wave"),
    "images": (),
    "methodology_intro": ("survey",),
}
"""The fields each template may name."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Templates(_Model):
    """One language's templates; each key's allowed fields are in :data:`FIELDS`."""

    title: str
    intro: str
    intro_first: str
    interval: str
    about: str
    level: str
    level_suppressed: str
    level_not_asked: str
    level_no_data: str
    rose: str
    fell: str
    no_change: str
    change_suppressed: str
    gap_above: str
    gap_below: str
    gap_none: str
    sentence: str
    sentence_alone: str
    regions_above: str
    regions_below: str
    region: str
    scorecard: str
    headline_table: str
    images: str
    methodology_intro: str

    @model_validator(mode="after")
    def _known_fields(self) -> Self:
        """Refuse a template naming a field the brief does not fill."""
        for key, allowed in FIELDS.items():
            template = getattr(self, key)
            try:
                named = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise _rule(key, f"a malformed template ({exc})", allowed) from None
            unknown = [f for f in named if f not in allowed]
            if unknown:
                raise _rule(
                    key, f"unknown field(s) {', '.join('{' + f + '}' for f in unknown)}", allowed
                )
        return self


def _rule(key: str, found: str, allowed: tuple[str, ...]) -> PydanticCustomError:
    """Build the error that perception.config turns into a ConfigError at ``key``."""
    fields = ", ".join("{" + f + "}" for f in allowed) or "no field"
    return PydanticCustomError(
        "perception_rule",
        "{found}; expected {expected}",
        {
            "expected": f"only the fields {fields}",
            "found": found,
            "hint": "see FIELDS in perception.brief.config for what each template may name; "
            "write a literal brace as {{ or }}",
            "at": (key,),
        },
    )


EN = Templates(
    title="Results brief: {survey}, {wave}",
    intro="Latest results of {survey}, {wave}, compared with {previous_wave}. A change is "
    "called a rise or a fall only when it is statistically significant after the "
    "Benjamini-Hochberg adjustment for multiple comparisons; “about” marks an estimate "
    "based on few respondents; groups too small to report are not quoted.",
    intro_first="Results of {survey}, {wave}, its first wave: no change can be assessed yet. "
    "The word “about” marks an estimate based on few respondents; groups too small to "
    "report are not quoted.",
    interval="{low} to {high}",
    about="about ",
    level="“{label}” was {about}{value} in {wave} (95% CI {ci})",
    level_suppressed="“{label}”: the group is too small to report in {wave}",
    level_not_asked="“{label}” was not asked in {wave}",
    level_no_data="“{label}”: no respondent answered in {wave}",
    rose="it rose by {about}{change} since {reference_wave} (95% CI {change_ci})",
    fell="it fell by {about}{change} since {reference_wave} (95% CI {change_ci})",
    no_change="no clear change since {reference_wave} ({about}{change}, 95% CI {change_ci})",
    change_suppressed="the change since {reference_wave} rests on too few respondents to report",
    gap_above="“{a}” are significantly above “{b}”",
    gap_below="“{a}” are significantly below “{b}”",
    gap_none="no clear gap between “{a}” and “{b}”",
    sentence="{level}; {change}.",
    sentence_alone="{level}.",
    regions_above="Significantly above the national figure: {regions}.",
    regions_below="Significantly below the national figure: {regions}.",
    region="{region} ({about}{value}, 95% CI {ci})",
    scorecard="Latest national estimate of each indicator, its change since the previous "
    "wave and its status against the benchmark.",
    headline_table="“{label}” by group, {wave}",
    images="Charts",
    methodology_intro="How the figures of {survey} were produced.",
)
FR = Templates(
    title="Note de résultats : {survey}, {wave}",
    intro="Derniers résultats : {survey}, {wave}, comparés à {previous_wave}. Une évolution "
    "n'est qualifiée de hausse ou de baisse que si elle est statistiquement significative "
    "après la correction de Benjamini-Hochberg pour comparaisons multiples ; « environ » "
    "signale une estimation fondée sur peu de personnes interrogées ; les groupes trop petits "
    "pour être publiés ne sont pas cités.",
    intro_first="Résultats : {survey}, {wave}, première vague : aucune évolution ne peut encore "
    "être évaluée. Le mot « environ » signale une estimation fondée sur peu de personnes "
    "interrogées ; les groupes trop petits pour être publiés ne sont pas cités.",
    interval="{low} à {high}",
    about="environ ",
    level="« {label} » : {about}{value} en {wave} (IC à 95 % : {ci})",
    level_suppressed="« {label} » : le groupe est trop petit pour être publié en {wave}",
    level_not_asked="« {label} » : la question n'a pas été posée en {wave}",
    level_no_data="« {label} » : aucune personne interrogée n'a répondu en {wave}",
    rose="en hausse de {about}{change} depuis {reference_wave} (IC à 95 % : {change_ci})",
    fell="en baisse de {about}{change} depuis {reference_wave} (IC à 95 % : {change_ci})",
    no_change="sans évolution nette depuis {reference_wave} ({about}{change}, IC à 95 % : "
    "{change_ci})",
    change_suppressed="l'évolution depuis {reference_wave} repose sur trop peu de personnes "
    "interrogées pour être publiée",
    gap_above="« {a} » se situent nettement au-dessus de « {b} »",
    gap_below="« {a} » se situent nettement en dessous de « {b} »",
    gap_none="pas d'écart net entre « {a} » et « {b} »",
    sentence="{level}, {change}.",
    sentence_alone="{level}.",
    regions_above="Nettement au-dessus de l'ensemble du pays : {regions}.",
    regions_below="Nettement en dessous de l'ensemble du pays : {regions}.",
    region="{region} ({about}{value}, IC à 95 % : {ci})",
    scorecard="Dernière estimation nationale de chaque indicateur, son évolution depuis la "
    "vague précédente et son statut au regard du critère.",
    headline_table="« {label} » par groupe, {wave}",
    images="Graphiques",
    methodology_intro="Comment les chiffres ont été produits : {survey}.",
)


class BriefConfig(_Model):
    """``config/brief.yaml``: the comparison the sentences quote and the templates by language."""

    comparison: Literal["previous", "baseline"] = "previous"
    en: Templates = EN
    fr: Templates = FR


def load_brief_config(path: str | Path) -> BriefConfig:
    """Load ``config/brief.yaml``, or the default templates when the file does not exist.

    Raises
    ------
    ConfigError
        For an unknown key, a missing template or a template naming an unknown field; the
        error names the file, the key and its line.

    """
    if not Path(path).exists():
        return BriefConfig()
    return validate_document(BriefConfig, load_yaml(path), "brief configuration")
