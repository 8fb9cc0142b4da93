"""Realistic published tables (Tables 1-3 and methodology) of the demo survey, for the dashboard.

The tables follow the indicators contract (column names, order and dtypes) and look like the
pipeline's: three waves of about 2,900 respondents, 8 regions, 23 indicators over the 6
benchmarks (4 of them gaps between women and men or youth and adults), estimates with design
effects and logit confidence intervals, disclosure control (n < 25 suppressed, 25-49 flagged,
complementary suppression), one indicator not asked in w1 and domain sets that some
indicators lack. Labels, codes and geography come from the demo's real configuration.

Numbers are simulated from a logistic model with effects of sex, age, region and area and a
trend per wave, plus sampling noise of the right size, all from a fixed seed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from perception.config import Catalogue, Label, SurveyConfig, load_catalogue, load_survey
from perception.status import indicator_status, wave_dates

REPO = Path(__file__).resolve().parents[1]
GEOJSON = REPO / "config" / "geo" / "demo_admin1.geojson"
SURVEY_ID = "demo"
WAVES = ("w1", "w2", "w3")
SEED = 20260828
SUPPRESS_BELOW, FLAG_BELOW = 25, 50
DOMAIN_COLUMNS = ("gender", "age_band", "youth", "region", "urban_rural")
DEFAULT_SETS = (
    "national",
    "gender",
    "age_band",
    "youth",
    "region",
    "urban_rural",
    "gender×age_band",
    "gender×region",
)
HEATMAP_SET = "gender×age_band×region"
GENERATED_AT = datetime(2026, 9, 2, 14, 30)

BENCHMARKS: dict[str, Label] = {
    "inclusion": Label(
        en="The population considers that it is being included in the process, as verified "
        "by various polling and survey tools",
        fr="La population estime être incluse dans le processus, comme le confirment divers "
        "sondages et enquêtes",
    ),
    "violence": Label(
        en="Violence against civilians is decreasing",
        fr="La violence contre les civils diminue",
    ),
    "dialogue": Label(
        en="The factions are engaged in productive dialogue",
        fr="Les factions sont engagées dans un dialogue productif",
    ),
    "state_authority": Label(
        en="The State is extending its authority across the territory",
        fr="L'État étend son autorité sur l'ensemble du territoire",
    ),
    "representation": Label(
        en="Women, youth and marginalized groups are represented in the process",
        fr="Les femmes, les jeunes et les groupes marginalisés sont représentés dans le processus",
    ),
    "mission": Label(
        en="The mission is trusted and seen to protect civilians",
        fr="La mission inspire confiance et est perçue comme protégeant les civils",
    ),
}
TERMS = {
    "inclusion": "medium",
    "violence": "short",
    "dialogue": "medium",
    "state_authority": "long",
    "representation": "medium",
    "mission": "short",
}

# Effects on the logit scale, scaled per indicator by its sensitivity.
SHARES = {
    "gender": {1: 0.49, 2: 0.51},
    "age_band": {1: 0.27, 2: 0.26, 3: 0.19, 4: 0.14, 5: 0.14},
    "youth": {1: 0.56, 2: 0.44},
    "region": {1: 0.10, 2: 0.13, 3: 0.24, 4: 0.12, 5: 0.14, 6: 0.09, 7: 0.11, 8: 0.07},
    "urban_rural": {1: 0.38, 2: 0.62},
}
EFFECTS = {
    "gender": {1: 0.18, 2: -0.18},
    "age_band": {1: -0.25, 2: -0.12, 3: 0.0, 4: 0.12, 5: 0.22},
    "youth": {1: -0.18, 2: 0.18},
    "region": {1: -0.55, 2: 0.2, 3: 0.45, 4: -0.2, 5: 0.1, 6: -0.3, 7: 0.3, 8: -0.65},
    "urban_rural": {1: 0.15, 2: -0.15},
}
RESPONDENTS = {"w1": 2862, "w2": 2911, "w3": 2884}


@dataclass(frozen=True)
class Spec:
    """One simulated indicator."""

    id: str
    benchmark: str
    type: str
    direction: str
    base: float  # logit of the national proportion in w1
    trend: float  # logit change per wave
    item: str | None = None  # catalogue item giving the label
    label: Label | None = None
    sensitivity: float = 1.0
    asked_share: float = 0.97  # share of respondents in the base
    sets: tuple[str, ...] = DEFAULT_SETS
    not_asked: tuple[str, ...] = ()
    target: float | None = None
    target_date: str | None = None
    of: str | None = None  # gaps: the indicator compared
    by: str | None = None  # gaps: gender (women - men) or youth (youth - adults)
    deff: float = 1.6
    extra: dict[str, float] = field(default_factory=dict)


def _gap_label(what: str, what_fr: str, by: str) -> Label:
    """Label a gap indicator."""
    if by == "gender":
        return Label(
            en=f"Gender gap, {what} (women − men)", fr=f"Écart femmes-hommes, {what_fr} (F − H)"
        )
    return Label(
        en=f"Youth gap, {what} (youth − adults)",
        fr=f"Écart jeunes-adultes, {what_fr} (jeunes − adultes)",
    )


INCLUSION_SETS = (*DEFAULT_SETS, HEATMAP_SET)
SPECS: tuple[Spec, ...] = (
    Spec(
        "incl_feel_included",
        "inclusion",
        "proportion",
        "higher",
        -0.45,
        0.2,
        item="incl_peace_process",
        sets=INCLUSION_SETS,
        target=0.55,
        target_date="2027-06-30",
        sensitivity=1.3,
    ),
    Spec(
        "incl_views_considered",
        "inclusion",
        "proportion",
        "higher",
        -0.6,
        0.1,
        item="incl_views_considered",
        sets=INCLUSION_SETS,
    ),
    Spec(
        "voice_system_say",
        "inclusion",
        "proportion",
        "higher",
        -0.9,
        0.04,
        item="voice_system_say",
        sets=INCLUSION_SETS,
    ),
    Spec(
        "incl_index",
        "inclusion",
        "index",
        "higher",
        -0.2,
        0.12,
        label=Label(en="Inclusion index (0-100)", fr="Indice d'inclusion (0-100)"),
        sets=INCLUSION_SETS,
    ),
    Spec(
        "gap_incl_gender",
        "inclusion",
        "gap",
        "higher",
        0,
        0,
        label=_gap_label("feels included", "se sentir inclus", "gender"),
        of="incl_feel_included",
        by="gender",
        sets=("national", "region"),
    ),
    Spec(
        "gap_incl_youth",
        "inclusion",
        "gap",
        "higher",
        0,
        0,
        label=_gap_label("feels included", "se sentir inclus", "youth"),
        of="incl_feel_included",
        by="youth",
        sets=("national", "region"),
    ),
    Spec(
        "safe_walk_night",
        "violence",
        "proportion",
        "higher",
        0.1,
        0.14,
        item="safe_walk_night",
        target=0.65,
        target_date="2027-12-31",
    ),
    Spec(
        "violence_experienced_12m",
        "violence",
        "proportion",
        "lower",
        -1.8,
        -0.12,
        item="violence_experienced_12m",
        sensitivity=-0.6,
        target=0.12,
        target_date="2027-06-30",
    ),
    Spec(
        "violence_witnessed_12m",
        "violence",
        "proportion",
        "lower",
        -1.2,
        -0.03,
        item="violence_witnessed_12m",
        sensitivity=-0.7,
    ),
    Spec(
        "security_change",
        "violence",
        "net",
        "higher",
        0.05,
        0.15,
        label=Label(
            en="Security has improved (net: better minus worse)",
            fr="La sécurité s'est améliorée (solde : mieux moins pire)",
        ),
    ),
    Spec(
        "disputes_peaceful",
        "dialogue",
        "proportion",
        "higher",
        0.3,
        0.06,
        item="disputes_peaceful",
        target=0.5,
    ),
    Spec(
        "dialogue_attended_12m",
        "dialogue",
        "proportion",
        "higher",
        -2.2,
        0.15,
        item="dialogue_attended_12m",
    ),
    Spec(
        "dialogue_parties",
        "dialogue",
        "proportion",
        "higher",
        0.2,
        0.1,
        item="dialogue_parties",
        asked_share=0.11,
        sets=("national", "gender", "age_band", "youth", "region", "urban_rural"),
    ),
    Spec(
        "trust_government",
        "state_authority",
        "proportion",
        "higher",
        -0.3,
        0.08,
        item="trust_government",
        target=0.5,
        target_date="2026-06-30",
    ),
    Spec(
        "trust_police",
        "state_authority",
        "proportion",
        "higher",
        -0.1,
        0.0,
        item="trust_police",
        target=0.6,
        target_date="2027-06-30",
    ),
    Spec(
        "state_officials_seen",
        "state_authority",
        "proportion",
        "higher",
        -0.8,
        0.2,
        item="state_officials_seen",
        sensitivity=1.5,
    ),
    Spec(
        "state_services_satisfaction",
        "state_authority",
        "mean",
        "higher",
        -0.1,
        0.05,
        label=Label(
            en="Satisfaction with basic services (mean, 1-4)",
            fr="Satisfaction à l'égard des services de base (moyenne, 1-4)",
        ),
        target=2.8,
        target_date="2027-12-31",
    ),
    Spec(
        "repr_women",
        "representation",
        "proportion",
        "higher",
        -0.5,
        0.1,
        item="repr_women",
        target=0.45,
        target_date="2028-12-31",
    ),
    Spec("repr_youth", "representation", "proportion", "higher", -0.7, 0.05, item="repr_youth"),
    Spec(
        "gap_repr_women",
        "representation",
        "gap",
        "higher",
        0,
        0,
        label=_gap_label(
            "women adequately represented", "femmes suffisamment représentées", "gender"
        ),
        of="repr_women",
        by="gender",
        sets=("national", "region"),
    ),
    Spec(
        "gap_repr_youth",
        "representation",
        "gap",
        "higher",
        0,
        0,
        label=_gap_label(
            "youth adequately represented", "jeunes suffisamment représentés", "youth"
        ),
        of="repr_youth",
        by="youth",
        sets=("national", "region"),
    ),
    Spec("trust_mission", "mission", "proportion", "higher", 0.2, -0.25, item="trust_mission"),
    Spec(
        "mission_protects",
        "mission",
        "proportion",
        "higher",
        0.1,
        0.1,
        item="mission_protects",
        not_asked=("w1",),
    ),
)

TABLE1_COLUMNS = (
    "survey",
    "wave",
    "indicator",
    "variant",
    "benchmark",
    "type",
    "unit",
    "domain_set",
    *DOMAIN_COLUMNS,
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "deff",
    "n",
    "n_weighted",
    "n_eff",
    "dk_share",
    "n_refused",
    "availability",
    "n_a",
    "n_b",
    "p_value",
    "p_adjusted",
    "suppressed",
    "flagged",
    "disclosure",
)
TABLE2_COLUMNS = (
    "survey",
    "indicator",
    "variant",
    "benchmark",
    "type",
    "unit",
    "domain_set",
    *DOMAIN_COLUMNS,
    "comparison",
    "wave",
    "reference_wave",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "p_value",
    "p_adjusted",
    "significant",
    "direction",
    "n",
    "n_a",
    "n_b",
    "suppressed",
    "flagged",
    "disclosure",
)
TABLE3_COLUMNS = (
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
    "target_date",
    "status",
    "reason_en",
    "reason_fr",
)
METHODOLOGY_COLUMNS = (
    "survey",
    "wave",
    "label_en",
    "label_fr",
    "fieldwork_start",
    "fieldwork_end",
    "provider",
    "source_file",
    "n_respondents",
    "deff_kish",
    "n_eff",
    "moe_95",
    "weighting",
    "design_en",
    "design_fr",
    "variance_method",
    "suppress_below",
    "flag_below",
    "generated_at",
)
INT_COLUMNS = (*DOMAIN_COLUMNS, "n", "n_refused", "n_a", "n_b", "n_respondents")
BOOL_COLUMNS = ("suppressed", "flagged", "significant")
STR_COLUMNS = (
    "survey",
    "wave",
    "indicator",
    "variant",
    "benchmark",
    "type",
    "unit",
    "domain_set",
    "availability",
    "disclosure",
    "comparison",
    "reference_wave",
    "direction",
    "benchmark_term",
    "label_en",
    "label_fr",
    "latest_wave",
    "status",
    "reason_en",
    "reason_fr",
    "provider",
    "source_file",
    "weighting",
    "design_en",
    "design_fr",
    "variance_method",
)
MASKED = ("estimate", "se", "ci_low", "ci_high", "deff", "n_eff", "n_weighted", "dk_share")


def catalogue() -> Catalogue:
    """Return the demo's variable catalogue."""
    return load_catalogue(REPO / "config" / "variables.yaml")


