"""Disclosure control: thresholds, NA values, gaps, complementary suppression and the audit."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.config import DisclosureRules, load_disclosure_rules
from perception.disclosure import (
    REASON_COMPLEMENTARY,
    REASON_SIDE,
    TREND_VALUE_COLUMNS,
    VALUE_COLUMNS,
    GapSides,
    apply_disclosure,
    apply_disclosure_trends,
    check_published,
)
from perception.errors import ConfigError, ValidationError
from perception.tables import ESTIMATES_TABLE

ROOT = Path(__file__).resolve().parents[1]
RULES = DisclosureRules()
PRIMARY_ONLY = DisclosureRules(complementary=False)
#: The demo survey's domain columns (config/variables.yaml `domains:`).
DOMAIN_COLUMNS = ("gender", "age_band", "youth", "region", "urban_rural")
GENDER_GAP = {"gap_incl_gender": GapSides(of="incl", by="gender", a=2, b=1)}
RECOVERY_TOLERANCE = 1e-9  # an exactly recovered estimate matches to rounding error

# --------------------------------------------------------------------------- table builder


@dataclass(frozen=True)
class Cell:
    """One domain's unweighted n, weighted n and estimate."""

    n: int
    weight: float
    estimate: float


def row(
    domain: Mapping[str, int],
    cell: Cell,
    *,
    indicator: str = "incl",
    wave: str = "w1",
    variant: str = "all",
    kind: str = "proportion",
    availability: str | None = None,
    sides: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Return one Table 1 row for ``domain`` (columns → codes) holding ``cell``.

    The availability defaults to "no_data" for an empty domain and "estimated" otherwise.
    """
    availability = availability or ("no_data" if cell.n == 0 else "estimated")
    shown = availability == "estimated"
    value = cell.estimate if shown else np.nan
    return {
        "survey": "demo",
        "wave": wave,
        "indicator": indicator,
        "variant": variant,
        "benchmark": "inclusion",
        "type": kind,
        "unit": "percent",
        "domain_set": "×".join(domain) or "national",
        **{c: domain.get(c, pd.NA) for c in DOMAIN_COLUMNS},
        "estimate": value,
        "se": 0.05 if shown else np.nan,
        "ci_low": value - 0.1,
        "ci_high": value + 0.1,
        "df": 30.0,
        "deff": 1.4 if shown else np.nan,
        "n": cell.n if availability != "not_asked" else pd.NA,
        "n_weighted": cell.weight if shown else np.nan,
        "n_eff": cell.n / 1.4 if shown else np.nan,
        "dk_share": 0.03 if shown else np.nan,
        "n_refused": 1,
        "availability": availability,
        "n_a": sides[0] if sides else pd.NA,
        "n_b": sides[1] if sides else pd.NA,
    }


def table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Build Table 1 with the contract's column order and dtypes (perception.tables)."""
    dtypes = ESTIMATES_TABLE.dtypes(DOMAIN_COLUMNS, published=False)
    return pd.DataFrame(list(rows), columns=list(dtypes)).astype(dtypes)


def pooled(cells: Sequence[Cell]) -> Cell:
    """Return the domain made of ``cells``: n and weights add, the estimate is weighted."""
    weight = sum(c.weight for c in cells)
    estimate = sum(c.weight * c.estimate for c in cells) / weight if weight else np.nan
    return Cell(sum(c.n for c in cells), weight, estimate)


def breakdown(
    atoms: Mapping[tuple[int, ...], Cell], columns: Sequence[str], **options: Any
) -> list[dict[str, Any]]:
    """Return the rows of every margin of a cross-classification (national to the full cross)."""
    rows = []
    for size in range(len(columns) + 1):
        for used in itertools.combinations(range(len(columns)), size):
            margins: dict[tuple[int, ...], list[Cell]] = {}
            for codes, cell in atoms.items():
                margins.setdefault(tuple(codes[i] for i in used), []).append(cell)
            for key, cells in margins.items():
                domain = {columns[i]: code for i, code in zip(used, key, strict=True)}
                rows.append(row(domain, pooled(cells), **options))
    return rows


def regions(*counts: int) -> dict[tuple[int, ...], Cell]:
    """Return one region cell per count, with distinct weights and estimates."""
    return {(r + 1,): Cell(n, n * (1.0 + 0.1 * r), 0.2 + 0.1 * r) for r, n in enumerate(counts)}


def crossed(counts: Mapping[tuple[int, int], int]) -> dict[tuple[int, ...], Cell]:
    """Return gender × region cells with the given counts."""
    return {
        key: Cell(n, n * (0.8 + 0.07 * i), 0.15 + 0.05 * i)
        for i, (key, n) in enumerate(counts.items())
    }


# --------------------------------------------------------------------------- an attacker


def attack(published: pd.DataFrame) -> dict[int, float]:
    """Recover hidden estimates as an analyst would, with nothing but the published table.

    For every parent cell and every finer breakdown agreeing with it, weighted total and weight
    of the parent equal the sums over its children. Whenever exactly one term of such an
    identity is unknown, solve for it; repeat until nothing new is found. Returns the recovered
    estimate of each hidden row (position → value).
    """
    records = published.reset_index(drop=True).to_dict("records")
    total: dict[int, float] = {}
    weight: dict[int, float] = {}
    domain: dict[int, dict[str, int]] = {}
    for p, r in enumerate(records):
        if r["type"] != "gap" and r["n"] > 0:
            domain[p] = {c: r[c] for c in DOMAIN_COLUMNS if not pd.isna(r[c])}
        if not (np.isnan(r["estimate"]) or np.isnan(r["n_weighted"])):
            total[p], weight[p] = r["n_weighted"] * r["estimate"], r["n_weighted"]
    group = {p: (r["wave"], r["indicator"], r["variant"]) for p, r in enumerate(records)}
    # The rows of each (group, breakdown), in table order: the candidate children of a parent.
    rows: dict[tuple[tuple[Any, ...], frozenset[str]], list[int]] = {}
    for p, d in domain.items():
        rows.setdefault((group[p], frozenset(d)), []).append(p)
    breakdowns = list(dict.fromkeys(frozenset(d) for d in domain.values()))
    identities = []
    for parent, scope in domain.items():
        for finer in {b for b in breakdowns if set(scope) < b}:
            children = [
                p
                for p in rows.get((group[parent], finer), [])
                if all(domain[p][c] == v for c, v in scope.items())
            ]
            identities.append((parent, children))
    recovered: dict[int, float] = {}
    found = True
    while found:
        found = False
        for parent, children in identities:
            unknown = [p for p in (parent, *children) if p not in total]
            if len(unknown) != 1:
                continue
            (target,) = unknown
            sign = 1.0 if target == parent else -1.0
            known_total = total.get(parent, 0.0) - sum(total.get(c, 0.0) for c in children)
            known_weight = weight.get(parent, 0.0) - sum(weight.get(c, 0.0) for c in children)
            total[target] = -sign * known_total
            weight[target] = -sign * known_weight
            recovered[target] = total[target] / weight[target]
            found = True
    return recovered


# --------------------------------------------------------------------------- primary rule


@pytest.mark.parametrize(
    ("n", "suppressed", "flagged", "reason"),
    [
        (24, True, False, "suppressed: n<25"),
        (25, False, True, "flagged: 25<=n<50"),
        (49, False, True, "flagged: 25<=n<50"),
        (50, False, False, ""),
    ],
)
def test_threshold_boundaries(n: int, suppressed: bool, flagged: bool, reason: str) -> None:
    """It hides n < 25, shows and flags 25 <= n < 50, and leaves n >= 50 alone."""
    published = apply_disclosure(table(breakdown(regions(n, 300, 400), ["region"])), PRIMARY_ONLY)
    cell = published[published["region"] == 1].iloc[0]
    assert (cell["suppressed"], cell["flagged"], cell["disclosure"]) == (
        suppressed,
        flagged,
        reason,
    )


def test_reasons_follow_configured_thresholds() -> None:
    """It writes the configured thresholds into the reasons."""
    rules = DisclosureRules(suppress_below=10, flag_below=30, complementary=False)
    published = apply_disclosure(table(breakdown(regions(9, 10, 30), ["region"])), rules)
    by_region = published.set_index("region")["disclosure"]
    assert by_region.loc[[1, 2, 3]].tolist() == ["suppressed: n<10", "flagged: 10<=n<30", ""]


def test_suppressed_rows_lose_every_value_but_keep_n() -> None:
    """It sets every value column to NA on suppressed rows, keeps n, and leaves others intact."""
    estimates = table(breakdown(regions(12, 300, 400), ["region"]))
    published = apply_disclosure(estimates, PRIMARY_ONLY)
    hidden = published["suppressed"].to_numpy(dtype=bool)
    assert hidden.sum() == 1
    assert published.loc[hidden, list(VALUE_COLUMNS)].isna().all(axis=None)
    assert published["n"].equals(estimates["n"])
    pd.testing.assert_frame_equal(published.loc[~hidden, estimates.columns], estimates[~hidden])


def test_output_keeps_columns_and_dtypes() -> None:
    """It keeps the contract columns in order with their dtypes and appends the three columns."""
    estimates = table(breakdown(regions(12, 30, 400), ["region"]))
    published = apply_disclosure(estimates, RULES)
    assert list(published.columns) == [*estimates.columns, "suppressed", "flagged", "disclosure"]
    assert published.dtypes.iloc[: estimates.shape[1]].equals(estimates.dtypes)
    assert published["suppressed"].dtype == bool and published["flagged"].dtype == bool
    assert published["disclosure"].dtype == "str"


def test_not_asked_and_empty_domains() -> None:
    """It leaves "not asked" rows unmarked, and an empty domain hides nothing else."""
    rows = breakdown(regions(0, 300, 400), ["region"])
    rows.append(row({}, Cell(0, 0.0, 0.0), indicator="other", availability="not_asked"))
    published = apply_disclosure(table(rows), RULES)
    assert published["disclosure"].tolist() == ["", "suppressed: n<25", "", "", ""]


def test_complementary_off_hides_only_small_cells() -> None:
    """With complementary: false only the small cell is hidden, and the attacker recovers it."""
    estimates = table(breakdown(regions(10, 30, 80, 200), ["region"]))
    published = apply_disclosure(estimates, PRIMARY_ONLY)
    assert published["suppressed"].sum() == 1
    ((position, value),) = attack(published).items()
    assert value == pytest.approx(estimates.at[position, "estimate"], rel=RECOVERY_TOLERANCE)


def test_complementary_hides_next_smallest_sibling() -> None:
    """It hides the smallest published sibling when one region alone is hidden."""
    published = apply_disclosure(table(breakdown(regions(10, 80, 30, 200), ["region"])), RULES)
    hidden = published[published["suppressed"]].set_index("region")["disclosure"]
    assert hidden.to_dict() == {1: "suppressed: n<25", 3: REASON_COMPLEMENTARY}
    assert attack(published) == {}
    assert check_published(published) == []


def test_crossed_table_cascades_into_a_rectangle() -> None:
    """One small gender × region cell hides the four corners of a rectangle, none recoverable."""
    counts = {(1, 1): 60, (2, 1): 10, (1, 2): 80, (2, 2): 70, (1, 3): 90, (2, 3): 100}
    estimates = table(breakdown(crossed(counts), ["gender", "region"]))
    published = apply_disclosure(estimates, RULES)
    cells = published[published["domain_set"] == "gender×region"]
    hidden = cells[cells["suppressed"]]
    assert len(hidden) == 4
    assert hidden["gender"].nunique() == 2 and hidden["region"].nunique() == 2
    assert not published.loc[published["domain_set"] != "gender×region", "suppressed"].any()
    assert attack(published) == {}
    assert check_published(published) == []


# --------------------------------------------------------------------------- property tests

counts_1d = st.lists(st.integers(min_value=1, max_value=150), min_size=2, max_size=6)
counts_2d = st.integers(min_value=2, max_value=5).flatmap(
    lambda r: st.lists(st.integers(min_value=1, max_value=120), min_size=2 * r, max_size=2 * r)
)
estimates_st = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _check_no_recovery(estimates: pd.DataFrame) -> None:
    """Assert the attacker recovers exactly what primary suppression leaks, and nothing after."""
    naive = apply_disclosure(estimates, PRIMARY_ONLY)
    for position, value in attack(naive).items():
        assert value == pytest.approx(estimates.at[position, "estimate"], abs=RECOVERY_TOLERANCE)
    published = apply_disclosure(estimates, RULES)
    small = (published["n"] < RULES.suppress_below).to_numpy(dtype=bool)
    assert published.loc[small, "suppressed"].all()
    assert attack(published) == {}
    assert check_published(published) == []


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=counts_1d, data=st.data())
def test_one_way_breakdown_never_recoverable(counts: list[int], data: st.DataObject) -> None:
    """After disclosure no hidden region estimate follows from national and sibling estimates."""
    values = data.draw(st.lists(estimates_st, min_size=len(counts), max_size=len(counts)))
    weights = data.draw(st.lists(st.floats(0.3, 3.0), min_size=len(counts), max_size=len(counts)))
    atoms = {
        (r + 1,): Cell(n, n * w, v)
        for r, (n, w, v) in enumerate(zip(counts, weights, values, strict=True))
    }
    _check_no_recovery(table(breakdown(atoms, ["region"])))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=counts_2d, data=st.data())
