"""Disclosure control of published tables: small-cell suppression, flags, complementary cells.

Every published table passes through here. Table 1 (``indicator_estimates``) gets
:func:`apply_disclosure`, Table 2 (``indicator_trends``) gets :func:`apply_disclosure_trends`, and
:func:`check_published` audits either one independently, from the published numbers alone.

The rules (``config/disclosure.yaml``) follow DHS/MICS tabulation practice: a cell whose
unweighted denominator ``n`` is below ``suppress_below`` (25) is hidden, one with
``suppress_below <= n < flag_below`` (25-49) is shown and flagged. The unweighted ``n`` itself
stays published.

Complementary suppression. A published parent estimate (national, a gender, a region...) is the
weighted average of its child cells with weights ``n_weighted``, so the weighted totals
``T = n_weighted * estimate`` and ``n_weighted`` are additive: ``T_parent = sum(T_child)``. These
identities, for every parent cell and every finer breakdown published beside it (national →
gender, gender → gender×region, region → gender×region...), form a linear system in the hidden
totals. A hidden cell is recoverable exactly when its unit vector lies in the row space of that
system; then both its total and its weight, hence its estimate, follow from published numbers.
While any hidden cell is recoverable, the published cell with the smallest ``n`` among the cells
sharing an identity with it (a sibling before a parent) is hidden too, and the system is solved
again, until no hidden value is determined. A cell hidden in one dimension of a crossed table can
so trigger more in the other; the typical result hides the four corners of a rectangle.

Joint control. The tables are not protected one by one: the "all" and "excl_dk" variants of a
domain share their numerator (``estimate_all = estimate_excl × (1 - dk_share)``), a change links
two waves and a gap two domains. So a domain is hidden in every variant or in none (its
``dk_share`` with it), a change or a gap is hidden when a side is, and :func:`recoverable` solves
every published number of every table at once (margins, variants and ``dk_share``, changes,
gaps, and the product ``T = estimate × n_weighted``); :func:`publish_tables` hides more cells
until it recovers nothing and :func:`audit_published` proves the same from the final tables,
the status table included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from perception.config.disclosure import DisclosureRules
from perception.config.indicators import GapSides
from perception.errors import ValidationError, require_columns, show_rows
from perception.tables import (
    DISCLOSURE_COLUMNS,
    ESTIMATES_TABLE,
    TRENDS_TABLE,
    Table,
    reserved_columns,
)

__all__ = [
    "DISCLOSURE_COLUMNS",
    "REASON_COMPLEMENTARY",
    "REASON_SIDE",
    "TREND_VALUE_COLUMNS",
    "VALUE_COLUMNS",
    "GapSides",
    "apply_disclosure",
    "apply_disclosure_trends",
    "audit_published",
    "check_published",
    "publish_tables",
    "recoverable",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Columns of Table 1 set to NA on a suppressed row (``n`` stays).
VALUE_COLUMNS = ESTIMATES_TABLE.hidden_values
#: Numeric columns of Table 2 set to NA on a suppressed row (``significant`` becomes False and
#: ``direction`` NA as well: every column the schema marks hidden).
TREND_VALUE_COLUMNS = TRENDS_TABLE.hidden_values
REASON_COMPLEMENTARY = "suppressed: complementary"
REASON_SIDE = "suppressed: side suppressed"

NATIONAL = "national"
SEPARATOR = "×"
_BREAKDOWN = ("survey", "wave", "indicator", "variant")
#: Columns of Tables 1 and 2 that are never domain columns.
_FIXED = reserved_columns()
_NO_CODE = -1  # domain code of a column the domain set does not use
_RANK_TOLERANCE = 1e-10  # relative singular-value cut-off for the 0/±1 identity matrices
_DETERMINED_TOLERANCE = 1e-8  # a diagonal entry of the row-space projector this close to 1


# --------------------------------------------------------------------------- Table 1


def apply_disclosure(
    estimates: pd.DataFrame,
    rules: DisclosureRules,
    *,
    gaps: Mapping[str, GapSides] | None = None,
) -> pd.DataFrame:
    """Suppress, flag and complement-suppress Table 1 (``indicator_estimates``).

    Parameters
    ----------
    estimates
        Table 1 with the contract's columns and dtypes, without disclosure columns.
    rules
        Thresholds; see :class:`DisclosureRules`.
    gaps
        For each gap indicator id, the cells it contrasts. A gap row is hidden when one of its
        two side cells is hidden. Without an entry for a gap indicator, the gap is hidden when
        any hidden non-gap cell of the same survey, wave and variant lies in the breakdown one
        column finer than the gap's domain (a safe over-approximation).

    Returns
    -------
    pandas.DataFrame
        A copy with ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``deff``, ``n_eff``,
        ``n_weighted`` and ``dk_share`` set to NA on suppressed rows, and the columns
        ``suppressed`` (bool), ``flagged`` (bool) and ``disclosure`` (str: ``""``,
        ``"suppressed: n<25"``, ``"suppressed: complementary"``, ``"suppressed: side suppressed"``
        or ``"flagged: 25<=n<50"``, with the configured thresholds) appended.

    Raises
    ------
    ValidationError
        When a contract column is missing, disclosure columns are already present, an estimated
        row has no ``n``, or a ``domain_set`` names an unknown column.

    Notes
    -----
    Primary suppression hides rows with ``n < suppress_below`` (unless the item was not asked);
    gap rows also when ``n_a`` or ``n_b`` is below it. Complementary suppression (see the module
    docstring) runs over the domains of each survey × wave × indicator (non-gap cells with
    ``n > 0``; cells with ``n == 0`` are known zeros); a domain is hidden in every variant when it
    is hidden in one (``excl_dk`` has the smaller ``n``, and the variants share their numerator).
    The joint model (:func:`recoverable`) then checks every wave, variant and gap at once, and
    while it recovers a cell one more domain of its table is hidden. A cell is flagged when
    ``suppress_below <= n < flag_below`` and it is not hidden.

    References
    ----------
    .. [1] Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E.,
       Spicer, K. and de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley,
       ch. 4 (magnitude tables, linked tables) and 5 (frequency tables).
    .. [2] ICF (2020). *Guide to DHS Statistics*, DHS-7: estimates based on fewer than 25
       unweighted cases are suppressed, on 25-49 cases shown in parentheses. UNICEF MICS6
       tabulation plan, same convention.

    """
    _require(estimates, ESTIMATES_TABLE)
    _refuse_disclosed(estimates)
    n = _counts(estimates["n"], "n")
    asked = ~_equals(estimates["availability"], "not_asked")
    _check_counted(asked & (n == _NO_CODE))
    is_gap = _equals(estimates["type"], "gap")
    small = asked & (n != _NO_CODE) & (n < rules.suppress_below)
    sides = _counts(estimates["n_a"], "n_a"), _counts(estimates["n_b"], "n_b")
    for side in sides:
        small |= is_gap & (side != _NO_CODE) & (side < rules.suppress_below)
    reason = np.where(small, rules.small_reason, "").astype(object)
    hidden = small.copy()
    layout = _Layout.of(estimates)
    if rules.complementary:
        cells = ~is_gap & _equals(estimates["availability"], "estimated") & (n > 0)
        hidden = _complementary(estimates, layout, n, cells, hidden, gaps)
        reason[hidden & ~small] = REASON_COMPLEMENTARY
    side_hidden = is_gap & ~hidden & _side_hidden(layout, hidden & ~is_gap, is_gap, gaps)
    hidden |= side_hidden
    reason[side_hidden] = REASON_SIDE
    flagged = asked & ~hidden & (n >= rules.suppress_below) & (n < rules.flag_below)
    reason[flagged] = rules.flag_reason
    out = _published(estimates, ESTIMATES_TABLE, hidden, flagged, reason)
    out.loc[_dk_leak(out), "dk_share"] = np.nan
    return out


def _dk_leak(table: pd.DataFrame) -> BoolArray:
    """Mark "all" rows whose don't-know share would reveal a suppressed "excl_dk" value.

    For a proportion, ``estimate_excl = estimate_all / (1 - dk_share)``: where the "excl_dk"
    cell is hidden and the "all" cell is shown, the "all" row's ``dk_share`` must go too.
    """
    keys = ["survey", "wave", "indicator", "domain_set", *_domains(table)]
    hidden = table.loc[_equals(table["variant"], "excl_dk") & table["suppressed"], keys]
    marked = table[keys].merge(hidden.assign(_hit=True), on=keys, how="left")["_hit"]
    leak = _equals(table["variant"], "all") & marked.fillna(False).to_numpy(dtype=bool)
    shown = table["dk_share"].notna().to_numpy(dtype=bool)
    return np.asarray(leak & shown, dtype=np.bool_)


# --------------------------------------------------------------------------- Table 2


def apply_disclosure_trends(
    trends: pd.DataFrame,
    published_estimates: pd.DataFrame,
    rules: DisclosureRules,
) -> pd.DataFrame:
    """Suppress and flag Table 2 (``indicator_trends``) from the published Table 1.

    A change is suppressed ("suppressed: side suppressed") when the estimate of either wave it
    compares is suppressed in ``published_estimates`` (same survey, indicator, variant, domain
    and wave), and flagged when either side is flagged and neither is suppressed.

    Parameters
    ----------
    trends
        Table 2 with the contract's columns, without disclosure columns.
    published_estimates
        Table 1 after :func:`apply_disclosure`.
    rules
        Thresholds (they name the flag reason).

    Returns
    -------
    pandas.DataFrame
        A copy with ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` and
        ``p_adjusted`` set to NA, ``significant`` False and ``direction`` NA on suppressed rows,
        and ``suppressed``, ``flagged`` and ``disclosure`` appended.

    Raises
    ------
    ValidationError
        When a column is missing, disclosure columns are already present, or a change names a
        wave whose estimate is not in ``published_estimates``.

    """
    _require(trends, TRENDS_TABLE)
    _refuse_disclosed(trends)
    _require(published_estimates, ESTIMATES_TABLE, published=True)
    domains = _domains(trends, published_estimates)
    status = _wave_status(published_estimates, domains)
    hidden = np.zeros(len(trends), dtype=bool)
    flagged = np.zeros(len(trends), dtype=bool)
    missing: list[int] = []
    for column in ("wave", "reference_wave"):
        keys = _cell_keys(trends, ("survey", "indicator", "variant", column), domains)
        for position, key in enumerate(keys):
            side = status.get(key)
            if side is None:
                missing.append(position)
                continue
            hidden[position] |= side[0]
            flagged[position] |= side[1]
    if missing:
        raise ValidationError(
            "A change compares a wave whose estimate is not in the published estimates",
            expected="every (indicator, variant, domain, wave) of a change in Table 1",
            found=f"{len(set(missing))} change row(s) without a side",
            hint="pass the published Table 1 of the same survey and run",
            rows=sorted(set(missing)),
        )
    flagged &= ~hidden
    reason = np.where(hidden, REASON_SIDE, np.where(flagged, rules.flag_reason, "")).astype(object)
    return _published(trends, TRENDS_TABLE, hidden, flagged, reason)


def publish_tables(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    rules: DisclosureRules,
    *,
    gaps: Mapping[str, GapSides] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disclosure-control Table 1 and Table 2 together, and prove nothing hidden is recoverable.

    Table 1 gets :func:`apply_disclosure` (jointly over its waves, indicators, variants and
    gaps), Table 2 :func:`apply_disclosure_trends`; then every published number of both is
    solved jointly (:func:`recoverable`).

    Raises
    ------
    ValidationError
        As :func:`apply_disclosure` and :func:`apply_disclosure_trends` do.
    AssertionError
        When, with complementary suppression on, the joint model still recovers a hidden cell
        (a defect of this module, never of the input).

    """
    published = apply_disclosure(estimates, rules, gaps=gaps)
    changes = apply_disclosure_trends(trends, published, rules)
    if rules.complementary:
        leaks = recoverable(published, changes, gaps=gaps)
        if not leaks.empty:
            raise AssertionError(f"hidden cells recoverable after suppression: {leaks}")
    return published, changes


# --------------------------------------------------------------------------- audit


def check_published(
    table: pd.DataFrame,
    rules: DisclosureRules | None = None,
    *,
    gaps: Mapping[str, GapSides] | None = None,
    estimates: pd.DataFrame | None = None,
) -> list[str]:
    """Audit a published table; return one line per disclosure problem (empty when clean).

    Works on Table 1 and on Table 2 (recognised by its ``comparison`` column) from the published
    numbers alone. It reports: missing disclosure columns; a row with ``n < suppress_below`` or
    marked suppressed that shows a value; a row with ``suppress_below <= n < flag_below`` shown
    without a flag; in Table 1, every hidden cell whose estimate can be solved from the published
    parent and sibling estimates and weights (the recovered value is printed), and every
    published gap with a hidden side or a side ``n`` below the threshold; in Table 2 with the
    published ``estimates``, every published change with a hidden side.

    Parameters
    ----------
    table
        A published Table 1 or Table 2.
    rules
        Thresholds; the defaults when omitted.
    gaps
        Gap definitions, as for :func:`apply_disclosure`.
    estimates
        For Table 2, the published Table 1 its changes come from.

    Returns
    -------
    list of str
        The problems found.

    Notes
    -----
    Recovery solves the additive identities ``T_parent = sum(T_child)`` and
    ``W_parent = sum(W_child)`` (``T = n_weighted * estimate``, ``W = n_weighted``) for the
    hidden cells by least squares; a hidden cell is recovered when the identities determine it
    (its row-space projector entry is 1), and its estimate is ``T / W``.

    References
    ----------
    .. [1] Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley, sec. 4.4
       (linked tables and the audit of a suppression pattern).

    """
    rules = rules if rules is not None else DisclosureRules()
    trend = "comparison" in table.columns
    values = TREND_VALUE_COLUMNS if trend else VALUE_COLUMNS
    needed = (TRENDS_TABLE if trend else ESTIMATES_TABLE).columns()
    missing = [c for c in needed if c not in table.columns]
    if missing:
        return [f"missing column(s) {', '.join(missing)}: not a published table"]
    n = _counts(table["n"], "n")
    shown = table[list(values)].notna().any(axis=1).to_numpy(dtype=bool)
    suppressed = table["suppressed"].to_numpy(dtype=bool)
    flagged = table["flagged"].to_numpy(dtype=bool)
    counted = shown & (n != _NO_CODE)
    small = counted & (n < rules.suppress_below)
    unflagged = counted & (n >= rules.suppress_below) & (n < rules.flag_below) & ~flagged
    problems = [
        f"rows {_rows(mask)}: {what}"
        for mask, what in (
            (small, f"n < {rules.suppress_below} with a value shown"),
            (shown & suppressed, "marked suppressed with a value shown"),
            (unflagged, f"{rules.suppress_below} <= n < {rules.flag_below} shown without a flag"),
        )
        if mask.any()
    ]
    if not trend:
        if _dk_leak(table).any():
            problems.append(
                f"rows {_rows(_dk_leak(table))}: dk_share shown where the excl_dk cell is hidden"
            )
        return problems + _recovery_problems(table, gaps=gaps) + _gap_problems(table, rules, gaps)
    if estimates is not None:
        problems += _trend_side_problems(table, estimates)
        problems += _recovery_problems(estimates, table, gaps)
    return problems


def audit_published(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    rules: DisclosureRules | None = None,
    *,
    gaps: Mapping[str, GapSides] | None = None,
    status: pd.DataFrame | None = None,
) -> list[str]:
    """Audit the final published tables together; return one line per problem (empty: clean).

    Runs :func:`check_published` on Table 1 and on Table 2, solves every published number of
    both jointly (:func:`recoverable`: margins, variants and ``dk_share``, changes, gaps), and
    checks that the status table (Table 3) shows no number whose source is hidden and none
    that differs from its published source (its estimate is the national "all" row of the
    latest wave, its changes the national "all" rows of Table 2).
    """
    problems = check_published(estimates, rules, gaps=gaps)
    problems += [
        p
        for p in check_published(trends, rules, gaps=gaps, estimates=estimates)
        if p not in problems
    ]
    if status is not None:
        problems += _status_problems(status, estimates, trends)
    return problems


def _status_problems(
    status: pd.DataFrame, estimates: pd.DataFrame, trends: pd.DataFrame
) -> list[str]:
    """Return status numbers shown while their source is hidden, or unequal to it."""
    national = estimates[
        _equals(estimates["domain_set"], NATIONAL) & _equals(estimates["variant"], "all")
    ]
    level = national.set_index(["survey", "indicator", "wave"])["estimate"]
    changes = trends[_equals(trends["domain_set"], NATIONAL) & _equals(trends["variant"], "all")]
    change = changes.set_index(["survey", "indicator", "comparison", "wave"])["estimate"]
    problems = []
    for position, entry in enumerate(status.to_dict("records")):
        key = (entry["survey"], entry["indicator"])
        sources = [("estimate", level.get((*key, entry["latest_wave"])))]
        sources += [
            (f"change_{c}", change.get((*key, c, entry["latest_wave"])))
            for c in ("previous", "baseline")
        ]
        for column, source in sources:
            shown = entry.get(column)
            if shown is None or pd.isna(shown):
                continue
            if source is None or pd.isna(source):
                problems.append(
                    f"status row {position} ({entry['indicator']}): {column} shown "
                    "while its published source is hidden or absent"
                )
            elif not np.isclose(float(shown), float(source), rtol=1e-12, atol=0.0):
                problems.append(
                    f"status row {position} ({entry['indicator']}): {column} "
                    "differs from its published source"
                )
    return problems


# --------------------------------------------------------------------------- domain layout


@dataclass(frozen=True)
class _Relation:
    """One additive identity: the total of ``parent`` is the sum of the totals of ``children``."""

    parent: int
    children: tuple[int, ...]

    @property
    def members(self) -> tuple[int, ...]:
        """Return the parent then the children."""
        return (self.parent, *self.children)


@dataclass(frozen=True)
class _Layout:
    """Per row: its domain set (a set of columns) and its key (breakdown, then domain codes).

    A key is ``(survey, wave, indicator, variant, *codes)``, one code per domain column of the
    table (``columns``), ``-1`` for a domain column the row's set does not use.
    """

    columns: tuple[str, ...]
    sets: tuple[frozenset[str], ...]
    codes: IntArray
    keys: list[tuple[Hashable, ...]]

    @classmethod
    def of(cls, table: pd.DataFrame) -> _Layout:
        """Read the domain set and key of every row."""
        parsed = {label: _columns_of(label, table) for label in table["domain_set"].unique()}
        unknown = [label for label, cols in parsed.items() if cols is None]
        if unknown:
            bad = table["domain_set"].isin(unknown).to_numpy(dtype=bool)
            raise ValidationError(
                "Unknown domain set",
                expected=f"'{NATIONAL}' or columns of the table joined by '{SEPARATOR}'",
                found=", ".join(repr(u) for u in unknown),
                hint="use the labels of perception.estimation (e.g. 'gender×region')",
                column="domain_set",
                rows=np.flatnonzero(bad).tolist(),
            )
        sets = tuple(parsed[label] or frozenset() for label in table["domain_set"])
        columns = _domains(table)
        codes = _domain_codes(table, columns)
        return cls(columns, sets, codes, _cell_keys(table, _BREAKDOWN, columns, codes))

    def relations(self, positions: IntArray) -> list[_Relation]:
        """Return the identities among the rows ``positions`` (local indices).

        A parent cell of domain set P and a finer set C (P's columns a strict subset of C's) give
        one identity with the cells of C that agree with the parent on P's columns, unless a
        published set lies strictly between P and C (its identities imply this one).
        """
        by_set: dict[frozenset[str], list[int]] = defaultdict(list)
        for local, position in enumerate(positions.tolist()):
            by_set[self.sets[position]].append(local)
        codes = self.codes[positions]
        out: list[_Relation] = []
        for parent_set, parents in by_set.items():
            for child_set, children in by_set.items():
                between = any(parent_set < s < child_set for s in by_set)
                if not parent_set < child_set or between:
                    continue
                used = codes[:, [self.columns.index(c) for c in sorted(parent_set)]]
                kids: dict[tuple[int, ...], list[int]] = defaultdict(list)
                for child, key in zip(children, map(tuple, used[children].tolist()), strict=True):
                    kids[key].append(child)
                for parent, key in zip(parents, map(tuple, used[parents].tolist()), strict=True):
                    found = kids.get(key)
                    if found:
                        out.append(_Relation(parent, tuple(found)))
        return out


def _columns_of(label: str, table: pd.DataFrame) -> frozenset[str] | None:
    """Return the domain columns a domain-set label uses, or None for an unknown label."""
    if label == NATIONAL:
        return frozenset()
    parts = str(label).split(SEPARATOR)
    if not set(parts) <= set(table.columns) - _FIXED or len(set(parts)) != len(parts):
        return None
    return frozenset(parts)


def _domains(*tables: pd.DataFrame) -> tuple[str, ...]:
    """Return the domain columns the tables' domain sets use, in the first table's order.

    A cell's domain is named by its ``domain_set``, so the columns no set names are NA in every
    row and play no part in disclosure; the survey's full list is not needed here.
    """
    named: set[str] = set()
    for table in tables:
        for label in table["domain_set"].dropna().unique():
            if label != NATIONAL:
                named.update(str(label).split(SEPARATOR))
    return tuple(c for c in tables[0].columns if c in named and c not in _FIXED)


# --------------------------------------------------------------------------- linear algebra


def _system(relations: Sequence[_Relation], hidden: BoolArray) -> tuple[FloatArray, IntArray]:
    """Return the identity matrix over the hidden cells and the hidden cells' local indices."""
    unknown = np.flatnonzero(hidden)
    column = np.full(hidden.size, -1)
    column[unknown] = np.arange(unknown.size)
    matrix = np.zeros((len(relations), unknown.size))
    for row, relation in enumerate(relations):
        for member, sign in ((relation.parent, 1.0), *((c, -1.0) for c in relation.children)):
            if hidden[member]:
                matrix[row, column[member]] += sign
    return matrix, unknown


def _determined(matrix: FloatArray) -> tuple[BoolArray, FloatArray]:
    """Return which unknowns the system fixes, and its pseudo-inverse.

    Unknown ``j`` is determined when the unit vector ``e_j`` lies in the row space of the
    matrix, that is when the diagonal entry ``j`` of the projector ``pinv(A) @ A`` is 1.
    """
    inverse = np.asarray(np.linalg.pinv(matrix, rtol=_RANK_TOLERANCE), dtype=np.float64)
    diagonal = np.einsum("ij,ji->i", inverse, matrix)
    return np.abs(diagonal - 1.0) < _DETERMINED_TOLERANCE, inverse


def _protect(n: IntArray, hidden: BoolArray, relations: Sequence[_Relation]) -> BoolArray:
    """Return ``hidden`` plus the complementary cells that leave no hidden cell recoverable."""
    hidden = hidden.copy()
    while True:
        matrix, unknown = _system(relations, hidden)
        if unknown.size == 0:
            return hidden
        determined, _ = _determined(matrix)
        if not determined.any():
            return hidden
        hidden[_complement(unknown[determined], n, hidden, relations)] = True


def _complement(
    leaking: IntArray, n: IntArray, hidden: BoolArray, relations: Sequence[_Relation]
) -> int:
    """Choose the next cell to hide.

    The pool is the identities from which a hidden cell is solved directly (their only hidden
    member); failing those (recovery through a chain), the identities holding a recoverable
    cell; failing those, any identity with a hidden member. From the pool's published members
    it takes a child before a parent, then the smallest ``n``, then the first in table order.
    """
    unknowns = [int(hidden[list(r.members)].sum()) for r in relations]
    recoverable = set(leaking.tolist())
    pools = (
        [r for r, k in zip(relations, unknowns, strict=True) if k == 1],
        [r for r in relations if recoverable.intersection(r.members)],
        [r for r, k in zip(relations, unknowns, strict=True) if k > 0],
    )
    for pool in pools:
        ranked = [
            (member == relation.parent, int(n[member]), member)
            for relation in pool
            for member in relation.members
            if not hidden[member]
        ]
        if ranked:
            return min(ranked)[2]
    raise AssertionError("a recoverable cell always shares an identity with a published one")


# --------------------------------------------------------------------------- joint suppression


def _complementary(
    estimates: pd.DataFrame,
    layout: _Layout,
    n: IntArray,
    cells: BoolArray,
    hidden: BoolArray,
    gaps: Mapping[str, GapSides] | None,
) -> BoolArray:
    """Return ``hidden`` plus the complementary cells, over every wave and variant jointly.

    A domain is hidden in every variant or in none: the variants share their numerator (see
    :func:`recoverable`), so the published twin of a hidden cell would give its weighted total.
    Complementary cells are chosen on the domains of each survey × wave × indicator (see
    :func:`_protect`); then the joint model of everything published (:func:`recoverable`) is
    solved, and while it recovers a cell, one more domain of that cell's table is hidden.
    """
    unit = _unit_ids(estimates, cells)
    is_gap = _equals(estimates["type"], "gap")
    primary = hidden.copy()
    for _ in range(int(cells.sum()) + 1):
        hidden = _lockstep(hidden, unit, cells)
        # one representative row per domain: the one with the largest n (the widest base)
        order = np.lexsort((-n, unit))
        first = order[np.r_[True, unit[order][1:] != unit[order][:-1]]]
        first = first[unit[first] >= 0]
        represent = np.zeros(n.size, dtype=bool)
        represent[first] = True
        for positions in _groups(estimates, represent, ("survey", "wave", "indicator")):
            local = _protect(n[positions], hidden[positions], layout.relations(positions))
            hidden[positions[local]] = True
        hidden = _lockstep(hidden, unit, cells)
        masked = hidden | primary | _side_hidden(layout, hidden & ~is_gap, is_gap, gaps)
        state = estimates.copy()
        state.loc[masked, list(VALUE_COLUMNS)] = np.nan
        leaks = recoverable(state, gaps=gaps)
        if leaks.empty:
            return hidden
        for position in leaks["row"].drop_duplicates().tolist():
            group = represent & _same(estimates, position, ("survey", "wave", "indicator"))
            positions = np.flatnonzero(group)
            local = hidden[positions].copy()
            leaking = np.flatnonzero(unit[positions] == unit[position])
            relations = layout.relations(positions)
            hidden[positions[_complement(leaking, n[positions], local, relations)]] = True
    raise AssertionError("complementary suppression did not converge")


def _same(table: pd.DataFrame, position: int, columns: Sequence[str]) -> BoolArray:
    """Return the rows that agree with row ``position`` on ``columns``."""
    mask = np.ones(len(table), dtype=bool)
    for column in columns:
        mask &= _equals(table[column].astype(str), str(table[column].iloc[position]))
    return mask


def _unit_ids(table: pd.DataFrame, cells: BoolArray) -> IntArray:
    """Return the domain (survey × wave × indicator × domain) number of ``cells``, else -1."""
    keys = ["survey", "wave", "indicator", "domain_set", *_domains(table)]
    ids = table[keys].astype(object).groupby(keys, sort=False, dropna=False).ngroup()
    return np.where(cells, ids.to_numpy(dtype=np.int64), -1)


def _lockstep(hidden: BoolArray, unit: IntArray, cells: BoolArray) -> BoolArray:
    """Hide every variant of a domain one of whose variants is hidden."""
    counted = unit >= 0
    hit = np.zeros(int(unit.max(initial=-1)) + 1, dtype=bool)
    hit[unit[counted & hidden]] = True
    out = hidden.copy()
    out[cells] |= hit[unit[cells]]
    return out


# --------------------------------------------------------------------------- joint model

_T, _W, _E = 0, 1, 2  # a cell's weighted total, weighted n and estimate
_QUANTITY = ("total", "weighted n", "estimate")
_NULL_TOLERANCE = 1e-8  # squared norm of an unknown's null-space component counted as zero
Term = tuple[int, int, float]  # (row, quantity, coefficient)
Equation = tuple[tuple[Term, ...], float]  # sum of coefficient × quantity = right-hand side


def recoverable(
    estimates: pd.DataFrame,
    trends: pd.DataFrame | None = None,
    *,
    gaps: Mapping[str, GapSides] | None = None,
) -> pd.DataFrame:
    """Return every hidden cell of published Table 1 that the published numbers determine.

    Every published number is a linear equation in the cells' weighted totals ``T``, weighted
    ``n`` (``W``) and estimates ``E``; the audit solves them jointly over every wave, indicator
    and variant and reports each hidden cell whose ``E`` or ``T`` the system fixes.

    Parameters
    ----------
    estimates
        Published Table 1 (hidden values NA).
    trends
        Published Table 2 of the same estimates, if any.
    gaps
        The gap indicators' sides; without them gap rows give no equation.

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (position in ``estimates``), ``quantity`` (``"estimate"`` or
        ``"total"``) and ``value`` (the recovered number), one row per recovered quantity.

    Notes
    -----
    The equations (published values move to the right-hand side):

    * margins: within a survey × wave × indicator × variant, ``T`` and ``W`` of a parent domain
      are the sums over the cells of a finer published breakdown (``n == 0`` cells are zeros);
    * variants: "all" and "excl_dk" share their numerator, ``T_all = T_excl``; with a published
      ``dk_share`` ``d``, ``W_excl = (1 - d) W_all`` and ``E_all = (1 - d) E_excl`` (for means
      and indices the variants coincide: ``W`` and ``E`` are equal too);
    * a published change: ``E_wave - E_reference = change``; a published gap:
      ``E_a - E_b = gap`` (when both sides are rows of Table 1);
    * the product ``T = E W``: once a pass fixes ``E`` of a cell, ``T - E W = 0`` joins the
      system with the recovered ``E`` as coefficient; once it fixes ``T`` and ``W``, so does
      ``E = T / W``; passes repeat until nothing new is fixed.

    Left out, on purpose: the variant link of a domain whose "excl_dk" cell is empty (``n``
    0: the published counts alone say every answer was "don't know"; counts are published by
    design), and a gap whose side is no row of Table 1 (e.g. gender within urban/rural when
    gender × urban_rural is not published): its side cells are unknowns of no other equation,
    so the equation fixes nothing that is published. The exports and the dashboard are built
    from these tables; this audit does not read them.

    An unknown is fixed when its unit vector lies in the row space of the system, i.e. its
    component in the null space is zero. The system is split into connected components and each
    is decomposed by SVD (rows scaled to unit norm; singular values below ``1e-10`` times the
    largest count as zero, far above the ``~1e-15`` rounding of coefficients of order 1-100).
    An unknown counts as fixed when the squared norm of its null-space component is below
    ``1e-8``: zero up to rounding when truly fixed, and when merely tiny, the unknown moves by
    at most that fraction of any feasible move of the others, so calling it fixed errs on the
    safe side. A fixed ``T`` counts as a disclosure because ``W`` is about ``n`` times the mean
    weight and ``n`` is published.

    References
    ----------
    .. [1] Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley, sec. 4.4
       (linked tables and the audit of a suppression pattern).

    """
    equations, values, known, cells = _equations(estimates, trends, gaps)
    fixed, solved = _solve(equations, values, known, cells)
    out = []
    for row in np.flatnonzero(cells & ~known[:, _E]).tolist():
        if fixed[row, _E]:
            out.append((row, "estimate", float(solved[row, _E])))
        elif fixed[row, _T]:
            out.append((row, "total", float(solved[row, _T])))
    return pd.DataFrame(out, columns=["row", "quantity", "value"]).astype(
        {"row": "int64", "quantity": "str", "value": "float64"}
    )


def _equations(
    table: pd.DataFrame, trends: pd.DataFrame | None, gaps: Mapping[str, GapSides] | None
) -> tuple[list[Equation], FloatArray, npt.NDArray[np.bool_], BoolArray]:
    """Return the published equations, the known values and which values are known."""
    n = _counts(table["n"], "n")
    is_gap = _equals(table["type"], "gap")
    cells = ~is_gap & _equals(table["availability"], "estimated") & (n > 0)
    estimate = table["estimate"].to_numpy(dtype=np.float64, na_value=np.nan)
    weight = table["n_weighted"].to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.column_stack([estimate * weight, weight, estimate])
    known = ~np.isnan(values)
    layout = _Layout.of(table)
    where = {layout.keys[r]: r for r in np.flatnonzero(cells).tolist()}
    equations: list[Equation] = []
    for positions in _groups(table, cells, _BREAKDOWN):
        for relation in layout.relations(positions):
            for q in (_T, _W):
                terms = [(int(positions[relation.parent]), q, 1.0)]
                terms += [(int(positions[c]), q, -1.0) for c in relation.children]
                equations.append((tuple(terms), 0.0))
    dk = table["dk_share"].to_numpy(dtype=np.float64, na_value=np.nan)
    coincide = table["type"].isin(["mean", "index"]).to_numpy(dtype=bool)
    for key, a in where.items():
        if key[3] != "all" or (b := where.get((*key[:3], "excl_dk", *key[4:]))) is None:
            continue
        equations.append((((a, _T, 1.0), (b, _T, -1.0)), 0.0))
        share = dk[a] if not np.isnan(dk[a]) else dk[b]
        if coincide[a]:
            share = 0.0
        if not np.isnan(share):
            equations.append((((b, _W, 1.0), (a, _W, share - 1.0)), 0.0))
            equations.append((((a, _E, 1.0), (b, _E, share - 1.0)), 0.0))
    shown_gaps = is_gap & ~np.isnan(estimate)
    for row in np.flatnonzero(shown_gaps).tolist():
        survey, wave, indicator, variant, *codes = layout.keys[row]
        spec = gaps.get(str(indicator)) if gaps is not None else None
        if spec is None or spec.by not in layout.columns:
            continue
        at = layout.columns.index(spec.by)
        sides = [
            where.get((survey, wave, spec.of, variant, *codes[:at], side, *codes[at + 1 :]))
            for side in (spec.a, spec.b)
        ]
        if sides[0] is not None and sides[1] is not None:
            equations.append((((sides[0], _E, 1.0), (sides[1], _E, -1.0)), float(estimate[row])))
    if trends is not None and len(trends):
        change = trends["estimate"].to_numpy(dtype=np.float64, na_value=np.nan)
        later = _cell_keys(trends, ("survey", "wave", "indicator", "variant"), layout.columns)
        earlier = _cell_keys(
            trends, ("survey", "reference_wave", "indicator", "variant"), layout.columns
        )
        for row in np.flatnonzero(~np.isnan(change)).tolist():
            new, old = where.get(later[row]), where.get(earlier[row])
            if new is not None and old is not None:
                equations.append((((new, _E, 1.0), (old, _E, -1.0)), float(change[row])))
    return equations, values, known, cells


def _solve(
    equations: list[Equation], values: FloatArray, known: BoolArray, cells: BoolArray
) -> tuple[BoolArray, FloatArray]:
    """Return which quantities the equations fix (known ones included) and their values."""
    system = list(equations)
    used: set[int] = set()
    while True:
        fixed, solved = _pass(system, known, values)
        new: list[Equation] = []
        for row in np.flatnonzero(cells).tolist():
            if row in used:
                continue
            if fixed[row, _E] and not (fixed[row, _T] and fixed[row, _W]):
                new.append((((row, _T, 1.0), (row, _W, -float(solved[row, _E]))), 0.0))
            elif fixed[row, _T] and fixed[row, _W] and not fixed[row, _E] and solved[row, _W]:
                new.append((((row, _E, 1.0),), float(solved[row, _T] / solved[row, _W])))
            else:
                continue
            used.add(row)
        if not new:
            return fixed, solved
        system += new


def _pass(
    equations: list[Equation], known: BoolArray, values: FloatArray
) -> tuple[BoolArray, FloatArray]:
    """Solve the linear system once: which unknowns it fixes, and their values."""
    fixed = known.copy()
    solved = np.where(known, values, np.nan)
    index: dict[tuple[int, int], int] = {}
    rows: list[int] = []
    columns: list[int] = []
    coefficients: list[float] = []
    right: list[float] = []
    for terms, constant in equations:
        unknown = [(r, q, c) for r, q, c in terms if not known[r, q] and c != 0.0]
        if not unknown:
            continue
        rhs = constant - sum(c * values[r, q] for r, q, c in terms if known[r, q])
        scale = float(np.sqrt(sum(c * c for _, _, c in unknown)))
        for r, q, c in unknown:
            rows.append(len(right))
            columns.append(index.setdefault((r, q), len(index)))
            coefficients.append(c / scale)
        right.append(rhs / scale)
    if not index:
        return fixed, solved
    m, k = len(right), len(index)
    matrix = coo_matrix((coefficients, (rows, columns)), shape=(m, k)).tocsr()
    graph = coo_matrix((np.ones(len(rows)), (rows, np.asarray(columns) + m)), shape=(m + k, m + k))
    _, label = connected_components(graph, directed=False)
    variables = list(index)
    b = np.asarray(right)
    equation_label, variable_label = label[:m], label[m:]
    for component in np.unique(variable_label).tolist():
        mine = np.flatnonzero(variable_label == component)
        theirs = np.flatnonzero(equation_label == component)
        a = matrix[theirs][:, mine].toarray()
        u, s, vt = np.linalg.svd(a, full_matrices=True)
        rank = int((s > _RANK_TOLERANCE * s[0]).sum()) if s.size and s[0] > 0 else 0
        residual = (vt[rank:] ** 2).sum(axis=0)
        x = vt[:rank].T @ ((u[:, :rank].T @ b[theirs]) / s[:rank])
        for j in np.flatnonzero(residual < _NULL_TOLERANCE).tolist():
            r, q = variables[int(mine[j])]
            fixed[r, q] = True
            solved[r, q] = x[j]
    return fixed, solved


# --------------------------------------------------------------------------- gaps and sides


def _side_hidden(
    layout: _Layout,
    hidden_cells: BoolArray,
    is_gap: BoolArray,
    gaps: Mapping[str, GapSides] | None,
) -> BoolArray:
    """Return, for each gap row, whether one of its side cells is hidden."""
    exact: set[tuple[Hashable, ...]] = set()
    finer: set[tuple[Hashable, ...]] = set()
    for position in np.flatnonzero(hidden_cells).tolist():
        exact.add(layout.keys[position])
        survey, wave, _, variant, *codes = layout.keys[position]
        for index, code in enumerate(codes):
            if code != _NO_CODE:
                coarser = [*codes[:index], _NO_CODE, *codes[index + 1 :]]
                finer.add((survey, wave, variant, index, *coarser))
    out = np.zeros(is_gap.size, dtype=bool)
    for position in np.flatnonzero(is_gap).tolist():
        survey, wave, indicator, variant, *codes = layout.keys[position]
        spec = gaps.get(str(indicator)) if gaps is not None else None
        if spec is None:
            out[position] = any(
                (survey, wave, variant, index, *codes) in finer
                for index, code in enumerate(codes)
                if code == _NO_CODE
            )
        elif spec.by not in layout.columns:  # no published cell is broken down by ``by``
            continue
        elif codes[index := layout.columns.index(spec.by)] == _NO_CODE:
            out[position] = any(
                (survey, wave, spec.of, variant, *codes[:index], side, *codes[index + 1 :]) in exact
                for side in (spec.a, spec.b)
            )
    return out


def _gap_problems(
    table: pd.DataFrame, rules: DisclosureRules, gaps: Mapping[str, GapSides] | None
) -> list[str]:
    """Return published gaps with a hidden side or a side ``n`` below the threshold."""
    is_gap = _equals(table["type"], "gap")
    shown = is_gap & table["estimate"].notna().to_numpy(dtype=bool)
    hidden_cells = ~is_gap & table["estimate"].isna().to_numpy(dtype=bool)
    hidden_cells &= _equals(table["availability"], "estimated") & (_counts(table["n"], "n") > 0)
    small = np.zeros(len(table), dtype=bool)
    for column in ("n_a", "n_b"):
        side = _counts(table[column], column)
        small |= (side != _NO_CODE) & (side < rules.suppress_below)
    leaky = _side_hidden(_Layout.of(table), hidden_cells, is_gap, gaps)
    return [
        f"rows {_rows(mask)}: {what}"
        for mask, what in (
            (shown & small, f"gap shown with a side n < {rules.suppress_below}"),
            (shown & leaky, "gap shown while one of its sides is hidden"),
        )
        if mask.any()
    ]


def _wave_status(
    published: pd.DataFrame, domains: Sequence[str]
) -> dict[tuple[Hashable, ...], tuple[bool, bool]]:
    """Map (survey, indicator, variant, wave, domain codes) to (suppressed, flagged)."""
    keys = _cell_keys(published, ("survey", "indicator", "variant", "wave"), domains)
    suppressed = published["suppressed"].to_numpy(dtype=bool).tolist()
    flagged = published["flagged"].to_numpy(dtype=bool).tolist()
    return {key: (s, f) for key, s, f in zip(keys, suppressed, flagged, strict=True)}


def _trend_side_problems(trends: pd.DataFrame, estimates: pd.DataFrame) -> list[str]:
    """Return published changes one of whose sides is hidden in the published Table 1."""
    hidden = estimates["estimate"].isna().to_numpy(dtype=bool) & _equals(
        estimates["availability"], "estimated"
    )
    domains = _domains(trends, estimates)
    keys = _cell_keys(estimates, ("survey", "indicator", "variant", "wave"), domains)
    secret = {key for key, h in zip(keys, hidden.tolist(), strict=True) if h}
    leaky = np.zeros(len(trends), dtype=bool)
    for column in ("wave", "reference_wave"):
        sides = _cell_keys(trends, ("survey", "indicator", "variant", column), domains)
        leaky |= np.array([key in secret for key in sides], dtype=bool)
    leaky &= trends["estimate"].notna().to_numpy(dtype=bool)
    return (
        [f"rows {_rows(leaky)}: change shown while one of its sides is hidden"]
        if leaky.any()
        else []
    )


def _cell_keys(
    table: pd.DataFrame,
    columns: Sequence[str],
    domains: Sequence[str],
    codes: IntArray | None = None,
) -> list[tuple[Hashable, ...]]:
    """Return, per row, the values of ``columns`` then the codes of the ``domains``."""
    labels = zip(*(table[c].tolist() for c in columns), strict=True)
    rows = (_domain_codes(table, domains) if codes is None else codes).tolist()
    return [(*label, *code) for label, code in zip(labels, rows, strict=True)]


def _domain_codes(table: pd.DataFrame, domains: Sequence[str]) -> IntArray:
    """Return the domain columns as int64 codes, ``-1`` where NA (one column of -1 for none)."""
    if not domains:
        return np.full((len(table), 0), _NO_CODE, dtype=np.int64)
    return np.column_stack([_counts(table[c], c) for c in domains])


def _equals(column: pd.Series, value: str) -> BoolArray:
    """Return where a text column equals ``value`` (NA is not equal)."""
    return column.eq(value).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------- recovery audit


def _recovery_problems(
    table: pd.DataFrame,
    trends: pd.DataFrame | None = None,
    gaps: Mapping[str, GapSides] | None = None,
) -> list[str]:
    """Describe every hidden Table 1 cell that the joint model (:func:`recoverable`) recovers."""
    layout = _Layout.of(table)
    return [
        f"row {row} ({_describe(layout, row)}): hidden {quantity} recoverable from the "
        f"published numbers (recovered {value:.6g})"
        for row, quantity, value in recoverable(table, trends, gaps=gaps).itertuples(index=False)
    ]


def _describe(layout: _Layout, position: int) -> str:
    """Describe a row as ``survey/wave/indicator/variant gender=2 region=3``."""
    survey, wave, indicator, variant, *codes = layout.keys[position]
    domain = " ".join(
        f"{column}={code}"
        for column, code in zip(layout.columns, codes, strict=True)
        if code != _NO_CODE
    )
    return f"{survey}/{wave}/{indicator}/{variant} {domain or NATIONAL}"


# --------------------------------------------------------------------------- helpers


def _groups(table: pd.DataFrame, mask: BoolArray, keys: Sequence[str]) -> list[IntArray]:
    """Return the row positions of each group of the rows in ``mask``, grouped by ``keys``."""
    rows = np.flatnonzero(mask).astype(np.int64)
    if rows.size == 0:
        return []
    subset = table.iloc[rows][list(keys)].astype(object)
    indices = subset.groupby(list(keys), sort=False, dropna=False).indices
    return [rows[np.asarray(local, dtype=np.int64)] for local in indices.values()]


def _published(
    table: pd.DataFrame,
    schema: Table,
    hidden: BoolArray,
    flagged: BoolArray,
    reason: npt.NDArray[np.object_],
) -> pd.DataFrame:
    """Return a copy blank on hidden rows (:meth:`Table.blank`), disclosure columns appended."""
    out = schema.blank(table, hidden)
    out["suppressed"] = hidden
    out["flagged"] = flagged
    out["disclosure"] = pd.Series(reason, index=out.index, dtype="str")
    return out


def _counts(column: pd.Series, name: str) -> IntArray:
    """Return a count or code column as int64, ``-1`` for NA; reject negatives and fractions."""
    try:
        counts = np.asarray(
            column.astype("Int64").to_numpy(np.int64, na_value=_NO_CODE), dtype=np.int64
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"Column {name} is not a count",
            expected="whole numbers (pandas Int64)",
            found=str(column.dtype),
            hint="build the table with the contract's dtypes",
            column=name,
        ) from exc
    negative = column.notna().to_numpy(dtype=bool) & (counts < 0)
    if negative.any():
        raise ValidationError(
            f"Negative count in column {name}",
            expected="n >= 0",
            found=f"{int(negative.sum())} negative value(s)",
            hint="n is the unweighted number of respondents in the base",
            column=name,
            rows=np.flatnonzero(negative).tolist(),
        )
    return counts


def _check_counted(missing: BoolArray) -> None:
    """Reject rows that were asked but carry no unweighted ``n``."""
    if missing.any():
        raise ValidationError(
            "Estimate without an unweighted denominator",
            expected="n on every row whose availability is not 'not_asked'",
            found=f"{int(missing.sum())} row(s) with n missing",
            hint="disclosure control needs n to decide; fill n (0 for a domain without data)",
            column="n",
            rows=np.flatnonzero(missing).tolist(),
        )


def _require(table: pd.DataFrame, schema: Table, *, published: bool = False) -> None:
    """Reject a table that lacks a column of its schema (before disclosure, or ``published``)."""
    require_columns(
        table.columns,
        schema.columns(published=published),
        f"The {schema.name} table{' (published)' if published else ''}",
        hint=f"build {schema.name} with the columns of perception.tables",
    )


def _refuse_disclosed(table: pd.DataFrame) -> None:
    """Reject a table that already went through disclosure control."""
    present = [c for c in DISCLOSURE_COLUMNS if c in table.columns]
    if present:
        raise ValidationError(
            "Disclosure control applied twice",
            expected="a table without suppressed/flagged/disclosure columns",
            found="columns " + ", ".join(present),
            hint="apply disclosure control once, to the table as estimated",
            column=present[0],
        )


def _rows(mask: BoolArray) -> str:
    """Render the first offending row positions and their count."""
    return show_rows(np.flatnonzero(mask).tolist())
