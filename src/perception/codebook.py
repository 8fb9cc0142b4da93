"""Codebook harmonization: source survey columns → one typed table on the catalogue's schema.

``harmonize`` applies a codebook (missing codes, recodes, bins, type conversion), derives
``age_band`` and ``youth`` from ``age``, adds ``wave``, keeps only catalogue variables (so
every other column, and every ``pii: true`` column, is dropped) and replaces a personal
respondent id by a keyed hash (HMAC-SHA256 under the deployment's secret).
``write_harmonized``/``read_harmonized`` store the table as Parquet with its bilingual value
labels; ``check_harmonized`` lists rule violations for the pipeline's asset checks;
``codebook_stub`` drafts a codebook from a file's metadata.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from perception.config import (
    DERIVED_FROM_AGE,
    ID_VARIABLE,
    WAVE_COLUMN,
    Catalogue,
    Codebook,
    Derivation,
    MissingKind,
    Variable,
    VariableMap,
    validate_codebook,
)
from perception.errors import CodebookError, ConfigError, ReadError, ValidationError
from perception.io import read_survey
from perception.storage import write_parquet

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "FILTER_ATTR",
    "ID_SECRET_FILE",
    "Finding",
    "PseudonymisationWarning",
    "SourceMetadata",
    "VariableSuggestion",
    "check_harmonized",
    "codebook_stub",
    "harmonize",
    "harmonize_file",
    "harmonized_labels",
    "read_harmonized",
    "read_harmonized_labels",
    "render_codebook_stub",
    "suggest_codebook",
    "write_harmonized",
]

SourceKey = int | float | str
_LABELS_KEY = "perception.labels"
_HASH_CHARS = 16
_MIN_SECRET_CHARS = 32
ID_SECRET_FILE = Path(".perception", "secrets", "id_salt")
"""The deployment's secret keying hashed respondent ids, relative to the project root."""
_SHOWN_VALUES = 10


class SourceMetadata(Protocol):
    """What harmonization and scaffolding read from ``perception.io.SurveyMetadata``."""

    @property
    def format(self) -> str:
        """File format ("spss", "stata", "kobo-xlsx"...)."""

    @property
    def file_label(self) -> str | None:
        """The file's own label, if any."""

    @property
    def column_labels(self) -> Mapping[str, str]:
        """Variable label per column."""

    @property
    def value_labels(self) -> Mapping[str, Mapping[Any, str]]:
        """Value labels per column."""

    @property
    def missing_ranges(self) -> Mapping[str, Any]:
        """Declared SPSS user-missing values and ranges per column."""

    @property
    def extended_missing(self) -> Mapping[str, Sequence[str]]:
        """Stata extended missing codes (".a"...) present per column."""

    @property
    def variable_types(self) -> Mapping[str, str]:
        """Return "numeric", "string", "date", "datetime" or "time" per column."""


class PseudonymisationWarning(UserWarning):
    """The secret keying hashed respondent ids was just created, or is too short."""


# =========================================================================== harmonize


@dataclass(frozen=True)
class _Context:
    """What error messages need: the data file, the codebook and the file's value labels."""

    source: str
    codebook: Codebook
    value_labels: Mapping[str, Mapping[Any, str]]

    def where(self, column: str) -> str:
        """Name the codebook entry of a column for hints."""
        book = self.codebook.path.name if self.codebook.path is not None else "the codebook"
        return f"variables.{column} in {book}"


@dataclass(frozen=True)
class _Converted:
    """A harmonized column and the rows that hold a don't know/refused code."""

    values: pd.Series
    special: npt.NDArray[np.bool_]


def harmonize_file(
    path: str | Path,
    codebook: Codebook,
    catalogue: Catalogue,
    *,
    survey: str = "perception",
    root: str | Path | None = None,
) -> pd.DataFrame:
    """Read a raw survey file with ``perception.io.read_survey`` and harmonize it."""
    file = Path(path)
    if file.name != codebook.source_file:
        raise CodebookError(
            "Codebook is for another file",
            expected=f"the file {codebook.source_file}",
            found=file.name,
            hint="use the codebook listed for this wave in config/survey.yaml",
            file=file,
        )
    df, metadata = read_survey(file)
    return harmonize(df, metadata, codebook, catalogue, source=str(file), survey=survey, root=root)


def harmonize(
    df: pd.DataFrame,
    metadata: SourceMetadata,
    codebook: Codebook,
    catalogue: Catalogue,
    *,
    source: str,
    survey: str = "perception",
    root: str | Path | None = None,
) -> pd.DataFrame:
    """Apply a codebook to a source table and return the harmonized table.

    Every catalogue variable becomes one column in catalogue order (all missing when the
    codebook does not map it), followed by ``wave``. Categorical variables are pandas
    Categoricals whose categories are the catalogue codes in canonical order, followed by
    98 and 99 for items and demographics; integers are ``Int64``; numbers ``float64``; dates
    ``datetime64[ns]``; ids and other text ``string``.

    Parameters
    ----------
    df, metadata
        The source table and its metadata, as ``perception.io.read_survey`` returns them.
    codebook, catalogue
        The codebook of this file and the variable catalogue.
    source
        The file name or path, used in error messages.
    survey
        The survey key. A personal respondent id is replaced by HMAC-SHA256 under a key
        derived from the secret and the survey key.
    root
        The project root (default: the current folder). Without the secret in the
        environment variable the codebook names (``id_salt_env``), the secret is read from
        ``<root>/.perception/secrets/id_salt``, created with 256 random bits on first use.

    Notes
    -----
    ``age`` keeps 98/99 for don't know/refused, as every demographic does; ``age_band`` and
    ``youth`` are derived from the ages actually given, so those rows get no band.

    A codebook ``filter`` is applied first: only the rows it keeps are harmonized, and
    ``DataFrame.attrs["perception.filter"]`` says how many of the file's rows it kept.
    ``derived`` variables are then built from the kept rows (``row_number`` counts rows of
    the whole file, so an id points back to its raw row) and converted like mapped columns.
    A ``cross`` whose component is blank or a ``missing`` code of that column is a
    ValidationError naming the column and rows: a crossed design variable is never missing.

    """
    validate_codebook(codebook, catalogue)
    _require_columns(df, codebook, source)
    ctx = _Context(source=source, codebook=codebook, value_labels=metadata.value_labels)
    n_file = len(df)
    file_rows = np.arange(1, n_file + 1)
    if codebook.filter is not None:
        kept = _filter_rows(df, codebook.filter, source)
        df, file_rows = df.iloc[kept].reset_index(drop=True), file_rows[kept]
    targets = codebook.targets()
    converted: dict[str, _Converted] = {}
    for name, var in catalogue.variables.items():
        if name in targets:
            src = targets[name]
            series = df[src].reset_index(drop=True)
            converted[name] = _convert(
                series, src, name, var, codebook.variables[src], catalogue, ctx
            )
        elif name in codebook.derived:
            values = _derived_values(df, file_rows, codebook.derived[name], codebook, source)
            converted[name] = _convert(
                values, f"derived.{name}", name, var, VariableMap(target=name), catalogue, ctx
            )
    ids = converted[ID_VARIABLE].values
    personal = ID_VARIABLE in targets and codebook.variables[targets[ID_VARIABLE]].pii
    _check_ids(ids, ctx, targets.get(ID_VARIABLE, f"derived.{ID_VARIABLE}"), personal=personal)
    if personal:
        ids = _pseudonymise(ids, _id_key(codebook, survey, root))
        converted[ID_VARIABLE] = _Converted(ids, converted[ID_VARIABLE].special)
    columns: dict[str, pd.Series] = {}
    n = len(df)
    for name, var in catalogue.variables.items():
        if name in converted:
            columns[name] = converted[name].values
        elif name in DERIVED_FROM_AGE and "age" in converted:
            columns[name] = _derive(name, converted["age"], catalogue)
        else:
            columns[name] = _empty(name, var, catalogue, n)
    columns[WAVE_COLUMN] = pd.Series([codebook.wave] * n, dtype="string")
    out = pd.DataFrame(columns)
    if codebook.filter is not None:
        out.attrs[FILTER_ATTR] = (
            f"filter {_filter_text(codebook.filter)} kept {n} of {n_file} rows of {source}"
        )
    return out


