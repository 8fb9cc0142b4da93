"""The analysts' exports: each published table with labels beside its codes, on one scale.

CSV, Parquet and DuckDB hold the published tables in their export form
(:meth:`perception.tables.Table.export_columns`): every code (wave, indicator, benchmark,
domain set, each domain's group, status, direction) is followed by its English and French
labels; ``value_unit`` (and ``change_unit`` in the status table) names the scale of the values;
proportions are percent 0-100 and their changes, gaps and net scores percentage points, scores
keep their own unit (:func:`perception.tables.to_export_scale`). The DuckDB file also has one
readable view per benchmark (:func:`benchmark_views`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from perception.exports.contract import PublishedTables
from perception.exports.labels import ExportLabels
from perception.tables import (
    DRIVERS,
    ESTIMATES,
    TABLES,
    TRENDS,
    change_unit,
    label_columns,
    to_export_scale,
    value_unit,
)
from perception.words import LANGS, Lang, capital, say, status_label

_DRIVER_UNITS = {"percentage points": "percentage points", "points": "score points"}
_VIEW_COLUMNS = (
    "wave",
    "wave_label_en",
    "wave_label_fr",
    "indicator",
    "indicator_label_en",
    "indicator_label_fr",
    "domain_set_label_en",
    "domain_set_label_fr",
)
_VIEW_VALUES = ("estimate", "ci_low", "ci_high", "value_unit", "n", "flagged", "suppressed")

Labeller = Callable[[object, Lang], str | None]


def analysts_tables(tables: PublishedTables, labels: ExportLabels) -> dict[str, pd.DataFrame]:
    """Return every published table in its export form, under its database name."""
    methodology = tables.methodology
    waves = {
        lang: dict(zip(methodology["wave"], methodology[f"label_{lang}"], strict=True))
        for lang in LANGS
    }
    return {
        name: analysts_table(table, name, labels, waves) for name, table in tables.by_name().items()
    }


def analysts_table(
    table: pd.DataFrame,
    name: str,
    labels: ExportLabels,
    waves: Mapping[Lang, Mapping[str, str]],
) -> pd.DataFrame:
    """Return one checked published table in its export form (labels, units, one scale)."""
    schema = TABLES[name]
    domains = labels.domains if schema.domains else ()
    out = to_export_scale(table, schema).reset_index(drop=True)
    labellers = _labellers(labels, waves)
    for column in (*schema.labelled, *domains):
        label = labellers.get(column) or _group_labeller(labels, column)
        positions, codes = pd.factorize(out[column])  # NA at -1: the None after the codes
        positions = pa.array(np.where(positions < 0, len(codes), positions))
        for lang, target in zip(LANGS, label_columns(column), strict=True):
            named = pa.array([*(label(code, lang) for code in codes), None], pa.large_string())
            out[target] = named.take(positions).to_pandas().set_axis(out.index)
    if "value_unit" in schema.units:
        units = (
            out["unit"].map(_DRIVER_UNITS)
            if name == DRIVERS
            else out["unit"].map(change_unit)
            if name == TRENDS
            else pd.Series(
                [value_unit(str(t), str(u)) for t, u in zip(out["type"], out["unit"], strict=True)],
                index=out.index,
            )
        )
        out["value_unit"] = units.astype("str")
    if "change_unit" in schema.units:
        out["change_unit"] = out["unit"].map(change_unit).astype("str")
    return out.loc[:, list(schema.export_columns(domains))]


def published_table(exported: pd.DataFrame, name: str, domains: Sequence[str]) -> pd.DataFrame:
    """Return an exported table as published: labels and units dropped, the library's scale."""
    schema = TABLES[name]
    columns = list(schema.columns(domains if schema.domains else ()))
    return to_export_scale(exported.loc[:, columns], schema, back=True)


def _labellers(
    labels: ExportLabels, waves: Mapping[Lang, Mapping[str, str]]
) -> dict[str, Labeller]:
    """Return how to label each kind of code."""

    def wave(value: object, lang: Lang) -> str | None:
        return waves[lang].get(str(value))

    return {
        "wave": wave,
        "reference_wave": wave,
        "latest_wave": wave,
        "indicator": lambda v, lang: labels.indicators[str(v)][lang],
        "benchmark": lambda v, lang: labels.benchmarks[str(v)][lang],
        "domain_set": lambda v, lang: labels.domain_set(str(v), lang),
        "status": lambda v, lang: status_label(str(v), lang),
        "direction": lambda v, lang: capital(say(str(v), lang)),
    }


def _group_labeller(labels: ExportLabels, column: str) -> Labeller:
    """Return how to label a domain column's codes: as groups of people ("Women")."""

    def label(value: object, lang: Lang) -> str:
        code = int(value)  # type: ignore[call-overload]
        return (labels.groups.get(column, {}).get(code) or labels.codes[column][code])[lang]

    return label


def benchmark_views(
    estimates: pd.DataFrame, domains: Sequence[str], benchmarks: Sequence[str]
) -> dict[str, str]:
    """Return the readable view of each of ``benchmarks``: ``benchmark_<id>`` and its ``SELECT``.

    A view lists the benchmark's indicators (don't know kept in the base) by wave and domain,
    with labels in English and French, the estimate and its interval in ``value_unit``, ``n``
    and the disclosure marks; suppressed estimates are NULL, as in ``indicator_estimates``.
    """
    present = set(estimates["benchmark"].unique())
    groups = [c for d in domains for c in label_columns(d)]
    columns = ", ".join(f'"{c}"' for c in (*_VIEW_COLUMNS, *groups, *_VIEW_VALUES))
    return {
        f"benchmark_{benchmark}": (
            f'SELECT {columns} FROM "{ESTIMATES}" '
            f"WHERE benchmark = {sql_text(benchmark)} AND variant = 'all' "
            "ORDER BY wave, indicator, domain_set"
            + "".join(f', "{d}" NULLS FIRST' for d in domains)
        )
        for benchmark in benchmarks
        if benchmark in present
    }


def sql_text(value: str) -> str:
    """Quote a text as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
