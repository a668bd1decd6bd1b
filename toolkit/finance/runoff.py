"""The run-off of a run's liability after its horizon: what is owed, and when it is paid.

Inside the horizon the ledger's ``liability`` table says what is owed at each period's end
(unvested accruals plus deferred amounts). At the horizon's end most cohorts are still open:
their money is owed but not yet paid, and a finance director needs the dates. The run-off
applies the plan's own schedule (:mod:`toolkit.plans.ledger`, rules 1, 3 and 6) to what is owed
at the end: each cohort's unvested amount vests at the end of the tranche in progress, the
plan's deferral share of it is then held for the deferral years, and amounts already deferred
are released when their deferral ends. It adds no new accruals and assumes no pool or cap
scaling, malus or clawback after the horizon, so it is what is owed today, paid out on schedule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan

RUN_OFF_COLUMNS = ("period", "cohort", "vesting", "paid")


def periods_per_year(label: str) -> int:
    """Return how many periods of a label's kind (``2025-03``, ``2025Q1``, ``2025``) fit a year."""
    period = pd.Period(label)
    year = pd.period_range(f"{period.year}-01-01", f"{period.year}-12-31", freq=period.freq)
    return len(year)


def tranche_ends(plan: Plan, cohort: str, per_year: int) -> list[pd.Period]:
    """Return the periods at whose end a cohort's tranches vest, in order.

    A cliff cohort vests once, at the end of its performance window; a graded one at the end
    of each window year.
    """
    start = pd.Period(cohort)
    window = plan.performance_period_years * per_year
    count = plan.performance_period_years if plan.vesting.schedule == "graded" else 1
    length = window // count
    return [start + (j + 1) * length - 1 for j in range(count)]


def run_off_payments(
    liability: pd.DataFrame, cashflows: pd.DataFrame, plan: Plan, per_year: int
) -> pd.DataFrame:
    """Date every amount owed at the horizon's end: when it vests and when it is paid.

    Parameters
    ----------
    liability : DataFrame
        The run's ``liability`` table (per period, cohort and team).
    cashflows : DataFrame
        The run's ``cashflows`` table; its ``defer`` events date the deferrals still held.
    plan : Plan
        The plan the run used: window, vesting schedule and deferral.
    per_year : int
        Periods per year of the run's period labels.

    Returns
    -------
    DataFrame
        ``period`` (label, after the horizon), ``cohort``, ``vesting`` (unvested amount
        vesting at that period's end, before any cap) and ``paid`` (cash paid at its end), one
        row per period and cohort with money, in period then cohort order. Over all rows
        ``paid`` sums to what is owed at the horizon's end (outstanding + deferred) and
        ``vesting`` to what is unvested then.
    """
    empty = pd.DataFrame(
        {
            "period": pd.Series(dtype="str"),
            "cohort": pd.Series(dtype="str"),
            "vesting": pd.Series(dtype=float),
            "paid": pd.Series(dtype=float),
        }
    )
    if liability.empty:
        return empty
    end = _horizon_end(liability)
    owed = liability[liability["period"] == str(end)].groupby("cohort")[["outstanding", "deferred"]]
    owed = owed.sum()
    share = plan.vesting.deferral_share
    hold = plan.vesting.deferral_years * per_year
    rows: list[tuple[pd.Period, str, float, float]] = []  # (period, cohort, vesting, paid)
    for cohort, row in owed.iterrows():
        ends = [e for e in tranche_ends(plan, cohort, per_year) if e > end]
        vest = ends[0] if ends else end + 1
        outstanding = float(row["outstanding"])
        rows.append((vest, cohort, outstanding, (1 - share) * outstanding))
        rows.append((vest + hold if share > 0 else vest, cohort, 0.0, share * outstanding))
        rows += [
            (period, cohort, 0.0, amount)
            for period, amount in _held_deferrals(cashflows, cohort, row["deferred"], end, hold)
        ]
    table = pd.DataFrame(rows, columns=["when", "cohort", "vesting", "paid"])
    table = table[(table["vesting"] != 0) | (table["paid"] != 0)]
    if table.empty:
        return empty
    table = table.groupby(["when", "cohort"], as_index=False, sort=True)[["vesting", "paid"]].sum()
    table.insert(0, "period", [str(period) for period in table.pop("when")])
    return table[list(RUN_OFF_COLUMNS)].reset_index(drop=True)


def run_off(
    liability: pd.DataFrame, cashflows: pd.DataFrame, plan: Plan, per_year: int
) -> pd.DataFrame:
    """Project one run's liability at the horizon's end forward until it is all paid.

    Parameters
    ----------
    liability : DataFrame
        The run's ``liability.parquet`` (per period, cohort and team).
    cashflows : DataFrame
        The run's ``cashflows.parquet``; its ``defer`` events date the deferrals still held.
    plan : Plan
        The plan the run used: window, vesting schedule and deferral.
    per_year : int
        Periods per year of the run's period labels.

    Returns
    -------
    DataFrame
        ``period`` (label) and ``liability``, from the horizon's last period (as recorded) to
        the first period with nothing left owed. Empty when the run has no liability rows.
    """
    if liability.empty:
        return pd.DataFrame({"period": pd.Series(dtype="str"), "liability": pd.Series(dtype=float)})
    end = _horizon_end(liability)
    at_end = liability[liability["period"] == str(end)]
    total = float(at_end[["outstanding", "deferred"]].to_numpy().sum())
    payments = run_off_payments(liability, cashflows, plan, per_year)
    paid_by = payments.groupby("period")["paid"].sum()
    paid_at = {pd.Period(label): amount for label, amount in paid_by[paid_by > 0].items()}
    last = max([end + 1, *paid_at])
    periods = pd.period_range(end, last, freq=end.freq)
    paid = np.cumsum([paid_at.get(period, 0.0) for period in periods])
    left = total - paid
    left[left <= 1e-9 * max(total, 1.0)] = 0.0  # rounding left over from splitting amounts
    values = np.where(periods == end, total, left)
    return pd.DataFrame({"period": [str(p) for p in periods], "liability": values})


def _horizon_end(liability: pd.DataFrame) -> pd.Period:
    """Return the last period a liability table records."""
    return max(pd.Period(label) for label in liability["period"].unique())


def _held_deferrals(
    cashflows: pd.DataFrame, cohort: str, deferred: float, end: pd.Period, hold: int
) -> list[tuple[pd.Period, float]]:
    """Date the deferred amount of a cohort by the deferrals still held at ``end``.

    Each ``defer`` event is released ``hold`` periods after it; those released after ``end``
    share the cohort's deferred amount in proportion (a malus on deferred money scaled them
    all). Without such events the amount is taken as released in the next period.
    """
    if deferred <= 0:
        return []
    events = cashflows[(cashflows["kind"] == "defer") & (cashflows["cohort"] == cohort)]
    releases = pd.Series(
        events["amount"].to_numpy(), index=[pd.Period(p) + hold for p in events["period"]]
    )
    held = releases[[period > end for period in releases.index]]
    if held.empty or held.sum() <= 0:
        return [(end + 1, deferred)]
    held = held.groupby(level=0).sum()
    return [(period, deferred * amount / held.sum()) for period, amount in held.items()]
