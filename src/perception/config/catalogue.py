"""The variable catalogue (``config/variables.yaml``): variables, labels, codes, age bands."""

from __future__ import annotations

import difflib
import itertools
import math
from pathlib import Path
from typing import (
    Annotated,
    Literal,
    Self,
)

from pydantic import (
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from perception.config.document import ConfigModel, rule_error, validate_document
from perception.words import LANGS, say
from perception.yamlio import load_yaml

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
WaveId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

Role = Literal["id", "date", "demographic", "derived", "design", "replicate_weight", "item"]
Kind = Literal["string", "date", "categorical", "integer", "number"]
MissingKind = Literal["missing", "dont_know", "refused"]

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


class Label(ConfigModel):
    """A text in English and French."""

    en: NonEmptyStr
    fr: NonEmptyStr


# --------------------------------------------------------------------------- catalogue


class SpecialCodes(ConfigModel):
    """Canonical codes for "don't know" and "refused", shared by every item and demographic."""

    dont_know: StrictInt = 98
    refused: StrictInt = 99

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.dont_know == self.refused:
            raise rule_error(
                "two different codes",
                f"dont_know and refused are both {self.dont_know}",
                "use 98 for don't know and 99 for refused",
            )
        return self

    def labels(self) -> dict[int, Label]:
        """Return the bilingual label of each special code."""
        return {
            self.dont_know: Label(**{lang: say("code.dont_know", lang) for lang in LANGS}),
            self.refused: Label(**{lang: say("code.refused", lang) for lang in LANGS}),
        }


class AgeBand(ConfigModel):
    """One age band; ``min`` and ``max`` are inclusive and ``max: null`` leaves it open."""

    code: StrictInt
    min: StrictInt = Field(ge=0)
    max: StrictInt | None = None
    label: Label

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise rule_error(
                "max >= min", f"min {self.min} and max {self.max}", "swap min and max", ("max",)
            )
        return self


class AgeBands(ConfigModel):
    """Contiguous age bands and the upper age of "youth" (needed only to derive ``youth``)."""

    bands: list[AgeBand] = Field(min_length=1)
    youth_max_age: StrictInt | None = None

    @model_validator(mode="after")
    def _contiguous(self) -> Self:
        codes = [band.code for band in self.bands]
        for index, code in enumerate(codes):
            if code in codes[:index]:
                raise rule_error(
                    "each band code once",
                    f"code {code} twice",
                    "number the bands 1, 2, 3...",
                    ("bands", index, "code"),
                )
        for index, (low, high) in enumerate(itertools.pairwise(self.bands)):
            if low.max is None or high.min != low.max + 1:
                raise rule_error(
                    f"band {index + 2} to start at {low.max + 1 if low.max is not None else '?'}",
                    f"band {index + 1} ends at {low.max} and band {index + 2} starts at {high.min}",
                    "list the bands in increasing order without gaps or overlaps; "
                    "only the last band may be open (max: null)",
                    ("bands", index + 1, "min"),
                )
        last = self.bands[-1].max
        youth = self.youth_max_age
        if youth is not None and not self.bands[0].min <= youth <= (last or 10**6):
            raise rule_error(
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


class Variable(ConfigModel):
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
            raise rule_error(
                f"kind {' or '.join(allowed)} for role {self.role}",
                f"kind {self.kind}",
                "change the kind or the role",
                ("kind",),
            )
        if (self.role == "item") != (self.theme is not None):
            raise rule_error(
                "a theme on every item and only on items",
                f"role {self.role} with theme {self.theme}",
                "items need `theme:`; other roles must not have one",
                ("theme",),
            )
        if self.kind == "categorical" and self.codes is None and self.role != "derived":
            raise rule_error(
                "codes for a categorical variable",
                "no `codes:`",
                "add codes: {1: {en: ..., fr: ...}, ...}",
                ("codes",),
            )
        if self.kind != "categorical" and (self.codes is not None or self.ordered):
            raise rule_error(
                "codes/ordered only on categorical variables",
                f"kind {self.kind} with codes or ordered",
                "remove `codes`/`ordered` or make the variable categorical",
                ("codes",),
            )
        if self.kind != "integer" and (self.min is not None or self.max is not None):
            raise rule_error(
                "min/max only on integer variables",
                f"kind {self.kind} with min/max",
                "remove min and max",
                ("min",),
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise rule_error("min <= max", f"min {self.min}, max {self.max}", "swap them", ("max",))
        if (self.role == "derived") != (self.derived_from is not None):
            raise rule_error(
                "derived_from on derived variables and only there",
                f"role {self.role} with derived_from {self.derived_from}",
                "derived variables need `derived_from: age`",
                ("derived_from",),
            )
        extra = sorted(set(self.groups or {}) - set(self.codes or {}))
        if extra:
            raise rule_error(
                "groups: labels only for codes listed in `codes:`",
                f"groups for code(s) {extra}",
                "give each group label the code of its `codes:` entry",
                ("groups", extra[0]),
            )
        return self


class Catalogue(ConfigModel):
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
            raise rule_error(
                "no variable named `wave`",
                "a variable named wave",
                "harmonization adds the wave column itself; rename the variable",
                ("variables", WAVE_COLUMN),
            )
        ids = [name for name, var in self.variables.items() if var.role == "id"]
        if ids != [ID_VARIABLE]:
            raise rule_error(
                f"exactly one id variable, named {ID_VARIABLE}",
                f"id variables {ids}",
                f"declare `{ID_VARIABLE}: {{role: id, kind: string, label: ...}}`",
                ("variables",),
            )
        for name, var in self.variables.items():
            if var.theme is not None and var.theme not in self.themes:
                close = difflib.get_close_matches(var.theme, list(self.themes), n=1)
                raise rule_error(
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
                raise rule_error(
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
                raise rule_error(
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
                raise rule_error(
                    "each domain once",
                    f"{name!r} twice",
                    "remove the repeated entry",
                    ("domains", index),
                )

    def _check_derived(self, name: str, var: Variable) -> None:
        """Check that a derived variable is one harmonization knows how to compute."""
        if name not in DERIVED_FROM_AGE or var.derived_from != "age":
            raise rule_error(
                f"a derived variable named {' or '.join(DERIVED_FROM_AGE)} with derived_from: age",
                f"{name} derived from {var.derived_from}",
                "only age_band and youth can be derived (from age)",
                ("variables", name, "derived_from"),
            )
        age = self.variables.get("age")
        if age is None or age.kind != "integer":
            raise rule_error(
                "an integer variable `age` to derive from",
                "no integer `age` in the catalogue",
                "add age: {role: demographic, kind: integer, min: 18, max: 110, label: ...}",
                ("variables", name, "derived_from"),
            )
        if name == "age_band" and var.codes is not None:
            raise rule_error(
                "no codes on age_band",
                "codes on age_band",
                "age_band codes come from age_bands.bands; remove `codes`",
                ("variables", name, "codes"),
            )
        bands = self.age_bands
        if bands is None or (name == "youth" and bands.youth_max_age is None):
            key = "age_bands" if bands is None else "age_bands.youth_max_age"
            raise rule_error(
                f"`{key}` to derive {name} from age",
                f"no `{key}`",
                "add age_bands: {bands: [{code: 1, min: 18, max: 24, label: ...}, ...], "
                "youth_max_age: 35} (youth_max_age only to derive youth)",
                ("variables", name, "derived_from"),
            )
        if name == "youth" and len(var.codes or {}) != 2:
            raise rule_error(
                "two youth codes: the lower one for youth, the higher one for adults",
                f"codes {sorted(var.codes or {})}",
                "declare codes: {1: {en: Youth...}, 2: {en: Adults...}}",
                ("variables", name, "codes"),
            )
        if name == "age_band" and age.min is not None and bands.bands[0].min > age.min:
            raise rule_error(
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


def load_catalogue(path: str | Path) -> Catalogue:
    """Load and validate the variable catalogue."""
    doc = load_yaml(path)
    return validate_document(Catalogue, doc, "variable catalogue")
