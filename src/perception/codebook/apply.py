"""Apply a codebook: source survey columns → one typed table on the catalogue's schema.

``harmonize`` applies a codebook (missing codes, recodes, bins, type conversion), derives
``age_band`` and ``youth`` from ``age``, adds ``wave``, keeps only catalogue variables (so
every other column, and every ``pii: true`` column, is dropped) and replaces a personal
respondent id by a keyed hash (HMAC-SHA256 under the deployment's secret).
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perception.codebook.values import (
    SHOWN_VALUES,
    SourceKey,
    SourceMetadata,
    _categorical,
    _key,
    _keys,
    _lookup,
    _normalized,
    _text,
    _texts,
)
from perception.config import (
    DERIVED_FROM_AGE,
    ID_VARIABLE,
    WAVE_COLUMN,
    Catalogue,
    Codebook,
    Derivation,
    Variable,
    VariableMap,
    validate_codebook,
)
from perception.errors import CodebookError, ConfigError, ValidationError
from perception.io import read_survey

if TYPE_CHECKING:
    import numpy.typing as npt

_HASH_CHARS = 16
_MIN_SECRET_CHARS = 32
ID_SECRET_FILE = Path(".perception", "secrets", "id_salt")
"""The deployment's secret keying hashed respondent ids, relative to the project root."""


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
                rows=rows[:SHOWN_VALUES].tolist(),
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
        if var.role == "replicate_weight":
            _check_replicate_weights(number, src, name, ctx)
        out = pd.Series(number, dtype="float64")
    elif var.kind == "date":
        out = _dates(values, rest, fail)
    else:
        out = _texts(values.where(rest))
    return _Converted(values=out, special=~np.isnan(special))


def _check_replicate_weights(
    number: npt.NDArray[np.float64], src: str, name: str, ctx: _Context
) -> None:
    """Fail on a replicate weight that is missing, infinite or negative (0 is allowed)."""
    bad = ~np.isfinite(number) | (number < 0)
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    kinds = {
        "missing": int(np.isnan(number).sum()),
        "infinite": int(np.isinf(number).sum()),
        "negative": int((number < 0).sum()),
    }
    raise ValidationError(
        f"Replicate weights in column {src} (target {name}) must be numbers ≥ 0: "
        f"{rows.size} row(s) are not",
        expected="a replicate weight ≥ 0 in every row (0 where a replicate drops the row)",
        found=", ".join(f"{kind} {count}" for kind, count in kinds.items() if count),
        hint="replicate weights come with the data set: ask the provider for a complete "
        "export, or drop the rows that lack them with the codebook's `filter`",
        file=ctx.source,
        column=src,
        rows=rows.tolist(),
    )


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
            repr(v) + (f" ({labels[v]!r})" if v in labels else "") for v in offending[:SHOWN_VALUES]
        ]
        more = f" and {len(offending) - SHOWN_VALUES} more" if len(offending) > SHOWN_VALUES else ""
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
            for value, times in list(counts.items())[:SHOWN_VALUES]
        ]
        more = len(counts) - SHOWN_VALUES
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
