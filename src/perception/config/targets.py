"""Population targets (config/targets/*.yaml): the model, its loader and the margins they give."""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, model_validator

from perception.config.catalogue import Catalogue
from perception.config.document import config_error, document_of, load_model
from perception.config.project import SurveyConfig
from perception.config.weighting import WeightingConfig
from perception.errors import ConfigError
from perception.weighting._common import as_spec, spec_name, spec_variables
from perception.yamlio import YamlDocument, load_yaml

TOTAL_TOLERANCE = 1e-3
"""Relative tolerance (0.1%) within which tables agree on the grand total and shared margins."""

Cell = tuple[int, ...]


class TargetTable(BaseModel):
    """One cross-tabulation of population counts: codes of each dimension, then the count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    dimensions: tuple[str, ...] = Field(min_length=1)
    rows: tuple[tuple[int | float, ...], ...] = Field(min_length=1)

    def counts(self) -> dict[Cell, float]:
        """Return the count of every cell, keyed by its tuple of codes."""
        return {tuple(int(c) for c in row[:-1]): float(row[-1]) for row in self.rows}

    def collapse(self, variables: Sequence[str]) -> dict[Cell, float]:
        """Return the table summed over every dimension not in ``variables`` (in that order)."""
        index = [self.dimensions.index(v) for v in variables]
        out: dict[Cell, float] = {}
        for cell, count in self.counts().items():
            key = tuple(cell[i] for i in index)
            out[key] = out.get(key, 0.0) + count
        return out

    @property
    def total(self) -> float:
        """Return the grand total of the table."""
        return math.fsum(float(row[-1]) for row in self.rows)


class PopulationTargets(BaseModel):
    """A population targets file (``config/targets/*.yaml``), checked for internal consistency.

    Every table must have one count per complete combination of its dimension codes (integer
    codes, positive counts, no duplicate cells), every table must have the same grand total, and
    tables sharing dimensions must agree on those dimensions' margins, all within
    :data:`TOTAL_TOLERANCE`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    survey: str = Field(min_length=1)
    source: str = Field(min_length=1)
    reference_date: date
    tables: tuple[TargetTable, ...] = Field(min_length=1)
    _document: YamlDocument | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        """Check every table, then the agreement between tables."""
        self._document = document_of(info)
        names = [t.name for t in self.tables]
        for i, table in enumerate(self.tables):
            if names.index(table.name) != i:
                self._fail(
                    ("tables", i, "name"), "unique table names", repr(table.name), "Rename one."
                )
            self._check_table(i, table)
        self._check_agreement()
        return self

    def _fail(self, loc: tuple[int | str, ...], expected: str, found: str, hint: str) -> NoReturn:
        """Raise a ConfigError about key ``loc`` of this file."""
        raise config_error(
            self._document,
            loc,
            "Invalid population targets",
            expected=expected,
            found=found,
            hint=hint,
        )

    def _check_table(self, i: int, table: TargetTable) -> None:
        """Check one table's dimensions, codes, counts and completeness."""
        dims = table.dimensions
        if len(set(dims)) != len(dims):
            self._fail(
                ("tables", i, "dimensions"),
                "distinct dimensions",
                repr(list(dims)),
                "Name each dimension once.",
            )
        seen: set[Cell] = set()
        for j, row in enumerate(table.rows):
            key = ("tables", i, "rows", j)
            if len(row) != len(dims) + 1:
                self._fail(
                    key,
                    f"{len(dims) + 1} numbers: a code for each of {list(dims)}, then the count",
                    f"{len(row)} number(s): {list(row)}",
                    "Give every dimension's code before the count.",
                )
            codes, count = row[:-1], row[-1]
            if not all(isinstance(c, int) for c in codes):
                self._fail(
                    key,
                    "integer (harmonized) codes",
                    repr(list(codes)),
                    "Use the codes of config/variables.yaml.",
                )
            if not (math.isfinite(count) and count > 0):
                self._fail(
                    key,
                    "a positive population count",
                    repr(count),
                    "A population cell "
                    "with no one in it cannot be a calibration target; merge codes.",
                )
            cell = tuple(int(c) for c in codes)
            if cell in seen:
                self._fail(key, "each cell once", f"cell {list(cell)} repeated", "Remove one.")
            seen.add(cell)
        levels = [sorted({cell[d] for cell in seen}) for d in range(len(dims))]
        absent = [cell for cell in itertools.product(*levels) if cell not in seen]
        if absent:
            self._fail(
                ("tables", i, "rows"),
                f"one row for every combination of the codes of {list(dims)}",
                f"{len(absent)} combination(s) missing, first {list(absent[0])}",
                "Add the missing rows (a table must cover the whole population).",
            )

    def _check_agreement(self) -> None:
        """Check that tables agree on the grand total and on the margins they share."""
        first = self.tables[0]
        for i, table in enumerate(self.tables[1:], start=1):
            if not _close(table.total, first.total):
                self._fail(
                    ("tables", i, "rows"),
                    f"grand total {first.total:,.0f} (table {first.name!r}) within 0.1%",
                    f"grand total {table.total:,.0f} in table {table.name!r}",
                    "Every table must describe the same population; re-derive the counts "
                    "from one source and reference date.",
                )
            for earlier in self.tables[:i]:
                shared = [d for d in earlier.dimensions if d in table.dimensions]
                if not shared:
                    continue
                a, b = earlier.collapse(shared), table.collapse(shared)
                for cell in sorted(set(a) | set(b)):
                    if not _close(a.get(cell, 0.0), b.get(cell, 0.0)):
                        self._fail(
                            ("tables", i, "rows"),
                            f"the {spec_name(tuple(shared))} margin of table {earlier.name!r} "
                            "within 0.1%",
                            f"cell {list(cell)}: {b.get(cell, 0.0):,.1f} in {table.name!r} vs "
                            f"{a.get(cell, 0.0):,.1f} in {earlier.name!r}",
                            "Tables sharing a dimension must agree on its totals.",
                        )

    def check_codes(self, codes: Mapping[str, Collection[int]]) -> None:
        """Check that every dimension is a known variable and every code one of its codes.

        ``codes`` maps each harmonized categorical variable to its valid codes (from the
        variable catalogue, with the age-band codes for ``age_band``).
        """
        for i, table in enumerate(self.tables):
            for d, dim in enumerate(table.dimensions):
                if dim not in codes:
                    self._fail(
                        ("tables", i, "dimensions", d),
                        f"a categorical variable of the catalogue: {sorted(codes)}",
                        repr(dim),
                        "Use harmonized variable names (config/variables.yaml).",
                    )
                unknown = sorted({c[d] for c in table.counts()} - set(codes[dim]))
                if unknown:
                    self._fail(
                        ("tables", i, "rows"),
                        f"codes of {dim!r}: {sorted(codes[dim])}",
                        f"unknown code(s) {unknown}",
                        "Use the harmonized codes of config/variables.yaml.",
                    )

    @property
    def grand_total(self) -> float:
        """Return the population total (that of the first table)."""
        return self.tables[0].total

    def margin(self, variables: str | Sequence[str]) -> dict[Hashable, float]:
        """Return population totals of one variable, or the joint cells of several.

        Parameters
        ----------
        variables : str or sequence of str
            ``"region"`` gives ``{code: total}``; ``["gender", "age_band"]`` gives
            ``{(gender_code, age_band_code): total}``, the keys post-stratification expects.

        Returns
        -------
        dict
            Totals summed over the other dimensions of the first table (in file order) holding
            all the variables. Tables agree on shared margins, so the choice does not matter.

        Raises
        ------
        ConfigError
            If no table holds all the variables.

        """
        spec = as_spec(variables)
        names = spec_variables(spec)
        for table in self.tables:
            if set(names) <= set(table.dimensions):
                cells = table.collapse(names)
                if isinstance(spec, str):
                    return {cell[0]: total for cell, total in cells.items()}
                return {cell: total for cell, total in cells.items()}
        self._fail(
            ("tables",),
            f"a table whose dimensions include {list(names)}",
            f"tables with dimensions {[list(t.dimensions) for t in self.tables]}",
            "Add a table crossing these variables, or change the margins in config/weighting.yaml.",
        )

    def raking_margins(
        self, specs: Sequence[str | Sequence[str]]
    ) -> dict[str, dict[Hashable, float]]:
        """Return ``{name: {code: total}}`` for raking; a crossed spec is named ``a:b``."""
        return {spec_name(as_spec(s)): self.margin(s) for s in specs}


def _close(a: float, b: float) -> bool:
    """Return whether two totals agree within :data:`TOTAL_TOLERANCE` of the larger."""
    return abs(a - b) <= TOTAL_TOLERANCE * max(abs(a), abs(b))


def load_targets(path: str | Path, *, catalogue: Catalogue | None = None) -> PopulationTargets:
    """Load and check a population targets file.

    Parameters
    ----------
    path : str or Path
        The YAML file: survey, source, reference_date and tables of counts by codes.
    catalogue : Catalogue, optional
        The variable catalogue (``config/variables.yaml``); when given, every dimension must be
        one of its categorical variables and every code one of that variable's substantive
        codes (see :meth:`PopulationTargets.check_codes`).

    Returns
    -------
    PopulationTargets
        The validated, frozen targets.

    Raises
    ------
    ConfigError
        Naming the file and the key path, with what was expected, what was found and a hint.

    """
    targets = load_model(PopulationTargets, path, "population targets")
    if catalogue is not None:
        targets.check_codes(
            {
                name: list(catalogue.codes(name))
                for name, variable in catalogue.variables.items()
                if variable.kind == "categorical"
            }
        )
    return targets


def load_wave_targets(
    survey: SurveyConfig, wave_id: str, config: WeightingConfig, catalogue: Catalogue
) -> PopulationTargets | None:
    """Load the population targets one wave is calibrated to, or None without calibration.

    A wave's own ``targets:`` in ``config/survey.yaml`` overrides the survey's, so each round
    can be calibrated to its own population (never every round to one round's totals).

    Raises
    ------
    ConfigError
        When the weighting calibrates (``calibration.method`` other than ``none``) and neither
        the wave nor the survey names a targets file; the error names the key to add.

    """
    wave = next((w for w in survey.waves if w.id == wave_id), None)
    if wave is None:
        raise ConfigError(
            f"Unknown wave {wave_id!r}",
            expected=f"a wave of survey {survey.survey}: {[w.id for w in survey.waves]}",
            found=repr(wave_id),
            hint="Use a wave id listed under `waves:` in config/survey.yaml.",
        )
    if not config.calibration.needs_targets:
        return None
    key, file = survey.targets_key(wave)
    if file is None:
        message = "Calibration needs population targets, and this wave has none"
        expected = (
            f"`targets:` for wave {wave_id} (or for the survey), since config/weighting.yaml "
            f"sets calibration.method: {config.calibration.method}"
        )
        hint = (
            "Add `targets: config/targets/<file>.yaml` to the wave (or to the survey), or set "
            "calibration: {method: none} in config/weighting.yaml to use the design weights as "
            "delivered."
        )
        try:
            doc = load_yaml(survey.path)
        except ValueError:
            raise ConfigError(
                f"{message} at {'.'.join(map(str, key))}",
                expected=expected,
                found="no targets",
                hint=hint,
            ) from None
        raise config_error(doc, key, message, expected=expected, found="no targets", hint=hint)
    return load_targets(survey.resolve(file), catalogue=catalogue)
