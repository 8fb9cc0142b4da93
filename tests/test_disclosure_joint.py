"""Joint disclosure control: the audit equals a brute-force rank check, and suppression leaves none.

The brute force below is written from the published rows alone, without the library's layout or
solver: every identity a reader can write (all margins, not only the minimal ones), the variant
links through ``dk_share``, the published changes and gaps, and the product ``T = E W`` once a
factor is known; an unknown is recovered when its unit vector is a least-squares combination of the
equations' rows with zero residual.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from demo_project import DemoRun
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disclosure import DOMAIN_COLUMNS, Cell, attack, row, table

from perception.config import (
    DisclosureRules,
    IndicatorCatalogue,
    SurveyConfig,
    load_indicators,
    load_project,
)
from perception.disclosure import (
    GapSides,
    apply_disclosure,
    audit_published,
    publish_tables,
    recoverable,
)
from perception.flow import publish_indicators
from perception.status import survey_status

ROOT = Path(__file__).resolve().parents[1]
RULES = DisclosureRules()
GAP = {"gap": GapSides(of="incl", by="gender", a=2, b=1)}
WAVES = ("w1", "w2")
VARIANTS = ("all", "excl_dk")
SETS = ((), ("gender",), ("region",), ("gender", "region"))
T, W, E = 0, 1, 2

# --------------------------------------------------------------------------- random tables


def _atoms(
    draw: st.DrawFn, regions: int
) -> dict[tuple[str, int, int], tuple[int, int, float, float, float]]:
    """Draw each wave × gender × region atom: n valued, n don't know, their weights, the sum."""
    atoms = {}
    for wave, g, r in itertools.product(WAVES, (1, 2), range(1, regions + 1)):
        n = draw(st.integers(1, 90))
        dk = draw(st.integers(0, 3))
        w_valued = n * draw(st.floats(0.5, 2.0))
        w_dk = dk * draw(st.floats(0.5, 2.0))
        total = w_valued * draw(st.floats(0.05, 0.95))
        atoms[(wave, g, r)] = (n, dk, w_valued, w_dk, total)
    return atoms


def _truth(atoms: dict[tuple[str, int, int], tuple[int, int, float, float, float]]) -> pd.DataFrame:
    """Return Table 1 (both variants, every margin) and Table 2 (w2 − w1) of the atoms."""
    regions = max(r for _, _, r in atoms)
    rows: list[dict[str, Any]] = []
    for wave, variant, columns in itertools.product(WAVES, VARIANTS, SETS):
        levels = [(1, 2) if c == "gender" else range(1, regions + 1) for c in columns]
        for codes in itertools.product(*levels):
            domain = dict(zip(columns, codes, strict=True))
            parts = [
                a
                for (w, g, r), a in atoms.items()
                if w == wave and domain.get("gender", g) == g and domain.get("region", r) == r
            ]
            n_valued, n_dk = sum(p[0] for p in parts), sum(p[1] for p in parts)
            w_valued, w_dk = sum(p[2] for p in parts), sum(p[3] for p in parts)
            total = sum(p[4] for p in parts)
            all_ = variant == "all"
            weight = w_valued + w_dk if all_ else w_valued
            cell = Cell(n_valued + n_dk if all_ else n_valued, weight, total / weight)
            values = row(domain, cell, wave=wave, variant=variant)
            values["dk_share"] = w_dk / (w_valued + w_dk)
            rows.append(values)
    cells = table(rows)
    gaps = []
    for record in cells[cells["domain_set"].isin(["national", "region"])].to_dict("records"):
        same = (cells["wave"] == record["wave"]) & (cells["variant"] == record["variant"])
        same &= cells["domain_set"] == ("gender" if pd.isna(record["region"]) else "gender×region")
        if not pd.isna(record["region"]):
            same &= cells["region"] == record["region"]
        women, men = (
            cells[same & (cells["gender"] == 2)].iloc[0],
            cells[same & (cells["gender"] == 1)].iloc[0],
        )
        domain = {} if pd.isna(record["region"]) else {"region": int(record["region"])}
        gap = Cell(min(women["n"], men["n"]), np.nan, women["estimate"] - men["estimate"])
        gaps.append(
            row(
                domain,
                gap,
                indicator="gap",
                kind="gap",
                wave=record["wave"],
                variant=record["variant"],
                sides=(int(women["n"]), int(men["n"])),
            )
        )
    return table([*rows, *gaps])


