"""How teams value moves: diligence in the world, queue-aware counterfactuals, the horizon.

The central check: what a team's counterfactual predicts a lever step does to MTTR agrees
with what the world does when the lever is held there, within ±30 % over 10 seeds.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.adaptation import Adaptation
from toolkit.behaviour.counterfactual import Counterfactuals
from toolkit.behaviour.horizon import discount_per_period, look_ahead
from toolkit.behaviour.levers import LeverSet
from toolkit.behaviour.queueing import class_waits, erlang_c, wait_ratios
from toolkit.plans import load_plan
from toolkit.sim import World

SEEDS = range(10)


def _mmc_wait(arrival: float, service: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue, from the closed form."""
    load = arrival / service
    top = load**servers / math.factorial(servers) / (1 - load / servers)
    waiting = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    return waiting / (servers * service - arrival)


@pytest.mark.parametrize(("servers", "rho"), [(1, 0.5), (3, 0.7), (5, 0.63), (12, 0.9)])
def test_one_class_waits_are_the_mmc_waits(servers, rho):
    mean_work = 2.0
    arrival = rho * servers / mean_work
    wait = class_waits(np.array([servers]), np.array([[rho]]), np.array([mean_work]))
    assert wait[0, 0] == pytest.approx(_mmc_wait(arrival, 1 / mean_work, servers), rel=1e-9)


def test_erlang_c_of_one_server_is_its_utilisation():
    assert erlang_c(np.array([1, 1]), np.array([0.2, 0.8])) == pytest.approx([0.2, 0.8])


def test_lower_classes_wait_longer_and_feel_load_more():
    servers = np.array([4])
    now = np.array([[0.1, 0.3, 0.25]])
    waits = class_waits(servers, now, np.array([3.0]))[0]
    assert waits[0] < waits[1] < waits[2]
    ratios = wait_ratios(servers, now, now * 0.9, np.array([3.0]), np.array([3.0]))[0]
    assert np.all(ratios < 1) and ratios[2] < ratios[0]
    same = wait_ratios(servers, now, now, np.array([3.0]), np.array([3.0]))
    assert same == pytest.approx(np.ones((1, 3)))


def test_horizon_weighs_coming_periods_by_value_and_discount():
    horizon = look_ahead([100.0, 100.0, 0.0, 0.0], discount=0.9, lag_periods=2.0)
    assert horizon.periods == 2  # nothing pays after the second period
    assert horizon.period_value == pytest.approx((100 + 90) / 1.9)
    pull = 1 / 3
    shown = np.array([pull, 1 - (1 - pull) ** 2])
    assert horizon.reliability_pull == pytest.approx((100 * shown[0] + 90 * shown[1]) / 190)
    assert horizon.later_share == pytest.approx(90 / 190)
    assert horizon.later_ratio == pytest.approx(0.9)
    nothing = look_ahead([0.0, 0.0], discount=0.9, lag_periods=2.0)
    assert nothing.period_value == 0 and nothing.reliability_pull == pytest.approx(pull)
    assert discount_per_period(0.19, 4) == pytest.approx(0.81**0.25)


def test_a_longer_horizon_credits_more_of_reliabilitys_lagged_effect():
    short = look_ahead([50.0], discount=0.97, lag_periods=2.0)
    long = look_ahead([50.0] * 8, discount=0.97, lag_periods=2.0)
    assert short.reliability_pull == pytest.approx(1 / 3)
    assert long.reliability_pull > 2 * short.reliability_pull


def _run_fixed(scenario, levers: LeverSet, seed: int):
    world = World(scenario, seed)
    for edge in world.edges:
        world.begin_period({team.id: levers.world() for team in scenario.organisation.teams})
        world.advance(edge)
    return world, world.event_log()


def _mttr(incidents: pd.DataFrame, start, end) -> float:
    """Mean hours to resolve of the incidents opened in a period and resolved."""
    rows = incidents.loc[
        (incidents["opened_at"] >= start)
        & (incidents["opened_at"] < end)
        & incidents["resolved_at"].notna()
    ]
    return float(((rows["resolved_at"] - rows["opened_at"]).dt.total_seconds() / 3600).mean())


def _touching(log, start, end):
    inc, chg = log.incidents, log.changes
    incidents = inc.loc[
        ((inc["opened_at"] >= start) & (inc["opened_at"] < end))
        | ((inc["resolved_at"] >= start) & (inc["resolved_at"] < end))
    ]
    changes = chg.loc[
        ((chg["submitted_at"] >= start) & (chg["submitted_at"] < end))
        | ((chg["implemented_at"] >= start) & (chg["implemented_at"] < end))
    ]
    return incidents, changes


