"""Lead–lag analysis finds a known lag, no lag in noise, and the world's reliability effect."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from toolkit.metrics import compute_kpis
from toolkit.metrics.lead_lag import (
    cross_correlation,
    distributed_lag,
    lead_lag,
    plot_lead_lag,
    run_panel,
    varied_effort_panel,
)
from toolkit.sim import World
from toolkit.sim.levers import natural_levers

SEEDS = range(30)
TEAMS, PERIODS = ("a", "b", "c"), 40


def _panel(seed: int, effect: float, lag: int = 2) -> pd.DataFrame:
    """Three teams of different size; ``y`` responds to ``x`` ``lag`` periods later."""
    rng = np.random.default_rng(seed)
    frames = []
    for level, team in zip((10.0, 50.0, 200.0), TEAMS, strict=True):
        x = rng.normal(size=PERIODS + lag)
        y = level + effect * x[:PERIODS] + rng.normal(size=PERIODS)
        frames.append(
            pd.DataFrame({"period": range(PERIODS), "team_id": team, "x": x[lag:], "y": y})
        )
    return pd.concat(frames, ignore_index=True)


def test_a_known_lag_two_effect_is_recovered():
    covered = 0
    for seed in SEEDS:
        panel = _panel(seed, effect=0.8)
        regression = distributed_lag(panel, "x", "y", max_lag=3).set_index("term")
        covered += regression.loc["lag 2", "ci_low"] <= 0.8 <= regression.loc["lag 2", "ci_high"]
        assert regression.loc["lag 2", "p"] < 0.001
        correlation = cross_correlation(panel, "x", "y", max_lag=4)
        assert correlation.loc[correlation["correlation"].abs().idxmax(), "lag"] == 2
    # a 95 % interval covers the truth in about 95 % of seeds; 1 in 1,000 falls below this
    assert covered >= stats.binom.ppf(0.001, len(SEEDS), 0.95)


def test_independent_noise_shows_no_lag_in_most_seeds():
    lags = 3
    tests, false_alarms, seeds_alarmed = 0, 0, 0
    for seed in SEEDS:
        panel = _panel(seed, effect=0.0)
        regression = distributed_lag(panel, "x", "y", max_lag=lags)
        correlation = cross_correlation(panel, "x", "y", max_lag=lags)
        alarms = (regression["p"].iloc[:-1] < 0.05).sum() + correlation["significant"].sum()
        tests += lags + 1 + len(correlation)
        false_alarms += alarms
        seeds_alarmed += alarms > 0
    # each test rejects about 5 % of the time under no relation; 1 in 1,000 lies above this
    assert false_alarms <= stats.binom.ppf(0.999, tests, 0.05)
    assert seeds_alarmed < len(SEEDS) / 2


def test_the_bands_and_tables_have_their_shape():
    panel = _panel(0, effect=0.5)
    correlation = cross_correlation(panel, "x", "y", max_lag=2)
    assert correlation["lag"].tolist() == [-2, -1, 0, 1, 2]
    assert correlation["band"].iloc[0] == pytest.approx(1.959964 / np.sqrt(len(panel)))
    regression = distributed_lag(panel, "x", "y", max_lag=2)
    assert regression["term"].tolist() == ["lag 0", "lag 1", "lag 2", "sum"]
    assert regression["nobs"].iloc[0] == len(TEAMS) * (PERIODS - 2)
    total = regression.set_index("term")
    assert total.loc["sum", "coefficient"] == pytest.approx(
        total.loc[["lag 0", "lag 1", "lag 2"], "coefficient"].sum()
    )
    assert (regression["ci_low"] < regression["coefficient"]).all()
    single = distributed_lag(panel[panel["team_id"] == "a"].drop(columns="team_id"), "x", "y", 2)
    assert single["nobs"].iloc[0] == PERIODS - 2


def test_user_mistakes_are_refused_clearly():
    panel = _panel(0, effect=0.5)
    with pytest.raises(ValueError, match="no column"):
        distributed_lag(panel, "effort", "y")
    with pytest.raises(ValueError, match="max_lag"):
        cross_correlation(panel, "x", "y", max_lag=-1)
    with pytest.raises(ValueError, match="too few"):
        distributed_lag(panel[panel["period"] < 4], "x", "y", max_lag=3)
    with pytest.raises(ValueError, match="vary"):
        cross_correlation(panel.assign(x=1.0), "x", "y")
    with pytest.raises(ValueError, match="'x' does not vary within any team"):
        distributed_lag(panel.assign(x=1.0), "x", "y")


def _forced_run(scenario, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate with every team's reliability effort drawn afresh each period.

    Returns a behaviour-like table of the efforts and the true KPIs of internal incidents.
    """
    rng = np.random.default_rng(seed)
    world = World(scenario, seed)
    natural = natural_levers(scenario.environment.behaviour.levers)
    labels, efforts = world.periods["label"].tolist(), []
    for k, edge in enumerate(world.edges):
        levers = {
            team: replace(natural, reliability_effort=rng.uniform(0, 0.8)) for team in world.levers
        }
        efforts += [
            {
                "period": labels[k],
                "team_id": f"{team}",
                "reliability_effort": chosen.reliability_effort,
            }
            for team, chosen in levers.items()
        ]
        world.begin_period(levers)
        world.advance(edge)
    log = world.event_log()
    internal = replace(log, incidents=log.incidents[log.incidents["root_cause"] == "internal"])
    return pd.DataFrame(efforts), compute_kpis(internal, kpis=["incident_volume"])