def _changes(estimates: pd.DataFrame) -> pd.DataFrame:
    """Return Table 2: the change w2 − w1 of every non-gap cell."""
    cells = estimates[estimates["type"] != "gap"]
    keys = ["indicator", "variant", "domain_set", *DOMAIN_COLUMNS]
    first = cells[cells["wave"] == "w1"].reset_index(drop=True)
    second = first[keys].merge(cells[cells["wave"] == "w2"], on=keys, how="left")
    out = first[
        [
            "survey",
            "indicator",
            "variant",
            "benchmark",
            "type",
            "unit",
            "domain_set",
            *DOMAIN_COLUMNS,
        ]
    ].copy()
    out["comparison"], out["wave"], out["reference_wave"] = "previous", "w2", "w1"
    change = second["estimate"].to_numpy() - first["estimate"].to_numpy()
    out["estimate"], out["se"], out["ci_low"], out["ci_high"] = (
        change,
        0.02,
        change - 0.04,
        change + 0.04,
    )
    out["df"], out["p_value"], out["p_adjusted"] = 30.0, 0.01, 0.02
    out["significant"], out["direction"] = True, "improving"
    out["n"] = np.minimum(first["n"].to_numpy(), second["n"].to_numpy())
    out["n_a"], out["n_b"] = second["n"].to_numpy(), first["n"].to_numpy()
    return out.astype(
        {
            "n": "Int64",
            "n_a": "Int64",
            "n_b": "Int64",
            "comparison": "str",
            "wave": "str",
            "reference_wave": "str",
        }
    )


# --------------------------------------------------------------------------- brute force


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    """Return a row's wave, indicator, variant and domain codes."""
    codes = tuple(-1 if pd.isna(record[c]) else int(record[c]) for c in DOMAIN_COLUMNS)
    return (record["wave"], record["indicator"], record["variant"], *codes)


def brute_force(
    published: pd.DataFrame, truth: pd.DataFrame, changes: pd.DataFrame | None
) -> set[tuple[int, str]]:
    """Return every (row, "estimate" | "total") of a hidden cell the published numbers fix."""
    records = published.to_dict("records")
    true = truth.to_dict("records")
    cells = [p for p, r in enumerate(records) if r["type"] != "gap"]
    where = {_key(records[p]): p for p in cells}
    hidden = [p for p in cells if pd.isna(records[p]["estimate"])]
    value = {
        p: (true[p]["n_weighted"] * true[p]["estimate"], true[p]["n_weighted"], true[p]["estimate"])
        for p in cells
    }
    unknown = {(p, q): k for k, (p, q) in enumerate(itertools.product(hidden, (T, W, E)))}
    rows: list[dict[tuple[int, int], float]] = []

    def add(terms: list[tuple[int, int, float]]) -> None:
        rows.append({(p, q): c for p, q, c in terms if (p, q) in unknown})

    keys = {p: _key(records[p]) for p in cells}
    for parent in cells:
        scope = {k for k, code in enumerate(keys[parent][3:]) if code != -1}
        for child_set in SETS:
            used = {DOMAIN_COLUMNS.index(c) for c in child_set}
            children = [
                c
                for c in cells
                if keys[c][:3] == keys[parent][:3]
                and {k for k, code in enumerate(keys[c][3:]) if code != -1} == used
                and used > scope
                and all(keys[c][3 + k] == keys[parent][3 + k] for k in scope)
            ]
            if children:
                for q in (T, W):
                    add([(parent, q, 1.0), *((c, q, -1.0) for c in children)])
    for p in cells:
        key = _key(records[p])
        if key[2] == "all" and (x := where.get((key[0], key[1], "excl_dk", *key[3:]))) is not None:
            add([(p, T, 1.0), (x, T, -1.0)])
            d = (
                records[p]["dk_share"]
                if not pd.isna(records[p]["dk_share"])
                else records[x]["dk_share"]
            )
            if not pd.isna(d):
                add([(x, W, 1.0), (p, W, d - 1.0)])
                add([(p, E, 1.0), (x, E, d - 1.0)])
    for record in records:
        if record["type"] == "gap" and not pd.isna(record["estimate"]):
            key = _key(record)
            sides = [where.get((key[0], "incl", key[2], g, *key[4:])) for g in (2, 1)]
            if None not in sides:
                add([(sides[0], E, 1.0), (sides[1], E, -1.0)])
    if changes is not None:
        for record in changes.to_dict("records"):
            if not pd.isna(record["estimate"]):
                later = where[_key(record)]
                earlier = where[_key({**record, "wave": record["reference_wave"]})]
                add([(later, E, 1.0), (earlier, E, -1.0)])
    used: set[int] = set()
    while True:
        matrix = np.zeros((len(rows), len(unknown)))
        for i, terms in enumerate(rows):
            for var, c in terms.items():
                matrix[i, unknown[var]] = c
        spanned = _in_row_space(matrix)
        state = {(p, q): bool(spanned[unknown[(p, q)]]) for p in hidden for q in (T, W, E)}
        grown = False
        for p in hidden:
            if p in used:
                continue
            if state[p, E] and not (state[p, T] and state[p, W]):
                add([(p, T, 1.0), (p, W, -value[p][E])])
            elif state[p, T] and state[p, W] and not state[p, E]:
                add([(p, E, 1.0)])
            else:
                continue
            used.add(p)
            grown = True
        if not grown:
            return {
                (p, "estimate" if state[p, E] else "total")
                for p in hidden
                if state[p, E] or state[p, T]
            }


