"""Configuration models and loaders: variable catalogue, codebooks, survey and deployment files.

Every model is frozen and rejects unknown keys. Loaders turn every problem into a
:class:`~perception.errors.ConfigError` that names the file, the key path (for example
``variables.Q23.recode``) and its line, says what was expected and what was found, and
suggests the closest valid key when one is misspelt.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
import types
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Literal,
    NoReturn,
    Self,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

__all__ = [
    "DEPLOYMENT_FILE",
    "SURVEY_FILE",
    "AgeBand",
    "AgeBands",
    "Bin",
    "Catalogue",
    "Codebook",
    "DeploymentConfig",
    "Derivation",
    "Fieldwork",
    "Label",
    "Project",
    "SpecialCodes",
    "SurveyConfig",
    "Variable",
    "VariableMap",
    "WaveConfig",
    "config_error",
    "json_schemas",
    "load_catalogue",
    "load_codebook",
    "load_deployment",
    "load_project",
    "load_survey",
    "project_root",
    "survey_warnings",
    "validate_codebook",
    "validate_document",
    "write_json_schemas",
]

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
WaveId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

Role = Literal["id", "date", "demographic", "derived", "design", "replicate_weight", "item"]
Kind = Literal["string", "date", "categorical", "integer", "number"]
MissingKind = Literal["missing", "dont_know", "refused"]
_M = TypeVar("_M", bound=BaseModel)

_ROLE_KINDS: dict[str, tuple[str, ...]] = {
    "id": ("string",),
    "date": ("date",),
    "demographic": ("categorical", "integer"),
    "derived": ("categorical",),
    "design": ("number", "string"),
    "replicate_weight": ("number",),
    "item": ("categorical",),
}
#: The derivations harmonization knows how to compute, keyed by variable name.
DERIVED_FROM_AGE = ("age_band", "youth")
#: The column every harmonized table gains; no catalogue variable may use the name.
WAVE_COLUMN = "wave"
ID_VARIABLE = "respondent_id"


def _rule(expected: str, found: str, hint: str, at: tuple[Hashable, ...] = ()) -> Exception:
    """Build a validation error that carries expected/found/hint through pydantic."""
    return PydanticCustomError(
        "perception_rule",
        "{found}; expected {expected}",
        {"expected": expected, "found": found, "hint": hint, "at": at},
    )


def _source_value(value: object) -> int | float | str:
    """Accept a source value as written in a codebook: a number or a text; 1.0 becomes 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a source value must be a number or a text, not {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a source value must be finite, not {value!r}")
        if value.is_integer():
            return int(value)
    return value


SourceValue = Annotated[
    int | float | str,
    PlainValidator(_source_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]}),
]


