"""The bunching detector: recovers a known excess, stays quiet on the truth, sees SLA gaming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.metrics import CATALOGUE, compute_kpis
from toolkit.metrics.bunching import (
    MIN_INCIDENTS,
    WINDOW,
    bunching_table,
    estimate,
    resolution_ratio,
)
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.sim import simulate

from .conftest import SCENARIOS

SIGNIFICANT = 0.05


def _bunched(seed: int, n: int, share: float) -> tuple[np.ndarray, float]:
    """Exponential ratios with ``share`` of all moved from just over the target to just under."""
    rng = np.random.default_rng(seed)
    ratios = rng.exponential(0.5, n)
    over = np.flatnonzero((ratios > 1.0) & (ratios <= 1.2))
    moved = rng.choice(over, size=int(share * n), replace=False)
    ratios[moved] = rng.uniform(WINDOW[0], WINDOW[1], len(moved))
    return ratios, len(moved) / n


@pytest.mark.parametrize("seed", range(5))
def test_a_known_bunched_mass_is_recovered(seed):
    ratios, share = _bunched(seed, 20_000, 0.01)
    result = estimate(ratios)
    assert result.enough_data
    assert result.excess_share == pytest.approx(share, abs=0.3 * share)
    assert result.p_value < 0.001


def test_no_bunching_in_a_smooth_distribution_is_not_significant():
    p_values = [
        estimate(np.random.default_rng(s).exponential(0.5, 20_000)).p_value for s in range(20)
    ]
    assert np.mean(np.array(p_values) < SIGNIFICANT) <= 0.2


def test_too_few_resolutions_give_no_number():
    result = estimate(np.random.default_rng(0).exponential(0.5, MIN_INCIDENTS // 2))
    assert not result.enough_data
    assert np.isnan(result.excess_share) and np.isnan(result.p_value)


def test_the_truth_without_a_plan_is_mostly_not_significant(small_scenario):
    p_values = [
        estimate(resolution_ratio(simulate(small_scenario, seed=seed).incidents)).p_value
        for seed in range(8)
    ]
    assert np.mean(np.array(p_values) < SIGNIFICANT) < 0.5


def _plan_period_excess(plan: str, seed: int) -> float:
    scenario = load_scenario(SCENARIOS / "small.yaml")
    scenario = scenario.model_copy(
        update={"horizon": scenario.horizon.model_copy(update={"years": 3})}
    )
    reported = PlanLoop(scenario, load_plan(plan), seed).run().reported
    incidents = reported.incidents
    during = incidents.loc[incidents["opened_at"] >= reported.start + pd.DateOffset(years=1)]
    return estimate(resolution_ratio(during)).excess_share


def test_sla_attainment_bunches_more_than_no_plan():
    gaps = np.array(
        [
            _plan_period_excess("sla_attainment", seed) - _plan_period_excess("no_incentive", seed)
            for seed in range(2, 6)
        ]
    )
    assert gaps.mean() > 0
    assert (gaps > 0).sum() >= 3


def test_the_kpi_is_in_the_catalogue_and_measured_per_team(small_log):
    kpi = CATALOGUE["sla_bunching_excess"]
    assert (kpi.direction, kpi.unit) == ("lower", "share of resolutions")
    kpis = compute_kpis(small_log, period="all", kpis="sla_bunching_excess")
    org = kpis.loc[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL"), "value"]
    assert org.iloc[0] == pytest.approx(
        estimate(resolution_ratio(small_log.incidents)).excess_share
    )
    yearly = compute_kpis(small_log, period="year", kpis="sla_bunching_excess")
    assert set(yearly["period"]) == {"2025", "2026"}


def test_the_table_has_every_team_and_priority_and_says_when_data_are_short(small_log):
    table = bunching_table(small_log)
    teams = set(small_log.incidents["team_id"])
    assert set(table["team_id"]) == teams | {"ALL"}
    assert set(table["priority"]) == {"ALL", "P1", "P2", "P3", "P4"}
    short = table.loc[~table["enough_data"]]
    assert short["excess_share"].isna().all()
    assert (short["fitted"] < MIN_INCIDENTS).all()


def test_sparse_bins_do_not_break_the_fit():
    rng = np.random.default_rng(1)
    ratios = np.concatenate([np.full(MIN_INCIDENTS, 0.3), rng.uniform(0.25, 2.0, 20)])
    result = estimate(ratios)
    assert result.enough_data and np.isfinite(result.counterfactual)