def survey() -> SurveyConfig:
    """Return the demo's survey configuration (paths resolved against the repository)."""
    return load_survey(REPO / "config" / "survey.yaml", root=REPO)


def indicator_label(spec: Spec, cat: Catalogue) -> Label:
    """Return an indicator's label: its own, or its catalogue item's."""
    if spec.label is not None:
        return spec.label
    assert spec.item is not None
    return cat.variables[spec.item].label


def unit_of(spec: Spec) -> str:
    """Return the contract unit of an indicator."""
    if spec.type == "gap":
        return unit_of(next(s for s in SPECS if s.id == spec.of))
    return "score" if spec.type in ("mean", "index") else "percent"


def domains(domain_set: str) -> list[dict[str, int]]:
    """Return every domain of a domain set as {column: code}."""
    if domain_set == "national":
        return [{}]
    out: list[dict[str, int]] = [{}]
    for column in domain_set.split("×"):
        out = [{**d, column: code} for d in out for code in SHARES[column]]
    return out


def _share(domain: dict[str, int]) -> float:
    """Return the population share of a domain (columns taken as independent)."""
    return math.prod(SHARES[c][code] for c, code in domain.items())


def _linear(spec: Spec, wave: str, domain: dict[str, int]) -> float:
    """Return the logit of the true proportion in a domain."""
    effects = sum(
        EFFECTS[c][code] for c, code in domain.items() if c != "youth" or "age_band" not in domain
    )
    return spec.base + spec.trend * WAVES.index(wave) + spec.sensitivity * effects