class _Model(BaseModel):
    """Base for every configuration model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Model):
    """A text in English and French."""

    en: NonEmptyStr
    fr: NonEmptyStr


# --------------------------------------------------------------------------- catalogue


class SpecialCodes(_Model):
    """Canonical codes for "don't know" and "refused", shared by every item and demographic."""

    dont_know: StrictInt = 98
    refused: StrictInt = 99

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.dont_know == self.refused:
            raise _rule(
                "two different codes",
                f"dont_know and refused are both {self.dont_know}",
                "use 98 for don't know and 99 for refused",
            )
        return self

    def labels(self) -> dict[int, Label]:
        """Return the bilingual label of each special code."""
        return {
            self.dont_know: Label(en="Don't know", fr="Ne sait pas"),
            self.refused: Label(en="Refused", fr="Refus"),
        }


class AgeBand(_Model):
    """One age band; ``min`` and ``max`` are inclusive and ``max: null`` leaves it open."""

    code: StrictInt
    min: StrictInt = Field(ge=0)
    max: StrictInt | None = None
    label: Label

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise _rule(
                "max >= min", f"min {self.min} and max {self.max}", "swap min and max", ("max",)
            )
        return self


class AgeBands(_Model):
    """Contiguous age bands and the upper age of "youth" (needed only to derive ``youth``)."""

    bands: list[AgeBand] = Field(min_length=1)
    youth_max_age: StrictInt | None = None

    @model_validator(mode="after")
    def _contiguous(self) -> Self:
        codes = [band.code for band in self.bands]
        for index, code in enumerate(codes):
            if code in codes[:index]:
                raise _rule(
                    "each band code once",
                    f"code {code} twice",
                    "number the bands 1, 2, 3...",
                    ("bands", index, "code"),
                )
        for index, (low, high) in enumerate(itertools.pairwise(self.bands)):
            if low.max is None or high.min != low.max + 1:
                raise _rule(
                    f"band {index + 2} to start at {low.max + 1 if low.max is not None else '?'}",
                    f"band {index + 1} ends at {low.max} and band {index + 2} starts at {high.min}",
                    "list the bands in increasing order without gaps or overlaps; "
                    "only the last band may be open (max: null)",
                    ("bands", index + 1, "min"),
                )
        last = self.bands[-1].max
        youth = self.youth_max_age
        if youth is not None and not self.bands[0].min <= youth <= (last or 10**6):
            raise _rule(
                "an age inside the bands",
                f"youth_max_age {self.youth_max_age}",
                "the default is 35 (youth = 18-35)",
                ("youth_max_age",),
            )
        return self

    def band_of(self, age: int) -> int | None:
        """Return the code of the band holding ``age``, or None outside every band."""
        for band in self.bands:
            if age >= band.min and (band.max is None or age <= band.max):
                return band.code
        return None


class Variable(_Model):
    """One harmonized variable of the catalogue."""

    role: Role
    kind: Kind
    label: Label
    question: Label | None = None
    theme: VariableName | None = None
    ordered: StrictBool = False
    codes: dict[StrictInt, Label] | None = None
    groups: dict[StrictInt, Label] | None = None
    """Optional: the codes' labels as groups of people ("Women" for "Woman"), for charts."""
    min: StrictInt | None = None
    max: StrictInt | None = None
    derived_from: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        allowed = _ROLE_KINDS[self.role]
        if self.kind not in allowed:
            raise _rule(
                f"kind {' or '.join(allowed)} for role {self.role}",
                f"kind {self.kind}",
                "change the kind or the role",
                ("kind",),
            )
        if (self.role == "item") != (self.theme is not None):
            raise _rule(
                "a theme on every item and only on items",
                f"role {self.role} with theme {self.theme}",
                "items need `theme:`; other roles must not have one",
                ("theme",),
            )
        if self.kind == "categorical" and self.codes is None and self.role != "derived":
            raise _rule(
                "codes for a categorical variable",
                "no `codes:`",
                "add codes: {1: {en: ..., fr: ...}, ...}",
                ("codes",),
            )
        if self.kind != "categorical" and (self.codes is not None or self.ordered):
            raise _rule(
                "codes/ordered only on categorical variables",
                f"kind {self.kind} with codes or ordered",
                "remove `codes`/`ordered` or make the variable categorical",
                ("codes",),
            )
        if self.kind != "integer" and (self.min is not None or self.max is not None):
            raise _rule(
                "min/max only on integer variables",
                f"kind {self.kind} with min/max",
                "remove min and max",
                ("min",),
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _rule("min <= max", f"min {self.min}, max {self.max}", "swap them", ("max",))
        if (self.role == "derived") != (self.derived_from is not None):
            raise _rule(
                "derived_from on derived variables and only there",
                f"role {self.role} with derived_from {self.derived_from}",
                "derived variables need `derived_from: age`",
                ("derived_from",),
            )
        extra = sorted(set(self.groups or {}) - set(self.codes or {}))
        if extra:
            raise _rule(
                "groups: labels only for codes listed in `codes:`",
                f"groups for code(s) {extra}",
                "give each group label the code of its `codes:` entry",
                ("groups", extra[0]),
            )
        return self


class Catalogue(_Model):
    """The harmonized variable catalogue (``config/variables.yaml``).

    ``domains`` lists, in order, the variables every published table is broken down by (one
    ``Int64`` column each): categorical demographic or derived variables of the catalogue.
    Without it, every categorical demographic and derived variable is a domain, in catalogue
    order (:attr:`domain_columns`).
    """

    special_codes: SpecialCodes = SpecialCodes()
    age_bands: AgeBands | None = None
    themes: dict[VariableName, Label] = Field(default_factory=dict)
    domains: list[VariableName] | None = Field(default=None, min_length=1)
    variables: dict[VariableName, Variable] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        specials = {self.special_codes.dont_know, self.special_codes.refused}
        if WAVE_COLUMN in self.variables:
            raise _rule(
                "no variable named `wave`",
                "a variable named wave",
                "harmonization adds the wave column itself; rename the variable",
                ("variables", WAVE_COLUMN),
            )
        ids = [name for name, var in self.variables.items() if var.role == "id"]
        if ids != [ID_VARIABLE]:
            raise _rule(
                f"exactly one id variable, named {ID_VARIABLE}",
                f"id variables {ids}",
                f"declare `{ID_VARIABLE}: {{role: id, kind: string, label: ...}}`",
                ("variables",),
            )
        for name, var in self.variables.items():
            if var.theme is not None and var.theme not in self.themes:
                close = difflib.get_close_matches(var.theme, list(self.themes), n=1)
                raise _rule(
                    "one of the themes declared under `themes:` ("
                    + (", ".join(self.themes) or "none declared")
                    + ")",
                    f"theme {var.theme!r}",
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"declare it: themes: {{{var.theme}: {{en: ..., fr: ...}}}}",
                    ("variables", name, "theme"),
                )
            clash = sorted(specials & set(var.codes or {}))
            if clash:
                raise _rule(
                    "substantive codes only (special codes are implicit)",
                    f"code {clash[0]}, which is a special code",
                    "remove it: every item and demographic accepts 98 and 99 implicitly",
                    ("variables", name, "codes", clash[0]),
                )
            if var.role == "derived":
                self._check_derived(name, var)
        self._check_domains()
        return self

    @property
    def domain_columns(self) -> tuple[str, ...]:
        """Return the domain columns of the survey's tables, in order (see ``domains``)."""
        if self.domains is not None:
            return tuple(self.domains)
        return tuple(name for name, var in self.variables.items() if _is_domain(var))

    def youth_codes(self) -> tuple[int, int]:
        """Return the codes of the ``youth`` variable: (youth, adults), the lower code first."""
        low, high = sorted(self.codes("youth"))
        return low, high

    def _check_domains(self) -> None:
        """Check that every declared domain is a categorical demographic or derived variable."""
        domains = self.domains or []
        for index, name in enumerate(domains):
            var = self.variables.get(name)
            if var is None or not _is_domain(var):
                candidates = [n for n, v in self.variables.items() if _is_domain(v)]
                close = difflib.get_close_matches(name, candidates, n=1)
                raise _rule(
                    "a categorical demographic or derived variable of the catalogue: "
                    + ", ".join(candidates),
                    f"{name!r}, "
                    + (
                        "not in `variables:`"
                        if var is None
                        else f"a {var.kind} {var.role} variable"
                    ),
                    f"did you mean {close[0]!r}?"
                    if close
                    else "declare it under `variables:` "
                    "(role: demographic, kind: categorical) or remove it from `domains:`",
                    ("domains", index),
                )
            if name in domains[:index]:
                raise _rule(
                    "each domain once",
                    f"{name!r} twice",
                    "remove the repeated entry",
                    ("domains", index),
                )

    def _check_derived(self, name: str, var: Variable) -> None:
        """Check that a derived variable is one harmonization knows how to compute."""
        if name not in DERIVED_FROM_AGE or var.derived_from != "age":
            raise _rule(
                f"a derived variable named {' or '.join(DERIVED_FROM_AGE)} with derived_from: age",
                f"{name} derived from {var.derived_from}",
                "only age_band and youth can be derived (from age)",
                ("variables", name, "derived_from"),
            )
        age = self.variables.get("age")
        if age is None or age.kind != "integer":
            raise _rule(
                "an integer variable `age` to derive from",
                "no integer `age` in the catalogue",
                "add age: {role: demographic, kind: integer, min: 18, max: 110, label: ...}",
                ("variables", name, "derived_from"),
            )
        if name == "age_band" and var.codes is not None:
            raise _rule(
                "no codes on age_band",
                "codes on age_band",
                "age_band codes come from age_bands.bands; remove `codes`",
                ("variables", name, "codes"),
            )
        bands = self.age_bands
        if bands is None or (name == "youth" and bands.youth_max_age is None):
            key = "age_bands" if bands is None else "age_bands.youth_max_age"
            raise _rule(
                f"`{key}` to derive {name} from age",
                f"no `{key}`",
                "add age_bands: {bands: [{code: 1, min: 18, max: 24, label: ...}, ...], "
                "youth_max_age: 35} (youth_max_age only to derive youth)",
                ("variables", name, "derived_from"),
            )
        if name == "youth" and len(var.codes or {}) != 2:
            raise _rule(
                "two youth codes: the lower one for youth, the higher one for adults",
                f"codes {sorted(var.codes or {})}",
                "declare codes: {1: {en: Youth...}, 2: {en: Adults...}}",
                ("variables", name, "codes"),
            )
        if name == "age_band" and age.min is not None and bands.bands[0].min > age.min:
            raise _rule(
                f"age bands starting at or below the minimum age {age.min}",
                f"first band starts at {bands.bands[0].min}",
                "lower the first band's min or raise age.min",
                ("age_bands", "bands", 0, "min"),
            )

    def codes(self, name: str) -> dict[int, Label]:
        """Return the substantive codes of a categorical variable, in canonical order."""
        var = self.variables[name]
        if name == "age_band" and var.role == "derived" and self.age_bands is not None:
            return {band.code: band.label for band in self.age_bands.bands}
        return dict(sorted((var.codes or {}).items()))

    def group_label(self, name: str, code: int) -> Label:
        """Return a code's label as a group of people (``groups:``, else its code label)."""
        groups = self.variables[name].groups or {}
        return groups.get(code) or self.codes(name)[code]

    def takes_special_codes(self, name: str) -> bool:
        """Tell whether a variable accepts the special codes 98/99 (items and demographics)."""
        var = self.variables[name]
        return var.role in ("item", "demographic")

    def categories(self, name: str) -> list[int]:
        """Return the categories of a categorical variable: its codes, then 98 and 99."""
        cats = list(self.codes(name))
        if self.takes_special_codes(name):
            cats += [self.special_codes.dont_know, self.special_codes.refused]
        return cats

    def code_labels(self, name: str) -> dict[int, Label]:
        """Return the label of every category of a categorical variable, special codes included."""
        labels = self.codes(name)
        if self.takes_special_codes(name):
            labels |= self.special_codes.labels()
        return labels

    def special_code(self, kind: MissingKind) -> int | None:
        """Return the canonical code of a missing kind (None for plain missing)."""
        if kind == "dont_know":
            return self.special_codes.dont_know
        if kind == "refused":
            return self.special_codes.refused
        return None


def _is_domain(var: Variable) -> bool:
    """Tell whether a variable can be a domain: a categorical demographic or derived variable."""
    return var.role in ("demographic", "derived") and var.kind == "categorical"


# --------------------------------------------------------------------------- codebook


class Bin(_Model):
    """A range of a numeric source mapped to one code; bounds inclusive, ``max: null`` open."""

    min: float
    max: float | None = None
    code: StrictInt

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise _rule("max >= min", f"min {self.min}, max {self.max}", "swap them", ("max",))
        return self

    def contains(self, value: float) -> bool:
        """Tell whether ``value`` falls in the bin."""
        return value >= self.min and (self.max is None or value <= self.max)


class VariableMap(_Model):
    """How one source column reaches the harmonized table.

    Exactly one of three intents: ``target`` (map it), ``pii: true`` (personal data, dropped;
    with ``target: respondent_id`` the id is replaced by a salted hash) or ``skip: true`` (not
    used; ``missing`` may stay, so that switching ``skip`` to ``target`` keeps the suggestion).
    """

    target: VariableName | None = None
    pii: StrictBool = False
    skip: StrictBool = False
    missing: dict[SourceValue, MissingKind] = Field(default_factory=dict)
    recode: dict[SourceValue, StrictInt] | None = None
    bins: list[Bin] | None = None

    @model_validator(mode="after")
    def _one_intent(self) -> Self:
        intent = "`target: NAME`, `pii: true` or `skip: true`"
        if self.skip and (self.target is not None or self.pii):
            raise _rule(
                f"one of {intent}",
                "skip together with target or pii",
                "remove `skip: true` to map the column",
                ("skip",),
            )
        if self.skip and (self.recode is not None or self.bins is not None):
            raise _rule(
                "no recode/bins on a skipped column",
                "skip with recode or bins",
                "replace `skip: true` with `target: NAME`",
                ("skip",),
            )
        if not self.skip and self.target is None and not self.pii:
            raise _rule(f"one of {intent}", "none of them", "say what to do with the column", ())
        if self.pii and self.target is None and (self.missing or self.recode or self.bins):
            raise _rule(
                "nothing but `pii: true` on a dropped personal-data column",
                "missing, recode or bins",
                "remove them: the column never leaves data/raw",
                ("pii",),
            )
        if self.recode is not None and self.bins is not None:
            raise _rule(
                "either recode or bins", "both", "use bins for numeric ranges, recode otherwise"
            )
        overlap = sorted(set(self.missing) & set(self.recode or {}), key=str)
        if overlap:
            raise _rule(
                "each source value in either missing or recode",
                f"{overlap[0]!r} in both",
                "remove it from one of them",
                ("recode", overlap[0]),
            )
        self._check_bins()
        return self

    def _check_bins(self) -> None:
        """Reject overlapping bins."""
        bins = sorted(enumerate(self.bins or []), key=lambda item: item[1].min)
        for (_, low), (index, high) in itertools.pairwise(bins):
            if low.max is None or high.min <= low.max:
                raise _rule(
                    "bins that do not overlap",
                    f"[{low.min}, {low.max}] and [{high.min}, {high.max}]",
                    "make each bin start after the previous one ends",
                    ("bins", index),
                )


SourceColumn = Annotated[str, StringConstraints(min_length=1)]


class Derivation(_Model):
    """A catalogue variable built from the file rather than read from one column.

    Exactly one of: ``cross`` (source columns whose raw codes, after the codebook's
    ``missing`` handling, are joined with ``|``: ``[REGION, URBRUR]`` gives ``"1580|1"``, one
    value per combination; a string variable such as ``stratum``), ``row_number: true`` (the
    row's position in the raw file, 1 to n, before any ``filter``; for a file without an id)
    or ``constant`` (the same value in every row, valid for the variable's kind).
    """

    cross: list[SourceColumn] | None = Field(default=None, min_length=2)
    row_number: Literal[True] | None = None
    constant: SourceValue | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("cross", "row_number", "constant") if getattr(self, k) is not None]
        if len(given) != 1:
            raise _rule(
                "exactly one of cross, row_number: true or constant",
                f"{', '.join(given) or 'none'}",
                "e.g. stratum: {cross: [REGION, URBRUR]}, respondent_id: {row_number: true}, "
                "country: {constant: 788}",
            )
        if self.cross is not None and len(set(self.cross)) != len(self.cross):
            raise _rule(
                "each source column once in cross",
                f"{self.cross}",
                "remove the repeated column",
                ("cross",),
            )
        return self


