"""Golden tests: every contract case of R's survey 4.1.1 in tests/reference/expected.json."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden import COMPARED, STATISTIC, dataset, expected

from perception.design import SurveyDesign
from perception.errors import DesignError
from perception.estimation import estimate

EXPECTED = expected("expected.json")

# Provenance: expected.json meta.tolerance, produced by make_reference.R with R 4.2.2 and
# survey 4.1.1 (see tests/reference/PROVENANCE.md). R's calibrate() stops at 1e-7 and its
# svyglm logit estimate is within 3e-9 of the exact mean; both sit well inside 1e-6.
GOLDEN_RTOL = 1e-6
GOLDEN_ATOL = 1e-9

WEIGHT_COLUMN = {
    "weights_after_rake": "weight_calibrate_raking",
    "weights_after_poststratify": "weight_poststratify_stype",
}


def _contract_cases() -> list[dict[str, Any]]:
    """Every case that is not marked informational."""
    return [c for c in EXPECTED["cases"] if not c.get("informational")]


def _data_for(case: dict[str, Any]) -> pd.DataFrame:
    """Return the case's data, with the proportion's 0/1 indicator in its column."""
    data = dataset(case["dataset"]).copy()
    indicator = case.get("indicator_of")
    if indicator:
        column = data[indicator["column"]]
        data[indicator["column"]] = (
            (column == indicator["equals"]).astype(float).where(column.notna())
        )
    return data


def _design_for(case: dict[str, Any]) -> SurveyDesign:
    """Build the case's design and apply its raking or post-stratification."""
    design = SurveyDesign(_data_for(case), **case["design"])
    if "margins" in case:
        design = design.rake(case["margins"])
    if "poststrat_vars" in case:
        design = design.poststratify(case["poststrat_vars"], case["targets"])
    return design


def _close(got: float, want: float | None) -> bool:
    """Compare at the golden tolerance; R's null must be NaN here."""
    if want is None:
        return bool(np.isnan(got))
    return bool(np.isclose(got, want, rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL))


def test_reference_has_42_contract_cases() -> None:
    """It finds the 42 contract cases and 7 informational ones named in the README."""
    cases = EXPECTED["cases"]
    assert len(_contract_cases()) == 42
    assert len(cases) - len(_contract_cases()) == 7


@pytest.mark.parametrize("case", _contract_cases(), ids=lambda c: str(c["id"]))
def test_matches_r(case: dict[str, Any]) -> None:
    """It reproduces R's estimate, SE, CI, df, deff, n, n_weighted or weights for the case."""
    if "expected_error" in case:
        with pytest.raises(DesignError, match=r"Stratum \(Amador\) has only one PSU") as info:
            estimate(_design_for(case), case["variables"])
        assert info.value.column == case["design"]["strata"]
        return
    design = _design_for(case)
    operation = case["operation"]
    if operation in WEIGHT_COLUMN:
        want = dataset("apiclus1_raked_weights")[WEIGHT_COLUMN[operation]].to_numpy()
        summary = case["expected"][0]
        np.testing.assert_allclose(design.weights, want, rtol=GOLDEN_RTOL)
        np.testing.assert_allclose(design.weights[:10], summary["first10"], rtol=GOLDEN_RTOL)
        for key, value in (("min", design.weights.min()), ("max", design.weights.max())):
            assert np.isclose(value, summary[key], rtol=GOLDEN_RTOL)
        assert np.isclose(design.weights.sum(), summary["sum"], rtol=GOLDEN_RTOL)
        assert design.weights.size == summary["n"]
        return
    stat = STATISTIC[operation]
    ci_method = case["ci_method"] if stat == "proportion" else "logit"
    table = estimate(design, case["variables"], stat, case["by"], ci_method, case["level"])
    by = case["by"] or []
    assert len(table) == len(case["expected"])
    for row in case["expected"]:
        match = table["variable"] == row["variable"]
        for column in by:
            match &= table[column] == row[column]
        assert match.sum() == 1, row
        got = table[match].iloc[0]
        assert got["df"] == row["df"] and got["n"] == row["n"], row
        fields = ("estimate", "se", "n_weighted") if row.get("degenerate") else COMPARED
        wrong = {f: (got[f], row[f]) for f in fields if not _close(float(got[f]), row[f])}
        assert not wrong, (row, wrong)
