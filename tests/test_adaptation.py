"""Team adaptation: risk attitude, bounded choice, and no move without a reason."""

import math
import random

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.adaptation import Adaptation, AuditExposure, Stakes, certainty_equivalent
from toolkit.behaviour.expectation import ScoreExpectation
from toolkit.behaviour.levers import BOUNDS, GAMING_LEVERS, LeverSet
from toolkit.config.plan import Plan
from toolkit.plans import load_plan
from toolkit.plans.curves import curve_payout

NO_PLAN = Plan.model_validate({"name": "none", "description": "no awards"})
NOTHING_AT_STAKE = Stakes(0.0, 0.0, 0.0)


def exposure(probability: float) -> AuditExposure:
    """A team of 100 tickets a period, 40 of them slow enough to hold, and 30 changes."""
    eligible = {
        "volume": 100.0,
        "padding": 30.0,
        "priority_downgrade": 10.0,
        "stop_the_clock": 40.0,
        "premature_closure": 30.0,
        "underreporting": 50.0,
        "misattribution": 40.0,
    }
    return AuditExposure(probability, 0.8, 25, False, eligible, 30.0)


def test_certainty_equivalent_orders_risk_attitudes():
    wealth, gain, loss, p = 100_000.0, 10_000.0, 30_000.0, 0.2
    neutral = certainty_equivalent(wealth, gain, loss, p, 0.0)
    assert neutral == pytest.approx(gain - p * loss)
    averse = [certainty_equivalent(wealth, gain, loss, p, g) for g in (0.5, 1.0, 3.0)]
    assert neutral > averse[0] > averse[1] > averse[2]
    assert certainty_equivalent(wealth, gain, loss, 0.0, 2.0) == pytest.approx(gain)


def test_candidates_start_with_staying_and_respect_bounds(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    agent = adaptation.agents["apps"]
    options = adaptation.candidates(agent)
    assert options[0] == agent.levers
    assert len(options) == len({tuple(sorted(o.values.items())) for o in options})
    for option in options:
        for lever, (low, high) in BOUNDS.items():
            assert low <= option[lever] <= high


def test_without_stakes_no_move_beats_staying(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    agent = adaptation.agents["apps"]
    stay = adaptation.utility(agent, agent.levers, 0.0, False, NOTHING_AT_STAKE)
    for lever in BOUNDS:
        for delta in (-0.1, 0.1):
            moved = agent.levers.moved(lever, delta)
            if moved != agent.levers:
                assert adaptation.utility(agent, moved, 0.0, False, NOTHING_AT_STAKE) < stay


def test_integrity_and_detection_make_gaming_dearer(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    agent = adaptation.agents["apps"]
    gaming = agent.levers.moved("stop_the_clock", 0.5)
    stakes = Stakes(20_000.0, 50_000.0, 0.0, exposure(0.0))
    audited = Stakes(20_000.0, 50_000.0, 0.0, exposure(0.5))
    free = adaptation.utility(agent, gaming, 120.0, False, stakes)
    risky = adaptation.utility(agent, gaming, 120.0, False, audited)
    assert risky < free
    agent.team = agent.team.model_copy(update={"integrity": 0.0})
    assert adaptation.utility(agent, gaming, 120.0, False, stakes) > free


def test_choice_is_logit_among_improving_moves(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    agent = adaptation.agents["apps"]
    options = [
        agent.levers,
        agent.levers.moved("change_rate", 0.1),
        agent.levers.moved("change_care", 0.1),
        agent.levers.moved("padding", 0.1),
    ]
    agent.rng = random.Random(5)
    picks = [adaptation.choose(agent, options, [0.0, 100.0, 90.0, -5.0]) for _ in range(2000)]
    best = sum(p == options[1] for p in picks) / len(picks)
    second = sum(p == options[2] for p in picks) / len(picks)
    # weights exp(gain / (0.1 x 100)): 1 : e^-1 : e^-10 (staying)
    assert best == pytest.approx(1 / (1 + math.exp(-1)), abs=0.04)
    assert second == pytest.approx(math.exp(-1) / (1 + math.exp(-1)), abs=0.04)
    assert all(p != options[3] for p in picks)
    assert adaptation.choose(agent, options, [0.0, -1.0, -2.0, -3.0]) == agent.levers


def test_inertia_is_the_share_of_teams_that_do_not_revise(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    agent = adaptation.agents["apps"]
    share = sum(adaptation.revises(agent) for _ in range(4000)) / 4000
    assert share == pytest.approx(1 - adaptation.settings.inertia, abs=0.03)


def test_natural_levers_do_not_game(small_scenario):
    effects = small_scenario.environment.behaviour.levers
    natural = LeverSet.natural(effects)
    assert natural.gaming() == 0
    assert all(natural[lever] == 0 for lever in GAMING_LEVERS)
    assert natural.world().reliability_effort == effects.baseline_reliability_effort
    assert natural.world().change_care == effects.baseline_change_care


def test_slowing_change_costs_less_than_speeding_it(small_scenario):
    adaptation = Adaptation(small_scenario, NO_PLAN, seed=1, periods_per_year=4)
    natural = adaptation.natural
    assert (
        0
        < adaptation.effort(natural.moved("change_rate", -0.2))
        < adaptation.effort(natural.moved("change_rate", 0.2))
    )


def test_expected_scores_shift_the_team_level_and_apply_the_plans_rules():
    expectation = ScoreExpectation(load_plan("mttr_only"))
    for basis in (0.0, 0.02, 0.04):  # three committed periods around a level of 0.02
        expectation.record(
            pd.DataFrame({"team_id": ["apps"], "index": [0], "basis_value": [basis]})
        )
    labels = ["apps", "apps#0", "apps#1", "apps#2", "apps#3", "apps#4", "ops#0"]
    basis = [0.5, 0.10, 0.20, 0.00, 0.20, 0.20, 0.20]
    teams = pd.DataFrame(
        {
            "team_id": labels,
            "score_pct": [0.0, 0, 0, 0, 0, 50, 0],
            "raw_score_pct": [0.0, 0, 0, 0, 0, 100, 0],
            "gated": [False, False, False, False, True, False, False],
            "fired": ["", "", "", "", "", "on_hold_share", ""],
        }
    )
    metrics = pd.DataFrame(
        {"team_id": labels[::-1], "index": 0, "basis_value": basis[::-1], "zeroed": False}
    )
    team_of = {label: label.split("#")[0] for label in labels}
    expected = expectation.expected_scores(teams, metrics, team_of, {"apps": "apps#0"})
    assert set(expected) == {"apps", "apps#0", "apps#1", "apps#2", "apps#3", "apps#4"}
    # the stay-put candidate is priced at the team's typical level, a better move above it
    curve = expectation.curves[0]
    assert expected["apps#0"] == pytest.approx(curve_payout(curve, np.array([0.02]))[0], rel=0.05)
    assert expected["apps#1"] > expected["apps#0"] > expected["apps#2"]
    assert expected["apps#3"] == 0.0  # gated
    assert expected["apps#4"] == pytest.approx(expected["apps#1"] / 2)  # a halving counter
    zeroed = metrics.assign(zeroed=metrics["team_id"] == "apps#1")
    assert expectation.expected_scores(teams, zeroed, team_of, {"apps": "apps#0"})["apps#1"] == 0
