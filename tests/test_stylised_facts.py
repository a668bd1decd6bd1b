"""Stylised facts from the incentive literature, each across 30 seeds with a statistical test.

The model's scientific validation: the behaviour below is not programmed in; it emerges from
teams maximising their utility under each plan. Every run uses the small scenario over three
years (a pre-plan year, then two plan years); plans are compared on common random numbers,
pair by pair on the same seed.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.config import load_scenario
from toolkit.metrics import CATALOGUE, compute_kpis
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.summary import summarise

from .conftest import SCENARIOS

SEEDS = range(30)
PLANS = (
    "no_incentive",
    "mttr_only",
    "throughput_only",
    "change_safety",
    "sla_attainment",
    "balanced",
    "balanced_guarded",
    "careful",
)
# Variants of library plans: the target award scaled (dose-response), or a ratchet baseline on
# every improvement metric; keyed "plan@variant".
VARIANTS = ("careful@x0.5", "careful@x2", "mttr_only@x0.5", "mttr_only@x2", "careful@ratchet")
GUARDED = "careful"  # the library's best guarded plan: pays for what teams control
T_CRITICAL = 2.05  # about the two-sided 5% point of a t distribution with 29 degrees of freedom

pytestmark = pytest.mark.slow


@functools.cache
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


@functools.cache
def _plan(key: str):
    """Load a library plan, or its variant for keys ``plan@x<scale>`` and ``plan@ratchet``."""
    name, _, variant = key.partition("@")
    plan = load_plan(name)
    if variant.startswith("x"):
        scale = float(variant[1:])
        return plan.model_copy(
            update={
                "target_award_pct": {g: v * scale for g, v in plan.target_award_pct.items()},
                "default_target_award_pct": plan.default_target_award_pct * scale,
            }
        )
    if variant == "ratchet":
        ratchet = [
            m.model_copy(update={"baseline": m.baseline.model_copy(update={"policy": "ratchet"})})
            if m.basis == "improvement"
            else m
            for m in plan.metrics
        ]
        return plan.model_copy(update={"metrics": ratchet})
    return plan


@functools.cache
def _kpis_used() -> list[str]:
    """The KPIs the facts read: those named below and every metric of the guarded plan."""
    named = {"mttr_mean_hours", "emergency_share", "change_success_rate", "change_throughput"}
    return sorted(named | {m.kpi for m in load_plan(GUARDED).metrics})


def _record(job: tuple[str, int]) -> dict:
    """Run one plan on one seed and keep what the facts need."""
    plan_name, seed = job
    scenario, plan = _scenario(), _plan(plan_name)
    run = PlanLoop(scenario, plan, seed).run()
    start = plan.start_after_periods
    labels = run.behaviour["period"].drop_duplicates().tolist()
    plan_periods = labels[start:]
    views = {}
    for view, log in (("true", run.truth), ("reported", run.reported)):
        kpis = compute_kpis(log, period="quarter", kpis=_kpis_used())
        org = kpis[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL")]
        views[view] = org.pivot_table(index="period", columns="kpi", values="value")
    behaviour = run.behaviour.groupby("period", sort=False)[
        ["reliability_effort", "change_rate", "diligence", *GAMING_LEVERS]
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
        "true_first_year": views["true"].loc[plan_periods[:4]].mean().to_dict(),
        "levers_first": behaviour.loc[plan_periods[0]].to_dict(),
        "levers_late": behaviour.loc[plan_periods[-2:]].mean().to_dict(),
        "levers_mean": behaviour.loc[plan_periods].mean().to_dict(),
        "levers_max": run.behaviour[list(GAMING_LEVERS)].to_numpy().max(),
        "near_target": _near_target_share(plan_incidents),
    }


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], dict]:
    jobs = [(plan, seed) for plan in PLANS + VARIANTS for seed in SEEDS]
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


def test_l_mttr_only_reported_mttr_improves_more_than_the_true_mttr(runs):
    """Goodhart: the record improves by more than what it records, paired against no plan.

    Diligence lets the plan buy some true improvement too, so the claim is the gap, not that
    the truth stands still.
    """

    def change(view):
        return _series(runs, "mttr_only", lambda r: r[view]["mttr_mean_hours"]) - _series(
            runs, "no_incentive", lambda r: r[view]["mttr_mean_hours"]
        )

    reported, true = change("reported"), change("true")
    assert _t(reported) < -T_CRITICAL  # the record shows a significant improvement
    assert _t(reported - true) < -T_CRITICAL  # significantly larger than the true one


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


def _paired(runs, plan, getter, reference="no_incentive") -> np.ndarray:
    return _series(runs, plan, getter) - _series(runs, reference, getter)


def _better(kpi: str) -> float:
    """+1 where a higher value of the KPI is better, -1 where lower is."""
    return 1.0 if CATALOGUE[kpi].direction == "higher" else -1.0


def _net_value(runs, plan, reference="no_incentive") -> np.ndarray:
    """Loss avoided + value added − extra awards against the reference, per seed."""

    def summary(field):
        return _paired(runs, plan, lambda r: r["summary"][field], reference)

    return -summary("business_loss") + summary("delivery_value") - summary("total_awards")


def test_h_the_guarded_plan_improves_the_true_kpis_it_rewards(runs):
    rewarded = [metric.kpi for metric in load_plan(GUARDED).metrics]
    t = {
        kpi: _t(_better(kpi) * _paired(runs, GUARDED, lambda r, kpi=kpi: r["true"][kpi]))
        for kpi in rewarded
    }
    improved = [kpi for kpi, value in t.items() if value > T_CRITICAL]
    assert len(improved) >= len(rewarded) / 2, f"t statistics (better > 0): {t}"
    assert min(t.values()) > -T_CRITICAL, f"a rewarded KPI got significantly worse: {t}"
    # the rewarded KPIs together, weighted as the plan pays them: a 95 % interval above 0
    together = _paired(runs, GUARDED, _rewarded(runs))
    assert _t(together) > T_CRITICAL, f"weighted true KPIs: t = {_t(together):.2f}"
    assert _t(_net_value(runs, GUARDED)) > T_CRITICAL  # and it is worth more than it costs


def _rewarded(runs):
    """The guarded plan's weighted true KPIs, each relative to its level without a plan."""
    metrics = load_plan(GUARDED).metrics
    scale = {
        m.kpi: abs(_series(runs, "no_incentive", lambda r, m=m: r["true"][m.kpi]).mean())
        for m in metrics
    }

    def rewarded(r):
        return sum(m.weight * _better(m.kpi) * r["true"][m.kpi] / scale[m.kpi] for m in metrics)

    return rewarded


