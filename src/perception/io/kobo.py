"""KoBoToolbox / ODK export layouts: group paths and select_multiple questions.

KoBoToolbox exports a form either with XML-name headers (``grp_demo/sexe``) or with label
headers ("Sexe du répondant"), the group separator being ``/``. A select_multiple question comes
as one column of space-separated choice names, as one 0/1 column per choice
(``sources_info/radio``), or both. Whatever the layout, it leaves here as one nullable 0/1 integer
column per option named ``question/option``, blank where the question was not asked.

Without the form definition, select_multiple questions are recognised from the data:

- split layout: sibling columns ``P/x`` holding only 0/1, when ``P`` is also a column or at least
  two such siblings exist and nothing deeper hangs below ``P``;
- single-column layout: a text column whose every value is a list of choice names (lower-case
  ASCII names or whole numbers), at least one value holding two or more of them, and at least
  half of the names recurring in two or more distinct answers (the words of free text, of
  person names or of label phrases such as "Ne sait pas" do not). Upper-case or accented choice
  names are therefore not recognised in this layout: name such questions explicitly.

``read_survey(..., select_multiple=[...])`` names the questions instead when the data are
ambiguous (a group holding only 0/1 questions, say).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perception.errors import ReadError

KOBO_MARKERS = frozenset({"_uuid", "_submission_time", "__version__", "meta/instanceID"})
_XML_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# A choice name as XLSForm authors write them: lower-case, or a whole number ("1", "98").
_CHOICE = r"(?:[0-9]+|[a-z_][a-z0-9_.\-]*)"
_CHOICE_LIST = rf"\s*{_CHOICE}(?:\s+{_CHOICE})*\s*"
_MAX_OPTIONS = 64


@dataclass(frozen=True)
class KoboLayout:
    """A KoBoToolbox export rewritten to the one layout `read_survey` promises."""

    frame: pd.DataFrame
    column_groups: dict[str, str] = field(default_factory=dict)
    multiple_response: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def is_kobo_export(columns: Collection[str]) -> bool:
    """Tell whether a table carries KoBoToolbox submission metadata columns."""
    return bool(KOBO_MARKERS.intersection(columns))


def normalize_kobo(
    frame: pd.DataFrame, select_multiple: Collection[str] | None = None, source: Path | None = None
) -> KoboLayout:
    """Strip group paths (XML-name headers) and put select_multiple questions in one layout."""
    headers = [str(name) for name in frame.columns]
    xml_headers = all(_is_xml_path(name) for name in headers)
    split = _split_questions(frame, headers)
    single = _single_column_questions(frame, headers, split)
    warnings: list[str] = []
    if select_multiple is not None:
        split, single = _only_named(frame, headers, select_multiple, single, xml_headers, source)
    else:
        warnings = [
            f"{header!r} was read as a select_multiple question with options "
            f"{', '.join(options)}; name the questions with read_survey(..., "
            "select_multiple=[...]) if that is wrong"
            for header, options in single.items()
        ]

    columns: list[tuple[str, str, pd.Series]] = []  # (name, full path in the file, values)
    multiple: dict[str, list[str]] = {}
    for header in headers:
        parent, _, option = header.rpartition("/")
        if parent in split:
            question = _short(parent, xml_headers)
            columns.append((f"{question}/{option}", header, _zero_one(frame[header])))
            multiple.setdefault(question, []).append(option)
        elif header in split:
            continue  # the space-separated twin of split columns: the split columns win
        elif header in single:
            question = _short(header, xml_headers)
            multiple[question] = single[header]
            for option, values in _expand(frame[header], single[header]).items():
                columns.append((f"{question}/{option}", f"{header}/{option}", values))
        else:
            columns.append((_short(header, xml_headers), header, frame[header]))

    names, clashes = _unique_names([(name, path) for name, path, _ in columns])
    out = pd.DataFrame(
        {name: values for name, (_, _, values) in zip(names, columns, strict=True)},
        index=frame.index,
    )
    groups = {name: path for name, (_, path, _) in zip(names, columns, strict=True) if path != name}
    return KoboLayout(
        frame=out, column_groups=groups, multiple_response=multiple, warnings=warnings + clashes
    )


def _is_xml_path(header: str) -> bool:
    """Tell whether a header is a ``/``-separated path of XML names (not a label)."""
    return all(_XML_SEGMENT.fullmatch(segment) for segment in header.split("/"))


def _short(path: str, xml_headers: bool) -> str:
    """Drop the group path of an XML-name header; label headers stay as they appear."""
    return path.rpartition("/")[2] if xml_headers else path


def _is_zero_one(series: pd.Series) -> bool:
    """Tell whether a column holds only 0, 1 and blanks."""
    numbers = pd.to_numeric(series.dropna(), errors="coerce")
    return bool(numbers.notna().all() and numbers.isin([0, 1]).all())


def _zero_one(series: pd.Series) -> pd.Series:
    """Return a 0/1 column as nullable integers, blanks as <NA>."""
    return pd.to_numeric(series).astype("Int64")


def _split_questions(frame: pd.DataFrame, headers: list[str]) -> dict[str, list[str]]:
    """Find select_multiple questions exported as 0/1 columns ``question/option``."""
    children: dict[str, list[str]] = {}
    for header in headers:
        parent, slash, _ = header.rpartition("/")
        if slash:
            children.setdefault(parent, []).append(header)
    found: dict[str, list[str]] = {}
    for parent, columns in children.items():
        if any(column in children for column in columns):
            continue  # parent is a group holding further groups
        if not all(_is_zero_one(frame[column]) for column in columns):
            continue
        answered = any(frame[column].notna().any() for column in columns)
        if parent in headers or (len(columns) >= 2 and answered):
            found[parent] = [column.rpartition("/")[2] for column in columns]
    return found


def _choice_lists(series: pd.Series) -> list[str] | None:
    """Return the options of a space-separated choice-list column, or None if it is not one."""
    if pd.api.types.infer_dtype(series, skipna=True) != "string":
        return None
    values = series.dropna().astype(str)
    if values.empty or not bool(values.str.fullmatch(_CHOICE_LIST).all()):
        return None
    answers = [answer.split() for answer in values.unique()]
    if all(len(answer) < 2 for answer in answers):
        return None
    # Choices recur in different combinations; the words of free text and fixed phrases do not.
    seen_in = Counter(token for answer in answers for token in set(answer))
    if len(seen_in) > _MAX_OPTIONS or 2 * sum(n >= 2 for n in seen_in.values()) < len(seen_in):
        return None
    return sorted(seen_in, key=_natural_key)


def _natural_key(option: str) -> tuple[int, int, str]:
    """Sort numeric choice names by number, before the others in alphabetical order."""
    return (0, int(option), "") if option.isdigit() else (1, 0, option)


def _single_column_questions(
    frame: pd.DataFrame, headers: list[str], split: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Find select_multiple questions exported as one column of space-separated choices."""
    found: dict[str, list[str]] = {}
    for header in headers:
        if header in split or header.startswith("_"):
            continue  # KoBoToolbox's own _uuid, _tags, _notes... are not questions
        options = _choice_lists(frame[header])
        if options is not None:
            found[header] = options
    return found


