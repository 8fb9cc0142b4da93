"""BRR/Fay replicates and logit intervals on replicate designs against R (expected_hadamard)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from golden import dataset, expected
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from perception.design import SurveyDesign
from perception.estimation import estimate
from perception.replicates import hadamard, r_collation_key, r_text
from perception.variance import logistic_refit

EXPECTED = expected("expected_hadamard.json")
# Provenance: expected_hadamard.json meta, from make_reference_hadamard.R (R 4.2.2, survey
# 4.1.1); tolerance 1e-6 relative on every estimate, SE and interval limit.
GOLDEN_RTOL = 1e-6
GOLDEN_ATOL = 1e-12


def _bits(rows: list[str], width: int) -> npt.NDArray[np.int64]:
    """Decode hex rows (R's 0/1 entries, padded to 4 bits) into a 0/1 matrix."""
    return np.array(
        [[(int(c, 16) >> s) & 1 for c in row for s in (3, 2, 1, 0)][:width] for row in rows]
    )


def _base(number: int) -> SurveyDesign:
    """Design ``number`` of rep_brr_random.csv as R's svydesign(id = ~psu, strata = ~stratum)."""
    data = dataset("rep_brr_random")
    data = data[data["design"] == number].reset_index(drop=True)
    data = data.assign(yes=data["z"].astype(float))
    return SurveyDesign(data, "w", strata="stratum", psu="psu")


@pytest.mark.parametrize("n", [int(n) for n in EXPECTED["hadamard"]["n"]])
def test_hadamard_equals_r(n: int) -> None:
    """hadamard(n) is survey:::hadamard(n) entry by entry (Sylvester, Paley, stored 28/36)."""
    spec = EXPECTED["hadamard"]
    rows = spec["matrices"][spec["n"][str(n)]]
    want = 2 * _bits(rows, len(rows)) - 1
    got = hadamard(n).astype(np.int64)
    assert got.shape == want.shape and got.shape[0] > n
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got.T @ got, got.shape[0] * np.eye(got.shape[0]))


@pytest.mark.parametrize("spec", EXPECTED["designs"], ids=lambda s: f"design{s['design']}")
def test_brr_factors_equal_as_svrepdesign(spec: dict[str, Any]) -> None:
    """to_replicates('BRR') gives every PSU R's replicate factors (0 or 2), column for column."""
    base = _base(spec["design"])
    design = base.to_replicates("BRR")
    reps = design.replicates
    assert reps is not None
    first = np.unique(design.unit_index, return_index=True)[1]
    psu = base.data["psu"].to_numpy()[first]
    order = np.argsort(psu)
    want = _bits(spec["brr_factors"]["factors"], reps.n_replicates)
    assert psu[order].tolist() == spec["brr_factors"]["psu"]
    assert want.shape == reps.factors.shape
    np.testing.assert_array_equal(reps.factors[order], 2.0 * want)


def _cases() -> list[tuple[int, dict[str, Any]]]:
    """Every (design, BRR/Fay × mse) pair of the goldens."""
    return [(s["design"], r) for s in EXPECTED["designs"] for r in s["results"]]


@pytest.mark.parametrize(
    ("number", "case"),
    _cases(),
    ids=[f"design{n}_{c['type']}_mse{c['mse']}" for n, c in _cases()],
)
def test_brr_and_fay_estimates_equal_r(number: int, case: dict[str, Any]) -> None:
    """Means, totals, domain means and logit intervals (national and by domain) equal R's."""
    base = _base(number)
    design = base.to_replicates(case["type"], fay_rho=case["fay_rho"], mse=case["mse"])
    reps = design.replicates
    assert reps is not None
    assert reps.n_replicates == case["n_replicates"] and design.degf == case["degf"]
    assert np.isclose(reps.scale, case["scale"], rtol=1e-12)
    close = {"rtol": GOLDEN_RTOL, "atol": GOLDEN_ATOL}
    means = estimate(design, ["y", "z"])
    np.testing.assert_allclose(means["estimate"], case["mean"], **close)
    np.testing.assert_allclose(means["se"], case["mean_se"], **close)
    total = estimate(design, ["y"], "total")
    np.testing.assert_allclose(total["estimate"], case["total"], **close)
    np.testing.assert_allclose(total["se"], case["total_se"], **close)
    by = estimate(design, ["y"], by=["dom"])
    assert by["dom"].tolist() == case["by_dom"]
    np.testing.assert_allclose(by["estimate"], case["by_mean"], **close)
    np.testing.assert_allclose(by["se"], case["by_se"], **close)
    prop = estimate(design, ["yes"], "proportion", ci_method="logit")
    np.testing.assert_allclose(prop["estimate"], case["prop"], **close)
    np.testing.assert_allclose(prop[["ci_low", "ci_high"]].iloc[0], case["prop_ci"], **close)
    domains = estimate(design, ["yes"], "proportion", by=["dom"], ci_method="logit")
    want = np.array([case["by_prop"], case["by_ci_low"], case["by_ci_high"]]).T
    got = domains[["estimate", "ci_low", "ci_high"]].to_numpy()
    # R's glm on a domain without a single "yes" stops at p ≈ 2e-11 with a zero-width
    # interval; perception gives p = 0 and the Korn-Graubard interval (confidence_interval).
    edge = got[:, 0] == 0.0
    assert np.all(want[edge, 0] < 1e-8) and np.all(got[edge, 1] == 0.0)
    assert np.all(got[edge, 2] > 0.0)
    np.testing.assert_allclose(got[~edge], want[~edge], **close)


