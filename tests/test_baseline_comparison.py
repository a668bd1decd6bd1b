"""One plan under fixed, rolling and ratchet baselines: per-team awards, ages, the age effect."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.experiments.baseline_comparison import (
    baseline_comparison,
    baseline_plan,
    team_ages,
)
from toolkit.plans import load_plan
from toolkit.resources import SCENARIOS_DIR

SMALL = SCENARIOS_DIR / "small.yaml"
POLICIES = ("fixed", "rolling")


@pytest.fixture(scope="module")
def three_years(tmp_path_factory):
    """The small scenario over three years, so that a moving baseline has time to move."""
    path = tmp_path_factory.mktemp("scenario") / "small3.yaml"
    path.write_text(SMALL.read_text().replace("  years: 2\n", "  years: 3\n"))
    assert load_scenario(path).horizon.years == 3
    return path


@pytest.fixture(scope="module")
def compared(tmp_path_factory, three_years):
    out = tmp_path_factory.mktemp("baselines") / "batch"
    teams, effect, batch = baseline_comparison(
        "balanced", [three_years], 2, out, policies=POLICIES, workers=2, progress=False
    )
    return teams, effect, batch, out


def test_every_improvement_metric_takes_the_policy_and_nothing_else_changes():
    base = load_plan("balanced")
    for policy in ("fixed", "rolling", "ratchet"):
        plan = baseline_plan(base, policy, window_periods=2)
        for old, new in zip(base.metrics, plan.metrics, strict=True):
            if old.basis == "improvement":
                assert (new.baseline.policy, new.baseline.window_periods) == (policy, 2)
                assert new.model_copy(update={"baseline": old.baseline}) == old
            else:
                assert new == old
        assert plan.counter_metrics == base.counter_metrics and plan.gates == base.gates


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policies": ["fixed", "sliding"]}, "unknown baseline policy 'sliding'"),
        ({"policies": []}, "at least one"),
        ({"policies": ["fixed", "fixed"]}, "more than once"),
        ({"plan": "sla_attainment"}, "rewards no improvement"),
    ],
)
def test_user_mistakes_are_refused_before_anything_runs(tmp_path, kwargs, message):
    arguments = {"plan": "balanced", **kwargs}
    with pytest.raises(ValueError, match=message):
        baseline_comparison(
            arguments.pop("plan"), [SMALL], 2, tmp_path / "out", progress=False, **arguments
        )
    assert not (tmp_path / "out").exists()


def test_team_ages_come_from_the_services_each_team_owns():
    scenario = load_scenario(SMALL)
    ages = team_ages(scenario).set_index("team_id")
    owned = {t.id: [] for t in scenario.organisation.teams}
    for service in scenario.organisation.services:
        owned[service.owning_team].append(service.platform_age_years)
    for team, years in owned.items():
        assert ages.loc[team, "platform_age_mean"] == pytest.approx(np.mean(years))
        assert ages.loc[team, "platform_age_max"] == max(years)
        assert ages.loc[team, "services"] == len(years)
    assert (ages["ageing_incidents_per_year"] > 0).all()


def test_one_row_per_team_and_policy_with_the_runs_own_awards(compared):
    teams, _, batch, out = compared
    scenario_teams = [t.id for t in load_scenario(SMALL).organisation.teams]
    assert len(teams) == len(scenario_teams) * len(POLICIES)
    assert set(zip(teams["team_id"], teams["policy"], strict=True)) == {
        (t, p) for t in scenario_teams for p in POLICIES
    }
    assert (teams["seeds"] == 2).all()
    per_run = {}
    for run in batch.runs.itertuples():
        awards = pd.read_parquet(out / run.directory / "awards.parquet")
        earned = awards.groupby("team_id")["earned"].sum()
        per_run[run.plan, run.seed] = earned
        # the teams' awards add up to the batch's total
        assert earned.sum() == pytest.approx(run.total_awards)
    for row in teams.itertuples():
        mine = [earned.get(row.team_id, 0.0) for (p, _), earned in per_run.items() if p == row.plan]
        assert row.award == pytest.approx(np.mean(mine))


def test_the_award_change_is_paired_with_the_first_policy(compared):
    teams, _, batch, _ = compared
    indexed = teams.set_index(["team_id", "policy"])
    first = teams[teams["policy"] == "fixed"]
    assert (first["award_change"] == 0).all() and (first["compared_with"] == "fixed").all()
    for row in teams[teams["policy"] == "rolling"].itertuples():
        expected = row.award - indexed.loc[(row.team_id, "fixed"), "award"]
        assert row.award_change == pytest.approx(expected)
        assert row.award_change_ci_low <= row.award_change <= row.award_change_ci_high


def test_the_direction_of_the_age_effect_is_reported(compared):
    teams, effect, _, _ = compared
    assert set(effect["age_measure"]) == {"platform_age_mean", "ageing_incidents_per_year"}
    assert (effect["policy"] == "rolling").all() and (effect["teams"] == 3).all()
    rolling = teams[teams["policy"] == "rolling"]
    for row in effect.itertuples():
        r = np.corrcoef(rolling[row.age_measure], rolling["award_change"])[0, 1]
        assert row.correlation == pytest.approx(r)
        assert 0 <= row.p_value <= 1 and row.significant == (row.p_value < 0.05)
        if math.isfinite(r) and r != 0:
            penalised = "fixed penalises" if r > 0 else "rolling penalises"
            assert penalised in row.direction
            assert row.direction.startswith("not significant") == (not row.significant)


def test_nothing_is_written_outside_the_batch_directory(compared):
    *_, out = compared
    assert [p.name for p in out.parent.iterdir()] == [out.name]