def _value(spec: Spec, p: float) -> float:
    """Turn a proportion into the indicator's scale."""
    return {"proportion": p, "net": 2 * p - 1, "index": 100 * p, "mean": 1 + 3 * p}[spec.type]


def _se(spec: Spec, p: float, n: int, deff: float) -> float:
    """Return the standard error of an estimate on the indicator's scale."""
    base = math.sqrt(p * (1 - p) * deff / n)
    return {"proportion": base, "net": 2 * base, "index": 100 * base, "mean": 3 * base}[spec.type]


def _ci(spec: Spec, estimate: float, se: float) -> tuple[float, float]:
    """Return a 95% CI: logit for proportions, symmetric otherwise."""
    if spec.type == "proportion":
        p = min(max(estimate, 1e-4), 1 - 1e-4)
        half = 1.96 * se / (p * (1 - p))
        return float(expit(logit(p) - half)), float(expit(logit(p) + half))
    return estimate - 1.96 * se, estimate + 1.96 * se


def _estimate_rows(rng: np.random.Generator, cat: Catalogue) -> list[dict[str, object]]:
    """Simulate every non-gap row of Table 1 (variant "all", plus "excl_dk" nationally)."""
    rows: list[dict[str, object]] = []
    for spec in (s for s in SPECS if s.type != "gap"):
        for wave in WAVES:
            for domain_set in spec.sets:
                for domain in domains(domain_set):
                    row = _base_row(spec, wave, domain_set, domain)
                    if wave in spec.not_asked:
                        row.update(availability="not_asked")
                        rows.append(row)
                        continue
                    n = round(RESPONDENTS[wave] * spec.asked_share * _share(domain))
                    n = max(n + int(rng.integers(-2, 3)), 0)
                    if n == 0:
                        row.update(availability="no_data", n=0)
                        rows.append(row)
                        continue
                    deff = float(spec.deff * rng.uniform(0.8, 1.2)) if domain else spec.deff
                    p_true = float(expit(_linear(spec, wave, domain)))
                    p_hat = float(
                        np.clip(
                            rng.normal(p_true, math.sqrt(p_true * (1 - p_true) * deff / n)),
                            0.01,
                            0.99,
                        )
                    )
                    estimate = _value(spec, p_hat)
                    se = _se(spec, p_hat, n, deff)
                    low, high = _ci(spec, estimate, se)
                    dk = float(rng.uniform(0.02, 0.09))
                    row.update(
                        estimate=estimate,
                        se=se,
                        ci_low=low,
                        ci_high=high,
                        df=float(230 if not domain else 60),
                        deff=deff,
                        n=n,
                        n_weighted=n * 1046.3,
                        n_eff=n / deff,
                        dk_share=dk,
                        n_refused=int(rng.integers(0, 6)),
                        availability="estimated",
                    )
                    rows.append(row)
                    if not domain:
                        excl = dict(row)
                        excl.update(
                            variant="excl_dk",
                            estimate=min(estimate / (1 - dk), estimate + 0.05)
                            if spec.type == "proportion"
                            else estimate,
                            n=round(n * (1 - dk)),
                        )
                        rows.append(excl)
    return rows


