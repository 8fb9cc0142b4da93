"""The brief's house style: sentence templates in English and French (``config/brief.yaml``).

Each template is a Python format string whose ``{fields}`` the brief fills from the published
tables; :data:`FIELDS` lists the fields each template may use, and a template naming any other
field is a :class:`~perception.errors.ConfigError` naming the file and the key. Which template
a sentence uses is decided by the statistics, never by the template (:mod:`perception.brief.rules`).
The defaults are the ``brief.*`` entries of ``words.yaml``; ``config/brief.yaml`` overrides
any of them.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from perception.config.document import validate_document
from perception.words import LANGS, Lang, say, typeset
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


def _optional_in_files(schema: dict[str, Any]) -> None:
    """Drop ``required`` from the JSON Schema: a file sets only the templates it changes."""
    schema.pop("required", None)


class Templates(_Model):
    """One language's templates; each key's allowed fields are in :data:`FIELDS`."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_optional_in_files)

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
            "hint": "see FIELDS in perception.config.brief for what each template may name; "
            "write a literal brace as {{ or }}",
            "at": (key,),
        },
    )


def default_templates(lang: Lang) -> Templates:
    """Return the default templates of a language, from :mod:`perception.words` (``brief.*``)."""
    return Templates(**{key: say(f"brief.{key}", lang) for key in FIELDS})


EN = default_templates("en")
FR = default_templates("fr")


class BriefConfig(_Model):
    """``config/brief.yaml``: the comparison the sentences quote and templates by language.

    A language's templates override the defaults key by key; French ones are typeset as
    :func:`perception.words.typeset` does (narrow no-break spaces before ``: ; %``).
    """

    comparison: Literal["previous", "baseline"] = "previous"
    en: Templates = EN
    fr: Templates = FR

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Take every template a language does not set from the defaults."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for lang in LANGS:
            given = out.get(lang)
            if isinstance(given, dict):
                set_here = {
                    k: typeset(v, lang) if isinstance(v, str) else v for k, v in given.items()
                }
                out[lang] = {**default_templates(lang).model_dump(), **set_here}
        return out


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
