"""The one schema of the published tables (perception.tables) and the export gate reading it."""

from __future__ import annotations

from typing import get_args

import pandas as pd
import pytest

from perception.config import DisclosureRules
from perception.config.project import InterviewMode
from perception.disclosure import apply_disclosure, apply_disclosure_trends
from perception.errors import ValidationError
from perception.exports import check_published
from perception.tables import (
    DRIVERS,
    ESTIMATES,
    INTERVIEW_MODES,
    METHODOLOGY,
    TABLES,
    TRENDS,
    Table,
)
from perception.words import has

DOMAINS = ("gender", "region")


def _one_row(schema: Table, *, suppressed: bool) -> pd.DataFrame:
    """Return a one-row table of ``schema`` that the export gate accepts."""
    row: dict[str, object] = {}
    for column, sql in schema.columns(DOMAINS).items():
        coded = schema.values.get(column)
        row[column] = {
            "VARCHAR": coded[0] if coded else "x",
            "DOUBLE": 0.5,
            "BIGINT": 1,
            "BOOLEAN": False,
            "DATE": None,
        }[sql]
    if schema.domains:
        row["domain_set"] = "national"
        row["gender"] = row["region"] = None
    if suppressed:
        row["suppressed"] = True
        for column in schema.hidden:
            row[column] = False if schema.by_name[column].sql == "BOOLEAN" else None
    return pd.DataFrame([row]).astype(schema.dtypes(DOMAINS))


def test_the_gate_blanks_what_disclosure_blanks() -> None:
    """Table 2's p-values, verdict and direction are hidden when suppressed, as disclosure does."""
    assert {"p_value", "p_adjusted", "significant", "direction"} <= set(TABLES[TRENDS].hidden)
    assert {"p_value", "p_adjusted", "dk_share", "n_weighted"} <= set(TABLES[ESTIMATES].hidden)
    assert "n" not in TABLES[ESTIMATES].hidden  # counts stay published


@pytest.mark.parametrize("name", [ESTIMATES, TRENDS, DRIVERS])
def test_every_hidden_column_shown_on_a_suppressed_row_is_refused(name: str) -> None:
    """A suppressed row passes blank, and is refused as soon as one hidden column shows."""
    schema = TABLES[name]
    blank = _one_row(schema, suppressed=True)
    check_published(blank, name, DOMAINS)
    for column in schema.hidden:
        shown = blank.copy()
        if schema.by_name[column].sql == "BOOLEAN":
            shown[column] = True
        elif schema.by_name[column].sql == "VARCHAR":
            shown[column] = schema.values.get(column, ("x",))[0]
        else:
            shown[column] = 0.25
        with pytest.raises(ValidationError, match="shows values on suppressed rows"):
            check_published(shown, name, DOMAINS)


def test_every_column_has_a_description_and_one_sql_type() -> None:
    """Every column of every table says what it holds; a name keeps its type across tables."""
    types: dict[str, set[str]] = {}
    for schema in TABLES.values():
        assert schema.description
        for column in schema.columns(DOMAINS):
            assert schema.description_of(column, DOMAINS)
            types.setdefault(column, set()).add(schema.columns(DOMAINS)[column])
        assert set(schema.key(DOMAINS)) <= set(schema.columns(DOMAINS))
    assert {c: t for c, t in types.items() if len(t) > 1} == {}


def test_interview_modes_are_the_configuration_s_and_each_has_words() -> None:
    """The methodology's interview_mode codes are survey.yaml's modes, each said in EN and FR."""
    assert get_args(InterviewMode) == INTERVIEW_MODES
    assert TABLES[METHODOLOGY].values["interview_mode"] == INTERVIEW_MODES
    assert all(has(f"mode.{mode}") for mode in INTERVIEW_MODES)


@pytest.mark.parametrize("name", [name for name, schema in TABLES.items() if schema.disclosed])
def test_blank_leaves_what_the_gate_accepts_and_touches_only_hidden_columns(name: str) -> None:
    """A row blanked by Table.blank passes the gate; its other columns keep their values."""
    schema = TABLES[name]
    shown = _one_row(schema, suppressed=False)
    blank = schema.blank(shown.assign(suppressed=True), [True])
    check_published(blank, name, DOMAINS)
    kept = [c for c in shown.columns if c not in schema.hidden and c != "suppressed"]
    pd.testing.assert_frame_equal(blank[kept], shown[kept])
    assert blank[list(schema.hidden_values)].isna().all(axis=None)


@pytest.mark.parametrize(
    ("name", "column"),
    [(n, c) for n in (ESTIMATES, TRENDS) for c in TABLES[n].columns(published=False)],
)
def test_disclosure_requires_every_column_of_the_schema(name: str, column: str) -> None:
    """Disclosure control reads the schema's columns: a table without any one is refused."""
    unpublished = TABLES[name].columns(DOMAINS, published=False)
    table = _one_row(TABLES[name], suppressed=False)[list(unpublished)].drop(columns=column)
    estimates = _one_row(TABLES[ESTIMATES], suppressed=False)
    with pytest.raises(ValidationError, match="lacks required columns") as caught:
        if name == ESTIMATES:
            apply_disclosure(table, DisclosureRules())
        else:
            apply_disclosure_trends(table, estimates, DisclosureRules())
    assert caught.value.column == column
