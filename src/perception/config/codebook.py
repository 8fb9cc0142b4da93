"""A wave's codebook (``config/codebooks/<wave>.yaml``): source columns to variables, and checks."""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import (
    Annotated,
    Literal,
    NoReturn,
    Self,
)

from pydantic import (
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from perception.config.catalogue import (
    ID_VARIABLE,
    Catalogue,
    EnvVarName,
    MissingKind,
    NonEmptyStr,
    SourceValue,
    Variable,
    VariableName,
    WaveId,
)
from perception.config.document import ConfigModel, config_error, rule_error, validate_document
from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml


class Bin(ConfigModel):
    """A range of a numeric source mapped to one code; bounds inclusive, ``max: null`` open."""

    min: float
    max: float | None = None
    code: StrictInt

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise rule_error("max >= min", f"min {self.min}, max {self.max}", "swap them", ("max",))
        return self

    def contains(self, value: float) -> bool:
        """Tell whether ``value`` falls in the bin."""
        return value >= self.min and (self.max is None or value <= self.max)


class VariableMap(ConfigModel):
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
            raise rule_error(
                f"one of {intent}",
                "skip together with target or pii",
                "remove `skip: true` to map the column",
                ("skip",),
            )
        if self.skip and (self.recode is not None or self.bins is not None):
            raise rule_error(
                "no recode/bins on a skipped column",
                "skip with recode or bins",
                "replace `skip: true` with `target: NAME`",
                ("skip",),
            )
        if not self.skip and self.target is None and not self.pii:
            raise rule_error(
                f"one of {intent}", "none of them", "say what to do with the column", ()
            )
        if self.pii and self.target is None and (self.missing or self.recode or self.bins):
            raise rule_error(
                "nothing but `pii: true` on a dropped personal-data column",
                "missing, recode or bins",
                "remove them: the column never leaves data/raw",
                ("pii",),
            )
        if self.recode is not None and self.bins is not None:
            raise rule_error(
                "either recode or bins", "both", "use bins for numeric ranges, recode otherwise"
            )
        overlap = sorted(set(self.missing) & set(self.recode or {}), key=str)
        if overlap:
            raise rule_error(
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
                raise rule_error(
                    "bins that do not overlap",
                    f"[{low.min}, {low.max}] and [{high.min}, {high.max}]",
                    "make each bin start after the previous one ends",
                    ("bins", index),
                )


SourceColumn = Annotated[str, StringConstraints(min_length=1)]


class Derivation(ConfigModel):
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
            raise rule_error(
                "exactly one of cross, row_number: true or constant",
                f"{', '.join(given) or 'none'}",
                "e.g. stratum: {cross: [REGION, URBRUR]}, respondent_id: {row_number: true}, "
                "country: {constant: 788}",
            )
        if self.cross is not None and len(set(self.cross)) != len(self.cross):
            raise rule_error(
                "each source column once in cross",
                f"{self.cross}",
                "remove the repeated column",
                ("cross",),
            )
        return self


class Codebook(ConfigModel):
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
    return config_error(
        doc, key, message, expected=expected, found=found, hint=hint, file=codebook.path
    )


# --------------------------------------------------------------------------- error rendering