def _base_row(spec: Spec, wave: str, domain_set: str, domain: dict[str, int]) -> dict[str, object]:
    """Return the identifying columns of a row, values NA."""
    row: dict[str, object] = dict.fromkeys(TABLE1_COLUMNS)
    row.update(
        survey=SURVEY_ID,
        wave=wave,
        indicator=spec.id,
        variant="all",
        benchmark=spec.benchmark,
        type=spec.type,
        unit=unit_of(spec),
        domain_set=domain_set,
        **{c: domain.get(c) for c in DOMAIN_COLUMNS},
        disclosure="",
    )
    return row


def _gap_rows(estimates: list[dict[str, object]]) -> list[dict[str, object]]:
    """Compute the gap rows (a − b within each domain) from the simulated estimates."""
    index = {
        (r["indicator"], r["wave"], r["variant"], *(r[c] for c in DOMAIN_COLUMNS)): r
        for r in estimates
    }
    rows: list[dict[str, object]] = []
    for spec in (s for s in SPECS if s.type == "gap"):
        a, b = (2, 1) if spec.by == "gender" else (1, 2)
        for wave in WAVES:
            for domain_set in spec.sets:
                for domain in domains(domain_set):
                    row = _base_row(spec, wave, domain_set, domain)
                    sides = []
                    for code in (a, b):
                        key = {**domain, str(spec.by): code}
                        sides.append(
                            index.get((spec.of, wave, "all", *(key.get(c) for c in DOMAIN_COLUMNS)))
                        )
                    side_a, side_b = sides
                    if side_a is None or side_b is None:
                        continue
                    if (
                        side_a["availability"] != "estimated"
                        or side_b["availability"] != "estimated"
                    ):
                        row.update(availability=side_a["availability"])
                        rows.append(row)
                        continue
                    estimate = float(side_a["estimate"]) - float(side_b["estimate"])  # type: ignore[arg-type]
                    se = math.hypot(float(side_a["se"]), float(side_b["se"]))  # type: ignore[arg-type]
                    n_a, n_b = int(side_a["n"]), int(side_b["n"])  # type: ignore[call-overload]
                    row.update(
                        estimate=estimate,
                        se=se,
                        ci_low=estimate - 1.96 * se,
                        ci_high=estimate + 1.96 * se,
                        df=float(side_a["df"]),  # type: ignore[arg-type]
                        n=min(n_a, n_b),
                        n_a=n_a,
                        n_b=n_b,
                        availability="estimated",
                    )
                    rows.append(row)
    return rows