FILTER_ATTR = "perception.filter"
"""Key of ``DataFrame.attrs`` where harmonization reports how many rows its ``filter`` kept."""


def _filter_text(spec: Mapping[str, Sequence[SourceKey]]) -> str:
    """Describe a codebook filter briefly: ``COUNTRY in [788]``."""
    return " and ".join(f"{column} in {list(values)}" for column, values in spec.items())


def _filter_rows(
    df: pd.DataFrame, spec: Mapping[str, Sequence[SourceKey]], source: str
) -> npt.NDArray[np.intp]:
    """Return the positions of the rows whose filter columns all hold a listed value."""
    keep = np.ones(len(df), dtype=bool)
    for column, values in spec.items():
        listed = _lookup(_normalized(df[column]), dict.fromkeys(values, True))
        keep &= listed.notna().to_numpy()
    if not keep.any():
        raise CodebookError(
            f"The codebook filter keeps no row of the file ({_filter_text(spec)})",
            expected="at least one row with the listed values",
            found=f"none of the {len(df)} rows",
            hint="check the filter values against the file's codes (e.g. the country code)",
            file=source,
            column=next(iter(spec)),
        )
    kept: npt.NDArray[np.intp] = np.flatnonzero(keep)
    return kept


def _derived_values(
    df: pd.DataFrame,
    file_rows: npt.NDArray[np.int_],
    derivation: Derivation,
    codebook: Codebook,
    source: str,
) -> pd.Series:
    """Return the source values of a derived variable, ready for conversion to its kind."""
    n = len(df)
    if derivation.row_number is not None:
        return pd.Series(file_rows, dtype="int64")
    if derivation.cross is None:
        return pd.Series([derivation.constant] * n, dtype=object)
    parts: list[list[str | None]] = []
    for column in derivation.cross:
        values = _normalized(df[column].reset_index(drop=True))
        vmap = codebook.variables.get(column)
        missing = values.isna().to_numpy()
        if vmap is not None and vmap.missing:
            missing = missing | _lookup(values, vmap.missing).notna().to_numpy()
        if missing.any():
            rows = file_rows[missing] - 1  # positions in the file, before any filter
            raise ValidationError(
                f"Column {column} is missing in {rows.size} row(s), so they have no crossed value",
                expected=f"a value of every column of {derivation.cross} in every row",
                found=f"{rows.size} row(s) missing (blank, or a `missing` code of {column})",
                hint="a crossed design variable such as a stratum cannot be missing; fix the "
                "rows or filter them out",
                file=source,
                column=column,
                rows=rows[:_SHOWN_VALUES].tolist(),
            )
        parts.append([_text(v) for v in values.to_numpy(dtype=object)])
    return pd.Series(["|".join(str(p) for p in row) for row in zip(*parts, strict=True)])


def _require_columns(df: pd.DataFrame, codebook: Codebook, source: str) -> None:
    """Fail when the codebook names a column the file lacks (mapped, crossed or filtered)."""
    named = [*codebook.variables, *(codebook.filter or {})]
    named += [c for d in codebook.derived.values() for c in (d.cross or [])]
    absent = list(dict.fromkeys(name for name in named if name not in df.columns))
    if not absent:
        return
    close = difflib.get_close_matches(absent[0], [str(c) for c in df.columns], n=3)
    where = codebook.path.name if codebook.path is not None else "the codebook"
    raise CodebookError(
        f"Codebook names {len(absent)} column(s) the file lacks: {', '.join(absent[:10])}",
        expected=f"every column listed under `variables` in {where}",
        found=f"no column {absent[0]!r} among the file's {df.shape[1]} columns",
        hint=(f"did you mean {', '.join(map(repr, close))}? " if close else "")
        + "fix the name in the codebook, or check that the codebook matches this file",
        file=source,
        column=absent[0],
    )


def _convert(
    series: pd.Series,
    src: str,
    name: str,
    var: Variable,
    vmap: VariableMap,
    catalogue: Catalogue,
    ctx: _Context,
) -> _Converted:
    """Convert one source column to its target's type after applying ``missing``."""
    values = _normalized(series)
    present = values.notna().to_numpy()
    kinds = _lookup(values, vmap.missing)
    is_missing = kinds.notna().to_numpy()
    special = np.zeros(len(values), dtype=float)
    special[:] = np.nan
    for kind in ("dont_know", "refused"):
        code = catalogue.special_code(kind)
        if code is not None:
            special[(kinds == kind).to_numpy()] = code
    rest = present & ~is_missing
    fail = _failer(values, rest, src, name, ctx)
    if var.kind == "categorical":
        codes = _categorical_codes(values, rest, name, vmap, catalogue, fail)
        codes = np.where(np.isnan(special), codes, special)
        out = _categorical(codes, catalogue.categories(name), ordered=var.ordered)
    elif var.kind == "integer":
        number = pd.to_numeric(values.where(rest), errors="coerce").to_numpy(dtype=float)
        low = var.min if var.min is not None else -np.inf
        high = var.max if var.max is not None else np.inf
        ok = ~np.isnan(number) & (np.mod(number, 1) == 0) & (number >= low) & (number <= high)
        fail(rest & ~ok, f"a whole number from {var.min} to {var.max}, or a `missing` code")
        number = np.where(np.isnan(special), number, special)
        out = pd.Series(number, dtype="Float64").astype("Int64")
    elif var.kind == "number":
        number = pd.to_numeric(values.where(rest), errors="coerce").to_numpy(dtype=float)
        fail(rest & np.isnan(number), "a number, or a `missing` code")
        out = pd.Series(number, dtype="float64")
    elif var.kind == "date":
        out = _dates(values, rest, fail)
    else:
        out = _texts(values.where(rest))
    return _Converted(values=out, special=~np.isnan(special))


def _failer(
    values: pd.Series, rest: npt.NDArray[np.bool_], src: str, name: str, ctx: _Context
) -> Callable[[npt.NDArray[np.bool_], str], None]:
    """Return a function raising a ValidationError when any row of a mask is set."""

    def fail(bad: npt.NDArray[np.bool_], expected: str) -> None:
        bad = bad & rest
        if not bad.any():
            return
        rows = np.flatnonzero(bad)
        offending = list(dict.fromkeys(_key(v) for v in values.iloc[rows]))
        labels = ctx.value_labels.get(src, {})
        shown = [
            repr(v) + (f" ({labels[v]!r})" if v in labels else "")
            for v in offending[:_SHOWN_VALUES]
        ]
        more = (
            f" and {len(offending) - _SHOWN_VALUES} more" if len(offending) > _SHOWN_VALUES else ""
        )
        raise ValidationError(
            f"Values outside the codebook in column {src} (target {name}): {len(rows)} row(s)",
            expected=expected,
            found=", ".join(shown) + more,
            hint=f"add each value to `recode` or `missing` under {ctx.where(src)}",
            file=ctx.source,
            column=src,
            rows=rows.tolist(),
        )

    return fail


