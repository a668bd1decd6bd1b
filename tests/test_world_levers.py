"""Levers change the truth the way the scenario's lever effects say, on common random numbers."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit.sim import World
from toolkit.sim.levers import natural_levers


def _run(scenario, seed, levers_for_team, team="apps", from_period=1):
    """Simulate with ``levers_for_team`` applied to one team from ``from_period`` on."""
    world = World(scenario, seed)
    natural = world.levers[team]
    for k, edge in enumerate(world.edges):
        world.begin_period({team: levers_for_team if k >= from_period else natural})
        world.advance(edge)
    return world, world.event_log()


def _natural(scenario, **changes):
    return replace(natural_levers(scenario.environment.behaviour.levers), **changes)


def test_natural_levers_reproduce_the_plain_run(small_scenario):
    world, stepped = _run(small_scenario, 2, _natural(small_scenario))
    plain = World(small_scenario, 2).run()
    pd.testing.assert_frame_equal(stepped.incidents, plain.incidents)
    pd.testing.assert_frame_equal(stepped.changes, plain.changes)


def test_levers_leave_the_first_period_and_other_teams_alone(small_scenario):
    _, base = _run(small_scenario, 4, _natural(small_scenario))
    _, moved = _run(small_scenario, 4, _natural(small_scenario, change_rate=0.5))
    first_end = pd.Timestamp(small_scenario.horizon.start) + pd.DateOffset(months=3)
    for log in (base, moved):
        assert log.changes["submitted_at"].min() < first_end
    early = [log.changes[log.changes["submitted_at"] < first_end] for log in (base, moved)]
    pd.testing.assert_frame_equal(early[0], early[1])
    other = [
        log.incidents[
            (log.incidents["team_id"] == "platform") & (log.incidents["root_cause"] == "internal")
        ]
        for log in (base, moved)
    ]
    assert (other[0]["opened_at"].to_numpy() == other[1]["opened_at"].to_numpy()).all()


def _late_internal(log):
    """Internal incidents of apps in the second year."""
    inc = log.incidents
    late = log.start + pd.DateOffset(years=1)
    return (
        (inc["team_id"] == "apps") & (inc["opened_at"] >= late) & (inc["root_cause"] == "internal")
    ).sum()


@pytest.mark.slow
def test_reliability_effort_lowers_incidents_after_a_lag(small_scenario):
    effects = small_scenario.environment.behaviour.levers
    high = _natural(small_scenario)
    high = replace(high, reliability_effort=high.reliability_effort + 0.4)
    ratios = []
    for seed in range(6):
        _, base = _run(small_scenario, seed, _natural(small_scenario))
        _, more = _run(small_scenario, seed, high)
        ratios.append(_late_internal(more) / _late_internal(base))
    # after four periods the lagged effort has closed most of the gap
    expected = math.exp(-effects.reliability_effect * 0.4 * (1 - (1 / 3) ** 4))
    assert sum(ratios) / len(ratios) == pytest.approx(expected, rel=0.12)


def _apps(log):
    return log.changes[log.changes["team_id"] == "apps"]


def test_change_levers(small_scenario):
    counts = {
        "base": [],
        "slow": [],
        "careful_fail": [],
        "base_fail": [],
        "abuse": [],
        "careless": [],
    }
    for seed in range(4):
        _, base = _run(small_scenario, seed, _natural(small_scenario))
        _, slow = _run(small_scenario, seed, _natural(small_scenario, change_rate=0.5))
        _, careful = _run(small_scenario, seed, _natural(small_scenario, change_care=1.0))
        _, careless = _run(small_scenario, seed, _natural(small_scenario, change_care=0.0))
        counts["careless"].append(len(_apps(careless)))
        _, abuse = _run(small_scenario, seed, _natural(small_scenario, emergency_abuse=1.0))
        counts["base"].append(len(_apps(base)))
        counts["slow"].append(len(_apps(slow)))
        counts["base_fail"].append(_apps(base)["failed"].mean())
        counts["careful_fail"].append(_apps(careful)["failed"].mean())
        late = _apps(abuse)[_apps(abuse)["submitted_at"] >= abuse.start + pd.DateOffset(months=3)]
        counts["abuse"].append(late)
    assert sum(counts["slow"]) < 0.65 * sum(counts["base"])
    effects = small_scenario.environment.behaviour.levers
    cut = effects.care_failure_reduction * (1 - effects.baseline_change_care)
    assert sum(counts["careful_fail"]) < (1 - cut / 2) * sum(counts["base_fail"])
    assert sum(counts["careless"]) > sum(counts["base"])  # less care, faster pace
    abused = pd.concat(counts["abuse"])
    assert (abused["type"] == "normal").sum() == 0
    emergencies = abused[abused["type"] == "emergency"]
    assert emergencies["justification"].isna().mean() == pytest.approx(0.5, abs=0.15)
    assert not emergencies["cab_reviewed"].any()


def test_cherry_picking_serves_short_tickets_first(small_scenario):
    """Short tickets wait less; the longest tenth waits longer (summed over seeds)."""
    waits = {0.0: [0.0, 0.0], 1.0: [0.0, 0.0]}
    for seed in range(3):
        for picking in waits:
            _, log = _run(small_scenario, seed, _natural(small_scenario, cherry_picking=picking))
            inc = log.incidents
            inc = inc[(inc["team_id"] == "apps") & (inc["priority"] == 4)]
            inc = inc[(inc["reopen_count"] == 0) & (inc["reassignment_count"] == 0)]
            inc = inc.dropna(subset=["resolved_at"])
            work = (inc["resolved_at"] - inc["responded_at"]).dt.total_seconds()
            wait = (inc["responded_at"] - inc["opened_at"]).dt.total_seconds()
            waits[picking][0] += wait[work < work.median()].mean()
            waits[picking][1] += wait[work > work.quantile(0.9)].mean()
    assert waits[1.0][0] < 0.7 * waits[0.0][0]
    assert waits[1.0][1] > waits[0.0][1]


def test_cab_capacity_batches_normal_changes_weekly(small_scenario):
    # without engineering hours a change is implemented the moment the CAB approves it
    old = small_scenario.environment.changes
    no_work = old.engineering_hours.model_copy(update={"normal": 0.0})
    changes = old.model_copy(update={"cab_capacity_per_week": 1, "engineering_hours": no_work})
    environment = small_scenario.environment.model_copy(update={"changes": changes})
    scenario = small_scenario.model_copy(update={"environment": environment})
    log = World(scenario, 3).run()
    normal = log.changes[log.changes["type"] == "normal"].dropna(subset=["implemented_at"])
    hours = (normal["implemented_at"] - log.start).dt.total_seconds() / 3600
    offset = hours % 168
    assert (np.minimum(offset, 168 - offset) < 1e-3).all()
    assert normal.groupby(hours.round()).size().max() == 1
    lead = (normal["implemented_at"] - normal["submitted_at"]).dt.days.mean()
    assert lead > scenario.environment.changes.cab_lead_time_days
