"""Report-ready exports: files, round trips, workbook, latest swap and the microdata gate."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from zipfile import ZipFile

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from drivers_data import published_drivers
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from perception.config import WeightingConfig, load_catalogue, load_survey, load_weighting_config
from perception.errors import ConfigError, ValidationError
from perception.exports import (
    EXPORT_FILES,
    ExportLabels,
    PublishedTables,
    margin_of_error,
    methodology_table,
    write_exports,
)
from perception.exports import workbook as workbook_module
from perception.small_area import AREA_TABLE_COLUMNS
from perception.weighting import weight_report
from perception.words import say

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
SURVEY = "demo"
WAVES = ("w1", "w2", "w3")
GENERATED_AT = dt.datetime(2026, 9, 1, 12, 30, tzinfo=dt.UTC)

# Column lists transcribed from the contract (briefs/indicators_schema.md), independently of
# perception.exports.contract, so a drift between the two fails here.
DOMAINS = ["gender", "age_band", "youth", "region", "urban_rural"]
DISCLOSURE = {"suppressed": "bool", "flagged": "bool", "disclosure": "str"}
ESTIMATE_DTYPES: dict[str, str] = {
    **dict.fromkeys(
        ["survey", "wave", "indicator", "variant", "benchmark", "type", "unit", "domain_set"],
        "str",
    ),
    **dict.fromkeys(DOMAINS, "Int64"),
    **dict.fromkeys(["estimate", "se", "ci_low", "ci_high", "df", "deff"], "float64"),
    "n": "Int64",
    **dict.fromkeys(["n_weighted", "n_eff", "dk_share"], "float64"),
    "n_refused": "Int64",
    "availability": "str",
    "n_a": "Int64",
    "n_b": "Int64",
    "p_value": "float64",
    "p_adjusted": "float64",
    **DISCLOSURE,
}
TREND_DTYPES: dict[str, str] = {
    **dict.fromkeys(
        ["survey", "indicator", "variant", "benchmark", "type", "unit", "domain_set"], "str"
    ),
    **dict.fromkeys(DOMAINS, "Int64"),
    **dict.fromkeys(["comparison", "wave", "reference_wave"], "str"),
    **dict.fromkeys(
        ["estimate", "se", "ci_low", "ci_high", "df", "p_value", "p_adjusted"], "float64"
    ),
    "significant": "bool",
    "direction": "str",
    **dict.fromkeys(["n", "n_a", "n_b"], "Int64"),
    **DISCLOSURE,
}
STATUS_DTYPES: dict[str, str] = {
    **dict.fromkeys(
        [
            "survey",
            "indicator",
            "benchmark",
            "benchmark_term",
            "label_en",
            "label_fr",
            "type",
            "unit",
            "direction",
            "latest_wave",
        ],
        "str",
    ),
    **dict.fromkeys(
        [
            "estimate",
            "ci_low",
            "ci_high",
            "change_previous",
            "change_previous_ci_low",
            "change_previous_ci_high",
            "change_previous_p",
            "change_baseline",
            "change_baseline_ci_low",
            "change_baseline_ci_high",
            "change_baseline_p",
            "target",
        ],
        "float64",
    ),
    "target_date": "datetime64[s]",
    **dict.fromkeys(["status", "reason_en", "reason_fr"], "str"),
}
DRIVER_DTYPES: dict[str, str] = {
    **dict.fromkeys(["survey", "wave", "indicator", "model", "driver"], "str"),
    **dict.fromkeys(["driver_label_en", "driver_label_fr"], "str"),
    "level": "Int64",
    **dict.fromkeys(["level_label_en", "level_label_fr"], "str"),
    "reference": "Int64",
    **dict.fromkeys(["reference_label_en", "reference_label_fr"], "str"),
    **dict.fromkeys(
        ["estimate", "se", "ci_low", "ci_high", "df", "p_value", "driver_p_value"], "float64"
    ),
    "unit": "str",
    **dict.fromkeys(["n_level", "n_reference", "n"], "Int64"),
    **dict.fromkeys(["note_en", "note_fr"], "str"),
    **DISCLOSURE,
}
DRIVER_VALUES = ["estimate", "se", "ci_low", "ci_high", "p_value", "driver_p_value"]
LEVELS = ("estimate", "se", "ci_low", "ci_high")
"""Values of a percent indicator written × 100 in the exports (percent, or percentage points)."""
STATUS_LEVELS = (
    "estimate",
    "ci_low",
    "ci_high",
    "target",
    *(f"change_{p}{s}" for p in ("previous", "baseline") for s in ("", "_ci_low", "_ci_high")),
)
PORTABLE_TYPES = {"VARCHAR", "DOUBLE", "BIGINT", "BOOLEAN", "DATE"}

# indicator: (benchmark, type, unit, direction, label en, label fr)
INDICATORS = {
    "incl_feel_included": (
        "inclusion",
        "proportion",
        "percent",
        "higher",
        "Feels included in the peace process",
        "Se sent inclus dans le processus de paix",
    ),
    "incl_index": (
        "inclusion",
        "index",
        "score",
        "higher",
        "Inclusion-perception index (0-100)",
        "Indice de perception de l'inclusion (0-100)",
    ),
    "incl_gender_gap": (
        "inclusion",
        "gap",
        "percent",
        "higher",
        "Gender gap in feeling included (women − men)",
        "Écart entre femmes et hommes (femmes − hommes)",
    ),
    "viol_safe_dark": (
        "violence",
        "proportion",
        "percent",
        "higher",
        "Feels safe walking alone after dark",
        "Se sent en sécurité en marchant seul la nuit",
    ),
    "viol_experienced": (
        "violence",
        "proportion",
        "percent",
        "lower",
        "Experienced violence in the past 12 months",
        "A subi des violences au cours des 12 derniers mois",
    ),
}
BENCHMARKS = {
    "inclusion": {
        "en": "The population considers that it is being included in the process",
        "fr": "La population estime être incluse dans le processus",
    },
    "violence": {
        "en": "Violence against civilians decreasing",
        "fr": "Diminution des violences contre les civils",
    },
}
SHEETS = {
    "inclusion": "Benchmark 1 – The population…",
    "violence": "Benchmark 2 – Violence against…",
}
"""The benchmark sheets' names: number and title, cut to Excel's 31 characters on a word."""
SHEETS_FR = {"inclusion": "Critère 1 – La population…", "violence": "Critère 2 – Diminution des…"}
SETS = {
    "national": [],
    "gender": ["gender"],
    "region": ["region"],
    "gender×region": ["gender", "region"],
}
CODES = {"gender": (1, 2), "region": (1, 2)}
SMALL = {
    ("gender×region", (2, 2)): 20,
    ("gender×region", (1, 2)): 30,
    ("gender×region", (1, 1)): 45,
}
"""Cells with few respondents: (2, 2) is suppressed (n<25), (1, 2) is suppressed as its
complement, (1, 1) is flagged (25<=n<50)."""
NOT_ASKED = ("viol_experienced", "w2")
NO_DATA = ("incl_index", "w3", "gender×region", (2, 1))


def _domains(domain_set: str) -> Iterator[dict[str, int]]:
    """Yield the code dictionary of every domain of a domain set."""
    columns = SETS[domain_set]
    if not columns:
        yield {}
        return
    grids = np.meshgrid(*[CODES[c] for c in columns], indexing="ij")
    for values in zip(*(g.ravel() for g in grids), strict=True):
        yield {c: int(v) for c, v in zip(columns, values, strict=True)}


def _base_n(domain_set: str, codes: dict[str, int]) -> int:
    """Return the unweighted base of a domain."""
    small = SMALL.get((domain_set, tuple(codes.values())))
    return small if small is not None else 600 // (2 ** len(codes))


def _estimate_rows() -> list[dict[str, object]]:
    """Return Table 1 rows: every wave × indicator × variant × domain, with disclosure applied."""
    rows: list[dict[str, object]] = []
    for w, wave in enumerate(WAVES):
        for indicator, (benchmark, type_, unit, *_) in INDICATORS.items():
            sets = ["national", "region"] if type_ == "gap" else list(SETS)
            for variant in ("all", "excl_dk"):
                for domain_set in sets:
                    for codes in _domains(domain_set):
                        rows.append(_estimate_row(wave, w, indicator, variant, domain_set, codes))
                        rows[-1].update(benchmark=benchmark, type=type_, unit=unit)
    return rows


def _estimate_row(
    wave: str, w: int, indicator: str, variant: str, domain_set: str, codes: dict[str, int]
) -> dict[str, object]:
    """Return one Table 1 row (without benchmark, type and unit)."""
    type_ = INDICATORS[indicator][1]
    n = _base_n(domain_set, codes)
    shift = 0.04 * w + 0.01 * sum(codes.values()) + (0.02 if variant == "excl_dk" else 0.0)
    estimate = {"index": 50.0 + 100 * shift, "gap": -0.12 + shift}.get(type_, 0.35 + shift)
    se = 2.5 if type_ == "index" else 0.021
    row: dict[str, object] = {
        "survey": SURVEY,
        "wave": wave,
        "indicator": indicator,
        "variant": variant,
        "domain_set": domain_set,
        **{c: codes.get(c) for c in DOMAINS},
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - 1.96 * se,
        "ci_high": estimate + 1.96 * se,
        "df": 48.0,
        "deff": 1.37,
        "n": n,
        "n_weighted": n * 1021.5,
        "n_eff": n / 1.37,
        "dk_share": 0.061 + 0.001 * w,
        "n_refused": 2,
        "availability": "estimated",
        "n_a": n if type_ == "gap" else None,
        "n_b": n + 7 if type_ == "gap" else None,
        "p_value": 0.012 if type_ == "gap" else None,
        "p_adjusted": 0.03 if type_ == "gap" else None,
        "suppressed": False,
        "flagged": False,
        "disclosure": "",
    }
    hidden = [
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "deff",
        "n_weighted",
        "n_eff",
        "dk_share",
        "p_value",
        "p_adjusted",
    ]
    values = [*hidden, "df", "n", "n_refused", "n_a", "n_b"]
    if (indicator, wave) == NOT_ASKED:
        row.update(dict.fromkeys(values), availability="not_asked")
    elif (indicator, wave, domain_set, tuple(codes.values())) == NO_DATA:
        row.update(dict.fromkeys(values), n=0, availability="no_data")
        row.update(suppressed=True, disclosure="suppressed: n<25")
    elif n < 25:
        row.update(dict.fromkeys(hidden), suppressed=True, disclosure="suppressed: n<25")
    elif domain_set == "gender×region" and codes == {"gender": 1, "region": 2}:
        row.update(dict.fromkeys(hidden), suppressed=True, disclosure="suppressed: complementary")
    elif n < 50:
        row.update(flagged=True, disclosure="flagged: 25<=n<50")
    return row


def _frame(rows: list[dict[str, object]], dtypes: dict[str, str]) -> pd.DataFrame:
    """Return rows as a DataFrame with the contract's columns, in order, and dtypes."""
    return pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)