def _categorical_codes(
    values: pd.Series,
    rest: npt.NDArray[np.bool_],
    name: str,
    vmap: VariableMap,
    catalogue: Catalogue,
    fail: Callable[[npt.NDArray[np.bool_], str], None],
) -> npt.NDArray[np.float64]:
    """Map the non-missing source values of a categorical target to its codes."""
    codes_allowed = list(catalogue.codes(name))
    if vmap.recode is not None:
        codes = pd.to_numeric(_lookup(values, vmap.recode), errors="coerce").to_numpy(float)
        fail(np.isnan(codes), f"a value listed in `recode` ({_keys(vmap.recode)}) or `missing`")
    elif vmap.bins is not None:
        number = pd.to_numeric(values.where(rest), errors="coerce").to_numpy(dtype=float)
        codes = np.full(len(values), np.nan)
        for b in vmap.bins:
            upper = b.max if b.max is not None else np.inf
            codes[(number >= b.min) & (number <= upper)] = b.code
        ranges = ", ".join(f"{b.min:g}-{'' if b.max is None else f'{b.max:g}'}" for b in vmap.bins)
        fail(np.isnan(codes), f"a number in one of the bins {ranges}, or a `missing` code")
    else:
        number = pd.to_numeric(values.where(rest), errors="coerce").to_numpy(dtype=float)
        codes = np.where(np.isin(number, codes_allowed), number, np.nan)
        fail(
            np.isnan(codes),
            f"a catalogue code of {name} ({', '.join(map(str, codes_allowed))}), "
            "a `recode` entry or a `missing` code",
        )
    return codes


def _dates(
    values: pd.Series,
    rest: npt.NDArray[np.bool_],
    fail: Callable[[npt.NDArray[np.bool_], str], None],
) -> pd.Series:
    """Convert source dates (datetime64 or ISO text) to ``datetime64[ns]``."""
    kept = values.where(rest)
    if pd.api.types.is_datetime64_any_dtype(kept.dtype):
        parsed = kept
    else:
        parsed = pd.to_datetime(kept.astype(object), errors="coerce", format="ISO8601")
    parsed = pd.Series(parsed, dtype="datetime64[ns]")
    fail(parsed.isna().to_numpy(), "a date (YYYY-MM-DD), or a `missing` code")
    return parsed.reset_index(drop=True)


def _texts(values: pd.Series) -> pd.Series:
    """Convert ids and other text to the ``string`` dtype; 12.0 becomes "12"."""
    return pd.Series([_text(v) for v in values.to_numpy(dtype=object)], dtype="string")


def _text(value: object) -> str | None:
    """Return a value as text, or None when it is missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normalized(series: pd.Series) -> pd.Series:
    """Return source values ready for lookup: blanks missing, text stripped, 1.0 as 1."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    return pd.Series(
        [_scalar(v) for v in series.to_numpy(dtype=object)], index=series.index, dtype=object
    )


def _scalar(value: object) -> object:
    """Normalize one source value: NaN/NA/blank → NaN, numpy → Python, 1.0 → 1, text stripped."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        text = value.strip()
        return text if text else np.nan
    if isinstance(value, float):
        if np.isnan(value):
            return np.nan
        return int(value) if value.is_integer() else value
    return value


def _lookup(values: pd.Series, table: Mapping[SourceKey, Any]) -> pd.Series:
    """Map source values through a codebook table; text columns also match numeric keys."""
    if not table:
        return pd.Series(np.nan, index=values.index, dtype=object)
    keys: dict[Any, Any] = dict(table)
    if values.dtype == object:
        for key, value in table.items():
            if not isinstance(key, str):
                keys.setdefault(_text(key), value)
    return values.map(keys)


def _keys(table: Mapping[SourceKey, Any]) -> str:
    """List a table's keys briefly."""
    keys = [repr(k) for k in table]
    return ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")


def _categorical(
    codes: npt.NDArray[np.float64], categories: list[int], *, ordered: bool
) -> pd.Series:
    """Build a Categorical with integer categories from float codes (NaN = missing)."""
    index = pd.Index(categories, dtype="int64")
    positions = index.get_indexer(pd.Index(codes))
    return pd.Series(pd.Categorical.from_codes(positions, categories=index, ordered=ordered))


def _empty(name: str, var: Variable, catalogue: Catalogue, n: int) -> pd.Series:
    """Return an all-missing column of a variable's type."""
    if var.kind == "categorical":
        return _categorical(np.full(n, np.nan), catalogue.categories(name), ordered=var.ordered)
    dtype = {"integer": "Int64", "number": "float64", "date": "datetime64[ns]"}.get(
        var.kind, "string"
    )
    return pd.Series([None] * n, dtype=dtype)


def _derive(name: str, age: _Converted, catalogue: Catalogue) -> pd.Series:
    """Derive ``age_band`` or ``youth`` from harmonized ages; 98/99 ages get no band."""
    years = age.values.to_numpy(dtype=float, na_value=np.nan)
    years[age.special] = np.nan
    codes = np.full(len(years), np.nan)
    bands = catalogue.age_bands
    assert bands is not None  # the catalogue requires age_bands for a variable derived from age
    if name == "age_band":
        for band in bands.bands:
            upper = band.max if band.max is not None else np.inf
            codes[(years >= band.min) & (years <= upper)] = band.code
    else:
        youth, adults = catalogue.youth_codes()
        limit = bands.youth_max_age
        codes[years <= limit] = youth
        codes[years > limit] = adults
    var = catalogue.variables[name]
    return _categorical(codes, catalogue.categories(name), ordered=var.ordered)


def _check_ids(ids: pd.Series, ctx: _Context, src: str, *, personal: bool) -> None:
    """Fail on missing or duplicated respondent ids (personal ids are not shown)."""
    absent = np.flatnonzero(ids.isna().to_numpy())
    if absent.size:
        raise ValidationError(
            f"Respondent id missing in {absent.size} row(s)",
            expected="an id in every row",
            found=f"{absent.size} blank id(s)",
            hint="fix the raw file or map another id column",
            file=ctx.source,
            column=src,
            rows=absent.tolist(),
        )
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        rows = np.flatnonzero(duplicated)
        counts = ids[duplicated].value_counts(sort=False)
        described = [
            ("(personal id)" if personal else repr(value)) + f" {int(times)} times"
            for value, times in list(counts.items())[:_SHOWN_VALUES]
        ]
        more = len(counts) - _SHOWN_VALUES
        raise ValidationError(
            f"Duplicate respondent ids: {len(counts):,} id(s) used more than once, "
            f"in {rows.size:,} rows",
            expected="each respondent id once",
            found="; ".join(described) + (f"; and {more:,} more id(s)" if more > 0 else ""),
            hint="remove duplicated interviews from the raw export, or map a unique id column",
            file=ctx.source,
            column=src,
            rows=rows.tolist(),
        )


def _id_key(codebook: Codebook, survey: str, root: str | Path | None) -> bytes:
    """Return the HMAC key of a survey's respondent ids, derived from the deployment's secret.

    The secret is the environment variable the codebook names (``id_salt_env``) when it is set,
    else the deployment's secret file (created on first use). Deriving one key per survey keeps
    a person's hashed ids of two surveys of the same deployment apart.
    """
    env = codebook.id_salt_env
    secret = os.environ.get(env, "") if env is not None else ""
    if secret and len(secret) < _MIN_SECRET_CHARS:
        warnings.warn(
            f"The secret in {env} has {len(secret)} characters; a short secret can be guessed, "
            "and with it every hashed respondent id. Use a random one of at least "
            f"{_MIN_SECRET_CHARS} characters: python -c 'import secrets; "
            "print(secrets.token_hex(32))'.",
            PseudonymisationWarning,
            stacklevel=4,
        )
    if not secret:
        secret = _deployment_secret(Path.cwd() if root is None else Path(root))
    label = f"perception respondent id|{survey}".encode()
    return hmac.new(secret.encode("utf-8"), label, hashlib.sha256).digest()