def _only_named(
    frame: pd.DataFrame,
    headers: list[str],
    named: Collection[str],
    single: dict[str, list[str]],
    xml_headers: bool,
    source: Path | None,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Keep exactly the select_multiple questions the caller named (full path or short name)."""
    parents = {header.rpartition("/")[0] for header in headers if "/" in header}
    questions = set(headers) | parents
    chosen = {q for q in questions if q in named or _short(q, xml_headers) in named}
    unknown = sorted(
        set(named) - chosen - {_short(q, xml_headers) for q in chosen},
    )
    if unknown:
        raise ReadError(
            "select_multiple names questions the file does not have",
            expected="question names as in the file header (with or without the group path)",
            found=", ".join(unknown),
            hint="Check the spelling against the column names of the export.",
            file=source,
        )
    new_split: dict[str, list[str]] = {}
    new_single: dict[str, list[str]] = {}
    for question in sorted(chosen):
        if question in parents:
            options = [h for h in headers if h.rpartition("/")[0] == question]
            not_binary = [h for h in options if not _is_zero_one(frame[h])]
            if not_binary:
                raise ReadError(
                    f"select_multiple names {question!r}, whose columns are not 0/1 options",
                    expected=f"columns {question}/<option> holding only 0, 1 or blanks",
                    found=", ".join(not_binary),
                    hint="Name the select_multiple question itself, not the group holding it.",
                    file=source,
                    column=question,
                )
            new_split[question] = [h.rpartition("/")[2] for h in options]
        else:
            options = single.get(question) or _any_choice_lists(frame[question])
            new_single[question] = options
    return new_split, new_single


def _as_text(series: pd.Series) -> pd.Series:
    """Return choice codes as text; numeric codes (one choice per answer) without a ".0"."""
    if pd.api.types.is_float_dtype(series.dtype) and bool((series.dropna() % 1 == 0).all()):
        return series.astype("Int64").astype("str")
    return series.astype("str")


def _any_choice_lists(series: pd.Series) -> list[str]:
    """Return the options of a column the caller says is a choice list, even a one-choice one."""
    tokens = _as_text(series).dropna().str.split()
    return sorted(set(tokens.explode().dropna().tolist()), key=_natural_key)


def _expand(series: pd.Series, options: list[str]) -> dict[str, pd.Series]:
    """Split a space-separated choice column into one nullable 0/1 column per option."""
    padded = " " + _as_text(series).str.split().str.join(" ") + " "
    asked = series.notna()
    return {
        option: padded.str.contains(f" {option} ", regex=False, na=False)
        .astype("Int64")
        .where(asked, pd.NA)
        for option in options
    }


def _unique_names(named: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Keep the full group path for short names that would collide; say which ones."""
    counts = Counter(name for name, _ in named)
    clashes = sorted(name for name, count in counts.items() if count > 1)
    if not clashes:
        return [name for name, _ in named], []
    unique = [path if counts[name] > 1 else name for name, path in named]
    return unique, [
        f"columns {', '.join(clashes)} exist in several groups; they keep their full group path"
    ]
