"""The dashboard's drivers view as figure specifications: points, words, checks, no leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from demo_project import DASHBOARD_INPUTS, PROJECT, DemoRun
from drivers_data import published_drivers

from perception.dashboard import dashboard_figures
from perception.errors import ValidationError


@pytest.fixture(scope="module")
def tables(demo: DemoRun) -> dict[str, pd.DataFrame]:
    """Return the demo run's published tables."""
    return demo.tables()


def _figures(
    tables: dict[str, pd.DataFrame], drivers: pd.DataFrame, lang: str = "en"
) -> dict[str, dict[str, object]]:
    """Return the dashboard's figures of the demo's tables with this drivers table."""
    return dashboard_figures(
        tables | {"indicator_drivers": drivers},
        catalogue=PROJECT.catalogue,
        survey=PROJECT.survey,
        benchmark_labels=DASHBOARD_INPUTS["benchmark_labels"],
        lang=lang,  # type: ignore[arg-type]
    )


def test_one_valid_figure_per_wave_with_a_dot_per_published_effect(
    tables: dict[str, pd.DataFrame],
) -> None:
    """Each wave's figure is valid Plotly and has one dot per effect that is not suppressed."""
    drivers = published_drivers()
    figures = _figures(tables, drivers)
    keys = sorted(k for k in figures if k.startswith("drivers|"))
    assert keys == [f"drivers|incl_feel_included|{w}" for w in ("w1", "w2", "w3")]
    for key in keys:
        spec = figures[key]
        go.Figure(spec)
        wave = key.split("|")[2]
        mine = drivers[drivers["wave"] == wave]
        shown = mine[~mine["suppressed"]]
        (trace,) = spec["data"]  # type: ignore[index]
        assert trace["x"] == pytest.approx(list(shown["estimate"]))
        assert trace["error_x"]["array"] == pytest.approx(
            list(shown["ci_high"] - shown["estimate"])
        )
        words = [a["text"] for a in spec["layout"]["annotations"]]  # type: ignore[index]
        assert words.count("suppressed") == int(mine["suppressed"].sum())


def test_the_caveat_lists_the_factors_in_both_languages(tables: dict[str, pd.DataFrame]) -> None:
    """The footnote says associations, not causes, and names every factor of the model."""
    drivers = published_drivers()
    for lang, caveat in (
        ("en", "Associations, not causes"),
        ("fr", "Des associations, pas des causes"),
    ):
        spec = _figures(tables, drivers, lang)["drivers|incl_feel_included|w3"]
        note = spec["layout"]["annotations"][-1]["text"].replace("<br>", " ")  # type: ignore[index]
        assert note.startswith(caveat)
        for label in drivers[f"driver_label_{lang}"].unique():
            assert label in note


def test_a_wave_without_a_model_says_so(tables: dict[str, pd.DataFrame]) -> None:
    """A wave whose model could not be fitted shows no dot and says there is no model."""
    drivers = published_drivers()
    failed = drivers[drivers["wave"] == "w2"].iloc[[0]].copy()
    failed[["driver", "level_label_en", "level_label_fr"]] = pd.NA
    failed[["estimate", "se", "ci_low", "ci_high"]] = np.nan
    failed = failed.astype(drivers.dtypes.to_dict())
    table = pd.concat([drivers[drivers["wave"] != "w2"], failed], ignore_index=True)
    spec = _figures(tables, table)["drivers|incl_feel_included|w2"]
    go.Figure(spec)
    assert spec["data"][0]["x"] == []  # type: ignore[index]
    texts = [a["text"] for a in spec["layout"]["annotations"]]  # type: ignore[index]
    assert "No model for this wave" in texts


def test_refuses_a_suppressed_effect_with_a_value(tables: dict[str, pd.DataFrame]) -> None:
    """A drivers table that shows a suppressed level's value is refused, as Tables 1-2 are."""
    leaky = published_drivers()
    leaky.loc[leaky.index[leaky["suppressed"]][0], "estimate"] = 4.0
    with pytest.raises(ValidationError, match="shows values on suppressed rows"):
        _figures(tables, leaky)
    with pytest.raises(ValidationError, match="not been through disclosure control"):
        _figures(tables, published_drivers().drop(columns=["suppressed"]))