def _trend_rows(estimates: pd.DataFrame) -> list[dict[str, object]]:
    """Return Table 2 rows: changes since the previous wave and the baseline, disclosed."""
    keyed = {
        (r["indicator"], r["variant"], r["domain_set"], *[r[c] for c in DOMAINS], r["wave"]): r
        for r in estimates.to_dict("records")
    }
    rows: list[dict[str, object]] = []
    for key, now in keyed.items():
        w = WAVES.index(str(now["wave"]))
        comparisons = {"previous": WAVES[w - 1], "baseline": WAVES[0]} if w else {}
        for comparison, reference in comparisons.items():
            then = keyed[(*key[:-1], reference)]
            if "not_asked" in (now["availability"], then["availability"]):
                continue
            hidden = bool(now["suppressed"] or then["suppressed"])
            diff = float(now["estimate"]) - float(then["estimate"]) if not hidden else math.nan
            se = 0.03
            p = math.erfc(abs(diff / se) / math.sqrt(2)) if not hidden else math.nan
            significant = not hidden and p < 0.05
            higher = INDICATORS[str(now["indicator"])][3] == "higher"
            direction = (
                None
                if hidden
                else ("improving" if (diff > 0) == higher else "worsening")
                if significant
                else "no change"
            )
            rows.append(
                {
                    **{k: now[k] for k in ("survey", "indicator", "variant", "benchmark")},
                    **{k: now[k] for k in ("type", "unit", "domain_set", *DOMAINS)},
                    "comparison": comparison,
                    "wave": now["wave"],
                    "reference_wave": reference,
                    "estimate": diff,
                    "se": math.nan if hidden else se,
                    "ci_low": diff - 1.96 * se,
                    "ci_high": diff + 1.96 * se,
                    "df": 48.0,
                    "p_value": p,
                    "p_adjusted": min(1.0, 2 * p) if not hidden else math.nan,
                    "significant": significant,
                    "direction": direction,
                    "n": min(int(now["n"]), int(then["n"])),
                    "n_a": now["n_a"],
                    "n_b": now["n_b"],
                    "suppressed": hidden,
                    "flagged": bool(now["flagged"] or then["flagged"]) and not hidden,
                    "disclosure": "suppressed: side suppressed" if hidden else "",
                }
            )
    return rows


def _status_rows(estimates: pd.DataFrame, trends: pd.DataFrame) -> list[dict[str, object]]:
    """Return Table 3 rows: each indicator's national status at the latest wave."""
    rows: list[dict[str, object]] = []
    for indicator, (benchmark, type_, unit, direction, en, fr) in INDICATORS.items():
        national = estimates[
            (estimates["indicator"] == indicator)
            & (estimates["variant"] == "all")
            & (estimates["domain_set"] == "national")
            & (estimates["wave"] == WAVES[-1])
        ].iloc[0]
        changes = {}
        for comparison in ("previous", "baseline"):
            match = trends[
                (trends["indicator"] == indicator)
                & (trends["variant"] == "all")
                & (trends["domain_set"] == "national")
                & (trends["wave"] == WAVES[-1])
                & (trends["comparison"] == comparison)
            ]
            row = match.iloc[0] if len(match) else None
            for suffix, column in (("", "estimate"), ("_ci_low", "ci_low")):
                changes[f"change_{comparison}{suffix}"] = math.nan if row is None else row[column]
            changes[f"change_{comparison}_ci_high"] = math.nan if row is None else row["ci_high"]
            changes[f"change_{comparison}_p"] = math.nan if row is None else row["p_value"]
        target = 0.6 if indicator == "incl_feel_included" else math.nan
        rows.append(
            {
                "survey": SURVEY,
                "indicator": indicator,
                "benchmark": benchmark,
                "benchmark_term": "medium" if benchmark == "inclusion" else "short",
                "label_en": en,
                "label_fr": fr,
                "type": type_,
                "unit": unit,
                "direction": direction,
                "latest_wave": WAVES[-1],
                "estimate": national["estimate"],
                "ci_low": national["ci_low"],
                "ci_high": national["ci_high"],
                **changes,
                "target": target,
                "target_date": dt.datetime(2027, 6, 30) if not math.isnan(target) else None,
                "status": "on track" if indicator == "incl_feel_included" else "off track",
                "reason_en": "The latest estimate is moving towards the target.",
                "reason_fr": "La dernière estimation progresse vers la cible.",
            }
        )
    return rows


