"""Key findings for the top of the dashboard: who is worse off than the country, which gaps widen.

Both use the uncertainty rules of the benchmark statuses: a finding is reported only when its
Benjamini-Hochberg adjusted p-value is below ``alpha`` and its confidence interval excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from perception.dashboard.data import NATIONAL, DashboardData, domain_key

__all__ = ["GroupFinding", "domain_minus_total_variance", "group_findings", "widening_gaps"]


@dataclass(frozen=True)
class GroupFinding:
    """A group whose latest estimate is significantly worse than the national one."""

    indicator: str
    column: str
    code: int
    estimate: float
    national: float
    difference: float
    ci_low: float
    ci_high: float
    p_adjusted: float


def domain_minus_total_variance(se_domain: float, se_total: float, share: float) -> float:
    """Return the variance of a domain's estimate minus the estimate of the whole it is part of.

    Parameters
    ----------
    se_domain, se_total
        Standard errors of the domain's and of the whole population's estimate.
    share
        The domain's share of the weighted population, in (0, 1).

    Returns
    -------
    float
        ``(1 − 2·share)·se_domain² + se_total²``, never below ``(1 − share)²·se_domain²``.

    Notes
    -----
    With ``total = share·domain + (1 − share)·rest`` and the domain sampled independently of
    the rest (the domains are strata with fixed weight totals),
    ``Var(domain − total) = (1 − share)²·(Var(domain) + Var(rest))`` and
    ``(1 − share)²·Var(rest) = Var(total) − share²·Var(domain)``. Domains that share clusters
    are positively correlated, which makes this an overstatement (conservative); the floor
    guards against a negative value from rounded inputs. Checked against R's ``svycontrast``
    on ``svyby`` means by stratum (tests/reference/group_vs_national.json).

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, §2.3.

    """
    variance = (1 - 2 * share) * se_domain**2 + se_total**2
    return max(variance, (1 - share) ** 2 * se_domain**2)


def group_findings(
    data: DashboardData, *, alpha: float = 0.05, level: float = 0.95
) -> list[GroupFinding]:
    """Return the groups significantly worse off than the national figure, largest first.

    Every published group of one domain column (a sex, an age group, a region...) of every
    indicator but gaps is compared with the national estimate of the same wave (the latest in
    which the indicator was asked), and the p-values of all these comparisons form one
    Benjamini-Hochberg family.

    Notes
    -----
    The national estimate contains the group, so the difference's variance is
    :func:`domain_minus_total_variance` of the published standard errors and the group's share
    of the weighted count: exact when the groups are strata, an overstatement (the test errs
    towards saying nothing) when groups share clusters. Only the published estimates,
    standard errors and weighted counts are used.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *Journal of the Royal Statistical
       Society B*, 57(1), 289-300.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, §2.3
       (domain estimation).

    """
    found: list[GroupFinding] = []
    p_values: list[float] = []
    for ind in data.ordered_indicators(gaps=False):
        wave = data.latest_wave(ind.id)
        nation = data.cell(ind.id, wave, NATIONAL)
        if nation.state != "value" or not math.isfinite(nation.se):
            continue
        for column in data.domains:
            for code in data.codes(column):
                cell = data.cell(ind.id, wave, domain_key({column: code}))
                if cell.state != "value" or not math.isfinite(cell.se):
                    continue
                share = cell.n_weighted / nation.n_weighted
                if not 0 < share < 1:
                    continue
                difference = cell.estimate - nation.estimate
                variance = domain_minus_total_variance(cell.se, nation.se, share)
                half = float(norm.ppf(0.5 + level / 2)) * math.sqrt(variance)
                p_values.append(float(2 * norm.sf(abs(difference) / math.sqrt(variance))))
                found.append(
                    GroupFinding(
                        ind.id,
                        column,
                        code,
                        cell.estimate,
                        nation.estimate,
                        difference,
                        difference - half,
                        difference + half,
                        math.nan,
                    )
                )
    if not found:
        return []
    adjusted = multipletests(np.asarray(p_values), method="fdr_bh")[1]
    worse = [
        replace(f, p_adjusted=float(p))
        for f, p in zip(found, adjusted, strict=True)
        if p < alpha and _worse(data, f) and (f.ci_low > 0 or f.ci_high < 0)
    ]
    return sorted(worse, key=lambda f: -abs(f.difference) * data.indicators[f.indicator].scale)


def _worse(data: DashboardData, finding: GroupFinding) -> bool:
    """Tell whether a group's difference from the country is in the bad direction."""
    higher = data.indicators[finding.indicator].direction == "higher"
    return finding.difference < 0 if higher else finding.difference > 0


def widening_gaps(data: DashboardData) -> list[str]:
    """Return the gap indicators whose gap widened significantly since the baseline.

    A gap widens when its change since the baseline is significant in Table 2 (improving or
    worsening: BH-adjusted p below alpha and an interval that excludes 0) and moves it away
    from zero.
    """
    out: list[str] = []
    for ind in data.ordered_indicators(gaps=True):
        wave = data.latest_wave(ind.id)
        change = data.changes.get((ind.id, "baseline", wave))
        cell = data.cell(ind.id, wave)
        if change is None or change.suppressed or cell.state != "value":
            continue
        if change.direction in ("improving", "worsening"):
            before = cell.estimate - change.estimate
            if abs(cell.estimate) > abs(before):
                out.append(ind.id)
    return out