@pytest.mark.parametrize(("lever", "step"), [("diligence", 0.5), ("reliability_effort", 0.2)])
def test_predicted_mttr_change_matches_the_world_within_30_percent(small_scenario, lever, step):
    scenario = small_scenario
    effects = scenario.environment.behaviour.levers
    natural = LeverSet.natural(effects)
    moved = natural.moved(lever, step)
    teams = [team.id for team in scenario.organisation.teams]
    pull = 1 / (1 + effects.reliability_lag_periods)
    base_mttr, real_mttr, predicted_mttr = [], [], []
    for seed in SEEDS:
        world, base = _run_fixed(scenario, natural, seed)
        _, real = _run_fixed(scenario, moved, seed)
        counterfactuals = Counterfactuals(scenario, seed)
        periods = world.periods[["start", "end"]].itertuples(index=False)
        for k, (start, end) in enumerate(periods):
            shown = 1 - (1 - pull) ** (k + 1)  # held from the start, as in the fixed runs
            pairs = [(f"{team}#1", team, natural, moved) for team in teams]
            table = counterfactuals.moves_table(pairs, reliability_pull=[shown] * len(pairs))
            incidents, changes = _touching(base, start, end)
            predicted, _ = counterfactuals.build(incidents, changes, table, (start, end))
            base_mttr.append(_mttr(base.incidents, start, end))
            real_mttr.append(_mttr(real.incidents, start, end))
            predicted_mttr.append(_mttr(predicted, start, end))
    realised = np.mean(real_mttr) - np.mean(base_mttr)
    expected = np.mean(predicted_mttr) - np.mean(base_mttr)
    assert realised < 0, f"a {lever} step should shorten MTTR in the world ({realised:+.2f} h)"
    assert expected == pytest.approx(realised, rel=0.3), (
        f"{lever} +{step}: predicted {expected:+.2f} h against realised {realised:+.2f} h"
    )


def test_diligence_shortens_work_and_recurrence_in_the_world(small_scenario):
    effects = small_scenario.environment.behaviour.levers
    natural = LeverSet.natural(effects)
    diligent = natural.moved("diligence", 1.0)
    internal = {"natural": [], "diligent": []}
    for seed in range(5):
        for name, levers in (("natural", natural), ("diligent", diligent)):
            _, log = _run_fixed(small_scenario, levers, seed)
            inc = log.incidents
            internal[name].append(int((inc["root_cause"] == "internal").sum()))
    ratio = sum(internal["diligent"]) / sum(internal["natural"])
    expected = 1 - effects.diligence_recurrence_reduction
    assert ratio == pytest.approx(expected, abs=0.04)
    # swarmed priority 1 incidents start at once, so their resolution time is their work
    _, calm = _run_fixed(small_scenario, natural, 3)
    _, fast = _run_fixed(small_scenario, diligent, 3)

    def swarm_hours(log):
        inc = log.incidents
        rows = inc.loc[(inc["priority"] == 1) & (inc["root_cause"] == "internal")]
        rows = rows.loc[rows["reopen_count"] == 0]
        return (rows["resolved_at"] - rows["responded_at"]).dt.total_seconds().sum() / 3600

    shortened = swarm_hours(fast) / swarm_hours(calm)
    assert shortened < 1 - effects.diligence_work_reduction / 2


def test_diligence_costs_quadratically_and_joint_moves_are_considered(small_scenario):
    plan = load_plan("mttr_only")
    adaptation = Adaptation(small_scenario, plan, seed=3, periods_per_year=4)
    settings = small_scenario.environment.behaviour.adaptation
    natural = adaptation.natural
    full = natural.moved("diligence", 1.0)
    half = natural.moved("diligence", 0.5)
    assert adaptation.effort(full) == pytest.approx(settings.diligence_cost_pct / 100)
    assert adaptation.effort(half) == pytest.approx(adaptation.effort(full) / 4)
    agent = next(iter(adaptation.agents.values()))
    agent.rng = random.Random(7)
    moved = [
        sum(candidate[name] != natural[name] for name in natural.values)
        for _ in range(20)
        for candidate in adaptation.candidates(agent)[1:]
    ]
    assert 2 in moved and 1 in moved