def test_reliability_effort_lowers_later_internal_incidents(small_scenario):
    panels = []
    for seed in range(4):
        behaviour, kpis = _forced_run(small_scenario, seed)
        panel = run_panel(behaviour, kpis, "reliability_effort", "incident_volume")
        panels.append(panel.assign(team_id=panel["team_id"] + f"/seed={seed}"))
    result = lead_lag(pd.concat(panels), "reliability_effort", "incident_volume", max_lag=2)
    effect = result.regression.set_index("term")
    # more effort, fewer incidents: now and, through the world's lag, in later periods
    assert effect.loc["sum", "ci_high"] < 0
    assert (effect.loc[["lag 0", "lag 1", "lag 2"], "coefficient"] < 0).all()
    assert result.correlation.set_index("lag").loc[0:2, "correlation"].mean() < 0
    figure = plot_lead_lag(result)
    assert isinstance(figure, Figure) and len(figure.axes) == 2


def test_run_panel_reads_levers_and_kpis_and_names_what_is_missing(small_scenario):
    behaviour, kpis = _forced_run(small_scenario, 0)
    panel = run_panel(behaviour, kpis.assign(view="true"))
    assert list(panel.columns) == ["period", "team_id", "reliability_effort", "incident_volume"]
    assert len(panel) == len(behaviour)
    with pytest.raises(ValueError, match="'problem_count' is neither"):
        run_panel(behaviour, kpis, lagging="problem_count")


def test_varied_effort_panel_draws_the_lever_and_finds_the_worlds_effect(small_scenario):
    panel = varied_effort_panel(small_scenario, range(3), low=0.1, high=0.7)
    teams = len(small_scenario.organisation.teams)
    assert panel["team_id"].nunique() == 3 * teams
    assert panel["team_id"].str.endswith("/seed=2").sum() == len(panel) / 3
    assert panel["reliability_effort"].between(0.1, 0.7).all()
    assert panel["reliability_effort"].std() > 0.1
    effect = lead_lag(panel, "reliability_effort", "incident_volume", max_lag=1).regression
    # more effort, fewer internal incidents: the world's effect, seen without a plan
    assert effect.set_index("term").loc["sum", "ci_high"] < 0
    again = varied_effort_panel(small_scenario, [2], low=0.1, high=0.7)
    mine = panel[panel["team_id"].str.endswith("/seed=2")].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, mine)


def test_varied_effort_panel_refuses_bad_input(small_scenario):
    with pytest.raises(ValueError, match="no lever 'reliability'"):
        varied_effort_panel(small_scenario, [0], lever="reliability")
    with pytest.raises(ValueError, match="must not exceed"):
        varied_effort_panel(small_scenario, [0], low=0.9, high=0.1)
    with pytest.raises(ValueError, match="at least one seed"):
        varied_effort_panel(small_scenario, [])