def _weight_reports() -> dict[str, pd.DataFrame]:
    """Return a real weighting report for every wave, on synthetic respondents and weights."""
    reports = {}
    for w, wave in enumerate(WAVES):
        rng = np.random.default_rng(w)
        n = 600 + 50 * w
        data = pd.DataFrame({"gender": rng.integers(1, 3, n)})
        weights = rng.lognormal(0.0, 0.3 + 0.1 * w, n) * 1000
        totals = {code: float(weights[data["gender"] == code].sum()) for code in (1, 2)}
        reports[wave] = weight_report(
            data, weights, domains=("gender",), margins={"gender": totals}
        )
    return reports


def _methodology(suppress_below: int = 25, flag_below: int = 50) -> pd.DataFrame:
    """Return the methodology table of the demo survey's three waves."""
    return methodology_table(
        load_survey(CONFIG / "survey.yaml"),
        _weight_reports(),
        load_weighting_config(CONFIG / "weighting.yaml"),
        catalogue=load_catalogue(CONFIG / "variables.yaml"),
        suppress_below=suppress_below,
        flag_below=flag_below,
        generated_at=GENERATED_AT,
    )


@pytest.fixture(scope="module")
def tables() -> PublishedTables:
    """Return published Tables 1-3, the methodology and drivers of a three-wave survey."""
    estimates = _frame(_estimate_rows(), ESTIMATE_DTYPES)
    trends = _frame(_trend_rows(estimates), TREND_DTYPES)
    status = _frame(_status_rows(estimates, trends), STATUS_DTYPES)
    return PublishedTables(
        estimates, trends, status, _methodology(), published_drivers(SURVEY, WAVES)
    )


def _labels(**indicator_overrides: dict[str, str]) -> ExportLabels:
    """Return export labels from the demo survey file and variable catalogue."""
    indicators = {k: {"en": v[4], "fr": v[5]} for k, v in INDICATORS.items()}
    return ExportLabels.from_config(
        load_survey(CONFIG / "survey.yaml"),
        load_catalogue(CONFIG / "variables.yaml"),
        indicators=indicators | indicator_overrides,
        benchmarks=BENCHMARKS,
    )


@pytest.fixture(scope="module")
def labels() -> ExportLabels:
    """Return the labels of the demo survey."""
    return _labels()


@pytest.fixture(scope="module")
def exported(
    tables: PublishedTables, labels: ExportLabels, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Return an export root holding one successful run, ``r1``."""
    root = tmp_path_factory.mktemp("exports")
    write_exports(tables, root, run_id="r1", labels=labels)
    return root


def _row(sheet: Worksheet, indicator: str, domain: str) -> tuple[object, ...]:
    """Return the cells of a benchmark sheet's row for an indicator label and a domain label."""
    for row in sheet.iter_rows(min_row=4):
        if row[0].value == indicator and row[2].value == domain:
            return row
    raise AssertionError(f"no row for {indicator} / {domain}")


def _header(sheet: Worksheet) -> list[object]:
    """Return the header row (row 3) of a sheet."""
    return [c.value for c in sheet[3]]


# --------------------------------------------------------------------------- files


def test_every_file_is_in_the_run_folder_and_in_latest(exported: Path) -> None:
    """It writes the four files to runs/<run_id>/ and an identical copy to latest/."""
    run, latest = exported / "runs" / "r1", exported / "latest"
    assert sorted(p.name for p in run.iterdir()) == sorted(EXPORT_FILES)
    assert sorted(p.name for p in latest.iterdir()) == sorted(EXPORT_FILES)
    for name in EXPORT_FILES:
        assert (run / name).read_bytes() == (latest / name).read_bytes()
    assert sorted(p.name for p in exported.iterdir()) == ["latest", "runs"]
    assert [p.name for p in (exported / "runs").iterdir()] == ["r1"]


def test_csv_has_a_bom_and_round_trips(exported: Path, tables: PublishedTables) -> None:
    """It writes Table 1 as UTF-8 CSV with a BOM that reads back equal to the published table."""
    raw = (exported / "latest" / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "gender×region".encode() in raw
    text_columns = [c for c, t in ESTIMATE_DTYPES.items() if t == "str"]
    back = pd.read_csv(
        exported / "latest" / "indicators.csv",
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values={c: [""] for c in ESTIMATE_DTYPES if c not in text_columns},
        dtype={c: "str" for c in text_columns},
    )
    _assert_published(back, ESTIMATE_DTYPES, LEVELS, tables.estimates, shares=("dk_share",))


def test_parquet_round_trips(exported: Path, tables: PublishedTables) -> None:
    """It writes Table 1 as Parquet that reads back equal to the published table."""
    back = pd.read_parquet(exported / "latest" / "indicators.parquet")
    _assert_published(back, ESTIMATE_DTYPES, LEVELS, tables.estimates, shares=("dk_share",))


def _assert_published(
    back: pd.DataFrame,
    dtypes: dict[str, str],
    levels: Sequence[str],
    published: pd.DataFrame,
    shares: Sequence[str] = (),
) -> None:
    """Assert that an exported table is the published one: percent values ÷ 100, labels aside."""
    percent = (back["unit"] == "percent").to_numpy() if levels else None
    out = back.loc[:, list(dtypes)].copy()
    for column in levels:
        out[column] = np.where(percent, out[column] / 100, out[column])
    for column in shares:
        out[column] = out[column] / 100
    pd.testing.assert_frame_equal(out.astype(dtypes), published, check_exact=False, rtol=1e-12)


def test_exports_carry_labels_units_and_percent_values(
    exported: Path, tables: PublishedTables
) -> None:
    """CSV, Parquet and DuckDB name every code in English and French and values in their unit."""
    csv = pd.read_csv(exported / "latest" / "indicators.csv", encoding="utf-8-sig")
    parquet = pd.read_parquet(exported / "latest" / "indicators.parquet")
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        trends = con.table("indicator_trends").df()
        status = con.table("benchmark_status").df()
        drivers = con.table("indicator_drivers").df()
    for table in (csv, parquet):
        women = table[(table["domain_set"] == "gender") & (table["gender"] == 2)]
        assert set(women["gender_label_en"]) == {"Women"}
        assert set(women["gender_label_fr"]) == {"Femmes"}
        row = table[(table["indicator"] == "incl_feel_included") & (table["wave"] == "w1")].iloc[0]
        assert row["indicator_label_fr"] == INDICATORS["incl_feel_included"][5]
        assert row["benchmark_label_en"] == BENCHMARKS["inclusion"]["en"]
        assert row["wave_label_en"] == "Wave 1 (March 2025)"
        units = dict(zip(table["indicator"], table["value_unit"], strict=True))
        assert units["incl_feel_included"] == "percent"
        assert units["incl_index"] == "score"
        assert {units[i] for i, v in INDICATORS.items() if v[1] == "net"} <= {"percentage points"}
    published = tables.estimates
    shown = published["estimate"].notna().to_numpy()
    percent = (published["unit"] == "percent").to_numpy()
    np.testing.assert_allclose(
        parquet["estimate"].to_numpy()[shown],
        np.where(percent, 100, 1)[shown] * published["estimate"].to_numpy()[shown],
        rtol=1e-12,
    )
    assert set(trends.loc[trends["unit"] == "percent", "value_unit"]) == {"percentage points"}
    assert set(trends.loc[trends["unit"] == "score", "value_unit"]) == {"score points"}
    assert set(trends["direction_label_fr"].dropna()) <= {
        "En amélioration",
        "En dégradation",
        "Pas d'évolution nette",
    }
    changes = tables.trends["estimate"].to_numpy()
    np.testing.assert_allclose(
        trends["estimate"].to_numpy(),
        np.where(tables.trends["unit"] == "percent", 100, 1) * changes,
        rtol=1e-12,
    )
    assert set(status["change_unit"]) <= {"percentage points", "score points"}
    assert status["status_label_en"].notna().all() and status["benchmark_label_fr"].notna().all()
    assert set(drivers["value_unit"]) <= {"percentage points", "score points"}


def test_duckdb_has_a_readable_view_per_benchmark(exported: Path, tables: PublishedTables) -> None:
    """Each benchmark has a view with labels and the published values, suppressed ones NULL."""
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        views = [
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        ]
        inclusion = con.execute(
            "SELECT indicator_label_en, gender_label_en, estimate, value_unit, suppressed "
            "FROM benchmark_inclusion WHERE wave = 'w3'"
        ).df()
    assert sorted(views) == ["benchmark_inclusion", "benchmark_violence"]
    published = tables.estimates[
        (tables.estimates["benchmark"] == "inclusion")
        & (tables.estimates["variant"] == "all")
        & (tables.estimates["wave"] == "w3")
    ]
    assert len(inclusion) == len(published)
    assert set(inclusion["indicator_label_en"]) == {
        INDICATORS[i][4] for i in published["indicator"].unique()
    }
    assert "Women" in set(inclusion["gender_label_en"])
    assert inclusion.loc[inclusion["suppressed"], "estimate"].isna().all()
    assert inclusion["suppressed"].sum() == published["suppressed"].sum() > 0
    shown = inclusion[inclusion["value_unit"] == "percent"]["estimate"].dropna()
    assert shown.between(0, 100).all() and shown.max() > 1


def test_duckdb_tables_and_columns_say_what_they_hold(exported: Path) -> None:
    """Every DuckDB table and column carries a comment; domain columns and changes say theirs."""
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        tables = dict(
            con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal"
            ).fetchall()
        )
        columns = con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE NOT internal AND table_name NOT LIKE 'benchmark_%'"
        ).fetchall()
    assert len(tables) == 6 and all(tables.values())
    assert "Table 1" in tables["indicator_estimates"]
    assert "Model-based" in tables["small_area_estimates"]
    described = {(table, column): comment for table, column, comment in columns}
    assert all(described.values()), [k for k, v in described.items() if not v]
    assert described[("indicator_estimates", "gender")].startswith("Code of the domain")
    assert "change" in described[("indicator_trends", "estimate")]
    assert "marginal effect" in described[("indicator_drivers", "estimate")]