def test_crossed_breakdown_never_recoverable(counts: list[int], data: st.DataObject) -> None:
    """After disclosure no hidden gender × region cell follows from the row and column totals."""
    values = data.draw(st.lists(estimates_st, min_size=len(counts), max_size=len(counts)))
    keys = [(g, r) for r in range(1, len(counts) // 2 + 1) for g in (1, 2)]
    atoms = {
        key: Cell(n, n * (0.5 + (i % 3) * 0.4), v)
        for i, (key, n, v) in enumerate(zip(keys, counts, values, strict=True))
    }
    _check_no_recovery(table(breakdown(atoms, ["gender", "region"])))


# --------------------------------------------------------------------------- gaps


def _gap_table() -> pd.DataFrame:
    """Return gender × region cells of ``incl`` and the gender gap within each region."""
    counts = {(1, 1): 60, (2, 1): 10, (1, 2): 80, (2, 2): 70, (1, 3): 90, (2, 3): 100}
    atoms = crossed(counts)
    rows = breakdown(atoms, ["gender", "region"])
    for region in (1, 2, 3):
        women, men = atoms[(2, region)], atoms[(1, region)]
        gap = Cell(min(women.n, men.n), np.nan, women.estimate - men.estimate)
        rows.append(
            row(
                {"region": region},
                gap,
                indicator="gap_incl_gender",
                kind="gap",
                sides=(women.n, men.n),
            )
        )
    return table(rows)


def test_gap_hidden_when_a_side_is_hidden() -> None:
    """It hides a gap exactly when one of its sides is hidden, small or complementary."""
    published = apply_disclosure(_gap_table(), RULES, gaps=GENDER_GAP)
    cells = published[published["domain_set"] == "gender×region"].set_index(["region", "gender"])
    gaps = published[published["type"] == "gap"].set_index("region")
    for region in (1, 2, 3):
        side_hidden = cells.loc[(region, 1), "suppressed"] or cells.loc[(region, 2), "suppressed"]
        assert gaps.at[region, "suppressed"] == side_hidden
    assert gaps.at[1, "disclosure"] == "suppressed: n<25"
    assert REASON_SIDE in gaps["disclosure"].tolist()
    assert check_published(published, gaps=GENDER_GAP) == []


def test_gap_without_definition_is_hidden_conservatively() -> None:
    """Without gap definitions it hides at least every gap the exact definition hides."""
    exact = apply_disclosure(_gap_table(), RULES, gaps=GENDER_GAP)["suppressed"]
    conservative = apply_disclosure(_gap_table(), RULES)["suppressed"]
    assert (conservative | ~exact).all()


def test_gap_with_small_side_n_is_hidden() -> None:
    """It hides a gap whose n_a is below the threshold even when n itself is not."""
    rows = [row({}, Cell(400, 400.0, 0.1), indicator="gap_x", kind="gap", sides=(20, 400))]
    published = apply_disclosure(table(rows), RULES)
    assert published["disclosure"].tolist() == ["suppressed: n<25"]


# --------------------------------------------------------------------------- trends


def _trend_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """Return Table 2: the change w2 − w1 of every domain of ``estimates``."""
    first = estimates[estimates["wave"] == "w1"].reset_index(drop=True)
    second = estimates[estimates["wave"] == "w2"].reset_index(drop=True)
    keep = ["survey", "indicator", "variant", "benchmark", "type", "unit", "domain_set"]
    out = first[[*keep, *DOMAIN_COLUMNS]].copy()
    out.insert(len(keep) + 5, "comparison", "previous")
    out["wave"], out["reference_wave"] = "w2", "w1"
    change = second["estimate"] - first["estimate"]
    out["estimate"], out["se"] = change, 0.02
    out["ci_low"], out["ci_high"], out["df"] = change - 0.04, change + 0.04, 30.0
    out["p_value"], out["p_adjusted"] = 0.01, 0.02
    out["significant"] = True
    out["direction"] = "improving"
    out["n"] = np.minimum(first["n"], second["n"]).astype("Int64")
    out["n_a"], out["n_b"] = second["n"], first["n"]
    return out.astype({"comparison": "str", "wave": "str", "reference_wave": "str"})


def _two_waves() -> pd.DataFrame:
    """Return Table 1 for two waves whose small regions differ."""
    return table(
        breakdown(regions(10, 30, 80, 200), ["region"], wave="w1")
        + breakdown(regions(300, 90, 40, 200), ["region"], wave="w2")
    )


def test_change_hidden_when_a_side_is_hidden() -> None:
    """It hides a change when either wave's estimate is hidden, and carries flags over."""
    published = apply_disclosure(_two_waves(), RULES)
    trends = apply_disclosure_trends(_trend_rows(_two_waves()), published, RULES)
    sides = published.set_index(["wave", "domain_set", "region"])
    for _, change in trends.iterrows():
        key = (change["domain_set"], change["region"])
        hidden = sides.loc[("w1", *key), "suppressed"] or sides.loc[("w2", *key), "suppressed"]
        flag = sides.loc[("w1", *key), "flagged"] or sides.loc[("w2", *key), "flagged"]
        assert change["suppressed"] == hidden
        assert change["flagged"] == (flag and not hidden)
        assert change["disclosure"] == (
            REASON_SIDE if hidden else "flagged: 25<=n<50" if flag else ""
        )
    hidden_rows = trends[trends["suppressed"]]
    assert len(hidden_rows) == 2
    assert hidden_rows[list(TREND_VALUE_COLUMNS)].isna().all(axis=None)
    assert not hidden_rows["significant"].any() and hidden_rows["direction"].isna().all()
    assert check_published(trends, estimates=published) == []


def test_change_without_side_is_rejected() -> None:
    """It rejects a change whose reference wave is missing from Table 1."""
    published = apply_disclosure(_two_waves(), RULES)
    trends = _trend_rows(_two_waves()).assign(reference_wave="w0")
    with pytest.raises(ValidationError, match="not in the published estimates") as caught:
        apply_disclosure_trends(trends, published, RULES)
    assert caught.value.rows == list(range(len(trends)))


# --------------------------------------------------------------------------- the audit


def test_audit_recovers_value_of_a_leaky_table() -> None:
    """It reports a hidden region whose estimate follows from national and the other regions."""
    estimates = table(breakdown(regions(10, 30, 80), ["region"]))
    leaky = estimates.assign(suppressed=False, flagged=False, disclosure="")
    leaky.loc[1, list(VALUE_COLUMNS)] = np.nan
    leaky.loc[1, ["suppressed", "disclosure"]] = [True, "suppressed: n<25"]
    leaky.loc[2, ["flagged", "disclosure"]] = [True, "flagged: 25<=n<50"]
    (problem,) = check_published(leaky)
    assert problem.startswith("row 1 (demo/w1/incl/all region=1)")
    assert f"recovered {estimates.at[1, 'estimate']:.6g}" in problem


def test_audit_recovers_through_a_chain_in_a_crossed_table() -> None:
    """It reports hidden cells an analyst recovers only by chaining row and column identities."""
    counts = {(1, 1): 60, (2, 1): 10, (1, 2): 80, (2, 2): 70}
    estimates = table(breakdown(crossed(counts), ["gender", "region"]))
    leaky = estimates.assign(suppressed=False, flagged=False, disclosure="")
    corner = (leaky["domain_set"] == "gender×region") & (leaky["region"] == 1)
    hidden = corner | ((leaky["domain_set"] == "region") & (leaky["region"] == 1))
    leaky.loc[hidden, list(VALUE_COLUMNS)] = np.nan
    leaky.loc[hidden, ["suppressed", "disclosure"]] = [True, REASON_COMPLEMENTARY]
    problems = check_published(leaky)
    assert len(problems) == int(hidden.sum()) == len(attack(leaky))


def test_audit_catches_small_cell_shown_and_missing_flag() -> None:
    """It reports a small cell shown, a suppressed row with a value, and a missing flag."""
    estimates = table(breakdown(regions(10, 30, 80), ["region"]))
    bad = estimates.assign(suppressed=False, flagged=False, disclosure="")
    bad.loc[3, "suppressed"] = True
    problems = check_published(bad)
    assert "rows 1: n < 25 with a value shown" in problems
    assert "rows 3: marked suppressed with a value shown" in problems
    assert "rows 2: 25 <= n < 50 shown without a flag" in problems


def test_audit_catches_gap_and_change_with_hidden_side() -> None:
    """It reports a gap and a change shown while a side is hidden."""
    published = apply_disclosure(_gap_table(), RULES, gaps=GENDER_GAP)
    leaky = _gap_table().assign(
        suppressed=published["suppressed"], flagged=published["flagged"], disclosure=""
    )
    cells = published["suppressed"] & (published["type"] != "gap")
    leaky.loc[cells, list(VALUE_COLUMNS)] = np.nan
    problems = check_published(leaky, gaps=GENDER_GAP)
    assert any("gap shown while one of its sides is hidden" in p for p in problems)
    assert any("gap shown with a side n < 25" in p for p in problems)
    waves = apply_disclosure(_two_waves(), RULES)
    trends = _trend_rows(_two_waves()).assign(suppressed=False, flagged=True, disclosure="")
    assert any("change shown while" in p for p in check_published(trends, estimates=waves))


def test_audit_rejects_unpublished_table() -> None:
    """It reports a table that never went through disclosure control."""
    (problem,) = check_published(table(breakdown(regions(100, 200), ["region"])))
    assert problem.startswith("missing column(s) suppressed, flagged, disclosure")


# --------------------------------------------------------------------------- bad input


def test_rejects_missing_column() -> None:
    """It names a missing contract column."""
    estimates = table(breakdown(regions(100, 200), ["region"])).drop(columns="n_weighted")
    with pytest.raises(ValidationError, match="lacks required columns") as caught:
        apply_disclosure(estimates, RULES)
    assert caught.value.column == "n_weighted"


def test_rejects_second_application() -> None:
    """It refuses a table that already carries disclosure columns."""
    published = apply_disclosure(table(breakdown(regions(100, 200), ["region"])), RULES)
    with pytest.raises(ValidationError, match="applied twice"):
        apply_disclosure(published, RULES)


def test_rejects_unknown_domain_set_and_missing_n() -> None:
    """It names an unknown domain set and an estimated row without n, with their rows."""
    estimates = table(breakdown(regions(100, 200), ["region"]))
    renamed = estimates.assign(domain_set=estimates["domain_set"].replace("region", "province"))
    with pytest.raises(ValidationError, match="Unknown domain set") as caught:
        apply_disclosure(renamed, RULES)
    assert caught.value.rows == [1, 2]
    blank = estimates.copy()
    blank.loc[2, "n"] = pd.NA
    with pytest.raises(ValidationError, match="without an unweighted denominator") as caught:
        apply_disclosure(blank, RULES)
    assert caught.value.rows == [2]


# --------------------------------------------------------------------------- configuration


def test_shipped_config_holds_the_defaults() -> None:
    """The shipped config/disclosure.yaml loads and equals the DHS/MICS defaults."""
    assert load_disclosure_rules(ROOT / "config" / "disclosure.yaml") == DisclosureRules()
    assert (RULES.suppress_below, RULES.flag_below, RULES.complementary) == (25, 50, True)


def test_config_defaults_fill_absent_keys(tmp_path: Path) -> None:
    """It fills keys left out of the file with their defaults."""
    file = tmp_path / "disclosure.yaml"
    file.write_text("suppress_below: 30\n", encoding="utf-8")
    assert load_disclosure_rules(file) == DisclosureRules(suppress_below=30)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("supress_below: 25\n", "supress_below", "suppress_below"),
        ("suppress_below: 0\n", "suppress_below", "greater than 0"),
        ("suppress_below: 2.5\n", "suppress_below", "integer"),
        ("suppress_below: 25\nflag_below: 20\n", "flag_below", "flag_below >= suppress_below"),
        ("complementary: yes\n", "complementary", "boolean"),
    ],
)
def test_config_errors_name_file_and_key(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """It turns each bad value into a ConfigError naming the file, the key and its line."""
    file = tmp_path / "disclosure.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_disclosure_rules(file)
    error = caught.value
    assert error.file == str(file)
    assert f"at {key} (line" in error.message
    assert expected in f"{error.expected} {error.hint}"


def test_config_flag_order_checked_in_python() -> None:
    """It rejects flag_below below suppress_below when the rules are built in code."""
    with pytest.raises(pydantic.ValidationError, match="flag_below"):
        DisclosureRules(suppress_below=40, flag_below=30)


def test_config_missing_file(tmp_path: Path) -> None:
    """It reports a missing configuration file."""
    with pytest.raises(ConfigError, match="not found"):
        load_disclosure_rules(tmp_path / "absent.yaml")


def test_dk_share_hidden_where_it_would_reveal_a_suppressed_excl_dk_cell() -> None:
    """Without complements dk_share goes, yet the shared numerator still leaks; lockstep ends it."""
    rows = [
        row({}, Cell(30, 0.4, 900.0), variant="all"),
        row({}, Cell(20, 0.5, 600.0), variant="excl_dk"),
    ]
    published = apply_disclosure(table(rows), PRIMARY_ONLY)
    all_row = published[published["variant"] == "all"].iloc[0]
    assert not all_row["suppressed"] and pd.notna(all_row["estimate"])
    assert pd.isna(all_row["dk_share"])
    (problem,) = check_published(published, PRIMARY_ONLY)
    assert "excl_dk national): hidden total recoverable" in problem
    leaky = published.copy()
    leaky.loc[leaky["variant"] == "all", "dk_share"] = 0.2
    assert any("dk_share" in p for p in check_published(leaky, PRIMARY_ONLY))
    joint = apply_disclosure(table(rows), RULES)
    assert joint["disclosure"].tolist() == [REASON_COMPLEMENTARY, "suppressed: n<25"]
    assert check_published(joint) == []
