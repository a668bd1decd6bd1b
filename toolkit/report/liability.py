"""The liability of a plan over the horizon and after it: what is owed, and when it is paid.

Inside the horizon the ledger's ``liability.parquet`` says what is owed at each period's end
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

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


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
    end = max(pd.Period(label) for label in liability["period"].unique())
    owed = liability[liability["period"] == str(end)].groupby("cohort")[["outstanding", "deferred"]]
    owed = owed.sum()
    share = plan.vesting.deferral_share
    hold = plan.vesting.deferral_years * per_year
    leaving: list[tuple[pd.Period, float]] = []  # (period at whose end it is paid, amount)
    for cohort, row in owed.iterrows():
        ends = [e for e in tranche_ends(plan, cohort, per_year) if e > end]
        vest = ends[0] if ends else end + 1
        leaving.append((vest, (1 - share) * row["outstanding"]))
        leaving.append((vest + hold if share > 0 else vest, share * row["outstanding"]))
        leaving += _held_deferrals(cashflows, cohort, row["deferred"], end, hold)
    last = max([end + 1, *(period for period, amount in leaving if amount > 0)])
    periods = pd.period_range(end, last, freq=end.freq)
    total = float(owed.to_numpy().sum())
    paid = np.array([sum(a for p, a in leaving if p <= period) for period in periods])
    left = total - paid
    left[left <= 1e-9 * max(total, 1.0)] = 0.0  # rounding left over from splitting amounts
    values = np.where(periods == end, total, left)
    return pd.DataFrame({"period": [str(p) for p in periods], "liability": values})


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
    return [(period, deferred * amount / held.sum()) for period, amount in held.items()]


def liability_paths(batch, scenario: str) -> pd.DataFrame:
    """Return every run's total liability per period, with its run-off after the horizon.

    Parameters
    ----------
    batch : Batch
        A loaded batch (:func:`toolkit.report.data.load_batch`).
    scenario : str
        The scenario.

    Returns
    -------
    DataFrame
        ``plan``, ``seed``, ``period``, ``liability`` (summed over cohorts and teams) and
        ``projected`` (True after the horizon). Plans whose file is gone or has changed since
        the batch ran get no run-off.
    """
    liability = batch.run_table("liability")
    liability = liability[liability["scenario"] == scenario]
    cashflows = batch.run_table("cashflows")
    cashflows = cashflows[cashflows["scenario"] == scenario]
    parts = []
    for (plan, seed), rows in liability.groupby(["plan", "seed"], sort=True):
        recorded = rows.groupby("period", as_index=False)["liability"].sum()
        recorded["projected"] = False
        parts.append(recorded.assign(plan=plan, seed=seed))
        model = batch.plan_model(plan)
        if model is None:
            continue
        flows = cashflows[(cashflows["plan"] == plan) & (cashflows["seed"] == seed)]
        future = run_off(rows, flows, model, periods_per_year(rows["period"].iloc[0]))
        parts.append(future.iloc[1:].assign(projected=True, plan=plan, seed=seed))
    columns = ["plan", "seed", "period", "liability", "projected"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def fan(paths: pd.DataFrame) -> pd.DataFrame:
    """Return P10, P50 and P90 of liability over seeds, per plan and period.

    Parameters
    ----------
    paths : DataFrame
        From :func:`liability_paths`.

    Returns
    -------
    DataFrame
        ``plan``, ``period``, ``projected``, ``p10``, ``p50``, ``p90`` and ``seeds``, in period
        order within each plan.
    """
    grouped = paths.groupby(["plan", "period", "projected"], sort=True)["liability"]
    table = grouped.quantile(list(QUANTILES.values())).unstack()
    table.columns = list(QUANTILES)
    table["seeds"] = grouped.size()
    return table.reset_index()