class Codebook(_Model):
    """One codebook per source file (``config/codebooks/<name>.yaml``).

    ``filter`` keeps the rows whose source column holds one of the listed values (several
    columns must all match), e.g. one country of a multi-country file; ``derived`` builds
    catalogue variables from the file (:class:`Derivation`) without editing it.
    """

    wave: WaveId
    source_file: NonEmptyStr
    description: str | None = None
    id_salt_env: EnvVarName | None = None
    filter: dict[SourceColumn, Annotated[list[SourceValue], Field(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    variables: dict[SourceColumn, VariableMap] = Field(min_length=1)
    derived: dict[VariableName, Derivation] = Field(default_factory=dict)
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """Return the file the codebook was loaded from, if any."""
        return self._path

    def targets(self) -> dict[str, str]:
        """Return ``{target: source column}`` for every mapped column."""
        return {m.target: src for src, m in self.variables.items() if m.target is not None}


# --------------------------------------------------------------------------- survey


class Fieldwork(_Model):
    """Fieldwork dates of a wave."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise _rule("end >= start", f"{self.start} to {self.end}", "swap them", ("end",))
        return self


class WaveConfig(_Model):
    """One wave: its raw file (inside ``raw_dir``), its codebook and optionally its targets."""

    id: WaveId
    label: Label
    file: NonEmptyStr
    codebook: NonEmptyStr
    fieldwork: Fieldwork | None = None
    provider: str | None = None
    targets: NonEmptyStr | None = None
    """Population targets of this wave; overrides the survey's ``targets``."""
    sample: Literal["probability", "nonprobability"] = "probability"
    """``nonprobability`` for an SMS, IVR or online-panel poll (see :mod:`perception.nonprob`)."""
    reference_wave: WaveId | None = None
    """A probability wave of the survey whose design weights the pseudo-weights are fitted to."""
    covariates: list[VariableName] | None = Field(default=None, min_length=1)
    """Catalogue variables both waves measured, for the participation propensity model."""
    propensity: Literal["clw", "valliant_dever"] | None = None
    """Propensity model: ``clw`` (Chen-Li-Wu 2020, the default) or ``valliant_dever``."""

    @model_validator(mode="after")
    def _nonprobability_keys(self) -> Self:
        keys = ("reference_wave", "covariates", "propensity")
        given = [k for k in keys if getattr(self, k) is not None]
        if self.sample == "probability" and given:
            raise _rule(
                f"{', '.join(given)} only on a wave with sample: nonprobability",
                f"sample: probability with {', '.join(given)}",
                "add `sample: nonprobability` (an SMS, IVR or online-panel poll) or remove the key",
                (given[0],),
            )
        if (self.reference_wave is None) != (self.covariates is None):
            missing = "covariates" if self.covariates is None else "reference_wave"
            raise _rule(
                "reference_wave and covariates together, or neither",
                f"no {missing}",
                "e.g. reference_wave: w2, covariates: [gender, age_band, region]",
                (missing,),
            )
        if self.propensity is not None and self.reference_wave is None:
            raise _rule(
                "propensity only with reference_wave and covariates",
                f"propensity: {self.propensity} without a reference wave",
                "add reference_wave and covariates, or remove propensity",
                ("propensity",),
            )
        return self

    @property
    def is_probability(self) -> bool:
        """Whether the wave is a probability sample (the default)."""
        return self.sample == "probability"


class SurveyConfig(_Model):
    """The survey file (``config/survey.yaml``); paths are relative to the project root."""

    survey: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]
    title: Label
    country: Label
    raw_dir: NonEmptyStr
    processed_dir: NonEmptyStr
    variables: NonEmptyStr
    targets: NonEmptyStr | None = None
    """Population targets of every wave that does not name its own; none when absent."""
    weighting: NonEmptyStr
    geojson: NonEmptyStr | None = None
    map_variable: VariableName | None = None
    indicators: NonEmptyStr = "config/indicators.yaml"
    disclosure: NonEmptyStr = "config/disclosure.yaml"
    waves: list[WaveConfig] = Field(min_length=1)
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _map_variable(self) -> Self:
        if (self.geojson is None) != (self.map_variable is None):
            raise _rule(
                "geojson and map_variable together, or neither",
                "geojson without map_variable"
                if self.map_variable is None
                else "map_variable without geojson",
                "map_variable names the domain whose codes the GeoJSON features carry in "
                "properties.code (e.g. map_variable: region)",
                ("map_variable",),
            )
        return self

    @model_validator(mode="after")
    def _unique_waves(self) -> Self:
        for field in ("id", "file", "codebook"):
            seen: dict[str, int] = {}
            for index, wave in enumerate(self.waves):
                value = getattr(wave, field)
                if value in seen:
                    raise _rule(
                        f"each wave {field} once",
                        f"{value!r} in waves {seen[value] + 1} and {index + 1}",
                        f"give every wave its own {field}",
                        ("waves", index, field),
                    )
                seen[value] = index
        return self

    @model_validator(mode="after")
    def _reference_waves(self) -> Self:
        waves = {wave.id: wave for wave in self.waves}
        for index, wave in enumerate(self.waves):
            ref = wave.reference_wave
            if ref is None:
                continue
            if ref not in waves or ref == wave.id or not waves[ref].is_probability:
                probability = [w.id for w in self.waves if w.is_probability]
                raise _rule(
                    "reference_wave naming another, probability wave of this survey",
                    f"reference_wave: {ref}"
                    + (" (a non-probability wave)" if ref in waves and ref != wave.id else ""),
                    f"use one of: {', '.join(probability)}"
                    if probability
                    else "the survey has no probability wave; remove reference_wave",
                    ("waves", index, "reference_wave"),
                )
        return self

    def nonprobability_waves(self) -> list[str]:
        """Return the ids of the waves declared ``sample: nonprobability``, in wave order."""
        return [wave.id for wave in self.waves if not wave.is_probability]

    @property
    def root(self) -> Path:
        """Return the project root (the folder holding ``config/``)."""
        return self._root

    def resolve(self, relative: str | Path) -> Path:
        """Resolve a path from the survey file against the project root."""
        return self._root / relative

    def targets_key(self, wave: WaveConfig) -> tuple[tuple[Hashable, ...], str | None]:
        """Return the key that sets a wave's population targets, and the file it names.

        The wave's own ``targets`` wins over the survey's; ``None`` when neither is set (the
        key is then the wave's, where targets would go).
        """
        index = self.waves.index(wave)
        if wave.targets is not None or self.targets is None:
            return ("waves", index, "targets"), wave.targets
        return ("targets",), self.targets

    def raw_path(self, wave: WaveConfig) -> Path:
        """Return the raw file of a wave."""
        return self.resolve(self.raw_dir) / wave.file

    @property
    def path(self) -> Path:
        """Return the survey file this configuration was loaded from."""
        if self._path is None:
            raise ValueError("this survey configuration was built in memory, not loaded")
        return self._path


class DeploymentConfig(_Model):
    """The deployment file (``config/deployment.yaml``): the survey files one deployment serves."""

    surveys: list[NonEmptyStr] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_files(self) -> Self:
        seen: dict[str, int] = {}
        for index, file in enumerate(self.surveys):
            if file in seen:
                raise _rule(
                    "each survey file once",
                    f"{file!r} in surveys {seen[file] + 1} and {index + 1}",
                    "list every survey file once",
                    ("surveys", index),
                )
            seen[file] = index
        return self


@dataclass(frozen=True)
class Project:
    """A validated survey: the survey file, its catalogue and every wave's codebook."""

    survey: SurveyConfig
    catalogue: Catalogue
    codebooks: Mapping[str, Codebook]


# --------------------------------------------------------------------------- loaders

DEPLOYMENT_FILE = "config/deployment.yaml"
SURVEY_FILE = "config/survey.yaml"


def load_catalogue(path: str | Path) -> Catalogue:
    """Load and validate the variable catalogue."""
    doc = load_yaml(path)
    return validate_document(Catalogue, doc, "variable catalogue")


def load_codebook(path: str | Path, catalogue: Catalogue | None = None) -> Codebook:
    """Load a codebook; with a catalogue, also check it against the catalogue."""
    doc = load_yaml(path)
    codebook = validate_document(Codebook, doc, "codebook")
    codebook._path = doc.path
    if catalogue is not None:
        _check_codebook(codebook, catalogue, doc)
    return codebook


def validate_codebook(codebook: Codebook, catalogue: Catalogue) -> None:
    """Check a codebook against the catalogue; raise ConfigError on the first problem."""
    _check_codebook(codebook, catalogue, None)


def project_root(survey_file: str | Path) -> Path:
    """Return the project root of a survey file: the folder holding the ``config/`` it is under.

    The root is the parent of the nearest ancestor folder named ``config`` (so both
    ``config/survey.yaml`` and ``config/<mission>/survey.yaml`` resolve to the folder holding
    ``config/``); a survey file outside any ``config/`` folder resolves against the current
    directory.
    """
    path = Path(survey_file).resolve()
    for folder in path.parents:
        if folder.name == "config":
            return folder.parent
    return Path.cwd()


def load_survey(path: str | Path, root: str | Path | None = None) -> SurveyConfig:
    """Load the survey file; ``root`` defaults to :func:`project_root` of the file."""
    doc = load_yaml(path)
    survey = validate_document(SurveyConfig, doc, "survey configuration")
    survey._root = Path(root) if root is not None else project_root(doc.path)
    survey._path = doc.path
    return survey


def load_deployment(
    root: str | Path,
    deployment_file: str = DEPLOYMENT_FILE,
    survey_files: Sequence[str] | None = None,
) -> dict[str, SurveyConfig]:
    """Load every survey a deployment serves, by survey key, in the deployment file's order.

    Without the deployment file in ``root``, the deployment serves ``config/survey.yaml`` alone.
    Two survey files with the same ``survey:`` key are a ConfigError naming the deployment file.
    ``survey_files`` (paths relative to ``root``) replaces the deployment file's list, as
    ``perception run --survey`` does for a survey the deployment does not list yet.
    """
    if survey_files is not None:
        return _load_survey_files(root, survey_files)
    path = Path(root) / deployment_file
    if not path.exists():
        survey = load_survey(Path(root) / SURVEY_FILE, root=root)
        return {survey.survey: survey}
    doc = load_yaml(path)
    deployment = validate_document(DeploymentConfig, doc, "deployment configuration")
    surveys: dict[str, SurveyConfig] = {}
    files: dict[str, str] = {}
    for index, file in enumerate(deployment.surveys):
        survey_path = Path(root) / file
        if not survey_path.is_file():
            raise config_error(
                doc,
                ("surveys", index),
                "Referenced survey file does not exist",
                expected=f"a survey file at {survey_path}",
                found="no such file",
                hint=f"paths are relative to the project root {root}; check the spelling",
            )
        survey = load_survey(survey_path, root=root)
        if survey.survey in surveys:
            raise config_error(
                doc,
                ("surveys", index),
                f"Two survey files share the survey key {survey.survey!r}",
                expected="a different `survey:` key in every survey file",
                found=f"survey: {survey.survey} in both {files[survey.survey]} and {file}",
                hint="give each survey its own `survey:` key; it names its outputs and partitions",
            )
        surveys[survey.survey] = survey
        files[survey.survey] = file
    return surveys


def _load_survey_files(root: str | Path, survey_files: Sequence[str]) -> dict[str, SurveyConfig]:
    """Load the given survey files, by survey key; a missing file or a repeated key is an error."""
    surveys: dict[str, SurveyConfig] = {}
    for file in survey_files:
        path = Path(root) / file
        if not path.is_file():
            raise ConfigError(
                "The survey file does not exist",
                expected=f"a survey file at {path}",
                found="a folder" if path.is_dir() else "no such file",
                hint=f"paths are relative to the project root {Path(root).resolve()}",
                file=path,
            )
        survey = load_survey(path, root=root)
        if survey.survey in surveys:
            raise ConfigError(
                f"Two survey files share the survey key {survey.survey!r}",
                expected="a different `survey:` key in every survey file",
                found=f"survey: {survey.survey} in both {surveys[survey.survey].path} and {path}",
                hint="give each survey its own `survey:` key; it names its outputs and partitions",
                file=path,
            )
        surveys[survey.survey] = survey
    return surveys


def load_project(path: str | Path, root: str | Path | None = None) -> Project:
    """Load the survey file, its catalogue and every codebook, and check they fit together."""
    doc = load_yaml(path)
    survey = load_survey(path, root)
    catalogue = load_catalogue(_existing(survey, doc, ("variables",), survey.variables))
    codebooks: dict[str, Codebook] = {}
    for index, wave in enumerate(survey.waves):
        file = _existing(survey, doc, ("waves", index, "codebook"), wave.codebook)
        codebook = load_codebook(file, catalogue)
        for field, want, got in (
            ("wave", wave.id, codebook.wave),
            ("source_file", wave.file, codebook.source_file),
        ):
            if want != got:
                raise config_error(
                    doc,
                    ("waves", index, "id" if field == "wave" else "file"),
                    f"Wave and codebook disagree on `{field}`",
                    expected=f"{field}: {want} in {file}",
                    found=f"{field}: {got}",
                    hint=f"make `{field}` in the codebook match the wave in {doc.path.name}",
                )
        codebooks[wave.id] = codebook
        for position, covariate in enumerate(wave.covariates or []):
            if covariate not in catalogue.variables:
                close = difflib.get_close_matches(covariate, list(catalogue.variables), n=1)
                raise config_error(
                    doc,
                    ("waves", index, "covariates", position),
                    "Propensity covariate is not in the variable catalogue",
                    expected="a catalogue variable both waves measured",
                    found=f"covariate {covariate!r}",
                    hint=f"did you mean {close[0]!r}?" if close else "add it to the catalogue",
                )
    return Project(survey=survey, catalogue=catalogue, codebooks=codebooks)


def survey_warnings(survey: SurveyConfig) -> list[str]:
    """Return the soft problems of a survey file, each naming its YAML key and line."""
    doc = load_yaml(survey.path)
    warnings = []
    for index, wave in enumerate(survey.waves):
        if wave.fieldwork is None:
            key = ("waves", index)
            line = doc.line_of(key)
            warnings.append(
                f"{_render_key((*key, 'fieldwork'), doc.data)}"
                + (f" (line {line})" if line is not None else "")
                + f": wave {wave.id} has no fieldwork dates; reports show no projection for it "
                "and its status uses only the rules that need no dates "
                "(add fieldwork: {start: YYYY-MM-DD, end: YYYY-MM-DD})"
            )
    return warnings


def _existing(survey: SurveyConfig, doc: YamlDocument, key: tuple[Hashable, ...], rel: str) -> Path:
    """Resolve a referenced file and fail with the referencing key when it is absent."""
    file = survey.resolve(rel)
    if not file.is_file():
        raise config_error(
            doc,
            key,
            "Referenced file does not exist",
            expected=f"a file at {file}",
            found="no such file",
            hint=f"paths are relative to the project root {survey.root}; check the spelling",
        )
    return file


# --------------------------------------------------------------------------- codebook checks


def _check_codebook(codebook: Codebook, catalogue: Catalogue, doc: YamlDocument | None) -> None:
    """Check every mapping of a codebook against the catalogue."""
    seen: dict[str, str] = {}
    for source, vmap in codebook.variables.items():
        key = ("variables", source)
        if vmap.target is None:
            continue
        var = catalogue.variables.get(vmap.target)
        if var is None:
            close = difflib.get_close_matches(vmap.target, list(catalogue.variables), n=1)
            raise _codebook_error(
                codebook,
                doc,
                (*key, "target"),
                "Codebook target is not in the variable catalogue",
                expected="a variable of config/variables.yaml",
                found=f"target {vmap.target!r}",
                hint=f"did you mean {close[0]!r}?" if close else "add it to the catalogue first",
            )
        if vmap.target in seen:
            raise _codebook_error(
                codebook,
                doc,
                (*key, "target"),
                "Two source columns map to the same harmonized variable",
                expected=f"one source column for {vmap.target}",
                found=f"{seen[vmap.target]} and {source}",
                hint="keep one mapping and mark the other `skip: true`",
            )
        seen[vmap.target] = source
        _check_mapping(codebook, catalogue, doc, source, vmap.target, vmap, var)
    for target, derivation in codebook.derived.items():
        _check_derivation(codebook, catalogue, doc, target, derivation, seen)
    if ID_VARIABLE not in seen and ID_VARIABLE not in codebook.derived:
        raise _codebook_error(
            codebook,
            doc,
            ("variables",),
            "Codebook does not map the respondent id",
            expected=f"one source column with `target: {ID_VARIABLE}`",
            found="none",
            hint="map the file's respondent/questionnaire number; add `pii: true` if it is "
            "personal (it is then replaced by a salted hash)",
        )


def _check_derivation(
    codebook: Codebook,
    catalogue: Catalogue,
    doc: YamlDocument | None,
    target: str,
    derivation: Derivation,
    seen: Mapping[str, str],
) -> None:
    """Check one derived variable: a catalogue variable, not mapped twice, valid for its kind."""
    key = ("derived", target)

    def fail(
        where: tuple[Hashable, ...], message: str, expected: str, found: str, hint: str
    ) -> NoReturn:
        raise _codebook_error(
            codebook, doc, where, message, expected=expected, found=found, hint=hint
        )

    var = catalogue.variables.get(target)
    if var is None:
        close = difflib.get_close_matches(target, list(catalogue.variables), n=1)
        fail(
            key,
            "Derived variable is not in the variable catalogue",
            "a variable of config/variables.yaml",
            f"derived {target!r}",
            f"did you mean {close[0]!r}?" if close else "add it to the catalogue first",
        )
        return
    if target in seen:
        fail(
            key,
            "A harmonized variable is both mapped and derived",
            f"one source for {target}",
            f"source column {seen[target]} and derived.{target}",
            "keep one: remove the mapping or the derivation",
        )
    if var.role == "derived" or var.kind == "date":
        fail(
            key,
            f"{target} cannot be derived in a codebook",
            "an id, design, demographic or item variable that is not a date",
            f"{target} is a {var.role} {var.kind} variable",
            "age_band and youth are computed from age; map dates from a column",
        )
    if derivation.cross is not None:
        if var.kind != "string":
            fail(
                (*key, "cross"),
                f"cross builds text codes, and {target} is {var.kind}",
                "cross only for a string variable (e.g. stratum)",
                f"{target} is {var.kind}",
                "cross the columns into stratum, or map one column with recode",
            )
        personal = [c for c in derivation.cross if c in codebook.variables]
        personal = [c for c in personal if codebook.variables[c].pii]
        if personal:
            fail(
                (*key, "cross"),
                "Personal data crossed into a harmonized variable",
                "no pii: true column in cross",
                f"{personal[0]} is pii: true",
                "personal data never leaves data/raw; cross other columns",
            )
    elif derivation.row_number is not None:
        if var.kind not in ("string", "integer"):
            fail(
                (*key, "row_number"),
                f"row_number gives 1..n, and {target} is {var.kind}",
                "row_number only for a string or integer variable (e.g. respondent_id)",
                f"{target} is {var.kind}",
                "use row_number for respondent_id",
            )
    else:
        _check_constant(codebook, catalogue, doc, target, var, derivation.constant)


def _check_constant(
    codebook: Codebook,
    catalogue: Catalogue,
    doc: YamlDocument | None,
    target: str,
    var: Variable,
    value: int | float | str | None,
) -> None:
    """Check that a constant is a valid value of its variable's kind."""
    if var.kind == "categorical":
        valid = isinstance(value, int) and value in catalogue.codes(target)
        expected = f"a catalogue code of {target}: {sorted(catalogue.codes(target))}"
    elif var.kind == "integer":
        low = var.min if var.min is not None else -math.inf
        high = var.max if var.max is not None else math.inf
        valid = isinstance(value, int) and low <= value <= high
        expected = f"a whole number from {var.min} to {var.max}"
    elif var.kind == "number":
        valid = isinstance(value, int | float)
        expected = "a number"
    else:
        valid, expected = True, "a text"
    if not valid:
        raise _codebook_error(
            codebook,
            doc,
            ("derived", target, "constant"),
            f"Constant not valid for {target}",
            expected=expected,
            found=repr(value),
            hint="use a value the catalogue allows for this variable",
        )


def _check_mapping(
    codebook: Codebook,
    catalogue: Catalogue,
    doc: YamlDocument | None,
    source: str,
    target: str,
    vmap: VariableMap,
    var: Variable,
) -> None:
    """Check one mapping's pii, recode, bins and missing entries against its target."""
    key = ("variables", source)
    if vmap.pii and var.role != "id":
        raise _codebook_error(
            codebook,
            doc,
            (*key, "pii"),
            "Personal data mapped to a harmonized variable",
            expected=f"pii: true only with target: {ID_VARIABLE}",
            found=f"pii: true with target: {target}",
            hint="personal data never leaves data/raw; drop the target or the pii flag",
        )
    if (vmap.recode is not None or vmap.bins is not None) and var.kind != "categorical":
        raise _codebook_error(
            codebook,
            doc,
            (*key, "recode" if vmap.recode is not None else "bins"),
            "Recode or bins on a non-categorical target",
            expected="recode/bins only for categorical targets",
            found=f"{target} is {var.kind}",
            hint="remove recode/bins; values pass through after `missing`",
        )
    codes = set(catalogue.codes(target)) if var.kind == "categorical" else set()
    entries: list[tuple[tuple[Hashable, ...], int]] = [
        ((*key, "recode", src), code) for src, code in (vmap.recode or {}).items()
    ]
    entries += [((*key, "bins", i, "code"), b.code) for i, b in enumerate(vmap.bins or [])]
    for where, code in entries:
        if code not in codes:
            raise _codebook_error(
                codebook,
                doc,
                where,
                f"Code not in the catalogue for {target}",
                expected=f"one of {sorted(codes)}",
                found=f"code {code}",
                hint="map don't know/refused through `missing`; otherwise use a catalogue code",
            )
    if not catalogue.takes_special_codes(target) or var.kind not in ("categorical", "integer"):
        for src, kind in vmap.missing.items():
            if kind != "missing":
                raise _codebook_error(
                    codebook,
                    doc,
                    (*key, "missing", src),
                    f"Special code on a {var.role} variable",
                    expected=f"`missing` only for {target}",
                    found=f"{src!r}: {kind}",
                    hint=f"{target} has no don't know/refused code; use `missing`",
                )


def _codebook_error(
    codebook: Codebook,
    doc: YamlDocument | None,
    key: tuple[Hashable, ...],
    message: str,
    *,
    expected: str,
    found: str,
    hint: str,
) -> ConfigError:
    """Build a ConfigError for a codebook, with the line when the YAML is known."""
    if doc is not None:
        return config_error(doc, key, message, expected=expected, found=found, hint=hint)
    return ConfigError(
        f"{message} at {_render_key(key, None)}",
        expected=expected,
        found=found,
        hint=hint,
        file=codebook.path,
    )


# --------------------------------------------------------------------------- error rendering


def validate_document(model: type[_M], doc: YamlDocument, what: str) -> _M:
    """Validate YAML data against a model, translating pydantic errors into a ConfigError."""
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"Invalid {what}",
            expected="a YAML mapping of keys to values",
            found="an empty file" if doc.data is None else f"a {type(doc.data).__name__}",
            hint=f"see {_structure_reference(model)} for the structure",
            file=doc.path,
        )
    try:
        # Validators that check several keys at once find the file (for line numbers) here.
        return model.model_validate(doc.data, context={"document": doc})
    except pydantic.ValidationError as exc:
        raise _from_pydantic(exc, model, doc, what) from None


def _from_pydantic(
    exc: pydantic.ValidationError, model: type[BaseModel], doc: YamlDocument, what: str
) -> ConfigError:
    """Translate the first pydantic error into a ConfigError (the others are counted)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(part for part in first["loc"] if part != "[key]")
    kind = first["type"]
    ctx = first.get("ctx") or {}
    found = _show(first.get("input"))
    hint = f"see {_structure_reference(model)} for the allowed structure"
    if kind == "perception_rule":
        loc = (*loc, *ctx.get("at", ()))
        expected, found, hint = str(ctx["expected"]), str(ctx["found"]), str(ctx["hint"])
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        expected = "one of the keys " + ", ".join(allowed) if allowed else "no extra keys"
        found = f"unknown key {loc[-1]!r}"
        hint = f"did you mean {close[0]!r}?" if close else "remove the key or fix its spelling"
    elif kind == "missing":
        expected, found = f"the required key {loc[-1]!r}", "no such key"
        hint = f"add `{loc[-1]}:`"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        expected = "one of " + ", ".join(options)
        close = difflib.get_close_matches(str(first.get("input")), options, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
    else:
        expected = str(first["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
        if "[key]" in first["loc"]:
            expected = f"a key that is {expected}"
            found = f"key {_show(loc[-1])}"
            hint = f'put the key in quotes ("{loc[-1]}":) if it is meant as text'
    message = f"Invalid {what}"
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) after this one)"
    return config_error(doc, loc, message, expected=expected, found=found, hint=hint)


def config_error(
    doc: YamlDocument,
    key: Sequence[Hashable],
    message: str,
    *,
    expected: str,
    found: str,
    hint: str,
) -> ConfigError:
    """Build a ConfigError naming the file, the key path and its line."""
    where = _render_key(key, doc.data)
    line = doc.line_of(key)
    text = f"{message} at {where}" + (f" (line {line})" if line is not None else "")
    return ConfigError(text, expected=expected, found=found, hint=hint, file=doc.path)


def _structure_reference(model: type[BaseModel]) -> str:
    """Name where a model's structure is documented: its JSON Schema, else the model itself."""
    schema = _SCHEMA_FILES.get(model.__name__)
    return f"config/schemas/{schema}" if schema else f"{model.__module__}.{model.__name__}"


def _render_key(key: Sequence[Hashable], data: Any) -> str:
    """Render a key path as ``variables.Q23.recode`` or ``waves[1].id``."""
    if not key:
        return "the top level"
    text = ""
    node = data
    for part in key:
        if isinstance(node, list) and isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def _show(value: object) -> str:
    """Show a found value briefly."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _allowed_keys(model: type[BaseModel], loc: Iterable[Hashable]) -> list[str]:
    """Return the keys allowed in the mapping found at ``loc`` inside ``model``."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list, tuple):
            current = [arg for arg in get_args(current) if arg is not Ellipsis][-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional from a type annotation."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


# --------------------------------------------------------------------------- JSON Schemas

_SCHEMA_FILES = {
    "Catalogue": "variables.schema.json",
    "Codebook": "codebook.schema.json",
    "SurveyConfig": "survey.schema.json",
    "DeploymentConfig": "deployment.schema.json",
    "WeightingConfig": "weighting.schema.json",
    "PopulationTargets": "targets.schema.json",
    "IndicatorCatalogue": "indicators.schema.json",
    "DisclosureRules": "disclosure.schema.json",
    "BriefConfig": "brief.schema.json",
}


def _schema_models() -> dict[str, type[BaseModel]]:
    """Return every config model with a JSON Schema (imported here: they import this module)."""
    from perception.brief.config import BriefConfig
    from perception.disclosure import DisclosureRules
    from perception.indicators import IndicatorCatalogue
    from perception.weighting import PopulationTargets, WeightingConfig

    models: list[type[BaseModel]] = [Catalogue, Codebook, SurveyConfig, DeploymentConfig]
    models += [WeightingConfig, PopulationTargets, IndicatorCatalogue, DisclosureRules]
    models.append(BriefConfig)
    return {model.__name__: model for model in models}


def json_schemas() -> dict[str, str]:
    """Return ``{file name: JSON text}`` for the schema of every configuration file."""
    out: dict[str, str] = {}
    for name, model in _schema_models().items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[_SCHEMA_FILES[name]] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def write_json_schemas(directory: str | Path) -> list[Path]:
    """Write the JSON Schemas into ``directory`` (``config/schemas``) and return the files."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        file = folder / name
        file.write_text(text, encoding="utf-8")
        written.append(file)
    return written