def _in_row_space(matrix: np.ndarray) -> np.ndarray:
    """Return, per column j, whether the unit vector e_j is a combination of the rows (lstsq)."""
    out = np.zeros(matrix.shape[1], dtype=bool)
    used = np.flatnonzero(np.abs(matrix).sum(axis=0) > 0)  # an unused unknown is free
    if used.size == 0:
        return out
    part = matrix[:, used]
    units = np.eye(used.size)
    weights = np.linalg.lstsq(part.T, units, rcond=None)[0]
    out[used] = np.linalg.norm(part.T @ weights - units, axis=0) < 1e-6
    return out


# --------------------------------------------------------------------------- properties


@st.composite
def published_sets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw a true table, its changes, and a random publication of both (small cells hidden)."""
    truth = _truth(_atoms(draw, draw(st.integers(2, 3))))
    published = truth.copy()
    cells = published["type"] != "gap"
    hide = cells & (
        (published["n"] < 25)
        | pd.Series(draw(st.lists(st.booleans(), min_size=len(truth), max_size=len(truth))))
    )
    values = ["estimate", "se", "ci_low", "ci_high", "deff", "n_weighted", "n_eff", "dk_share"]
    published.loc[hide, values] = np.nan
    no_dk = pd.Series(draw(st.lists(st.booleans(), min_size=len(truth), max_size=len(truth))))
    published.loc[no_dk, "dk_share"] = np.nan
    gap_hidden = (published["type"] == "gap") & pd.Series(
        draw(st.lists(st.booleans(), min_size=len(truth), max_size=len(truth)))
    )
    published.loc[gap_hidden, "estimate"] = np.nan
    changes = _changes(truth)
    shown = pd.Series(draw(st.lists(st.booleans(), min_size=len(changes), max_size=len(changes))))
    changes.loc[~shown, "estimate"] = np.nan
    return truth, published, changes


#: How Hypothesis draws published sets: large frames, slow to draw.
DRAWN = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@settings(DRAWN, max_examples=15)
@given(drawn=published_sets())
def test_joint_audit_equals_brute_force(
    drawn: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    """The joint audit recovers exactly the cells and values a brute-force rank check recovers."""
    truth, published, changes = drawn
    found = recoverable(published, changes, gaps=GAP)
    assert set(zip(found["row"], found["quantity"], strict=True)) == brute_force(
        published, truth, changes
    )
    for position, quantity, value in found.itertuples(index=False):
        weight, estimate = truth.at[position, "n_weighted"], truth.at[position, "estimate"]
        expected = estimate if quantity == "estimate" else estimate * weight
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-9)


@settings(DRAWN, max_examples=10)
@given(drawn=published_sets())
def test_joint_suppression_leaves_nothing_recoverable(
    drawn: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    """After joint suppression the brute force recovers no hidden cell and the audit is clean."""
    truth = drawn[0]
    published, changes = publish_tables(truth, _changes(truth), RULES, gaps=GAP)
    assert published.loc[published["n"] < RULES.suppress_below, "suppressed"].all()
    assert brute_force(published, truth, changes) == set()
    assert audit_published(published, changes, RULES, gaps=GAP) == []


# --------------------------------------------------------------------------- the demo attack

Demo = tuple[pd.DataFrame, IndicatorCatalogue, SurveyConfig]


@pytest.fixture(scope="module")
def demo_tables(demo: DemoRun) -> Demo:
    """Return the demo's Table 1 for its three waves, its indicator catalogue and its survey."""
    project = load_project(ROOT / "config" / "survey.yaml", root=ROOT)
    waves = [w.id for w in project.survey.waves]
    indicators = load_indicators(
        ROOT / "config" / "indicators.yaml", project.catalogue, waves=waves
    )
    return demo.estimates(), indicators, project.survey


def dk_attack(published: pd.DataFrame) -> Iterator[tuple[int, float, float]]:
    """Yield (row, estimate, weighted n) of hidden "all" cells given back by their excl_dk twin.

    ``estimate_all = estimate_excl × (1 − dk_share)`` and ``n_weighted_all = n_weighted_excl /
    (1 − dk_share)``: the two variants share their numerator.
    """
    keys = ["wave", "indicator", "domain_set", *DOMAIN_COLUMNS]
    rows = published.reset_index(drop=True).reset_index(names="row")
    cells = rows[rows["type"] != "gap"]
    pairs = cells[cells["variant"] == "all"].merge(
        cells[cells["variant"] == "excl_dk"], on=keys, suffixes=("", "_x")
    )
    twin = pairs["estimate"].isna() & pairs["estimate_x"].notna() & pairs["dk_share_x"].notna()
    for pair in pairs[twin].to_dict("records"):
        keep = 1.0 - pair["dk_share_x"]
        yield pair["row"], pair["estimate_x"] * keep, pair["n_weighted_x"] / keep


