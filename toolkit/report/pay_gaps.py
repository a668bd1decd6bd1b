"""The gender pay gap each plan would create, for the decision report's plan comparison.

A plan designer should see that a plan widens the gender pay gap before adopting it: each
run's Art. 9(1) indicators (:mod:`toolkit.compliance.pay_gap`, default conventions) are
summarised per plan, with the change against the reference plan seed by seed.
"""

from __future__ import annotations

import pandas as pd

from toolkit.compliance.pay_conventions import PayGapConventions
from toolkit.compliance.pay_gap_plans import plan_pay_gaps, run_pay_gaps
from toolkit.report.data import Batch

CACHE_KEY = "pay_gaps:{scenario}"


def _run_rows(table: pd.DataFrame, scenario: str, plan: str, seed: int) -> pd.DataFrame:
    if not len(table):
        return table.drop(columns=["scenario", "plan", "seed"], errors="ignore")
    chosen = (table["scenario"] == scenario) & (table["plan"] == plan) & (table["seed"] == seed)
    return table[chosen].drop(columns=["scenario", "plan", "seed"])


def scenario_pay_gaps(
    batch: Batch, scenario: str, conventions: PayGapConventions | None = None
) -> pd.DataFrame:
    """Return one scenario's pay gaps per plan, as :func:`~.pay_gap_plans.plan_pay_gaps` gives.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    scenario : str
        The scenario.
    conventions : PayGapConventions, optional
        How pay is counted (default: the documented defaults).

    Returns
    -------
    DataFrame
        Indexed by plan; empty when the scenario file the batch ran is gone or has changed
        (its people and base pay are unknown then).
    """
    conventions = conventions or PayGapConventions()
    key = CACHE_KEY.format(scenario=scenario)
    cache = batch._tables  # the batch's own cache of tables read from its runs
    if key in cache and conventions == PayGapConventions():
        return cache[key]
    model = batch.scenario_model(scenario)
    if model is None:
        return pd.DataFrame(index=pd.Index([], name="plan"))
    awards, cashflows = batch.run_table("awards"), batch.run_table("cashflows")
    runs = batch.runs[batch.runs["scenario"] == scenario]
    chosen = [
        (
            {"scenario": scenario, "plan": run.plan, "seed": int(run.seed)},
            _run_rows(awards, scenario, run.plan, int(run.seed)),
            _run_rows(cashflows, scenario, run.plan, int(run.seed)),
        )
        for run in runs.itertuples(index=False)
    ]
    plans = plan_pay_gaps(run_pay_gaps(model, chosen, conventions), batch.reference)
    plans = plans.set_index("plan")
    if conventions == PayGapConventions():
        cache[key] = plans
    return plans
