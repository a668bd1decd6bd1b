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
- ``business_loss``: what the true outcomes of the plan periods cost the business, in the
  scenario currency: downtime by criticality tier, incident open time by priority and failed
  changes, priced by the scenario's ``business_impact``
  (:mod:`toolkit.metrics.business_impact`); ``business_loss_parts`` splits it.
- ``delivery_value``: what the changes implemented without failure in the plan periods are
  worth, by change type, in the scenario currency.

A figure that cannot be computed (no plan periods, a health ratio that is not finite, no true
health to divide by) is not a number: it is NaN in memory, ``null`` in ``summary.json``, and
``summary["undefined"]`` says why, figure by figure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.metrics import CATALOGUE, compute_kpis
from toolkit.metrics.business_impact import LOSS_PARTS, business_impact

HEALTH_KPIS = (
    "incident_volume",
    "mttr_mean_hours",
    "availability",
    "change_throughput",
    "change_success_rate",
)

# Figures taken over the plan periods (means, or sums of money), undefined when there are none.
PLAN_PERIOD_FIGURES = (
    "gaming_index",
    "risk_aversion_index",
    "reported_score_mean",
    "true_score_mean",
    "gaming_levers_mean",
    "business_loss",
    "business_loss_parts",
    "delivery_value",
)

DEFINITIONS = {
    "gaming_index": "mean over teams and plan periods of (composite score on the reported log "
    "- composite score on the true log), percentage points of target",
    "risk_aversion_index": "mean over teams and plan periods of max(0, 1 - change_rate lever)",
    "true_health": "mean over plan periods of 100 x geometric mean of true org KPIs relative "
    "to the pre-plan periods: " + ", ".join(HEALTH_KPIS),
    "total_awards": "awards earned over the run, after pools and caps, incl. open accruals",
    "cost_per_health": "total_awards / true_health",
    "business_loss": "sum over plan periods of the true log's downtime hours (outages and "
    "priority-1 incidents, overlaps per service counted once) x cost per hour of the "
    "service's criticality tier, + incident open hours x cost per hour of the priority, + "
    "failed changes x cost per failed change; scenario currency",
    "business_loss_parts": "business_loss split into downtime_cost, open_incident_cost and "
    "failed_change_cost",
    "delivery_value": "sum over plan periods of changes implemented without failure in the "
    "true log x value of their type; scenario currency",
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


def _no_plan_periods(plan_start: int, periods: int) -> str:
    return f"no plan periods: the plan starts after period {plan_start} of {periods}"


def _health(true_kpis: pd.DataFrame, plan_start: int, periods: int) -> tuple[float, str | None]:
    """Return true health over the plan periods, or NaN and the reason it is undefined."""
    if periods <= plan_start:
        return math.nan, _no_plan_periods(plan_start, periods)
    health = true_health_by_period(true_kpis, plan_start).iloc[plan_start:]
    value = float(health.mean()) if len(health) else math.nan
    if not math.isfinite(value):
        return math.nan, (
            "the health KPIs have no finite ratio to the pre-plan periods (a pre-plan mean "
            "of 0, or no values)"
        )
    return value, None


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def _total(values: pd.Series) -> float:
    """Sum over plan periods; NaN when there are none (a missing figure, not a zero)."""
    return float(values.sum(min_count=1)) if len(values) else math.nan


def summarise(run, true_kpis: pd.DataFrame) -> dict:
    """Return the summary of a :class:`~toolkit.run.loop.PlanRun` as plain numbers.

    Parameters
    ----------
    run : PlanRun
        The run.
    true_kpis : DataFrame
        The KPI table of the true log.

    Returns
    -------
    dict
        The figures of the module docstring and their ``definitions``; a figure that cannot
        be computed is NaN and ``undefined`` maps it to the reason (empty when all are
        defined). :func:`~toolkit.run.outputs.write_json` writes NaN as ``null``.
    """
    plan_start = run.plan.start_after_periods
    behaviour = run.behaviour
    labels = behaviour["period"].drop_duplicates().tolist()
    active = behaviour[behaviour["period"].isin(labels[plan_start:])]
    undefined: dict[str, str] = {}
    total_awards = float(run.awards["earned"].sum()) if len(run.awards) else 0.0
    true_health, why = _health(true_kpis, plan_start, len(labels))
    if why is not None:
        undefined["true_health"] = why
        undefined["cost_per_health"] = f"true health is undefined: {why}"
        cost_per_health = math.nan
    else:
        cost_per_health = total_awards / true_health
    if not len(active):
        undefined.update(
            dict.fromkeys(PLAN_PERIOD_FIGURES, _no_plan_periods(plan_start, len(labels)))
        )
    gap = active["score_pct"] - active["true_score_pct"]
    money = business_impact(run.truth, run.scenario.business_impact, run.scenario.horizon.period)
    money = money[money["period"].isin(labels[plan_start:])]
    summary = {
        "scenario": run.scenario.name,
        "plan": run.plan.name,
        "seed": run.seed,
        "gaming_index": _mean(gap),
        "risk_aversion_index": _mean((1 - active["change_rate"]).clip(lower=0)),
        "total_awards": total_awards,
        "total_paid": float(run.awards["paid"].sum()) if len(run.awards) else 0.0,
        "true_health": true_health,
        "cost_per_health": cost_per_health,
        "reported_score_mean": _mean(active["score_pct"]),
        "true_score_mean": _mean(active["true_score_pct"]),
        "gaming_levers_mean": {lever: _mean(active[lever]) for lever in GAMING_LEVERS},
        "business_loss": _total(money["business_loss"]),
        "business_loss_parts": {part: _total(money[part]) for part in LOSS_PARTS},
        "delivery_value": _total(money["delivery_value"]),
        "currency": run.scenario.currency,
        "definitions": DEFINITIONS,
    }
    for name, value in summary.items():  # any other gap: say so rather than leave it unexplained
        values = value.values() if isinstance(value, dict) else [value]
        if name not in undefined and any(isinstance(v, float) and math.isnan(v) for v in values):
            undefined[name] = "the run's records hold no value to compute it from"
    summary["undefined"] = dict(sorted(undefined.items()))
    return summary


def kpis_both_views(run, period: str) -> pd.DataFrame:
    """Return the KPI table of the true and the reported log, with a ``view`` column."""
    views = []
    for view, log in (("true", run.truth), ("reported", run.reported)):
        table = compute_kpis(log, period=period)
        table.insert(0, "view", view)
        views.append(table)
    return pd.concat(views, ignore_index=True)
