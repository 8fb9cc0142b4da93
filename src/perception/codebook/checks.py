"""Rule checks of a harmonized table for the asset checks: ids, conformance, design, PII."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from perception.codebook.values import SHOWN_VALUES, _name_key
from perception.config import (
    ID_VARIABLE,
    WAVE_COLUMN,
    Catalogue,
    Variable,
)

if TYPE_CHECKING:
    import numpy.typing as npt

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
        if var.role in ("design", "replicate_weight"):
            findings += _check_design(df, name, var)
    findings += _check_pii(df, catalogue)
    return findings


def _rows(mask: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    """Return the first offending row positions of a mask."""
    return tuple(int(r) for r in np.flatnonzero(mask)[:SHOWN_VALUES])


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
    """Check a design column: weights finite and > 0 (replicate weights ≥ 0), ids never missing.

    A design column the codebook does not map (entirely missing) is not a finding: many
    files release no PSU ids, and the weighting configuration says which columns the design
    uses (building the design fails, naming the column, if it needs an absent one).
    """
    if name not in df.columns:
        return [Finding("design", name, "design column missing")]
    column = df[name]
    if column.isna().all():
        return []
    if var.role == "replicate_weight":
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) | (values < 0)
        what = "replicate weights must be finite and ≥ 0"
    elif var.kind == "number":
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
        var = catalogue.variables.get(name)
        coded = var is not None and var.kind == "categorical" and bool(var.codes)
        # A coded categorical holds only its labelled codes (the conformance check), so a name
        # like "cell_phone_service" or "addressing_needs" cannot carry personal data.
        suspect = None if coded else _PII_COLUMN.search(_name_key(name))
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


# =========================================================================== shared helpers
