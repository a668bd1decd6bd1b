"""Implementing a change takes the owning team's engineering hours from incident work."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from tests.conftest import SCENARIOS
from toolkit.config import ConfigError, Scenario
from toolkit.config.loading import validate_mapping
from toolkit.sim import World
from toolkit.sim.levers import natural_levers

SEEDS = range(4)


def _changes(scenario: Scenario, **fields) -> Scenario:
    """Return ``scenario`` with fields of ``environment.changes`` replaced."""
    env = scenario.environment
    changes = env.changes.model_copy(update=fields)
    return scenario.model_copy(update={"environment": env.model_copy(update={"changes": changes})})


def _hours(scenario: Scenario, factor: float) -> Scenario:
    """Scale every type's engineering hours by ``factor`` (0 switches change work off)."""
    hours = scenario.environment.changes.engineering_hours
    scaled = hours.model_copy(update={k: v * factor for k, v in hours.model_dump().items()})
    return _changes(scenario, engineering_hours=scaled)


def _never_fail(scenario: Scenario) -> Scenario:
    """Changes that never fail, so they touch incidents only through the team's time."""
    failure = scenario.environment.changes.failure_probability
    zero = failure.model_copy(update=dict.fromkeys(failure.model_dump(), 0.0))
    return _changes(scenario, failure_probability=zero)


def _mttr(incidents: pd.DataFrame) -> float:
    return ((incidents["resolved_at"] - incidents["opened_at"]).dt.total_seconds() / 3600).mean()


def _run(scenario: Scenario, seed: int, change_rate: float = 1.0, team: str = "apps") -> World:
    """Run with the change-rate lever of ``team`` set from the first period on."""
    world = World(scenario, seed)
    levers = replace(natural_levers(scenario.environment.behaviour.levers), change_rate=change_rate)
    for edge in world.edges:
        world.begin_period({team: levers})
        world.advance(edge)
    return world


def test_zero_hours_leave_incidents_as_if_there_were_no_changes(small_scenario):
    """Without work and without failures, changes cannot touch an incident; with work they do."""
    quiet = _never_fail(small_scenario)
    none = World(_changes(quiet, rate_per_service_per_year=0.0), 5).run().incidents
    free = World(_hours(quiet, 0.0), 5).run().incidents
    pd.testing.assert_frame_equal(free, none)
    working = World(quiet, 5).run().incidents
    assert (working["opened_at"].to_numpy() == none["opened_at"].to_numpy()).all()
    assert _mttr(working) > _mttr(none)


def test_change_work_lengthens_mttr_on_common_seeds(small_scenario):
    rises = [
        _mttr(World(small_scenario, seed).run().incidents)
        - _mttr(World(_hours(small_scenario, 0.0), seed).run().incidents)
        for seed in SEEDS
    ]
    assert stats.ttest_1samp(rises, 0.0, alternative="greater").pvalue < 0.01
    # a few percent of the teams' load: a modest rise, not a different organisation
    assert np.mean(rises) < 0.1 * _mttr(World(small_scenario, 0).run().incidents)


def test_faster_change_pace_costs_its_engineering_hours(small_scenario):
    """Extra busy hours of the team ≈ extra changes × mean hours per change of the mix."""
    scenario = _never_fail(small_scenario)
    changes = scenario.environment.changes
    hours, mix = changes.engineering_hours.model_dump(), changes.mix.model_dump()
    mean_hours = sum(mix[t] * hours[t] for t in mix)
    added, expected, slower = 0.0, 0.0, []
    for seed in SEEDS:
        base, fast = _run(scenario, seed), _run(scenario, seed, change_rate=2.0)
        counts = [(w.event_log().changes["team_id"] == "apps").sum() for w in (base, fast)]
        assert counts[1] > 1.6 * counts[0]
        added += fast.busy_hours["apps"] - base.busy_hours["apps"]
        expected += (counts[1] - counts[0]) * mean_hours
        apps = [w.event_log().incidents.query("team_id == 'apps'") for w in (base, fast)]
        slower.append(_mttr(apps[1]) - _mttr(apps[0]))
        assert fast.busy_hours["platform"] == pytest.approx(base.busy_hours["platform"], rel=0.01)
    assert added == pytest.approx(expected, rel=0.15)
    assert stats.ttest_1samp(slower, 0.0, alternative="greater").pvalue < 0.05


def test_same_seed_same_log_with_change_work(small_scenario):
    logs = [World(small_scenario, 8).run() for _ in range(2)]
    pd.testing.assert_frame_equal(logs[0].incidents, logs[1].incidents)
    pd.testing.assert_frame_equal(logs[0].changes, logs[1].changes)


def test_negative_engineering_hours_are_refused():
    data = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    data["environment"]["changes"]["engineering_hours"] = {"normal": -1}
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    paths = [p.path for p in caught.value.problems]
    assert paths == ["environment.changes.engineering_hours.normal"]


def test_unknown_change_type_in_engineering_hours_is_refused():
    data = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    data["environment"]["changes"]["engineering_hours"] = {"norml": 4}
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    paths = [p.path for p in caught.value.problems]
    assert paths == ["environment.changes.engineering_hours.norml"]
