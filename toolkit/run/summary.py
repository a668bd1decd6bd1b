"""The headline numbers of a run: the gap, the caution, the cost and the real health.

Definitions (also written into every ``summary.json``):

- ``gaming_index``: mean over teams and plan periods of the plan's composite score on the
  reported log minus the same score on the true log, in percentage points of target. How much
  of what the plan pays for is not real.
- ``risk_aversion_index``: mean over teams and plan periods of ``max(0, 1 − change_rate)``: the
  share of their natural change pace teams hold back. 0 = no deferral.
- ``true_health``: 100 × the business loss per period before the plan / the business loss per
  plan period, both from the true log (100 = unchanged, above 100 = the business loses less
  under the plan). Weighted by what the outcomes cost: downtime by the criticality tier of the
  service that is down, open incident hours by priority, failed changes by their cost, so a
  core-banking outage weighs what it costs and a priority-4 ticket what it costs. It leaves
  out the value of delivered change, which ``delivery_value`` measures.
- ``total_awards``: awards earned over the run (granted × scores, after pools and caps), in the
  scenario currency, including accruals of cohorts still open at the end.
- ``business_loss``: what the true outcomes of the plan periods cost the business, in the
  scenario currency: downtime by criticality tier, incident open time by priority and failed
  changes, priced by the scenario's ``business_impact``
  (:mod:`toolkit.metrics.business_impact`); ``business_loss_parts`` splits it.
- ``delivery_value``: what the changes implemented without failure in the plan periods are
  worth, by change type, in the scenario currency.

What an improvement costs (awards per unit of loss avoided) and what a plan is worth (net
value) need the reference plan on the same seed, so a batch computes them
(:mod:`toolkit.experiments.analysis`), not a single run.

A figure that cannot be computed (no plan periods, no pre-plan periods or loss to compare the
plan periods with) is not a number: it is NaN in memory, ``null`` in ``summary.json``, and
``summary["undefined"]`` says why, figure by figure.
"""

from __future__ import annotations

import math

import pandas as pd

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.metrics import compute_kpis
from toolkit.metrics.business_impact import LOSS_PARTS, business_impact

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
    "true_health": "100 x business loss per period before the plan / business loss per plan "
    "period, both from the true log: 100 = unchanged, above 100 = less loss; weighted by cost "
    "(downtime by criticality tier, open incident hours by priority, failed changes)",
    "total_awards": "awards earned over the run, after pools and caps, incl. open accruals",
    "business_loss": "sum over plan periods of the true log's downtime hours (outages and "
    "priority-1 incidents, overlaps per service counted once) x cost per hour of the "
    "service's criticality tier, + incident open hours x cost per hour of the priority, + "
    "failed changes x cost per failed change; scenario currency",
    "business_loss_parts": "business_loss split into downtime_cost, open_incident_cost and "
    "failed_change_cost",
    "delivery_value": "sum over plan periods of changes implemented without failure in the "
    "true log x value of their type; scenario currency",
}


def _no_plan_periods(plan_start: int, periods: int) -> str:
    return f"no plan periods: the plan starts after period {plan_start} of {periods}"


def _health(loss: pd.Series, plan_start: int) -> tuple[float, str | None]:
    """Return true health from the business loss per period, or NaN and why it is undefined.

    Parameters
    ----------
    loss : Series
        Business loss of every period of the run, in time order.
    plan_start : int
        Number of periods before the plan starts.

    Returns
    -------
    tuple
        ``100 × mean pre-plan loss / mean plan-period loss`` and None, or NaN and the reason:
        no plan periods, no pre-plan periods, or a loss of 0 on either side (no finite ratio
        that says anything: with nothing lost before the plan, any loss would score 0).
    """
    if len(loss) <= plan_start:
        return math.nan, _no_plan_periods(plan_start, len(loss))
    if plan_start == 0:
        return math.nan, "no pre-plan periods: the plan starts with the run"
    before, during = float(loss.iloc[:plan_start].mean()), float(loss.iloc[plan_start:].mean())
    if not (math.isfinite(before) and math.isfinite(during)) or before <= 0 or during <= 0:
        return math.nan, (
            f"no finite ratio of business loss per period before the plan ({before:g}) to "
            f"during it ({during:g}): a side lost nothing or has no value"
        )
    return 100 * before / during, None


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def _total(values: pd.Series) -> float:
    """Sum over plan periods; NaN when there are none (a missing figure, not a zero)."""
    return float(values.sum(min_count=1)) if len(values) else math.nan


def summarise(run) -> dict:
    """Return the summary of a :class:`~toolkit.run.loop.PlanRun` as plain numbers.

    Parameters
    ----------
    run : PlanRun
        The run; its true log is valued with the scenario's ``business_impact`` prices.

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
    if not len(active):
        undefined.update(
            dict.fromkeys(PLAN_PERIOD_FIGURES, _no_plan_periods(plan_start, len(labels)))
        )
    gap = active["score_pct"] - active["true_score_pct"]
    valued = business_impact(run.truth, run.scenario.business_impact, run.scenario.horizon.period)
    valued = valued.set_index("period").reindex(labels)  # the run's periods, in order
    true_health, why = _health(valued["business_loss"], plan_start)
    if why is not None:
        undefined["true_health"] = why
    money = valued.iloc[plan_start:]
    summary = {
        "scenario": run.scenario.name,
        "plan": run.plan.name,
        "seed": run.seed,
        "gaming_index": _mean(gap),
        "risk_aversion_index": _mean((1 - active["change_rate"]).clip(lower=0)),
        "total_awards": total_awards,
        "total_paid": float(run.awards["paid"].sum()) if len(run.awards) else 0.0,
        "true_health": true_health,
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
