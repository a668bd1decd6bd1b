"""The liability of a plan over the horizon and after it, drawn over a batch's seeds.

Inside the horizon the ledger's ``liability.parquet`` says what is owed at each period's end;
after it, the run-off of :mod:`toolkit.finance.runoff` (re-exported here) pays what is owed at
the end on the plan's own vesting and deferral schedule, with no new accruals and no pool or
cap scaling, malus or clawback.
"""

from __future__ import annotations

import pandas as pd

from toolkit.finance.runoff import periods_per_year, run_off, tranche_ends

__all__ = ["fan", "liability_paths", "periods_per_year", "run_off", "tranche_ends"]

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


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
