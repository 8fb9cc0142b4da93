"""Harmonized tables on disk: Parquet with the catalogue's bilingual value labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from perception.codebook.values import _categorical
from perception.config import (
    WAVE_COLUMN,
    Catalogue,
)
from perception.errors import ReadError
from perception.storage import write_parquet
from perception.words import LANGS, say

_LABELS_KEY = "perception.labels"


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
        "label": {lang: say("wave_variable", lang) for lang in LANGS},
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
