"""Published adjusted p-values depend on published p-values only (no BH side channel)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from perception.trends import adjust_published, bh_within


def _changes(hidden_p: float) -> pd.DataFrame:
    """Three changes of one family; the second is hidden (its p-value as computed before)."""
    return pd.DataFrame(
        {
            "survey": "s",
            "comparison": "previous",
            "wave": "w2",
            "indicator": ["a", "b", "c"],
            "estimate": [0.05, 0.04, -0.01],
            "ci_low": [0.01, 0.0, -0.05],
            "ci_high": [0.09, 0.08, 0.03],
            "p_value": [0.011, hidden_p, 0.9],
            "suppressed": [False, True, False],
            "significant": False,
            "direction": "no change",
        }
    )


def test_adjusting_before_suppression_gives_a_hidden_p_value_away() -> None:
    """It shows the channel: BH over the whole family puts 3/2 × the hidden p on a shown row."""
    table = _changes(0.012)
    everyone = bh_within(table, pd.Series(True, index=table.index), ("survey", "wave"))
    assert everyone[0] == pytest.approx(1.5 * 0.012, rel=1e-12)


@pytest.mark.parametrize("hidden_p", [0.0001, 0.012, 0.3, 0.99])
def test_published_adjusted_p_values_ignore_hidden_changes(hidden_p: float) -> None:
    """It re-adjusts over the shown changes: the same published numbers whatever the hidden p."""
    out = adjust_published(_changes(hidden_p), {"a": "higher", "b": "higher", "c": "higher"})
    expected = multipletests([0.011, 0.9], method="fdr_bh")[1]
    np.testing.assert_allclose(out.loc[[0, 2], "p_adjusted"], expected, rtol=1e-12)
    assert np.isnan(out.loc[1, "p_adjusted"])
    assert out["significant"].tolist() == [True, False, False]
    assert out["direction"].tolist() == ["improving", "no change", "no change"]