def test_duckdb_round_trips_with_portable_types(exported: Path, tables: PublishedTables) -> None:
    """It stores the four tables in DuckDB with plain SQL types, reading back equal."""
    expected = {
        "indicator_estimates": (tables.estimates, ESTIMATE_DTYPES),
        "indicator_trends": (tables.trends, TREND_DTYPES),
        "benchmark_status": (tables.status, STATUS_DTYPES),
        "methodology": (tables.methodology, dict(tables.methodology.dtypes.astype(str))),
        "indicator_drivers": (tables.drivers, DRIVER_DTYPES),
        "small_area_estimates": (tables.small_areas, AREA_TABLE_COLUMNS),
    }
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert names == set(expected)
        types = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
        ).fetchall()
        for name, (table, dtypes) in expected.items():
            back = con.table(name).df()
            levels = {
                "indicator_estimates": LEVELS,
                "indicator_trends": LEVELS,
                "benchmark_status": STATUS_LEVELS,
            }.get(name, ())
            shares = {"indicator_estimates": ("dk_share",), "methodology": ("moe_95",)}
            _assert_published(back, dtypes, levels, table, shares=shares.get(name, ()))
    assert {t for _, _, t in types} <= PORTABLE_TYPES
    by_column = {(t, c): d for t, c, d in types}
    assert by_column[("indicator_estimates", "n")] == "BIGINT"
    assert by_column[("indicator_estimates", "gender")] == "BIGINT"
    assert by_column[("indicator_estimates", "suppressed")] == "BOOLEAN"
    assert by_column[("benchmark_status", "target_date")] == "DATE"
    assert by_column[("methodology", "fieldwork_start")] == "DATE"