def _disclose(frame: pd.DataFrame, sides: bool) -> pd.DataFrame:
    """Apply the disclosure rules: small cells, complementary cells, flags; hide values."""
    out = frame.copy()
    n = out["n"].astype("Float64")
    small = (n < SUPPRESS_BELOW).fillna(False).astype(bool)
    if sides:
        side = (out[["n_a", "n_b"]].astype("Float64") < SUPPRESS_BELOW).any(axis=1)
        side = side.fillna(False).astype(bool) & ~small
        out.loc[side, "disclosure"] = "suppressed: side suppressed"
    else:
        side = pd.Series(False, index=out.index)
    out.loc[small, "disclosure"] = "suppressed: n<25"
    suppressed = small | side
    # Complementary: a lone suppressed cell among siblings takes the smallest sibling with it.
    for _, group in out[out["domain_set"] != "national"].groupby(
        ["indicator", "wave", "variant", "domain_set", *[c for c in DOMAIN_COLUMNS[:1]]],
        dropna=False,
    ):
        hidden = suppressed[group.index]
        if int(hidden.sum()) == 1 and len(group) > 1:
            shown = group.index[~hidden.to_numpy()]
            partner = out.loc[shown, "n"].astype(float).idxmin()
            suppressed[partner] = True
            out.loc[partner, "disclosure"] = "suppressed: complementary"
    flagged = ~suppressed & (n < FLAG_BELOW).fillna(False).astype(bool)
    out.loc[flagged, "disclosure"] = "flagged: 25<=n<50"
    out["suppressed"] = suppressed
    out["flagged"] = flagged
    masked = [c for c in MASKED if c in out.columns]
    out.loc[suppressed, masked] = np.nan
    return out


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Order the columns and give them the contract's dtypes."""
    out = frame.reindex(columns=list(columns))
    for column in out.columns:
        if column in INT_COLUMNS:
            out[column] = out[column].astype("Float64").round().astype("Int64")
        elif column in BOOL_COLUMNS:
            out[column] = out[column].fillna(False).astype(bool)
        elif column in STR_COLUMNS:
            out[column] = out[column].fillna("").astype("str")
        elif column not in ("target_date", "fieldwork_start", "fieldwork_end", "generated_at"):
            out[column] = out[column].astype("float64")
    return out.reset_index(drop=True)


