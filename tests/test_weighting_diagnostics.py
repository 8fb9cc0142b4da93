"""Weight diagnostics: Kish deff, effective sample size, margin errors, the tidy report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perception.weighting import (
    MARGIN_ERROR_COLUMNS,
    REPORT_COLUMNS,
    effective_sample_size,
    kish_deff,
    margin_errors,
    weight_report,
)


def test_equal_weights_have_deff_one_and_full_sample_size() -> None:
    """It gives deff 1 and n_eff = n when every weight is the same."""
    w = np.full(37, 12.5)
    assert kish_deff(w) == pytest.approx(1.0)
    assert effective_sample_size(w) == pytest.approx(37.0)


def test_deff_equals_one_plus_squared_cv() -> None:
    """It matches 1 + CV² of the weights (population variance), a second route to Kish's deff."""
    w = np.random.default_rng(5).gamma(2.0, 3.0, 1000)
    cv2 = np.var(w) / np.mean(w) ** 2
    assert kish_deff(w) == pytest.approx(1 + cv2, rel=1e-12)
    assert effective_sample_size(w) == pytest.approx(len(w) / (1 + cv2), rel=1e-12)


def test_deff_of_two_weight_classes_by_hand() -> None:
    """It gives (n1 + n2)(n1 a² + n2 b²)/(n1 a + n2 b)² for n1 weights a and n2 weights b."""
    w = np.array([1.0] * 3 + [4.0] * 1)
    assert kish_deff(w) == pytest.approx(4 * (3 + 16) / 7**2)


def _sample() -> tuple[pd.DataFrame, np.ndarray]:
    """Return a small sample with gender and region, and its weights."""
    data = pd.DataFrame(
        {"gender": [1, 1, 2, 2, 2, 1], "region": [1, 2, 1, 2, 2, 1]},
    )
    return data, np.array([10.0, 20.0, 30.0, 10.0, 5.0, 25.0])


def test_margin_errors_compare_weighted_totals_with_targets() -> None:
    """It reports achieved totals and absolute and relative errors per margin cell."""
    data, w = _sample()
    targets = {"gender": {1: 50.0, 2: 50.0}, ("gender", "region"): {(1, 1): 35.0}}
    table = margin_errors(data, w, targets)
    assert tuple(table.columns) == MARGIN_ERROR_COLUMNS
    cells = table.set_index(["margin", "level"])
    assert cells.loc[("gender", "1"), "achieved"] == 55.0
    assert cells.loc[("gender", "1"), "error_abs"] == 5.0
    assert cells.loc[("gender", "1"), "error_rel"] == pytest.approx(0.1)
    assert cells.loc[("gender", "2"), "error_rel"] == pytest.approx(5 / 50)
    assert cells.loc[("gender:region", "1:1"), "error_abs"] == 0.0
    # Levels with respondents but no target appear with target 0 and an infinite relative error.
    assert cells.loc[("gender:region", "2:2"), "target"] == 0.0
    assert np.isinf(cells.loc[("gender:region", "2:2"), "error_rel"])


def test_report_schema_and_overall_row() -> None:
    """It returns the fixed columns, with an overall row computed from all weights."""
    data, w = _sample()
    report = weight_report(data, w, domains=["gender"], margins={"gender": {1: 50.0, 2: 50.0}})
    assert tuple(report.columns) == REPORT_COLUMNS
    overall = report.iloc[0]
    assert (overall["domain"], overall["level"]) == ("overall", "overall")
    assert overall["n"] == 6
    assert overall["sum_weights"] == pytest.approx(100.0)
    assert overall["max_min_ratio"] == pytest.approx(30.0 / 5.0)
    assert overall["deff_kish"] == pytest.approx(kish_deff(w))
    assert overall["margin_error_abs"] == pytest.approx(5.0)
    assert overall["margin_error_rel"] == pytest.approx(0.1)
    assert np.isnan(overall["target"])


def test_report_domain_rows_match_a_groupby() -> None:
    """It reports each domain level's deff and n_eff as computed separately on its weights."""
    data, w = _sample()
    report = weight_report(data, w, domains=["region", ["gender", "region"]])
    rows = report.set_index(["domain", "level"])
    for region in (1, 2):
        wr = w[data["region"].to_numpy() == region]
        row = rows.loc[("region", str(region))]
        assert row["n"] == len(wr)
        assert row["deff_kish"] == pytest.approx(kish_deff(wr))
        assert row["n_eff"] == pytest.approx(effective_sample_size(wr))
        assert row["mean_weight"] == pytest.approx(wr.mean())
    crossed = rows.loc["gender:region"]
    assert list(crossed.index) == ["1:1", "1:2", "2:1", "2:2"]
    assert crossed["n"].sum() == 6
    assert crossed["margin_error_abs"].isna().all()


def test_report_counts_trimmed_units_and_run_facts() -> None:
    """It counts trimmed units per level and repeats the run's facts on every row."""
    data, w = _sample()
    trimmed = np.array([False, False, True, False, False, True])
    report = weight_report(
        data, w, domains=["gender"], trimmed=trimmed, cap=30.0, trim_rounds=2, iterations=4
    )
    rows = report.set_index(["domain", "level"])
    assert rows.loc[("overall", "overall"), "n_trimmed"] == 2
    assert rows.loc[("gender", "1"), "n_trimmed"] == 1
    assert rows.loc[("gender", "2"), "n_trimmed"] == 1
    assert (report["cap"] == 30.0).all()
    assert (report["trim_rounds"] == 2).all()
    assert (report["iterations"] == 4).all()
    assert report["converged"].all()


def test_report_shows_margin_level_without_respondents() -> None:
    """It lists a target level that has no respondents, with n 0 and its whole target as error."""
    data, w = _sample()
    report = weight_report(data, w, domains=["gender"], margins={"gender": {1: 55, 2: 45, 3: 7}})
    row = report.set_index(["domain", "level"]).loc[("gender", "3")]
    assert row["n"] == 0
    assert row["margin_error_abs"] == pytest.approx(7.0)


def test_report_orders_codes_naturally_and_missing_last() -> None:
    """It orders levels 2 before 10, and the <missing> level last."""
    data = pd.DataFrame({"region": pd.array([10, 2, None, 1], dtype="Int64")})
    report = weight_report(data, np.ones(4), domains=["region"])
    assert report["level"].tolist()[1:] == ["1", "2", "10", "<missing>"]
