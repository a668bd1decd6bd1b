"""Stylised facts from the incentive literature, each across 20 seeds with a statistical test.

The model's scientific validation: the behaviour below is not programmed in; it emerges from
teams maximising their utility under each plan. Every run uses the small scenario over three
years (a pre-plan year, then two plan years); plans are compared on common random numbers,
pair by pair on the same seed.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.config import load_scenario
from toolkit.metrics import compute_kpis
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.summary import summarise

from .conftest import SCENARIOS

SEEDS = range(20)
PLANS = (
    "no_incentive",
    "mttr_only",
    "throughput_only",
    "change_safety",
    "sla_attainment",
    "balanced",
    "balanced_guarded",
)
T_CRITICAL = 2.1  # about the two-sided 5% point of a t distribution with 19 degrees of freedom

pytestmark = pytest.mark.slow


def _scenario():
    scenario = load_scenario(SCENARIOS / "small.yaml")
    return scenario.model_copy(update={"horizon": scenario.horizon.model_copy(update={"years": 3})})


def _near_target_share(incidents: pd.DataFrame) -> float:
    """Share of resolved incidents whose net resolution time is in the last 10% of the target."""
    done = incidents.dropna(subset=["resolved_at"])
    net = (done["resolved_at"] - done["opened_at"]).dt.total_seconds() / 3600 - done[
        "on_hold_hours"
    ]
    target = done["sla_target_hours"]
    return float(((net > 0.9 * target) & (net <= target)).mean())


def _record(job: tuple[str, int]) -> dict:
    """Run one plan on one seed and keep what the facts need."""
    plan_name, seed = job
    scenario, plan = _scenario(), load_plan(plan_name)
    run = PlanLoop(scenario, plan, seed).run()
    start = plan.start_after_periods
    labels = run.behaviour["period"].drop_duplicates().tolist()
    plan_periods = labels[start:]
    views = {}
    for view, log in (("true", run.truth), ("reported", run.reported)):
        kpis = compute_kpis(log, period="quarter")
        org = kpis[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL")]
        views[view] = org.pivot_table(index="period", columns="kpi", values="value")
    behaviour = run.behaviour.groupby("period", sort=False)[
        ["reliability_effort", "change_rate", *GAMING_LEVERS]
    ].mean()
    plan_incidents = run.reported.incidents[
        run.reported.incidents["opened_at"]
        >= pd.Timestamp(run.truth.start) + pd.DateOffset(years=1)
    ]
    return {
        "plan": plan_name,
        "seed": seed,
        "summary": summarise(run),
        "true": views["true"].loc[plan_periods].mean().to_dict(),
        "reported": views["reported"].loc[plan_periods].mean().to_dict(),
        "levers_first": behaviour.loc[plan_periods[0]].to_dict(),
        "levers_late": behaviour.loc[plan_periods[-2:]].mean().to_dict(),
        "levers_mean": behaviour.loc[plan_periods].mean().to_dict(),
        "levers_max": run.behaviour[list(GAMING_LEVERS)].to_numpy().max(),
        "near_target": _near_target_share(plan_incidents),
    }


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], dict]:
    jobs = [(plan, seed) for plan in PLANS for seed in SEEDS]
    with ProcessPoolExecutor(max_workers=2) as pool:
        records = list(pool.map(_record, jobs, chunksize=4))
    return {(r["plan"], r["seed"]): r for r in records}


def _series(runs, plan, getter) -> np.ndarray:
    return np.array([getter(runs[(plan, seed)]) for seed in SEEDS], dtype=float)


def _t(values: np.ndarray) -> float:
    """t statistic of the mean of paired differences (positive: the mean is above zero)."""
    spread = values.std(ddof=1)
    if spread == 0:
        return math.copysign(math.inf, values.mean()) if values.mean() else 0.0
    return float(values.mean() / (spread / math.sqrt(len(values))))


def test_g_no_incentive_keeps_every_gaming_lever_at_zero(runs):
    assert all(runs[("no_incentive", seed)]["levers_max"] == 0 for seed in SEEDS)


def test_a_mttr_only_games_the_clock_and_reported_mttr_parts_from_the_truth(runs):
    def rise(lever):
        return _series(
            runs, "mttr_only", lambda r: r["levers_late"][lever] - r["levers_first"][lever]
        )

    assert _t(rise("padding")) > T_CRITICAL
    assert _t(rise("stop_the_clock")) > T_CRITICAL
    gap = _series(
        runs, "mttr_only", lambda r: r["reported"]["mttr_mean_hours"] - r["true"]["mttr_mean_hours"]
    )
    assert _t(gap) < -T_CRITICAL  # reported MTTR below the truth
    true_change = _series(runs, "mttr_only", lambda r: r["true"]["mttr_mean_hours"]) - _series(
        runs, "no_incentive", lambda r: r["true"]["mttr_mean_hours"]
    )
    assert _t(true_change) > -T_CRITICAL  # the true MTTR has not significantly improved


def test_b_throughput_only_substitutes_delivery_for_reliability(runs):
    def paired(kpi):
        return _series(runs, "throughput_only", lambda r: r["true"][kpi]) - _series(
            runs, "no_incentive", lambda r: r["true"][kpi]
        )

    assert _t(paired("emergency_share")) > T_CRITICAL
    assert _t(-paired("change_success_rate")) > T_CRITICAL  # failure rate rises
    effort = _series(runs, "throughput_only", lambda r: r["levers_mean"]["reliability_effort"])
    natural = _series(runs, "no_incentive", lambda r: r["levers_mean"]["reliability_effort"])
    assert _t(natural - effort) > T_CRITICAL


def test_c_change_safety_slows_change_below_no_incentive(runs):
    fewer = _series(runs, "no_incentive", lambda r: r["true"]["change_throughput"]) - _series(
        runs, "change_safety", lambda r: r["true"]["change_throughput"]
    )
    assert _t(fewer) > T_CRITICAL


def test_d_vendor_exclusion_invites_misattribution_until_audited(runs):
    blamed = _series(runs, "balanced", lambda r: r["levers_late"]["misattribution"])
    assert _t(blamed) > T_CRITICAL
    guarded = _series(runs, "balanced_guarded", lambda r: r["levers_late"]["misattribution"])
    assert _t(blamed - guarded) > T_CRITICAL


def test_e_sla_attainment_bunches_resolutions_under_the_target(runs):
    bunching = _series(runs, "sla_attainment", lambda r: r["near_target"]) - _series(
        runs, "no_incentive", lambda r: r["near_target"]
    )
    assert _t(bunching) > T_CRITICAL


def test_f_guards_cut_gaming_at_comparable_true_health(runs):
    gaming = _series(runs, "mttr_only", lambda r: r["summary"]["gaming_index"]) - _series(
        runs, "balanced_guarded", lambda r: r["summary"]["gaming_index"]
    )
    assert _t(gaming) > T_CRITICAL
    health = _series(runs, "balanced_guarded", lambda r: r["summary"]["true_health"]) - _series(
        runs, "mttr_only", lambda r: r["summary"]["true_health"]
    )
    assert abs(health.mean()) < 5 + 2 * health.std(ddof=1) / math.sqrt(len(health))
