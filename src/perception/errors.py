"""One error hierarchy: each data or config problem says what was expected, found, and a hint."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

_MAX_ROWS_SHOWN = 10


def show_rows(rows: Sequence[int]) -> str:
    """Render row positions for a message: the first 10 and, when there are more, the count.

    This is the one place that shortens row lists: pass every offending row to
    :class:`PerceptionError` (or here) and let it truncate.
    """
    shown = ", ".join(str(int(r)) for r in rows[:_MAX_ROWS_SHOWN])
    if len(rows) <= _MAX_ROWS_SHOWN:
        return shown
    return f"{shown} (first {_MAX_ROWS_SHOWN} of {len(rows):,} rows)"


class PerceptionError(Exception):
    """Base class for every error a user can cause with data or configuration."""

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        found: str,
        hint: str,
        file: str | Path | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
    ) -> None:
        """Keep every row in ``rows``; the message shows the first 10 and the count."""
        self.message = message
        self.expected = expected
        self.found = found
        self.hint = hint
        self.file = str(file) if file is not None else None
        self.column = column
        self.rows = [int(r) for r in rows] if rows is not None else None
        super().__init__(self._render())

    def reworded(self, message: str, *, column: str | None = None) -> PerceptionError:
        """Return the same error (class, expected, found, hint, file, rows) with a new message."""
        return type(self)(message, **{**self._fields(), "column": self.column or column})

    def __reduce__(self) -> tuple[Callable[[], PerceptionError], tuple[()]]:
        """Pickle by message and fields (to cross a process boundary whole)."""
        return functools.partial(type(self), self.message, **self._fields()), ()

    def _fields(self) -> dict[str, Any]:
        """Return the keyword arguments that rebuild this error with its message."""
        return {
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
            "file": self.file,
            "column": self.column,
            "rows": self.rows,
        }

    def _render(self) -> str:
        lines = [self.message]
        if self.file is not None:
            lines.append(f"  file:     {self.file}")
        if self.column is not None:
            lines.append(f"  column:   {self.column}")
        if self.rows:
            lines.append(f"  rows:     {show_rows(self.rows)}")
        lines.append(f"  expected: {self.expected}")
        lines.append(f"  found:    {self.found}")
        lines.append(f"  hint:     {self.hint}")
        return "\n".join(lines)


class ReadError(PerceptionError):
    """A survey file cannot be read (corrupt, truncated, empty, wrong extension, undecodable)."""


class ConfigError(PerceptionError):
    """A YAML configuration file is invalid (unknown key, wrong type, missing file)."""


class CodebookError(PerceptionError):
    """A codebook does not fit the data it is applied to."""


class ValidationError(PerceptionError):
    """Harmonized data break a rule (duplicate ids, values outside the codebook, personal data)."""


class DesignError(PerceptionError):
    """A survey design is invalid (bad weights, missing strata or PSU ids, lonely PSUs)."""


class CalibrationError(PerceptionError):
    """Weighting cannot reach its targets (empty cells, inconsistent margins, no convergence)."""


class ModelError(PerceptionError):
    """A regression model cannot be fitted (unknown column, collinear, separated, no df)."""


def require_columns(
    present: Iterable[Hashable],
    columns: Iterable[str],
    what: str,
    hint: str,
    *,
    file: str | Path | None = None,
) -> None:
    """Refuse a table whose ``present`` columns lack one of ``columns``, naming the first.

    Raises
    ------
    ValidationError
        ``"<what> lacks required columns"``, with every missing column.

    """
    wanted, have = list(columns), set(present)
    missing = [c for c in wanted if c not in have]
    if missing:
        raise ValidationError(
            f"{what} lacks required columns",
            expected=", ".join(wanted),
            found="missing " + ", ".join(missing),
            hint=hint,
            file=file,
            column=missing[0],
        )