def _deployment_secret(root: Path) -> str:
    """Read the deployment's id secret, creating a random one (mode 0600) on first use."""
    path = root / ID_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".id_salt.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(handle, "w", encoding="ascii") as stream:
                stream.write(secrets.token_hex(32) + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.link(temp, path)  # fails if a concurrent run created it first: keep that one
            warnings.warn(
                f"Created the secret that keys hashed respondent ids: {path}. Back it up: "
                "without it, ids of later runs no longer match earlier ones; keep it private: "
                "with it, guessed ids can be matched to the hashes.",
                PseudonymisationWarning,
                stacklevel=5,
            )
        except FileExistsError:
            pass
        finally:
            Path(temp).unlink()
    secret = path.read_text(encoding="ascii").strip()
    if not re.fullmatch(r"[0-9a-f]{64}", secret):
        raise ConfigError(
            "The deployment's secret for hashing respondent ids is damaged",
            expected="64 hexadecimal digits, as perception writes it",
            found=f"{len(secret)} characters",
            hint="restore the file from its backup (with another secret every hashed id "
            "changes), or set the secret in the codebook's id_salt_env variable",
            file=path,
        )
    return secret


def _pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace each id by the first 16 hex digits of HMAC-SHA256(key, id)."""
    hashed = [
        hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:_HASH_CHARS]
        for v in ids.to_numpy(dtype=object)
    ]
    return pd.Series(hashed, dtype="string")


# =========================================================================== storage


def harmonized_labels(catalogue: Catalogue) -> dict[str, Any]:
    """Return the labels of every harmonized column, as stored beside the Parquet data.

    The result is JSON-ready: ``{"special_codes": {...}, "variables": {name: {"role", "kind",
    "label": {en, fr}, "ordered", "theme", "question", "codes": {"1": {en, fr}, ...}}}}``.
    """
    variables: dict[str, Any] = {}
    for name, var in catalogue.variables.items():
        entry: dict[str, Any] = {
            "role": var.role,
            "kind": var.kind,
            "label": var.label.model_dump(),
        }
        if var.theme is not None:
            entry["theme"] = var.theme
        if var.question is not None:
            entry["question"] = var.question.model_dump()
        if var.kind == "categorical":
            entry["ordered"] = var.ordered
            entry["codes"] = {
                str(code): label.model_dump() for code, label in catalogue.code_labels(name).items()
            }
        variables[name] = entry
    variables[WAVE_COLUMN] = {
        "role": "wave",
        "kind": "string",
        "label": {"en": "Survey wave", "fr": "Vague d'enquête"},
    }
    return {
        "special_codes": catalogue.special_codes.model_dump(),
        "variables": variables,
    }


def write_harmonized(df: pd.DataFrame, path: str | Path, catalogue: Catalogue) -> Path:
    """Write a harmonized table atomically as Parquet, with its labels in the schema metadata.

    Readers never see a half-written file (see :func:`perception.storage.atomic_write`), and
    the same table always gives the same bytes.
    """
    labels = json.dumps(harmonized_labels(catalogue), ensure_ascii=False)
    return write_parquet(df, path, {_LABELS_KEY: labels})


def read_harmonized_labels(path: str | Path) -> dict[str, Any]:
    """Return the labels stored in a harmonized Parquet file."""
    metadata = _parquet_schema(Path(path)).metadata or {}
    if _LABELS_KEY.encode() not in metadata:
        raise ReadError(
            "Not a harmonized table",
            expected="a Parquet file written by perception.codebook.write_harmonized",
            found="no perception.labels entry in the Parquet metadata",
            hint="harmonize the wave again",
            file=path,
        )
    labels: dict[str, Any] = json.loads(metadata[_LABELS_KEY.encode()])
    return labels


def read_harmonized(path: str | Path) -> pd.DataFrame:
    """Read a harmonized Parquet file back with the dtypes ``harmonize`` produced."""
    file = Path(path)
    labels = read_harmonized_labels(file)["variables"]
    df = pq.read_table(file).to_pandas()
    columns: dict[str, pd.Series] = {}
    for name in df.columns:
        spec = labels.get(name, {"kind": "string"})
        column = df[name]
        if spec["kind"] == "categorical":
            codes = column.to_numpy(dtype=float, na_value=np.nan)
            cats = [int(code) for code in spec["codes"]]
            columns[name] = _categorical(codes, cats, ordered=bool(spec["ordered"]))
        elif spec["kind"] == "integer":
            columns[name] = column.astype("Int64")
        elif spec["kind"] == "number":
            columns[name] = column.astype("float64")
        elif spec["kind"] == "date":
            columns[name] = column.astype("datetime64[ns]")
        else:
            columns[name] = column.astype("string")
    return pd.DataFrame(columns)


def _parquet_schema(file: Path) -> pa.Schema:
    """Return a Parquet file's Arrow schema, or raise a ReadError."""
    try:
        return pq.read_schema(file)
    except (OSError, pa.ArrowException) as exc:
        raise ReadError(
            "Cannot read the harmonized table",
            expected="a readable Parquet file",
            found=str(exc),
            hint="harmonize the wave again",
            file=file,
        ) from exc


# =========================================================================== checks

CheckName = Literal["unique_ids", "conformance", "design", "no_pii"]


@dataclass(frozen=True)
class Finding:
    """One violated rule in a harmonized table."""

    check: CheckName
    column: str | None
    message: str
    rows: tuple[int, ...] = ()


def check_harmonized(df: pd.DataFrame, catalogue: Catalogue) -> list[Finding]:
    """List every rule a harmonized table breaks; an empty list means it is sound.

    Checks: ``unique_ids`` (one non-missing id per row), ``conformance`` (every catalogue
    column present with its type and codes), ``design`` (weights finite and positive, strata
    and PSU ids present), ``no_pii`` (no column outside the catalogue, no column named like
    personal data, no e-mail address or phone number in a text column).
    """
    findings = _check_ids_finding(df)
    for name, var in catalogue.variables.items():
        findings += _check_conformance(df, name, var, catalogue)
        if var.role == "design":
            findings += _check_design(df, name, var)
    findings += _check_pii(df, catalogue)
    return findings


def _rows(mask: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    """Return the first offending row positions of a mask."""
    return tuple(int(r) for r in np.flatnonzero(mask)[:_SHOWN_VALUES])


def _check_ids_finding(df: pd.DataFrame) -> list[Finding]:
    """Check that respondent ids are present and unique."""
    if ID_VARIABLE not in df.columns:
        return [Finding("unique_ids", ID_VARIABLE, "no respondent_id column")]
    ids = df[ID_VARIABLE]
    out = []
    absent = ids.isna().to_numpy()
    if absent.any():
        out.append(
            Finding("unique_ids", ID_VARIABLE, f"{absent.sum()} missing id(s)", _rows(absent))
        )
    duplicated = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if duplicated.any():
        out.append(
            Finding(
                "unique_ids",
                ID_VARIABLE,
                f"{ids[duplicated].nunique()} id(s) used more than once",
                _rows(duplicated),
            )
        )
    return out


def _check_conformance(
    df: pd.DataFrame, name: str, var: Variable, catalogue: Catalogue
) -> list[Finding]:
    """Check that a catalogue column is present with its type and allowed values."""
    if name not in df.columns:
        return [Finding("conformance", name, "column missing from the harmonized table")]
    column = df[name]
    if var.kind == "categorical":
        cats = catalogue.categories(name)
        if not isinstance(column.dtype, pd.CategoricalDtype):
            return [Finding("conformance", name, f"expected a categorical, found {column.dtype}")]
        if list(column.cat.categories) != cats:
            return [
                Finding(
                    "conformance",
                    name,
                    f"categories {list(column.cat.categories)} instead of {cats}",
                )
            ]
        return []
    if var.kind == "integer":
        if str(column.dtype) != "Int64":
            return [Finding("conformance", name, f"expected Int64, found {column.dtype}")]
        specials = [catalogue.special_codes.dont_know, catalogue.special_codes.refused]
        values = column.to_numpy(dtype=float, na_value=np.nan)
        low = var.min if var.min is not None else -np.inf
        high = var.max if var.max is not None else np.inf
        bad = ~np.isnan(values) & ((values < low) | (values > high)) & ~np.isin(values, specials)
        if bad.any():
            return [Finding("conformance", name, f"values outside {var.min}-{var.max}", _rows(bad))]
        return []
    expected_dtype = {"number": "float64", "date": "datetime64[ns]", "string": "string"}[var.kind]
    if str(column.dtype) != expected_dtype:
        return [Finding("conformance", name, f"expected {expected_dtype}, found {column.dtype}")]
    return []


def _check_design(df: pd.DataFrame, name: str, var: Variable) -> list[Finding]:
    """Check a design column: weights finite and > 0, strata and PSU ids never missing.

    A design column the codebook does not map (entirely missing) is not a finding: many
    files release no PSU ids, and the weighting configuration says which columns the design
    uses (building the design fails, naming the column, if it needs an absent one).
    """
    if name not in df.columns:
        return [Finding("design", name, "design column missing")]
    column = df[name]
    if column.isna().all():
        return []
    if var.kind == "number":
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) | (values <= 0)
        what = "weights must be finite and > 0"
    else:
        bad = column.isna().to_numpy()
        what = "ids must not be missing"
    if bad.any():
        return [Finding("design", name, f"{bad.sum()} invalid row(s): {what}", _rows(bad))]
    return []


#: Column names no harmonized table may have (strong signals only, unlike the stub heuristics).
_PII_COLUMN = re.compile(
    r"name|(?:^|_)(?:nom|prenom)(?:_|$)|phone|telephone|e_?mail|courriel|gps|latitude|longitude"
    r"|geopoint|address|adresse|birth|naissance|passport|passeport"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"^\+?\d{1,4}(?:[ .-]\d{2,4}){3,}$|^\+\d{8,15}$")


def _check_pii(df: pd.DataFrame, catalogue: Catalogue) -> list[Finding]:
    """Check that no column outside the catalogue, or that looks personal, is present."""
    out = []
    allowed = {*catalogue.variables, WAVE_COLUMN}
    for column in df.columns:
        name = str(column)
        if name not in allowed:
            out.append(Finding("no_pii", name, "column not in the variable catalogue"))
        suspect = _PII_COLUMN.search(_name_key(name))
        if suspect:
            out.append(
                Finding("no_pii", name, f"column name looks like personal data ({suspect[0]!r})")
            )
        values = df[column]
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        text = values.dropna().astype(str).str.strip()
        personal = text.str.contains(_EMAIL.pattern) | text.str.fullmatch(_PHONE.pattern)
        if personal.any():
            mask = np.zeros(len(values), dtype=bool)
            mask[np.flatnonzero(values.notna().to_numpy())[personal.to_numpy()]] = True
            out.append(
                Finding("no_pii", name, "e-mail addresses or phone numbers in values", _rows(mask))
            )
    return out


# =========================================================================== scaffolding


def _fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: "Sexe du répondant" → "sexe du repondant"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _name_key(name: str) -> str:
    """Normalize a column name: "withinwt_EA" → "withinwt_ea", "grp/sexe" → "grp_sexe"."""
    return _fold(name).replace(" ", "_")


_QUESTION_PREFIX = re.compile(r"^(?:q\s?\d+\w*|[a-z]{1,3}\d+[a-z0-9]*)\s+")


def _label_key(name: str, label: str) -> str:
    """Normalize a variable label and drop its question number: "Q101. Sexe" → "sexe"."""
    text = _fold(label)
    own = _fold(name)
    if own and text.startswith(own + " "):
        text = text[len(own) + 1 :]
    return _QUESTION_PREFIX.sub("", text, count=1)


@dataclass(frozen=True)
class _Profile:
    """What the heuristics know about one source column."""

    name: str
    position: int
    label: str
    name_key: str
    tokens: frozenset[str]
    label_key: str
    vtype: str
    value_labels: dict[SourceKey, str]
    n_rows: int
    n_present: int
    n_distinct: int
    max_length: int
    spaced: bool
    labelled: bool
    distinct_text: tuple[str, ...]

    @property
    def numeric(self) -> bool:
        """Tell whether the column holds numbers."""
        return self.vtype == "numeric"

    @property
    def is_date(self) -> bool:
        """Tell whether the column holds dates."""
        return self.vtype in ("date", "datetime")

    @property
    def unique(self) -> bool:
        """Tell whether every row has a distinct non-missing value."""
        return self.n_present == self.n_rows > 0 and self.n_distinct == self.n_rows


def _profile(df: pd.DataFrame, metadata: SourceMetadata, name: str, position: int) -> _Profile:
    """Profile a column for the heuristics."""
    series = df[name]
    label = str(metadata.column_labels.get(name) or "")
    vtype = metadata.variable_types.get(name) or _dtype_kind(series)
    value_labels = {_key(k): str(v) for k, v in (metadata.value_labels.get(name) or {}).items()}
    values = _normalized(series)
    present = values.dropna()
    distinct = pd.unique(present)
    texts = [v for v in distinct if isinstance(v, str)]
    labelled = bool(value_labels) and all(_key(v) in value_labels for v in distinct[:1000])
    return _Profile(
        name=name,
        position=position,
        label=" ".join(label.split()),
        name_key=_name_key(name),
        tokens=frozenset(t for t in _name_key(name).split("_") if t),
        label_key=_label_key(name, label),
        vtype=vtype,
        value_labels=value_labels,
        n_rows=len(series),
        n_present=len(present),
        n_distinct=len(distinct),
        max_length=max((len(t) for t in texts), default=0),
        spaced=any(" " in t for t in texts),
        labelled=labelled,
        distinct_text=tuple(sorted(texts)) if len(texts) <= _SHOWN_LABELS else (),
    )


def _dtype_kind(series: pd.Series) -> str:
    """Guess "numeric", "string" or "datetime" from a pandas dtype."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return "numeric"
    return "string"


def _key(value: object) -> SourceKey:
    """Normalize a value-label key: 1.0 → 1."""
    scalar = _scalar(value)
    if isinstance(scalar, int | float | str):
        return scalar
    return str(value)


# ----------------------------------------------------------------- personal data

_PII_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "a person's name",
        re.compile(r"name|(?:^|_)(?:nom|noms|prenom|prenoms|surname|nom_complet)(?:_|$)"),
        re.compile(r"\b(?:names?|nom|noms|prenoms?|surname|first name|last name|full name)\b"),
    ),
    (
        "a phone number",
        re.compile(
            r"phone|(?:^|_)(?:tel|telephone|mobile|cell|gsm|msisdn|whatsapp|portable)(?:_|$)"
        ),
        re.compile(r"\b(?:phone|telephone|mobile|cellphone|gsm|portable|whatsapp)\b"),
    ),
    (
        "GPS coordinates",
        re.compile(
            r"gps|latitude|longitude|geopoint|coordinates|coordonnees"
            r"|(?:^|_)(?:lat|lon|lng|long|coord|geo|altitude)(?:_|$)"
        ),
        re.compile(
            r"\b(?:gps|latitude|longitude|coordinates|coordonnees|geolocalisation|geopoint)\b"
        ),
    ),
    (
        "an e-mail address",
        re.compile(r"e_?mail|courriel"),
        re.compile(r"\b(?:e ?mail|courriel)\b"),
    ),
    (
        "a postal address",
        re.compile(r"address|adresse|(?:^|_)(?:addr|street|rue|domicile)(?:_|$)"),
        re.compile(r"\b(?:address|adresse|street|rue|domicile|house number|numero de maison)\b"),
    ),
    (
        "a date of birth",
        re.compile(r"(?:^|_)(?:dob|birth|naissance|date_of_birth|birthdate)(?:_|$)"),
        re.compile(r"\b(?:date of birth|birth date|date de naissance)\b"),
    ),
    (
        "an identity document number",
        re.compile(r"passport|passeport|(?:^|_)(?:cni|nin|national_id|id_card)(?:_|$)"),
        re.compile(r"\b(?:passport|passeport|national id|id card|carte d identite)\b"),
    ),
)
_FREE_TEXT_LABEL = re.compile(
    r"\b(?:verbatim|specify|preciser|precisez|comment|comments|commentaire|commentaires"
    r"|observations?|remarks?|remarques?|notes?|free text|texte libre|other|others|autre|autres)\b"
)


def _pii_name_reasons(name: str, label: str) -> list[str]:
    """Say why a column name or label looks like personal data."""
    key, text = _name_key(name), _fold(label)
    reasons = []
    for what, by_name, by_label in _PII_RULES:
        if by_name.search(key):
            reasons.append(f"{what} (column name {name!r})")
        elif text and by_label.search(text):
            reasons.append(f"{what} (label {label!r})")
    return reasons


def _pii_reasons(profile: _Profile) -> list[str]:
    """Say why a column may hold personal data (empty when it does not look personal)."""
    coded = profile.labelled or (profile.numeric and 0 < profile.n_distinct <= 10)
    reasons = [] if coded else _pii_name_reasons(profile.name, profile.label)
    question = profile.name.rpartition("/")[0]
    if coded and question and _pii_name_reasons(question, ""):
        reasons.append(
            f"option of the select_multiple question {question!r}, named like personal data"
        )
    if profile.vtype == "string" and profile.n_present:
        ratio = profile.n_distinct / profile.n_present
        if _FREE_TEXT_LABEL.search(profile.label_key):
            reasons.append(f"free text (label {profile.label!r})")
        elif _FREE_TEXT_LABEL.search(profile.name_key.replace("_", " ")):
            reasons.append(f"free text (column name {profile.name!r})")
        elif (
            profile.spaced and profile.max_length >= 20 and profile.n_distinct > 12 and ratio >= 0.2
        ):
            reasons.append(
                f"free text ({profile.n_distinct} distinct answers in {profile.n_present} rows, "
                f"up to {profile.max_length} characters)"
            )
    return reasons


# ----------------------------------------------------------------- target heuristics


@dataclass(frozen=True)
class _TargetRule:
    """How to recognize one harmonized variable from a column's name, label and values."""

    target: str
    names: re.Pattern[str]
    tokens: frozenset[str]
    label_exact: re.Pattern[str]
    label_strong: re.Pattern[str] | None
    label_words: re.Pattern[str]
    accepts: Callable[[_Profile], bool]
    respondent_bonus: bool = False
    value_words: re.Pattern[str] | None = None

    def score(self, p: _Profile) -> tuple[int, list[str]]:
        """Score a column (0 = no match) and say what matched."""
        if not self.accepts(p):
            return 0, []
        why: list[str] = []
        score = 0
        if self.names.fullmatch(p.name_key):
            score, why = 3, ["name"]
        elif self.tokens & p.tokens:
            score, why = 2, ["name"]
        label_score = 0
        if p.label_key and self.label_exact.fullmatch(p.label_key):
            label_score = 3
        elif self.label_strong is not None and self.label_strong.search(p.label_key):
            label_score = 2
        elif self.label_words.search(p.label_key):
            label_score = 1 + int(self.respondent_bonus and bool(_RESPONDENT.search(p.label_key)))
        if label_score:
            score += label_score
            why.append("label")
        if self.value_words is not None and any(
            self.value_words.search(_fold(v)) for v in (*p.value_labels.values(), *p.distinct_text)
        ):
            score += 1
            why.append("value labels")
        return score, why


_RESPONDENT = re.compile(
    r"\b(?:respondent|repondant|repondante|enquete|enquetee|your|votre|vous|personne interrogee)\b"
)
_GROUPED = re.compile(r"\b(?:group|groupe|grp|band|tranche|classe|cat|categorie|range|cohort)\b")
_MAX_CATEGORIES = 200


def _categoryish(p: _Profile, limit: int) -> bool:
    """Accept a non-date column with at most ``limit`` distinct values."""
    return not p.is_date and 0 < p.n_distinct <= limit


def _weightish(p: _Profile) -> bool:
    """Accept a numeric column without value labels on its values."""
    return p.numeric and not p.labelled and p.n_present > 0


def _clusterish(p: _Profile) -> bool:
    """Accept a column with repeated ids: several groups, fewer groups than rows."""
    return not p.is_date and not p.labelled and 2 < p.n_distinct < p.n_present


_RULES: tuple[_TargetRule, ...] = (
    _TargetRule(
        target="respondent_id",
        names=re.compile(
            r"(?:resp|respondent|r|repondant|questionnaire|quest|case|record|interview|form"
            r"|submission|instance|meta_instance)_?(?:id|no|num|number|numero|nr|key|uuid)"
            r"|respno|respid|id|uuid|key|caseid|instanceid|serial(?:_?no)?|numquest|num_quest"
            r"|identifiant|identifier|id_?(?:resp|repondant|questionnaire|quest)"
        ),
        tokens=frozenset({"respno", "respid", "uuid", "caseid", "instanceid", "identifiant"}),
        label_exact=re.compile(
            r"(?:respondent|questionnaire|case|record|interview)\s?(?:number|no|id|identifier|code)"
            r"|(?:numero|no|code|identifiant|id)\s(?:du |de l |d )?"
            r"(?:repondant|questionnaire|entretien|interview)|id|uuid|identifiant|identifier"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:respondent (?:number|id)|numero du repondant|identifiant)\b"),
        accepts=lambda p: p.unique and not p.is_date,
    ),
    _TargetRule(
        target="interview_date",
        names=re.compile(
            r"date|dateintr|date_?(?:intr|int|interview|entretien|enquete|entrevue|visite)"
            r"|(?:interview|entretien|survey|enquete)_?date|today|submission_?time|start|starttime"
        ),
        tokens=frozenset({"date", "dateintr", "today"}),
        label_exact=re.compile(
            r"date|(?:date|jour) (?:de l |d |de |of )?(?:the )?(?:interview|entretien|enquete|"
            r"entrevue)|interview date"
        ),
        label_strong=None,
        label_words=re.compile(r"\bdate\b"),
        accepts=lambda p: p.is_date,
    ),
    _TargetRule(
        target="gender",
        names=re.compile(r"(?:(?:resp|r)_?)?(?:sex|sexe|gender|genre)(?:_?(?:resp|r|repondant))?"),
        tokens=frozenset({"sex", "sexe", "gender", "genre"}),
        label_exact=re.compile(
            r"(?:sex|sexe|gender|genre)(?: (?:of |du |de l |de la )?(?:the )?"
            r"(?:respondent|repondant|repondante|enquete|enquetee))?"
            r"|quel est votre (?:sexe|genre)|what is your (?:sex|gender)"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:sex|sexe|gender|genre)\b"),
        accepts=lambda p: _categoryish(p, 10),
        respondent_bonus=True,
        value_words=re.compile(
            r"\b(?:male|female|man|woman|men|women|homme|femme|masculin|feminin)\b"
        ),
    ),
    _TargetRule(
        target="age",
        names=re.compile(
            r"(?:(?:resp|r)_?)?age(?:_?(?:years|yrs|ans|annees|resp|r|respondent|repondant))?|ageyrs"
        ),
        tokens=frozenset({"age", "ageyrs"}),
        label_exact=re.compile(
            r"(?:age|quel age avez vous|quel est votre age|how old are you|what is your age)"
            r"(?: (?:of |du |de l )?(?:the )?(?:respondent|repondant|repondante))?"
            r"(?: (?:in |en )?(?:years|ans|annees|annees revolues|revolus))?"
        ),
        label_strong=None,
        label_words=re.compile(r"\bage\b"),
        accepts=lambda p: (
            p.numeric
            and not p.labelled
            and not _GROUPED.search(p.label_key)
            and not _GROUPED.search(p.name_key.replace("_", " "))
        ),
        respondent_bonus=True,
    ),
    _TargetRule(
        target="region",
        names=re.compile(
            r"region|reg|province|prov|gouvernorat|governorate|admin_?1(?:_?(?:code|name))?|adm_?1"
            r"|wilaya|prefecture|departement|state"
        ),
        tokens=frozenset(
            {"region", "province", "gouvernorat", "governorate", "admin1", "adm1", "wilaya"}
        ),
        label_exact=re.compile(
            r"(?:province(?: or region| ou region)?|region(?: or province| ou province)?"
            r"|gouvernorat|governorate|wilaya|admin 1|adm1|prefecture|departement)"
            r"(?: (?:of |du |de |de la )?(?:residence|the respondent|repondant))?"
        ),
        label_strong=None,
        label_words=re.compile(
            r"\b(?:region|province|gouvernorat|governorate|wilaya|prefecture)\b"
        ),
        accepts=lambda p: _categoryish(p, _MAX_CATEGORIES),
        respondent_bonus=True,
    ),
    _TargetRule(
        target="urban_rural",
        names=re.compile(
            r"urbrur|urb_?rur|urban_?rural|urbain_?rural|milieu(?:_?(?:de_)?residence)?|urban|rural"
            r"|area_?type|type_?(?:zone|milieu)|residence_?type"
        ),
        tokens=frozenset({"urbrur", "milieu", "urban", "rural"}),
        label_exact=re.compile(
            r"urban(?: or | ou | )rural|urbain(?: ou | )rural|milieu(?: de residence)?|area type"
        ),
        label_strong=re.compile(r"urban\b.*\brural|rural\b.*\burban|\bmilieu\b"),
        label_words=re.compile(r"\b(?:urban|urbain|rural)\b"),
        accepts=lambda p: _categoryish(p, 5),
        value_words=re.compile(r"\b(?:urban|urbain|rural)\b"),
    ),
    _TargetRule(
        target="base_weight",
        names=re.compile(
            r"\w*(?:weight|wgt|wght|poids|ponderation)\w*|pond\w*|wt|w|\w*wt(?:_\w+)?"
        ),
        tokens=frozenset({"weight", "wt", "wgt", "poids", "pond", "withinwt"}),
        label_exact=re.compile(
            r"(?:(?:sampling|design|base|survey|final|household|individual) )?weights?"
            r"(?: factor| variable)?|weighting(?: factor| coefficient)?"
            r"|poids(?: de sondage| d echantillonnage| final)?|ponderation"
            r"|(?:facteur|coefficient) de ponderation.*|coefficient d extrapolation"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:weight|weights|weighting|poids|ponderation)\b"),
        accepts=_weightish,
    ),
    _TargetRule(
        target="stratum",
        names=re.compile(r"strat\w*"),
        tokens=frozenset({"strat", "strata", "stratum", "strate", "strates"}),
        label_exact=re.compile(
            r"(?:sampling |sample |explicit )?(?:stratum|strata|strate|strates|stratification)"
            r"(?: (?:id|code|number|numero|no))?"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:stratum|strata|strate|strates|stratification)\b"),
        accepts=lambda p: not p.is_date and 0 < p.n_distinct < max(p.n_present, 2),
    ),
    _TargetRule(
        target="psu",
        names=re.compile(
            r"psu(?:_?\w+)?|ea|ea_?(?:id|no|num|number|code|nr)|eanumber|grappe(?:_?\w+)?"
            r"|cluster(?:_?(?:id|no|num|number|code))?|clust|zd(?:_?(?:id|no|num|code))?"
            r"|(?:num|no|numero|id)_?grappe|hv001|v001"
        ),
        tokens=frozenset({"psu", "grappe", "cluster"}),
        label_exact=re.compile(
            r"(?:(?:numero|no|code|id|identifiant) )?(?:de (?:la )?)?(?:grappe|cluster|psu|ea|zd"
            r"|zone de denombrement|enumeration area|primary sampling unit|unite primaire"
            r"(?: de sondage)?|section d enumeration)(?: (?:number|id|no|code|numero))?"
        ),
        label_strong=None,
        label_words=re.compile(
            r"\b(?:grappe|cluster|psu|enumeration area|zone de denombrement"
            r"|primary sampling unit|unite primaire)\b"
        ),
        accepts=_clusterish,
    ),
)
_THRESHOLD = 2
#: Targets whose codebook `missing` may only say "missing" (no don't know/refused codes).
_PLAIN_MISSING_TARGETS = frozenset(
    {"respondent_id", "interview_date", "base_weight", "stratum", "psu"}
)


def _assign_targets(
    profiles: Sequence[_Profile], rules: Sequence[_TargetRule] = _RULES
) -> dict[str, tuple[str, list[str], list[str]]]:
    """Pick at most one column per target and one target per column, best score first.

    Returns ``{column: (target, reasons, notes)}``; notes name runner-up matches.
    """
    candidates = []
    for p in profiles:
        for rule in rules:
            score, why = rule.score(p)
            if score >= _THRESHOLD:
                candidates.append((-score, p.position, rule.target, p.name, why))
    candidates.sort()
    chosen: dict[str, tuple[str, list[str]]] = {}
    winner: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for _, _, target, column, why in candidates:
        if column in chosen:
            continue
        if target in winner:
            notes.setdefault(column, []).append(
                f"also looks like {target}; suggested for {winner[target]} instead"
            )
            continue
        winner[target] = column
        chosen[column] = (target, why)
    return {
        column: (*chosen.get(column, ("", [])), notes.get(column, []))
        for column in {*chosen, *notes}
    }


# ----------------------------------------------------------------- missing codes

_DONT_KNOW = re.compile(
    r"(?:i )?(?:don t|dont|do not) know(?: \w+)*|dk(?: \w+)*|(?:je )?ne (?:sait|sais) pas(?: \w+)*"
    r"|nsp|(?:can t|cannot|ne peut|ne peut pas) (?:determine|determiner|dire|say)|not sure|pas sur"
)
_REFUSED = re.compile(
    r"(?:a |has )?refus(?:e|ed|al|ee)?(?: (?:de repondre|to answer|to respond|de repondre a la"
    r" question))?|rf|declined(?: to answer)?|refuse de repondre|pas de reponse refus"
)
_MISSING = re.compile(
    r"missing(?: value| data)?|system missing|manquant|manquante|valeur manquante|no answer"
    r"|no response|pas de reponse|sans reponse|non reponse|not applicable|non applicable"
    r"|sans objet|n a|na|not asked(?: in [a-z ]+)?|skip(?:ped)?"
    r"|non (?:posee?|demandee?)(?: (?:en|au|aux|dans) [a-z ]+)?"
)


def _missing_kind(label: str) -> MissingKind | None:
    """Classify a value label as don't know, refused or missing (None for a real answer)."""
    text = _fold(label)
    if _DONT_KNOW.fullmatch(text):
        return "dont_know"
    if _REFUSED.fullmatch(text):
        return "refused"
    if _MISSING.fullmatch(text):
        return "missing"
    return None


def _suggest_missing(p: _Profile, metadata: SourceMetadata) -> dict[SourceKey, MissingKind]:
    """Suggest `missing` entries from value labels, declared user-missing and Stata codes."""
    out: dict[SourceKey, MissingKind] = {}
    for value, label in p.value_labels.items():
        kind = _missing_kind(label)
        if kind is not None:
            out[value] = kind
    for value in _declared_missing(metadata.missing_ranges.get(p.name)):
        label = p.value_labels.get(value, "")
        out.setdefault(value, _missing_kind(label) or "missing")
    for code in metadata.extended_missing.get(p.name, ()):
        label = p.value_labels.get(code, "")
        out.setdefault(code, _missing_kind(label) or "missing")
    return dict(sorted(out.items(), key=lambda item: _sort_key(item[0])))


def _sort_key(value: SourceKey) -> tuple[int, float, str]:
    """Order source values: numbers by value, then texts."""
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")


def _declared_missing(declared: Any) -> list[SourceKey]:
    """Return the single values among declared SPSS user-missing values and ranges."""
    out: list[SourceKey] = []
    for entry in declared or []:
        if isinstance(entry, Mapping):
            low, high = entry.get("lo"), entry.get("hi")
        elif isinstance(entry, tuple) and len(entry) == 2:
            low, high = entry
        else:
            low = high = entry
        if isinstance(low, int | float | str) and low == high:
            out.append(_key(low))
    return out


# ----------------------------------------------------------------- rendering


@dataclass(frozen=True)
class VariableSuggestion:
    """The stub entry drafted for one source column."""

    name: str
    label: str
    vtype: str
    value_labels: dict[SourceKey, str]
    target: str | None
    pii_reasons: list[str]
    missing: dict[SourceKey, MissingKind]
    recode: dict[SourceKey, int] | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    distinct_text: tuple[str, ...] = ()


#: Standard codes of schema.md (gender 1 = man, 2 = woman; urban_rural 1 = urban, 2 = rural),
#: recognized from value labels or text values so that the stub can suggest a recode.
_STANDARD_CODES: dict[str, tuple[tuple[int, str, re.Pattern[str]], ...]] = {
    "gender": (
        (1, "man", re.compile(r"male|man|men|homme|hommes|masculin|m|h")),
        (2, "woman", re.compile(r"female|woman|women|femme|femmes|feminin|f")),
    ),
    "urban_rural": (
        (1, "urban", re.compile(r"urban|urbain|urbaine|u")),
        (2, "rural", re.compile(r"rural|rurale|r")),
    ),
}


def _suggest_recode(
    target: str, p: _Profile, missing: Mapping[SourceKey, MissingKind]
) -> tuple[dict[SourceKey, int] | None, str]:
    """Suggest a recode to the standard codes from labels; return it and a note for the stub."""
    rules = _STANDARD_CODES.get(target)
    if rules is None:
        return None, "check the codes against config/variables.yaml; add `recode` if they differ"
    pairs = list(p.value_labels.items()) or [(t, t) for t in p.distinct_text]
    recode: dict[SourceKey, int] = {}
    for value, label in pairs:
        if value in missing:
            continue
        codes = [code for code, _, pattern in rules if pattern.fullmatch(_fold(label))]
        if len(codes) != 1:
            return None, f"value {value!r} ({label}) has no standard {target} code: add `recode`"
        recode[value] = codes[0]
    standard = ", ".join(f"{code} = {name}" for code, name, _ in rules)
    if not recode:
        return None, f"check the codes against the standard ones ({standard})"
    if all(key == code for key, code in recode.items()):
        return None, f"codes already follow the standard ones ({standard})"
    return recode, f"recode suggested from the labels, to the standard codes ({standard})"


def suggest_codebook(df: pd.DataFrame, metadata: SourceMetadata) -> list[VariableSuggestion]:
    """Draft one codebook entry per column: target, personal-data flag and missing codes."""
    profiles = [_profile(df, metadata, str(name), i) for i, name in enumerate(df.columns)]
    pii = {p.name: _pii_reasons(p) for p in profiles}
    assigned = _assign_targets([p for p in profiles if not pii[p.name]])
    if ID_VARIABLE not in {target for target, _, _ in assigned.values()}:
        id_rules = [rule for rule in _RULES if rule.target == ID_VARIABLE]
        personal = _assign_targets([p for p in profiles if pii[p.name]], id_rules)
        assigned |= {col: entry for col, entry in personal.items() if entry[0]}
    out = []
    for p in profiles:
        target, why, notes = assigned.get(p.name, ("", [], []))
        missing = {} if pii[p.name] else _suggest_missing(p, metadata)
        if target in _PLAIN_MISSING_TARGETS:
            missing = dict.fromkeys(missing, "missing")
        recode: dict[SourceKey, int] | None = None
        if target and target not in _PLAIN_MISSING_TARGETS and target != "age":
            recode, note = _suggest_recode(target, p, missing)
            notes = [note, *notes]
        out.append(
            VariableSuggestion(
                name=p.name,
                label=p.label,
                vtype=("labelled " if p.value_labels else "") + p.vtype,
                value_labels=p.value_labels,
                target=target or None,
                pii_reasons=pii[p.name],
                missing=missing,
                recode=recode,
                reasons=why,
                notes=notes,
                distinct_text=p.distinct_text if target else (),
            )
        )
    return out


_PLAIN_SCALAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
_SHOWN_LABELS = 15

_HEADER = """\
# Codebook stub drafted by `perception codebook init` from {file}
# ({format}, {rows} rows, {columns} columns). Review every entry before use.
#
# Each source column has exactly one of:
#   {{target: NAME}}  map it to the harmonized variable NAME of config/variables.yaml
#   {{pii: true}}     personal data: dropped during harmonization, never leaves data/raw
#                    (with target: respondent_id, the id is replaced by a salted hash)
#   {{skip: true}}    not used (its `missing` suggestion is kept for when you map it)
# `missing` maps a source value to missing, dont_know (-> 98) or refused (-> 99).
# `recode` maps each source value to a catalogue code; without it, values must already be
# catalogue codes. Suggested targets come from names and labels: check each one.
{suggested}
"""


def render_codebook_stub(
    suggestions: Sequence[VariableSuggestion],
    *,
    wave: str,
    source_file: str,
    description: str,
    file_format: str,
    n_rows: int,
) -> str:
    """Render suggestions as codebook YAML with explanatory comments."""
    mapped = [s for s in suggestions if s.target]
    flagged = [s for s in suggestions if s.pii_reasons]
    summary = (
        f"# Suggested: {len(mapped)} mapped, {len(flagged)} personal-data suspect(s), "
        f"{len(suggestions) - len(mapped) - len(flagged)} skipped."
    )
    lines = [
        _HEADER.format(
            file=source_file,
            format=file_format,
            rows=n_rows,
            columns=len(suggestions),
            suggested=summary,
        ).rstrip("\n"),
        f"wave: {_yaml_scalar(wave)}  # the id of this wave in config/survey.yaml",
        f"source_file: {_yaml_scalar(source_file)}",
        f"description: {_yaml_scalar(description)}",
        "id_salt_env: PERCEPTION_ID_SALT  # secret salt for a personal respondent id",
        "variables:",
    ]
    for suggestion in suggestions:
        lines += _entry_lines(suggestion)
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """Make a one-line YAML comment."""
    return "  # " + " ".join(text.split())


def _entry_lines(s: VariableSuggestion) -> list[str]:
    """Render one codebook entry with its comments."""
    lines = [_comment(f"{s.label or '(no label)'}  [{s.vtype}]")]
    if s.value_labels and not s.pii_reasons:
        items = list(s.value_labels.items())
        shown = " | ".join(f"{_yaml_scalar(k)} = {v}" for k, v in items[:_SHOWN_LABELS])
        more = f" | ... ({len(items) - _SHOWN_LABELS} more)" if len(items) > _SHOWN_LABELS else ""
        lines.append(_comment(f"values: {shown}{more}"))
    elif s.distinct_text:
        lines.append(_comment("text values: " + " | ".join(s.distinct_text)))
    for reason in s.pii_reasons:
        lines.append(_comment(f"PII suspect: {reason}"))
    if s.target:
        lines.append(_comment(f"suggested target {s.target} (from the {' and '.join(s.reasons)})"))
    lines += [_comment(note) for note in s.notes]
    parts: list[str]
    if s.pii_reasons and s.target:
        lines.append(_comment("personal id: harmonization replaces it by a salted hash"))
        parts = [f"target: {s.target}", "pii: true"]
    elif s.pii_reasons:
        parts = ["pii: true"]
    elif s.target:
        parts = [f"target: {s.target}"]
        if s.recode:
            pairs = ", ".join(f"{_yaml_scalar(k)}: {v}" for k, v in s.recode.items())
            parts.append(f"recode: {{{pairs}}}")
    else:
        parts = ["skip: true"]
    if s.missing:
        codes = ", ".join(f"{_yaml_scalar(k)}: {v}" for k, v in s.missing.items())
        parts.append(f"missing: {{{codes}}}")
    lines.append(f"  {_yaml_scalar(s.name)}: {{{', '.join(parts)}}}")
    return lines


def _yaml_scalar(value: object) -> str:
    """Write a YAML scalar, quoting text that YAML could read as something else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN_SCALAR.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def codebook_stub(path: str | Path, *, wave: str = "w1") -> str:
    """Read a survey file and return a codebook stub (YAML text) drafted from its metadata."""
    file = Path(path)
    df, metadata = read_survey(file)
    return render_codebook_stub(
        suggest_codebook(df, metadata),
        wave=wave,
        source_file=file.name,
        description=metadata.file_label or f"{metadata.format} export {file.name}",
        file_format=metadata.format,
        n_rows=len(df),
    )