def _trends(estimates: pd.DataFrame) -> pd.DataFrame:
    """Build Table 2 from Table 1: changes since the previous wave and the baseline."""
    keys = ["indicator", "variant", "domain_set", *DOMAIN_COLUMNS]
    by_wave = {wave: frame.set_index(keys) for wave, frame in estimates.groupby("wave")}
    direction = {s.id: s.direction for s in SPECS}
    parts: list[pd.DataFrame] = []
    for position, wave in enumerate(WAVES[1:], start=1):
        for comparison, reference in (("previous", WAVES[position - 1]), ("baseline", WAVES[0])):
            now, then = by_wave[wave], by_wave[reference]
            both = now.join(then.add_suffix("_ref"), how="inner")
            both = both[
                (both["availability"] == "estimated") & (both["availability_ref"] == "estimated")
            ]
            diff = both["estimate"] - both["estimate_ref"]
            se = np.hypot(both["se"], both["se_ref"])
            frame = pd.DataFrame(
                {
                    "survey": SURVEY_ID,
                    "benchmark": both["benchmark"],
                    "type": both["type"],
                    "unit": both["unit"],
                    "comparison": comparison,
                    "wave": wave,
                    "reference_wave": reference,
                    "estimate": diff,
                    "se": se,
                    "ci_low": diff - 1.96 * se,
                    "ci_high": diff + 1.96 * se,
                    "df": both["df"],
                    "p_value": 2 * norm.sf((diff / se).abs()),
                    "n": np.minimum(both["n"].astype("Float64"), both["n_ref"].astype("Float64")),
                    "n_a": both["n"],
                    "n_b": both["n_ref"],
                    "side_suppressed": both["suppressed"] | both["suppressed_ref"],
                    "side_flagged": both["flagged"] | both["flagged_ref"],
                }
            ).reset_index()
            parts.append(frame)
    table = pd.concat(parts, ignore_index=True)
    table["p_adjusted"] = np.nan
    for _, family in table[~table["side_suppressed"]].groupby(["comparison", "wave"]):
        valid = family["p_value"].notna()
        adjusted = multipletests(family.loc[valid, "p_value"], method="fdr_bh")[1]
        table.loc[family.index[valid.to_numpy()], "p_adjusted"] = adjusted
    table["significant"] = (table["p_adjusted"] < 0.05) & (
        (table["ci_low"] > 0) | (table["ci_high"] < 0)
    )
    better = table["estimate"] * table["indicator"].map(
        lambda i: 1 if direction[i] == "higher" else -1
    )
    table["direction"] = np.where(
        ~table["significant"], "no change", np.where(better > 0, "improving", "worsening")
    )
    table["suppressed"] = table["side_suppressed"]
    table["flagged"] = ~table["suppressed"] & table["side_flagged"]
    table["disclosure"] = np.where(
        table["suppressed"],
        "suppressed: side suppressed",
        np.where(table["flagged"], "flagged: 25<=n<50", ""),
    )
    hidden = ["estimate", "se", "ci_low", "ci_high", "p_value", "p_adjusted"]
    table.loc[table["suppressed"], hidden] = np.nan
    table.loc[table["suppressed"], "significant"] = False
    table.loc[table["suppressed"], "direction"] = "no change"
    return _typed(table, TABLE2_COLUMNS)


