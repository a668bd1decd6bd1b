"""Funding pools, the personnel-cost cap and cost transparency on hand-sized scenarios."""

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.config.loading import validate_mapping
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.config.yaml_strict import read_yaml_mapping
from toolkit.finance import (
    apply_cap,
    business_unit_shares,
    cap_amount,
    payouts_by_business_unit,
    personnel_cost,
    pool_factors,
    team_pools,
)
from toolkit.finance.transparency import UNALLOCATED

BASE = read_yaml_mapping(Path(__file__).parent.parent / "scenarios" / "small.yaml")


def person(pid, grade, salary, gender="female"):
    return {
        "id": pid,
        "role": "engineer",
        "grade": grade,
        "country": "DE",
        "gender": gender,
        "base_salary": salary,
    }


def service(sid, team, unit, criticality, budget):
    return {
        "id": sid,
        "name": sid,
        "business_unit": unit,
        "owning_team": team,
        "criticality": criticality,
        "complexity": 1.0,
        "platform_age_years": 1.0,
        "annual_budget": budget,
    }


# One team ("ops"), two people: alice 100k (G5) and bob 50k (G3); services in two units.
OPS = {"id": "ops", "people": [person("alice", "G5", 100_000), person("bob", "G3", 50_000)]}
OPS_SERVICES = [
    service("erp", "ops", "bu1", 1, 1_000_000),
    service("mail", "ops", "bu2", 3, 500_000),
]
# A second team ("dev"), one person: carol 150k (G3), one service.
DEV = {"id": "dev", "people": [person("carol", "G3", 150_000)]}
DEV_SERVICES = [service("web", "dev", "bu2", 2, 2_000_000)]


def make_scenario(teams=(OPS,), services=OPS_SERVICES):
    data = copy.deepcopy(BASE)
    data["organisation"] = {
        "business_units": [{"id": "bu1", "name": "One"}, {"id": "bu2", "name": "Two"}],
        "teams": [{"name": t["id"], "capacity": 2, **t} for t in teams],
        "services": list(services),
    }
    return validate_mapping(Scenario, data, "toy")


def make_plan(**fields):
    return Plan.model_validate({"name": "toy", "description": "toy plan", **fields})


def test_team_pools_by_service_budget_and_criticality():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    plan = make_plan(
        funding={
            "basis": "service_budget",
            "budget_share_pct": 2.0,
            "criticality_multiplier": {1: 1.5, 3: 0.5},  # tier 2 missing: counts 1
        }
    )
    pools = team_pools(plan, scenario).set_index("team_id")
    assert pools.loc["ops", "pool"] == pytest.approx((1_000_000 * 1.5 + 500_000 * 0.5) * 0.02)
    assert pools.loc["dev", "pool"] == pytest.approx(2_000_000 * 1.0 * 0.02)
    assert pools.loc["ops", "owned_budget"] == 1_500_000
    assert list(pools["headcount"]) == [2, 1]


def test_team_pools_by_headcount_and_without_funding():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    plan = make_plan(funding={"basis": "headcount", "amount_per_head": 7_000})
    assert list(team_pools(plan, scenario)["pool"]) == [14_000, 7_000]
    assert np.isinf(team_pools(make_plan(), scenario)["pool"]).all()


def test_team_owning_no_service_has_no_budget_pool():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES)
    plan = make_plan(funding={"basis": "service_budget", "budget_share_pct": 1.0})
    pools = team_pools(plan, scenario).set_index("team_id")
    assert pools.loc["dev", "pool"] == 0


def test_pool_factors_scale_only_binding_teams():
    factors = pool_factors(np.array([100.0, 50.0, 0.0, 10.0]), np.array([80.0, 60.0, 0.0, np.inf]))
    assert factors == pytest.approx([0.8, 1.0, 1.0, 1.0])


def test_personnel_cost_and_cap():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    assert personnel_cost(scenario) == 300_000
    plan = make_plan(cap={"pct_of_personnel_cost": 10})
    assert cap_amount(plan, scenario) == pytest.approx(30_000)
    assert math.isinf(cap_amount(make_plan(), scenario))

    scaled, factor = apply_cap(np.array([10_000.0, 30_000.0]), plan, scenario)
    assert factor == pytest.approx(30_000 / 40_000)
    assert scaled == pytest.approx([7_500, 22_500])
    assert scaled.sum() == pytest.approx(30_000)

    below, factor = apply_cap(pd.Series([10_000.0, 5_000.0]), plan, scenario)
    assert factor == 1.0
    assert list(below) == [10_000, 5_000]
    _, factor = apply_cap(np.array([1e9]), make_plan(), scenario)
    assert factor == 1.0


def test_business_unit_shares_follow_owned_budgets():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES)  # dev owns nothing
    shares = business_unit_shares(scenario).set_index(["team_id", "business_unit"])["share"]
    assert shares["ops", "bu1"] == pytest.approx(1_000_000 / 1_500_000)
    assert shares["ops", "bu2"] == pytest.approx(500_000 / 1_500_000)
    assert shares["dev", UNALLOCATED] == 1.0
    assert shares.groupby(level="team_id").sum().to_dict() == pytest.approx({"ops": 1, "dev": 1})


def test_zero_budgets_split_equally_per_service():
    services = [service("a", "ops", "bu1", 1, 0), service("b", "ops", "bu2", 1, 0)]
    shares = business_unit_shares(make_scenario((OPS,), services))
    assert shares["share"].tolist() == [0.5, 0.5]


def test_payouts_by_business_unit_sum_to_total_paid():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    awards = pd.DataFrame(
        {
            "team_id": ["ops", "ops", "dev"],
            "granted": [20_000.0, 5_000.0, 15_000.0],
            "paid": [900.0, 300.0, 600.0],
        }
    )
    out = payouts_by_business_unit(awards, scenario)
    assert list(out.columns) == ["business_unit", "team_id", "share", "granted", "paid"]
    assert out["paid"].sum() == pytest.approx(awards["paid"].sum())
    assert out["granted"].sum() == pytest.approx(awards["granted"].sum())
    charged = out.set_index(["business_unit", "team_id"])["paid"]
    assert charged["bu1", "ops"] == pytest.approx(1_200 * 2 / 3)
    assert charged["bu2", "ops"] == pytest.approx(1_200 / 3)
    assert charged["bu2", "dev"] == pytest.approx(600)

    with pytest.raises(ValueError, match="ghost"):
        payouts_by_business_unit(pd.DataFrame({"team_id": ["ghost"], "paid": [1.0]}), scenario)
