"""The headline numbers of a run: the gap, the caution, the cost and the real health.

Definitions (also written into every ``summary.json``):

- ``gaming_index``: mean over teams and plan periods of the plan's composite score on the
  reported log minus the same score on the true log, in percentage points of target. How much
  of what the plan pays for is not real.
- ``risk_aversion_index``: mean over teams and plan periods of ``max(0, 1 − change_rate)``: the
  share of their natural change pace teams hold back. 0 = no deferral.
- ``true_health``: mean over plan periods of 100 × the geometric mean of the organisation's true
  KPIs relative to the pre-plan periods (incident volume, mean resolution time, availability,
  change throughput, change success rate; each oriented so that above 100 is better).
- ``total_awards``: awards earned over the run (granted × scores, after pools and caps), in the
  scenario currency, including accruals of cohorts still open at the end.
- ``cost_per_health``: ``total_awards / true_health``: money per point of true health.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.metrics import CATALOGUE, compute_kpis

HEALTH_KPIS = (
    "incident_volume",
    "mttr_mean_hours",
    "availability",
    "change_throughput",
    "change_success_rate",
)

DEFINITIONS = {
    "gaming_index": "mean over teams and plan periods of (composite score on the reported log "
    "- composite score on the true log), percentage points of target",
    "risk_aversion_index": "mean over teams and plan periods of max(0, 1 - change_rate lever)",
    "true_health": "mean over plan periods of 100 x geometric mean of true org KPIs relative "
    "to the pre-plan periods: " + ", ".join(HEALTH_KPIS),
    "total_awards": "awards earned over the run, after pools and caps, incl. open accruals",
    "cost_per_health": "total_awards / true_health",
}


def true_health_by_period(true_kpis: pd.DataFrame, plan_start: int) -> pd.Series:
    """Return 100 × the geometric mean of org KPIs relative to the pre-plan mean, per period."""
    org = true_kpis[(true_kpis["team_id"] == "ALL") & (true_kpis["service_id"] == "ALL")]
    table = org.pivot_table(index="period", columns="kpi", values="value", sort=True)
    table = table[[k for k in HEALTH_KPIS if k in table.columns]]
    baseline = table.iloc[:plan_start].mean()
    ratio = table / baseline
    for kpi in table.columns:
        if CATALOGUE[kpi].direction == "lower":
            ratio[kpi] = 1 / ratio[kpi]
    return 100 * np.exp(np.log(ratio.clip(lower=1e-6)).mean(axis=1))


def summarise(run, true_kpis: pd.DataFrame) -> dict:
    """Return the summary of a :class:`~toolkit.run.loop.PlanRun` as plain numbers."""
    plan_start = run.plan.start_after_periods
    behaviour = run.behaviour
    labels = behaviour["period"].drop_duplicates().tolist()
    active = behaviour[behaviour["period"].isin(labels[plan_start:])]
    health = true_health_by_period(true_kpis, plan_start).iloc[plan_start:]
    total_awards = float(run.awards["earned"].sum()) if len(run.awards) else 0.0
    true_health = float(health.mean()) if len(health) else float("nan")
    gap = active["score_pct"] - active["true_score_pct"]
    return {
        "scenario": run.scenario.name,
        "plan": run.plan.name,
        "seed": run.seed,
        "gaming_index": float(gap.mean()) if len(active) else 0.0,
        "risk_aversion_index": float((1 - active["change_rate"]).clip(lower=0).mean())
        if len(active)
        else 0.0,
        "total_awards": total_awards,
        "total_paid": float(run.awards["paid"].sum()) if len(run.awards) else 0.0,
        "true_health": true_health,
        "cost_per_health": total_awards / true_health if true_health else float("nan"),
        "reported_score_mean": float(active["score_pct"].mean()) if len(active) else 0.0,
        "true_score_mean": float(active["true_score_pct"].mean()) if len(active) else 0.0,
        "gaming_levers_mean": {
            lever: float(active[lever].mean()) if len(active) else 0.0 for lever in GAMING_LEVERS
        },
        "currency": run.scenario.currency,
        "definitions": DEFINITIONS,
    }


def kpis_both_views(run, period: str) -> pd.DataFrame:
    """Return the KPI table of the true and the reported log, with a ``view`` column."""
    views = []
    for view, log in (("true", run.truth), ("reported", run.reported)):
        table = compute_kpis(log, period=period)
        table.insert(0, "view", view)
        views.append(table)
    return pd.concat(views, ignore_index=True)