def full_attack(published: pd.DataFrame) -> dict[int, float]:
    """Recover what the issue's attacker recovers: the dk_share twins, then by differencing."""
    known = published.reset_index(drop=True)
    known = known.assign(n=known["n"].fillna(0))  # a not-asked row is no domain
    recovered: dict[int, float] = {}
    for position, estimate, weight in dk_attack(known):
        known.loc[position, ["estimate", "n_weighted"]] = [estimate, weight]
        recovered[position] = estimate
    return recovered | attack(known)


def _cell(estimates: pd.DataFrame, wave: str, gender: int, region: int) -> int:
    """Return the row of the "all" feeling-included cell of women or men aged 18-24 in a region."""
    found = estimates.index[
        (estimates["wave"] == wave)
        & (estimates["indicator"] == "incl_feel_included")
        & (estimates["variant"] == "all")
        & (estimates["domain_set"] == "gender×age_band×region")
        & (estimates["gender"] == gender)
        & (estimates["age_band"] == 1)
        & (estimates["region"] == region)
    ]
    (position,) = found.tolist()
    return int(position)


@pytest.mark.slow
def test_issue_attack_works_on_suppression_per_variant(demo_tables: Demo) -> None:
    """Suppressing each variant apart lets dk_share give back five cells, then three small ones."""
    estimates, indicators, _ = demo_tables
    apart = pd.concat(
        [
            apply_disclosure(
                estimates[estimates["variant"] == v], RULES, gaps=indicators.gap_sides()
            )
            for v in VARIANTS
        ]
    ).sort_index()
    twins = {position for position, _, _ in dk_attack(apart)}
    recovered = full_attack(apart)
    assert len(twins) == 5
    small = {p for p in recovered if estimates.at[p, "n"] < RULES.suppress_below}
    expected = {
        _cell(estimates, "w1", 2, 5),
        _cell(estimates, "w2", 2, 8),
        _cell(estimates, "w3", 1, 8),
    }
    assert expected <= small
    assert [estimates.at[p, "n"] for p in sorted(expected)] == [18, 5, 16]
    for position, value in recovered.items():
        assert value == pytest.approx(estimates.at[position, "estimate"], rel=1e-9, abs=1e-12)
    found = recoverable(apart, gaps=indicators.gap_sides())
    assert twins | expected <= set(found["row"])


def _publish(demo: Demo) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Publish the demo's Table 1 and its changes under the rules, as the pipeline does."""
    estimates, indicators, survey = demo
    waves = [w.id for w in survey.waves]
    return publish_indicators(estimates, indicators, RULES, waves=waves, domains=DOMAIN_COLUMNS)


@pytest.mark.slow
def test_issue_attack_fails_on_joint_suppression(demo_tables: Demo) -> None:
    """publish_indicators leaves the attack nothing; the audit of every published table is clean."""
    estimates, indicators, survey = demo_tables
    published, trends = _publish(demo_tables)
    assert list(dk_attack(published)) == []
    assert full_attack(published) == {}
    status = survey_status(published, trends, indicators, survey)
    gaps = indicators.gap_sides()
    assert audit_published(published, trends, RULES, gaps=gaps, status=status) == []
    for wave, gender, region in (("w1", 2, 5), ("w2", 2, 8), ("w3", 1, 8)):
        assert published.at[_cell(estimates, wave, gender, region), "suppressed"]


@pytest.mark.slow
def test_audit_catches_status_number_whose_source_is_hidden(demo_tables: Demo) -> None:
    """The audit reports a status estimate or change still shown after its source was hidden."""
    _, indicators, survey = demo_tables
    published, trends = _publish(demo_tables)
    status = survey_status(published, trends, indicators, survey)
    source = (
        (published["indicator"] == status.at[0, "indicator"])
        & (published["wave"] == status.at[0, "latest_wave"])
        & (published["domain_set"] == "national")
        & (published["variant"] == "all")
    )
    leaky = published.copy()
    leaky.loc[source, "estimate"] = np.nan
    changed = trends.copy()
    changed.loc[changed["indicator"] == status.at[0, "indicator"], "estimate"] = np.nan
    problems = audit_published(leaky, changed, RULES, gaps=indicators.gap_sides(), status=status)
    assert any(p.startswith("status row 0") and "estimate shown" in p for p in problems)
    assert any(p.startswith("status row 0") and "change_previous shown" in p for p in problems)
