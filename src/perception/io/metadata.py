"""What a survey file says about its columns, beyond the values: the `SurveyMetadata` record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

Format = Literal["spss", "spss-por", "stata", "sas7bdat", "xport", "csv", "kobo-xlsx", "xls"]
VariableType = Literal["numeric", "string", "date", "datetime", "time"]
Measure = Literal["nominal", "ordinal", "scale"]
LabelKey = float | int | str


class MissingRange(NamedTuple):
    """One declared SPSS user-missing range, inclusive; a discrete value has ``lo == hi``."""

    lo: float | int | str
    hi: float | int | str


@dataclass(frozen=True)
class ResponseSet:
    """An SPSS multiple-response set as declared in the file; its columns keep their names."""

    label: str
    kind: Literal["dichotomy", "category"]
    counted_value: int | float | str | None
    columns: list[str]


@dataclass(frozen=True)
class SurveyMetadata:
    """Everything `read_survey` learned about a file besides its values.

    Attributes
    ----------
    path : Path
        The file that was read.
    format : Format
        Format family: "spss", "spss-por", "stata", "sas7bdat", "xport", "csv", "kobo-xlsx", "xls".
    n_rows : int
        Number of rows (respondents) read.
    column_names : list of str
        Column names of the returned frame, in order.
    variable_types : dict
        Per column: "numeric", "string", "date", "datetime" or "time" (SPSS/Stata/SAS time of day,
        kept as ``datetime.time`` objects).
    column_labels : dict
        Variable labels; columns without a label are absent.
    value_labels : dict
        Per column, value -> label. Integral numeric codes are ints (``1``, not ``1.0``); Stata
        extended-missing codes are keyed as in the column (``".a"``).
    missing_ranges : dict
        SPSS user-missing declarations per column (discrete values are ``lo == hi`` ranges). The
        values stay in the data; only the codebook decides what is missing.
    extended_missing : dict
        Stata (and SAS) extended missing codes present in each column, e.g. ``[".a", ".b"]``.
    encoding : str or None
        Text encoding the file was decoded with, when the format has one.
    column_groups : dict
        KoBoToolbox: returned column name -> full group path in the file (``sexe`` ->
        ``grp_demo/sexe``); only columns whose name was shortened appear.
    multiple_response : dict
        select_multiple question -> its options; column ``f"{question}/{option}"`` holds 0/1.
    file_label : str or None
        The file label, when the format stores one.
    notes : list of str
        Notes (SPSS documents) stored in the file.
    measures : dict
        SPSS measurement level per column ("nominal", "ordinal", "scale") when declared.
    response_sets : dict
        SPSS multiple-response sets as declared (set name -> `ResponseSet`).
    warnings : list of str
        Things the reader noticed and decided about (ignored sheets, renamed columns...).

    """

    path: Path
    format: Format
    n_rows: int
    column_names: list[str]
    variable_types: dict[str, VariableType]
    column_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[LabelKey, str]] = field(default_factory=dict)
    missing_ranges: dict[str, list[MissingRange]] = field(default_factory=dict)
    extended_missing: dict[str, list[str]] = field(default_factory=dict)
    encoding: str | None = None
    column_groups: dict[str, str] = field(default_factory=dict)
    multiple_response: dict[str, list[str]] = field(default_factory=dict)
    file_label: str | None = None
    notes: list[str] = field(default_factory=list)
    measures: dict[str, Measure] = field(default_factory=dict)
    response_sets: dict[str, ResponseSet] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