def _blocked_spearman(runs, plans: dict[str, float], getter):
    """Spearman correlation of dose and outcome, each seed's mean taken out (a paired design)."""
    values = np.array([_series(runs, plan, getter) for plan in plans])  # doses × seeds
    centred = values - values.mean(axis=0)
    doses = np.repeat(list(plans.values()), len(SEEDS))
    return spearmanr(doses, centred.ravel())


def test_i_effort_and_true_kpis_rise_with_the_stake_and_so_does_gaming(runs):
    doses = {f"{GUARDED}@x0.5": 0.5, GUARDED: 1.0, f"{GUARDED}@x2": 2.0}
    effort = _blocked_spearman(runs, doses, lambda r: r["levers_mean"]["diligence"])
    assert effort.statistic > 0 and effort.pvalue < 0.05
    rises = _blocked_spearman(runs, doses, _rewarded(runs))
    assert rises.statistic > 0 and rises.pvalue < 0.05, rises
    stakes = {"mttr_only@x0.5": 0.5, "mttr_only": 1.0, "mttr_only@x2": 2.0}
    gaming = _blocked_spearman(runs, stakes, lambda r: r["summary"]["gaming_index"])
    assert gaming.statistic > 0 and gaming.pvalue < 0.05, gaming


def test_j_a_ratchet_baseline_holds_back_first_year_improvement(runs):
    def improvement(plan):
        return _paired(runs, plan, lambda r: -r["true_first_year"]["mttr_mean_hours"])

    held_back = improvement(GUARDED) - improvement(f"{GUARDED}@ratchet")
    assert _t(held_back) > T_CRITICAL


def test_k_throughput_only_buys_quantity_at_the_cost_of_quality(runs):
    assert (
        _t(_paired(runs, "throughput_only", lambda r: r["true"]["change_throughput"])) > T_CRITICAL
    )
    assert (
        _t(-_paired(runs, "throughput_only", lambda r: r["true"]["change_success_rate"]))
        > T_CRITICAL
    )
    assert _t(_net_value(runs, "throughput_only")) < -T_CRITICAL