def test_reruns_give_identical_bytes(
    exported: Path, tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It writes byte-identical CSV, Parquet and Excel files when rerun on the same tables."""
    workbook_module._BUILT.clear()  # build the workbooks again, not from this process's memo
    write_exports(tables, tmp_path, run_id="rerun-2", labels=labels)
    for name in ("indicators.csv", "indicators.parquet", "indicators.xlsx"):
        assert (tmp_path / "latest" / name).read_bytes() == (
            exported / "runs" / "r1" / name
        ).read_bytes()
    with ZipFile(tmp_path / "latest" / "indicators.xlsx") as archive:
        stamps = {info.date_time for info in archive.infolist()}
    assert stamps == {(2026, 9, 1, 12, 30, 0)}


# --------------------------------------------------------------------------- workbook


@pytest.fixture(scope="module")
def workbook(exported: Path) -> openpyxl.Workbook:
    """Return the English workbook of the successful run."""
    return openpyxl.load_workbook(exported / "latest" / "indicators.xlsx")


def test_workbook_has_status_benchmark_and_methodology_sheets(
    workbook: openpyxl.Workbook,
) -> None:
    """It writes a status sheet, one sheet per benchmark and a methodology sheet, headers frozen."""
    assert workbook.sheetnames == ["Status", *SHEETS.values(), "Methodology", "Drivers"]
    assert workbook[SHEETS["inclusion"]].freeze_panes == "D4"
    assert workbook["Status"].freeze_panes == "D4"
    assert workbook["Methodology"].freeze_panes == "B4"
    for sheet in workbook.worksheets:
        assert sheet["A3"].font.b
        headers = sum(1 for cell in sheet[3] if cell.value is not None)
        for index in range(1, headers + 1):
            assert sheet.column_dimensions[get_column_letter(index)].customWidth
    assert workbook[SHEETS["inclusion"]].column_dimensions["A"].width > 30
    assert workbook[SHEETS["inclusion"]]["A1"].value == BENCHMARKS["inclusion"]["en"]
    assert workbook.properties.created == GENERATED_AT.replace(tzinfo=None)
    assert workbook.properties.modified == GENERATED_AT.replace(tzinfo=None)


def test_benchmark_sheet_shows_previous_and_latest_waves_with_ci(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It shows each indicator by domain for waves 2 and 3, with CI, n, don't know and change."""
    sheet = workbook[SHEETS["inclusion"]]
    header = _header(sheet)
    assert header[:3] == ["Indicator", "Breakdown", "Domain"]
    assert "Wave 2 (November 2025): estimate" in header
    assert "Wave 3 (August 2026): 95% CI low" in header
    assert "Change since Wave 2 (November 2025)" in header
    row = _row(sheet, INDICATORS["incl_feel_included"][4], "Women")
    e = tables.estimates
    source = e[
        (e["indicator"] == "incl_feel_included")
        & (e["variant"] == "all")
        & (e["domain_set"] == "gender")
        & (e["gender"] == 2)
        & (e["wave"] == "w3")
    ].iloc[0]
    at = {h: cell for h, cell in zip(header, row, strict=True)}
    estimate = at["Wave 3 (August 2026): estimate"]
    assert estimate.value == pytest.approx(source["estimate"])
    assert estimate.number_format == "0.0%"
    assert at["Wave 3 (August 2026): 95% CI high"].value == pytest.approx(source["ci_high"])
    assert at["Wave 3 (August 2026): n"].value == source["n"]
    assert at["Wave 3 (August 2026): don't know"].number_format == "0.0%"
    change = at["Change since Wave 2 (November 2025)"]
    assert change.value == pytest.approx(100 * 0.04)
    assert change.number_format == '+0.0" pts";-0.0" pts";0.0" pts"'
    index_row = _row(sheet, INDICATORS["incl_index"][4], "National")
    assert index_row[header.index("Wave 3 (August 2026): estimate")].number_format == "0.00"


def test_benchmark_sheet_includes_the_baseline_it_quotes(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It shows the baseline wave and the change since it, as the status sheet quotes them."""
    sheet = workbook[SHEETS["inclusion"]]
    header = _header(sheet)
    assert header.index("Wave 1 (March 2025): estimate") < header.index(
        "Wave 2 (November 2025): estimate"
    )
    column = header.index("Change since Wave 1 (March 2025)")
    tr = tables.trends
    source = tr[
        (tr["indicator"] == "incl_feel_included")
        & (tr["variant"] == "all")
        & (tr["domain_set"] == "national")
        & (tr["comparison"] == "baseline")
        & (tr["wave"] == "w3")
    ].iloc[0]
    row = _row(sheet, INDICATORS["incl_feel_included"][4], "National")
    assert row[column].value == pytest.approx(100 * source["estimate"])
    assert row[column + 1].value == pytest.approx(100 * source["ci_low"])


def test_sheets_print_landscape_fit_to_width_with_repeated_headers(
    workbook: openpyxl.Workbook,
) -> None:
    """Every sheet prints landscape on A4, one page wide, with its header row on every page."""
    for sheet in workbook.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert int(sheet.page_setup.fitToWidth) == 1 and int(sheet.page_setup.fitToHeight) == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$3:$3"


def test_rows_are_as_tall_as_their_wrapped_text(workbook: openpyxl.Workbook) -> None:
    """A row whose wrapped text is longer than its column is given several lines of height."""
    sheet = workbook["Status"]
    reason = _header(sheet).index("Reason")
    width = sheet.column_dimensions[get_column_letter(reason + 1)].width
    for row in sheet.iter_rows(min_row=4, max_row=sheet.max_row):
        text = row[reason].value
        if isinstance(text, str) and len(text) > 2 * width:
            assert sheet.row_dimensions[row[0].row].height >= 30
    assert sheet.row_dimensions[3].height >= 30


def test_a_change_that_rounds_to_zero_is_never_minus_zero(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """A change of -0.04 points is written as 0 (shown "0.0 pts"), never "-0.0 pts"."""
    trends = tables.trends.copy()
    shown = ~trends["suppressed"] & (trends["comparison"] == "previous")
    trends.loc[shown, "estimate"] = -0.0004
    write_exports(_replace(tables, trends=trends), tmp_path, run_id="zero", labels=labels)
    book = openpyxl.load_workbook(tmp_path / "latest" / "indicators.xlsx")
    sheet = book[SHEETS["inclusion"]]
    column = _header(sheet).index("Change since Wave 2 (November 2025)")
    values = [
        r[column].value
        for r in sheet.iter_rows(min_row=4)
        if isinstance(r[column].value, float | int)
    ]
    assert values and all(v == 0 and math.copysign(1.0, v) > 0 for v in values)


def test_domain_labels_come_from_the_catalogue(workbook: openpyxl.Workbook) -> None:
    """It names domains with the catalogue's labels, crossed sets joined by ×."""
    domains = {row[2].value for row in workbook[SHEETS["inclusion"]].iter_rows(min_row=4)}
    assert {"National", "Women", "Northern Highlands"} <= domains
    assert "Men, Lake District" in domains
    breakdowns = {row[1].value for row in workbook[SHEETS["inclusion"]].iter_rows(min_row=4)}
    assert "Gender × Region" in breakdowns


def test_suppressed_cells_show_a_star_and_flagged_cells_parentheses(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It writes * for suppressed values and keeps flagged values numeric in ( ) formats."""
    sheet = workbook[SHEETS["inclusion"]]
    header = _header(sheet)
    label = INDICATORS["incl_feel_included"][4]
    estimate = header.index("Wave 3 (August 2026): estimate")
    hidden = _row(sheet, label, "Women, Lake District")
    assert [c.value for c in hidden[estimate : estimate + 3]] == ["*", "*", "*"]
    assert hidden[estimate + 3].value == 20
    complement = _row(sheet, label, "Men, Lake District")
    assert complement[estimate].value == "*"
    change = header.index("Change since Wave 2 (November 2025)")
    assert complement[change].value == "*"
    assert complement[header.index("Trend")].value == "*"
    flagged = _row(sheet, label, "Men, Northern Highlands")
    e = tables.estimates
    source = e[
        (e["indicator"] == "incl_feel_included")
        & (e["variant"] == "all")
        & (e["domain_set"] == "gender×region")
        & (e["gender"] == 1)
        & (e["region"] == 1)
        & (e["wave"] == "w3")
    ].iloc[0]
    assert flagged[estimate].value == pytest.approx(source["estimate"])
    assert flagged[estimate].number_format.startswith("(0.0%)")
    assert flagged[estimate + 1].number_format.startswith("(")
    assert flagged[estimate + 3].number_format == "#,##0"


def test_gaps_are_in_percentage_points_and_missing_items_are_marked(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It shows gaps in pp, n/a where the wave did not ask, and – where a domain is empty."""
    sheet = workbook[SHEETS["inclusion"]]
    header = _header(sheet)
    estimate = header.index("Wave 3 (August 2026): estimate")
    gap = _row(sheet, INDICATORS["incl_gender_gap"][4], "National")
    e = tables.estimates
    source = e[
        (e["indicator"] == "incl_gender_gap")
        & (e["variant"] == "all")
        & (e["domain_set"] == "national")
        & (e["wave"] == "w3")
    ].iloc[0]
    assert gap[estimate].value == pytest.approx(100 * source["estimate"])
    assert '" pts"' in gap[estimate].number_format
    empty = _row(sheet, INDICATORS["incl_index"][4], "Women, Northern Highlands")
    assert empty[estimate].value == "–"
    violence = workbook[SHEETS["violence"]]
    previous = _header(violence).index("Wave 2 (November 2025): estimate")
    not_asked = _row(violence, INDICATORS["viol_experienced"][4], "National")
    assert not_asked[previous].value == "n/a"


def test_every_sheet_has_footnotes(workbook: openpyxl.Workbook) -> None:
    """It explains *, ( ), don't know and the source under every table."""
    for sheet in workbook.worksheets:
        notes = [str(row[0].value) for row in sheet.iter_rows() if row[0].value is not None]
        assert any(n.startswith("* Suppressed: fewer than 25") for n in notes), sheet.title
        assert any(n.startswith("( ) 25 to 49 respondents") for n in notes), sheet.title
        assert any(n.startswith("Don't know is kept in the base") for n in notes), sheet.title
        assert any(n.startswith("Source: Kelvara Peace Process") for n in notes), sheet.title


def test_status_sheet_lists_each_indicator(workbook: openpyxl.Workbook) -> None:
    """It lists each indicator's status with target formats and localised status words."""
    sheet = workbook["Status"]
    header = _header(sheet)
    rows = [
        r for r in sheet.iter_rows(min_row=4) if r[2].value in {v[4] for v in INDICATORS.values()}
    ]
    assert [r[2].value for r in rows] == [v[4] for v in INDICATORS.values()]
    first = {h: c for h, c in zip(header, rows[0], strict=True)}
    assert first["Status"].value == "On track"
    assert first["Target"].value == pytest.approx(0.6)
    assert first["Target"].number_format == "0.0%"
    assert first["Target date"].value == dt.datetime(2027, 6, 30)
    assert first["Benchmark"].value == BENCHMARKS["inclusion"]["en"]


def test_methodology_sheet_lists_each_wave(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It lists every wave with fieldwork dates, sample size and margin of error."""
    sheet = workbook["Methodology"]
    header = [c.value for c in sheet[3]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=4, max_row=6)]
    first = rows[0]
    assert [r["Wave"].value for r in rows] == list(WAVES)
    assert first["Fieldwork start"].value == dt.datetime(2025, 3, 3)
    assert first["Provider"].value == "Horizon Research & Polling Ltd."
    assert first["Interview mode"].value == "face-to-face interviews"
    assert first["Respondents (n)"].value == 600
    moe = first["Margin of error (95%, ±)"]
    assert moe.number_format == '"±"0.0" pts"'
    assert moe.value == pytest.approx(100 * float(tables.methodology["moe_95"].iloc[0]))
    assert first["Weighting"].value == tables.methodology["weighting_en"].iloc[0]
    assert first["Weighting"].value.startswith("Raking of the design weights")
    assert first["Sampling design"].value.endswith(
        "primary sampling units (clusters): Enumeration area (PSU)."
    )


def test_french_workbook_uses_french_labels(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It writes the workbook in French: sheet names, headers, domains and footnotes."""
    write_exports(tables, tmp_path, run_id="fr", labels=labels)
    book = openpyxl.load_workbook(tmp_path / "latest" / "indicators_fr.xlsx")
    assert book.sheetnames == ["Statut", *SHEETS_FR.values(), "Méthodologie", "Facteurs"]
    domains = {row[2].value for row in book[SHEETS_FR["inclusion"]].iter_rows(min_row=4)}
    assert "Femmes" in domains
    assert str(book[SHEETS_FR["inclusion"]]["A2"].value).startswith("Critère à moyen terme.")
    assert _header(book[SHEETS_FR["inclusion"]])[0] == "Indicateur"
    method = book["Méthodologie"]
    first = dict(zip([c.value for c in method[3]], method[4], strict=True))
    assert first["Plan de sondage"].value.startswith("Erreurs types par linéarisation")
    assert first["Pondération"].value == tables.methodology["weighting_fr"].iloc[0]
    assert first["Pondération"].value.startswith("Calage sur marges")
    assert first["Mode de collecte"].value == "entretiens en face à face"
    assert first["Marge d'erreur (95\u202f%, ±)"].number_format == '"±"0.0" pts"'


def test_text_starting_with_equals_stays_text(tables: PublishedTables, tmp_path: Path) -> None:
    """It never turns a label into a formula."""
    labels = _labels(incl_index={"en": "=SUM(A1:A9)", "fr": "=SOMME(A1:A9)"})
    write_exports(tables, tmp_path, run_id="eq", labels=labels)
    book = openpyxl.load_workbook(tmp_path / "latest" / "indicators.xlsx")
    rows = book[SHEETS["inclusion"]].iter_rows(min_row=4)
    cells = [r[0] for r in rows if r[0].value == "=SUM(A1:A9)"]
    assert cells and all(c.data_type == "s" for c in cells)


# --------------------------------------------------------------------------- latest swap


def test_a_new_run_replaces_latest(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It replaces latest/ with the new run's files and leaves no temporary folder."""
    write_exports(tables, tmp_path, run_id="first", labels=labels)
    fewer = PublishedTables(
        tables.estimates[tables.estimates["wave"] != "w3"].reset_index(drop=True),
        tables.trends[tables.trends["wave"] != "w3"].reset_index(drop=True),
        tables.status.assign(latest_wave="w2"),
        tables.methodology,
    )
    write_exports(fewer, tmp_path, run_id="second", labels=labels)
    latest = tmp_path / "latest"
    for name in EXPORT_FILES:
        assert (latest / name).read_bytes() == (tmp_path / "runs" / "second" / name).read_bytes()
    assert "w3" not in set(pd.read_parquet(latest / "indicators.parquet")["wave"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "runs"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["first", "second"]


def test_a_failed_run_leaves_latest_intact(
    exported: Path, tables: PublishedTables, tmp_path: Path
) -> None:
    """It keeps the previous latest/ and writes no run folder when a writer fails mid-run."""
    root = tmp_path / "exports"
    labels = _labels()
    write_exports(tables, root, run_id="good", labels=labels)
    before = {p.name: p.read_bytes() for p in (root / "latest").iterdir()}
    # A control character cannot go into an Excel cell: the xlsx writer fails after the CSV,
    # Parquet and DuckDB files of the run were written.
    broken = _labels(incl_index={"en": "Index\x07", "fr": "Indice\x07"})
    with pytest.raises(ConfigError, match="Excel"):
        write_exports(tables, root, run_id="bad", labels=broken)
    after = {p.name: p.read_bytes() for p in (root / "latest").iterdir()}
    assert after == before
    assert sorted(p.name for p in root.iterdir()) == ["latest", "runs"]
    assert [p.name for p in (root / "runs").iterdir()] == ["good"]


def test_rerunning_a_run_id_replaces_its_folder(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It replaces runs/<run_id>/ when the same run id is written again."""
    write_exports(tables, tmp_path, run_id="same", labels=labels)
    (tmp_path / "runs" / "same" / "stray.txt").write_text("left over")
    write_exports(tables, tmp_path, run_id="same", labels=labels)
    assert sorted(p.name for p in (tmp_path / "runs" / "same").iterdir()) == sorted(EXPORT_FILES)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["same"]


# --------------------------------------------------------------------------- refusals


def _replace(tables: PublishedTables, **changes: pd.DataFrame) -> PublishedTables:
    """Return the tables with some replaced."""
    fields = {
        "estimates": tables.estimates,
        "trends": tables.trends,
        "status": tables.status,
        "methodology": tables.methodology,
        "drivers": tables.drivers,
    }
    return PublishedTables(**(fields | changes))


def _refused(tables: PublishedTables, root: Path, match: str) -> None:
    """Check that exporting the tables raises ValidationError and writes nothing."""
    with pytest.raises(ValidationError, match=match):
        write_exports(tables, root, run_id="refused", labels=_labels())
    assert not root.exists() or not any(root.rglob("*.*"))


def test_refuses_respondent_level_columns(tables: PublishedTables, tmp_path: Path) -> None:
    """It refuses a table with a respondent_id column and writes nothing."""
    leaky = tables.estimates.assign(respondent_id="R0001")
    _refused(_replace(tables, estimates=leaky), tmp_path, "outside its published contract")


def test_refuses_respondent_level_rows(tables: PublishedTables, tmp_path: Path) -> None:
    """It refuses a table whose rows repeat a key, as respondent-level rows would."""
    doubled = pd.concat([tables.estimates, tables.estimates], ignore_index=True)
    _refused(_replace(tables, estimates=doubled), tmp_path, "repeats rows")


def test_refuses_tables_without_disclosure_columns(tables: PublishedTables, tmp_path: Path) -> None:
    """It refuses Table 1 or 2 that has not been through disclosure control."""
    raw = tables.trends.drop(columns=["suppressed", "flagged", "disclosure"])
    _refused(_replace(tables, trends=raw), tmp_path, "disclosure control")


def test_refuses_a_suppressed_row_with_a_value(tables: PublishedTables, tmp_path: Path) -> None:
    """It refuses Table 1 when a suppressed row still shows its estimate."""
    leaky = tables.estimates.copy()
    first = leaky.index[leaky["suppressed"] & (leaky["availability"] == "estimated")][0]
    leaky.loc[first, "estimate"] = 0.5
    _refused(_replace(tables, estimates=leaky), tmp_path, "suppressed rows")


def test_refuses_a_status_that_shows_a_suppressed_estimate(
    tables: PublishedTables, tmp_path: Path
) -> None:
    """It refuses a status row whose national estimate Table 1 suppresses."""
    e = tables.estimates.copy()
    national = (
        (e["indicator"] == "incl_feel_included")
        & (e["variant"] == "all")
        & (e["domain_set"] == "national")
        & (e["wave"] == "w3")
    )
    e.loc[national, ["estimate", "se", "ci_low", "ci_high", "deff"]] = np.nan
    e.loc[national, ["n_weighted", "n_eff", "dk_share"]] = np.nan
    e.loc[national, "suppressed"] = True
    _refused(_replace(tables, estimates=e), tmp_path, "disclosure control suppressed")


def test_refuses_wrong_dtypes_values_and_mixed_surveys(
    tables: PublishedTables, tmp_path: Path
) -> None:
    """It refuses a float domain column, an unknown status word and tables from two surveys."""
    floats = tables.estimates.astype({"gender": "float64"})
    _refused(_replace(tables, estimates=floats), tmp_path / "a", "wrong type")
    unknown = tables.status.assign(status="great")
    _refused(_replace(tables, status=unknown), tmp_path / "c", "unknown values")
    other = tables.status.assign(survey="other")
    _refused(_replace(tables, status=other), tmp_path / "b", "mix surveys")


def test_refuses_a_run_id_that_is_not_a_folder_name(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It refuses a run id with a path separator."""
    with pytest.raises(ConfigError, match="run id"):
        write_exports(tables, tmp_path, run_id="../escape", labels=labels)


def test_refuses_an_unlabelled_indicator(tables: PublishedTables, tmp_path: Path) -> None:
    """It refuses to write a workbook when an indicator has no label."""
    labels = _labels()
    bare = ExportLabels(
        survey=labels.survey,
        indicators={k: v for k, v in labels.indicators.items() if k != "incl_index"},
        benchmarks=labels.benchmarks,
        variables=labels.variables,
        codes=labels.codes,
    )
    with pytest.raises(ConfigError, match="indicators"):
        write_exports(tables, tmp_path, run_id="x", labels=bare)


# --------------------------------------------------------------------------- drivers


def _drivers_rows(sheet: Worksheet) -> list[dict[str, object]]:
    """Return the drivers sheet's table rows as dictionaries keyed by header."""
    header = _header(sheet)
    rows = []
    for row in sheet.iter_rows(min_row=4, max_col=len(header)):
        if row[1].value is None:  # the footnotes under the table
            break
        rows.append({str(h): c for h, c in zip(header, row, strict=True)})
    return rows


def test_drivers_csv_and_parquet_round_trip(exported: Path, tables: PublishedTables) -> None:
    """It writes the drivers table as CSV (with a BOM) and Parquet that read back equal."""
    raw = (exported / "latest" / "drivers.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text_columns = [c for c, t in DRIVER_DTYPES.items() if t == "str"]
    back = pd.read_csv(
        exported / "latest" / "drivers.csv",
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values={c: [""] for c in DRIVER_DTYPES if c not in text_columns},
        dtype={c: "str" for c in text_columns},
    )
    _assert_published(back, DRIVER_DTYPES, (), tables.drivers)
    parquet = pd.read_parquet(exported / "latest" / "drivers.parquet")
    _assert_published(parquet, DRIVER_DTYPES, (), tables.drivers)


def test_drivers_table_has_the_contract_columns_and_keys(exported: Path) -> None:
    """Its columns, order and SQL types are the contract's; one row per wave, driver and level."""
    parquet = pd.read_parquet(exported / "latest" / "drivers.parquet")[list(DRIVER_DTYPES)]
    assert {c: str(t) for c, t in parquet.dtypes.items()} == DRIVER_DTYPES
    assert not parquet.duplicated(["survey", "wave", "indicator", "driver", "level"]).any()
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        types = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'indicator_drivers' ORDER BY ordinal_position"
        ).fetchall()
    sql = {"str": "VARCHAR", "float64": "DOUBLE", "Int64": "BIGINT", "bool": "BOOLEAN"}
    assert [t for t in types if t[0] in DRIVER_DTYPES] == [
        (c, sql[t]) for c, t in DRIVER_DTYPES.items()
    ]


def test_no_suppressed_driver_level_shows_a_value(
    exported: Path, tables: PublishedTables, workbook: openpyxl.Workbook
) -> None:
    """Levels under 25 respondents are blank in every file and * in the sheet."""
    d = tables.drivers
    small = (d["n_level"] < 25) | (d["n_reference"] < 25)
    assert int(small.sum()) == 3 and d.loc[small, "suppressed"].all()
    with duckdb.connect(str(exported / "latest" / "indicators.duckdb"), read_only=True) as con:
        database = con.table("indicator_drivers").df()
    csv = pd.read_csv(exported / "latest" / "drivers.csv", encoding="utf-8-sig")
    parquet = pd.read_parquet(exported / "latest" / "drivers.parquet")
    for table in (database, csv, parquet):
        hidden = table[table["suppressed"].astype(bool)]
        assert len(hidden) == 3
        assert hidden[DRIVER_VALUES].isna().all(axis=None)
        assert (table.loc[~table["suppressed"].astype(bool), "n_level"] >= 25).all()
    rows = _drivers_rows(workbook["Drivers"])
    assert len(rows) == len(d)
    starred = [r for r in rows if r["Difference (marginal effect)"].value == "*"]
    assert len(starred) == 3
    for row in starred:
        for header in ("95% CI low", "95% CI high", "p-value", "Factor p-value"):
            assert row[header].value == "*"
        assert isinstance(row["n (group)"].value, int) and row["n (group)"].value < 25
    shown = [r for r in rows if r["Difference (marginal effect)"].value != "*"]
    assert all(isinstance(r["Difference (marginal effect)"].value, float) for r in shown)


def test_drivers_sheet_shows_labelled_effects_in_percentage_points(
    workbook: openpyxl.Workbook, tables: PublishedTables
) -> None:
    """It labels factors, groups and references, keeps effects in pp and flags the pool."""
    sheet = workbook["Drivers"]
    assert sheet.freeze_panes == "E4"
    assert str(sheet["A2"].value).endswith("Associations, not causes.")
    rows = _drivers_rows(sheet)
    d = tables.drivers
    source = d[(d["wave"] == "w2") & (d["driver"] == "trust_mission") & (d["level"] == 4)].iloc[0]
    trust = next(
        r
        for r in rows
        if r["Wave"].value == "Wave 2 (November 2025)" and r["Group"].value == "A lot"
    )
    assert trust["Indicator"].value == INDICATORS["incl_feel_included"][4]
    assert trust["Factor"].value == "Trusts the UN mission"
    assert trust["Compared with"].value == "Not at all"
    effect = trust["Difference (marginal effect)"]
    assert effect.value == pytest.approx(source["estimate"]) and 15 < effect.value < 40
    assert effect.number_format.startswith('+0.0" pts"')
    assert trust["n (model)"].value == int(source["n"])
    pooled = [r for r in rows if str(r["Group"].value).startswith("Pooled: ")]
    assert len(pooled) == 2
    assert all(r["Difference (marginal effect)"].number_format.startswith("(") for r in pooled)
    assert all("pooled (Coastal Region" in str(r["Note"].value) for r in pooled)
    assert all(not str(r["Note"].value).startswith("Region : ") for r in pooled)
    notes = [str(r[0].value) for r in sheet.iter_rows() if r[0].value is not None]
    assert any("These are associations, not causes" in n for n in notes)


def test_french_drivers_sheet_uses_french_labels(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """It writes the drivers sheet in French: headers, factor, group and reference labels."""
    write_exports(tables, tmp_path, run_id="fr", labels=labels)
    sheet = openpyxl.load_workbook(tmp_path / "latest" / "indicators_fr.xlsx")["Facteurs"]
    header = _header(sheet)
    assert header[:5] == ["Indicateur", "Vague", "Facteur", "Groupe", "Par rapport à"]
    rows = _drivers_rows(sheet)
    assert {r["Facteur"].value for r in rows} >= {"Sexe", "Région", "Handicap"}
    assert "Regroupés\u202f: Région Côtière, Savane du Sud" in {r["Groupe"].value for r in rows}
    assert "Pas du tout" in {r["Par rapport à"].value for r in rows}
    assert any("regroupés (Région Côtière" in str(r["Remarque"].value) for r in rows)
    assert rows[0]["Indicateur"].value == INDICATORS["incl_feel_included"][5]
    notes = [str(r[0].value) for r in sheet.iter_rows() if r[0].value is not None]
    assert any("Ce sont des associations, pas des causes" in n for n in notes)


def test_refuses_a_drivers_table_that_leaks_or_skipped_disclosure(
    tables: PublishedTables, tmp_path: Path
) -> None:
    """It refuses a suppressed driver level with a value, and a table without disclosure."""
    leaky = tables.drivers.copy()
    leaky.loc[leaky.index[leaky["suppressed"]][0], "ci_high"] = 3.0
    _refused(_replace(tables, drivers=leaky), tmp_path / "leak", "suppressed rows")
    raw = tables.drivers.drop(columns=["suppressed", "flagged", "disclosure"])
    _refused(_replace(tables, drivers=raw), tmp_path / "raw", "disclosure control")
    extra = tables.drivers.assign(respondent_id="R0001")
    _refused(_replace(tables, drivers=extra), tmp_path / "extra", "outside its published")


def test_a_survey_without_drivers_exports_an_empty_drivers_table(
    tables: PublishedTables, labels: ExportLabels, tmp_path: Path
) -> None:
    """Without any indicator naming drivers, drivers.csv has the header only and no sheet."""
    none = PublishedTables(tables.estimates, tables.trends, tables.status, tables.methodology)
    write_exports(none, tmp_path, run_id="none", labels=labels)
    back = pd.read_parquet(tmp_path / "latest" / "drivers.parquet")
    assert back.empty and set(DRIVER_DTYPES) <= set(back.columns)
    book = openpyxl.load_workbook(tmp_path / "latest" / "indicators.xlsx")
    assert "Drivers" not in book.sheetnames


# --------------------------------------------------------------------------- methodology


def test_methodology_table_describes_each_wave(tables: PublishedTables) -> None:
    """It gives each wave's fieldwork, n, Kish deff, n_eff, margin of error and weighting."""
    method = tables.methodology
    assert list(method["wave"]) == list(WAVES)
    reports = _weight_reports()
    for w, wave in enumerate(WAVES):
        rng = np.random.default_rng(w)
        n = 600 + 50 * w
        rng.integers(1, 3, n)
        weights = rng.lognormal(0.0, 0.3 + 0.1 * w, n) * 1000
        deff = n * float(np.sum(weights**2)) / float(np.sum(weights)) ** 2
        row = method.iloc[w]
        assert row["n_respondents"] == n
        assert row["deff_kish"] == pytest.approx(deff, rel=1e-12)
        assert row["n_eff"] == pytest.approx(n / deff, rel=1e-12)
        assert row["moe_95"] == pytest.approx(1.96 * math.sqrt(0.25 * deff / n), rel=1e-12)
        assert reports[wave].iloc[0]["n"] == n
    first = method.iloc[0]
    assert first["fieldwork_start"] == pd.Timestamp("2025-03-03")
    assert first["fieldwork_end"] == pd.Timestamp("2025-03-24")
    assert first["source_file"] == "demo_w1_pollster.sav"
    assert first["generated_at"] == "2026-09-01T12:30:00Z"
    assert first["provider_en"] == first["provider_fr"] == "Horizon Research & Polling Ltd."
    assert first["interview_mode"] == "face_to_face"
    second = method.iloc[1]
    assert second["provider_fr"].startswith("Institut d'études sur la paix")
    assert second["provider_en"].startswith("Institute for Peace")
    english, french = first["weighting_en"], first["weighting_fr"]
    assert english.startswith("Raking of the design weights to population figures by ")
    assert "Gender, Age group, Region, Area of residence" in english
    assert "Sexe\u202f; Tranche d'âge\u202f; Région\u202f; Milieu de résidence" in french
    assert "5 × the median weight" in english and "5 × le poids médian" in french
    assert "variance by Taylor linearisation" in english
    assert "linéarisation de Taylor" in french
    assert "calibration converged" in english and "le calage a convergé" in french
    for text in (english, french, first["design_en"], first["design_fr"]):
        # written for people: no variable or file names, no scientific notation
        for name in ("age_band", "urban_rural", ": stratum", ": psu", ".yaml", ".csv", "e-"):
            assert name not in text, (name, text)
    assert "strata: Sampling stratum" in first["design_en"]
    assert "Zone de dénombrement (UPE)" in first["design_fr"]
    assert (method["suppress_below"] == 25).all() and (method["flag_below"] == 50).all()


def test_methodology_of_a_survey_without_targets_or_psu_ids() -> None:
    """It says the weights are used as delivered and, in EN and FR, what no PSU ids mean."""
    survey = load_survey(CONFIG / "survey.yaml")
    undelivered = WeightingConfig.model_validate(
        {"design": {"strata": "stratum"}, "base_weight": {"column": "base_weight"}}
    )
    method = methodology_table(
        survey,
        _weight_reports(),
        undelivered,
        catalogue=load_catalogue(CONFIG / "variables.yaml"),
        suppress_below=25,
        flag_below=50,
        generated_at=GENERATED_AT,
    )
    first = method.iloc[0]
    assert first["weighting_en"].startswith("Design weights used as delivered, without calibration")
    assert first["weighting_fr"].startswith("Poids de sondage utilisés tels que livrés")
    assert "calibration converged" not in first["weighting_en"]
    assert first["design_en"] == (
        "Taylor-linearised standard errors; strata: Sampling stratum; "
        + say("design.no_psu", "en")
        + "."
    )
    assert say("design.no_psu", "en") == (
        "no PSU ids were released: each respondent is treated as its own cluster within "
        "strata, which understates SEs if the sample is clustered"
    )
    assert first["design_fr"].endswith(say("design.no_psu", "fr") + ".")
    assert "sous-estime les erreurs types" in first["design_fr"]


def test_margin_of_error_of_a_simple_random_sample() -> None:
    """It gives the textbook ±3.1 points for n=1000 without a design effect."""
    assert margin_of_error(1000, 1.0) == pytest.approx(0.030990, abs=1e-6)


def test_methodology_refuses_an_unknown_wave() -> None:
    """It refuses a weighting report of a wave the survey does not have."""
    with pytest.raises(ConfigError, match="wave the survey does not have"):
        methodology_table(
            load_survey(CONFIG / "survey.yaml"),
            {"w9": _weight_reports()["w1"]},
            load_weighting_config(CONFIG / "weighting.yaml"),
            catalogue=load_catalogue(CONFIG / "variables.yaml"),
            suppress_below=25,
            flag_below=50,
            generated_at=GENERATED_AT,
        )