def _status(estimates: pd.DataFrame, trends: pd.DataFrame, cat: Catalogue) -> pd.DataFrame:
    """Build Table 3 with perception.status, from the indicators' metadata and the wave dates."""
    config = survey()
    meta = {
        spec.id: {
            "benchmark": spec.benchmark,
            "benchmark_term": TERMS[spec.benchmark],
            "label_en": indicator_label(spec, cat).en,
            "label_fr": indicator_label(spec, cat).fr,
            "type": spec.type,
            "unit": unit_of(spec),
            "direction": spec.direction,
            "target": spec.target,
            "target_date": spec.target_date,
        }
        for spec in SPECS
    }
    status = indicator_status(
        estimates,
        trends,
        meta,
        latest_wave=WAVES[-1],
        wave_dates=wave_dates(config),
        wave_labels={w.id: {"en": w.label.en, "fr": w.label.fr} for w in config.waves},
    )
    return _typed(status, TABLE3_COLUMNS)


def _methodology(config: SurveyConfig) -> pd.DataFrame:
    """Build the methodology table: one row per wave."""
    deffs = {"w1": 1.84, "w2": 1.62, "w3": 1.71}
    rows = []
    for wave in config.waves:
        n = RESPONDENTS[wave.id]
        deff = deffs[wave.id]
        rows.append(
            {
                "survey": SURVEY_ID,
                "wave": wave.id,
                "label_en": wave.label.en,
                "label_fr": wave.label.fr,
                "fieldwork_start": wave.fieldwork.start if wave.fieldwork else None,
                "fieldwork_end": wave.fieldwork.end if wave.fieldwork else None,
                "provider": wave.provider or "",
                "source_file": wave.file,
                "n_respondents": n,
                "deff_kish": deff,
                "n_eff": n / deff,
                "moe_95": 1.96 * math.sqrt(0.25 * deff / n),
                "weighting": "raking to census margins (gender, age_band, region, urban_rural); "
                "weights trimmed at 5 × median",
                "design_en": "stratified two-stage cluster sample",
                "design_fr": "échantillon stratifié à deux degrés",
                "variance_method": "taylor",
                "suppress_below": SUPPRESS_BELOW,
                "flag_below": FLAG_BELOW,
                "generated_at": pd.Timestamp(GENERATED_AT),
            }
        )
    frame = _typed(pd.DataFrame(rows), METHODOLOGY_COLUMNS)
    frame["suppress_below"] = frame["suppress_below"].astype("Int64")
    frame["flag_below"] = frame["flag_below"].astype("Int64")
    return frame


def published_tables() -> dict[str, pd.DataFrame]:
    """Return the four published tables, keyed by their export names (fresh copies)."""
    return {name: frame.copy() for name, frame in _simulated().items()}


@functools.cache
def _simulated() -> dict[str, pd.DataFrame]:
    """Simulate the published tables once per process."""
    rng = np.random.default_rng(SEED)
    cat = catalogue()
    simulated = _estimate_rows(rng, cat)
    plain = _disclose(_typed(pd.DataFrame(simulated), TABLE1_COLUMNS), sides=False)
    gaps = _typed(pd.DataFrame(_gap_rows(simulated)), TABLE1_COLUMNS)
    gaps = _disclose(gaps, sides=True)
    estimates = _typed(pd.concat([plain, gaps], ignore_index=True), TABLE1_COLUMNS)
    trends = _trends(estimates)
    return {
        "indicator_estimates": estimates,
        "indicator_trends": trends,
        "benchmark_status": _status(estimates, trends, cat),
        "methodology": _methodology(survey()),
    }


def questions() -> dict[str, list[Label]]:
    """Return the catalogue's question wording of each simulated indicator with an item."""
    cat = catalogue()
    out: dict[str, list[Label]] = {}
    for spec in SPECS:
        question = cat.variables[spec.item].question if spec.item else None
        if question is not None:
            out[spec.id] = [question]
    return out