def test_collation_equals_r_sort() -> None:
    """Stratum labels sort as R sorts text (ICU root: punctuation, digits, a < A, accents)."""
    spec = EXPECTED["collation"]
    assert sorted(set(spec["labels"]), key=r_collation_key) == spec["sorted"]


def test_r_text_equals_as_character() -> None:
    """Numeric ids are written as R's as.character writes them (1e+05, 0.333333333333333)."""
    spec = EXPECTED["as_character"]
    assert [r_text(float(v)) for v in spec["values"]] == spec["text"]
    assert r_text(True) == "TRUE" and r_text(np.int64(100000)) == "100000"


def test_logit_interval_from_replicate_logits() -> None:
    """Consistency: the logit interval is expit(logit p ± t·SE), SE from the replicates' logit(p_r).

    The second route computes every replicate proportion directly from R's exported JK1
    weights, takes R's svrVar of their logits, and builds the interval by hand. The kernel
    refits each replicate as glm.fit does (stopping at a 1e-8 change of the deviance), so
    the two agree to about 1e-9, not to rounding.
    """
    data = dataset("rep_clus1_jk1").copy()
    data["yes"] = (data["sch.wide"] == "Yes").astype(float)
    spec = expected("expected_replicates.json")["designs"]["clus1_jk1"]
    for mse in (False, True):
        design = SurveyDesign(
            data,
            "pw",
            replicate_weights=r"^rw[0-9]+$",
            rep_type="JK1",
            scale=spec["scale"],
            mse=mse,
        )
        got = estimate(design, ["yes"], "proportion", ci_method="logit").iloc[0]
        reps = data.filter(regex=r"^rw[0-9]+$").to_numpy()
        y, w = data["yes"].to_numpy(), data["pw"].to_numpy()
        p = float(w @ y / w.sum())
        logits = special.logit(reps.T @ y / reps.sum(axis=0))
        centre = special.logit(p) if mse else logits.mean()
        se = np.sqrt(spec["scale"] * ((logits - centre) ** 2).sum())
        t = stats.t.ppf(0.975, design.degf)
        want = special.expit(special.logit(p) + np.array([-t, t]) * se)
        np.testing.assert_allclose([got["ci_low"], got["ci_high"]], want, rtol=1e-7)
        assert np.isclose(got["estimate"], p, rtol=1e-12)


def test_logit_interval_on_taylor_design_is_the_delta_method() -> None:
    """On a Taylor design the kernel's logit variance is V(p)/(p(1−p))² (R's svyglm sandwich)."""
    base = _base(9)
    got = estimate(base, ["yes"], "proportion", by=["dom"], ci_method="logit")
    p, se, df = got["estimate"], got["se"], got["df"].astype(float)
    t = stats.t.ppf(0.975, df)
    half = t * se / (p * (1 - p))
    np.testing.assert_allclose(got["ci_low"], special.expit(special.logit(p) - half), rtol=1e-12)
    np.testing.assert_allclose(got["ci_high"], special.expit(special.logit(p) + half), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(1e-3, 1 - 1e-3), offset=st.floats(-1.0, 1.0))
def test_logistic_refit_converges_to_logit(p: float, offset: float) -> None:
    """Property: an interior proportion refits to logit(p_r) from a start within 1 of it."""
    got = logistic_refit(np.array([p]), np.array([special.logit(p) + offset]))[0]
    assert np.isclose(got, special.logit(p), rtol=1e-7, atol=1e-7)


def test_logistic_refit_at_the_boundary_stops_like_glm() -> None:
    """A replicate proportion of 0 or 1 has no finite logit: the refit stops where glm.fit does."""
    got = logistic_refit(np.array([0.0, 1.0, np.nan]), np.array([-1.5, -1.5, 0.0]))
    assert -40 < got[0] < -15 and 15 < got[1] < 40 and np.isnan(got[2])
