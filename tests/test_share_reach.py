"""Improvements of a share checked against a scenario: thresholds no team's baseline can reach.

The plans in ``tests/data/bad_plans_on_small/`` are valid on their own and refused against the
small scenario only, so they are kept apart from ``bad_plans/`` (which fail without a scenario).
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

from toolkit.cli import main
from toolkit.config import Scenario
from toolkit.config.loading import validate_mapping
from toolkit.plans import load_plan
from toolkit.plans.loading import check_plan_against_scenario
from toolkit.plans.reach import reach_seeds, share_reach, unreachable_thresholds
from toolkit.plans.scoring import score_log
from toolkit.sim import World

from .conftest import ROOT, SCENARIOS

ON_SMALL = sorted((ROOT / "tests" / "data" / "bad_plans_on_small").glob("*.yaml"))
SMALL = SCENARIOS / "small.yaml"
# file -> the key path and KPI its one line names
EXPECTED_ON_SMALL = {
    "change_success_brackets_beyond_one.yaml": (
        "metrics[0].curve.brackets[0].level",
        "change_success_rate",
    ),
    "sla_attainment_rise_beyond_one.yaml": ("metrics[0].curve.threshold.level", "sla_attainment"),
}


def share_plan(
    tmp_path: Path, threshold: float, policy: str = "fixed", kpi: str = "sla_attainment"
):
    """Write a plan paying for ``kpi``'s improvement from ``threshold`` on; return its path."""
    path = tmp_path / f"p{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(
        "name: p\ndescription: d\ntarget_award_pct: {G7: 20, G6: 15, G5: 10, G4: 8, G3: 5}\n"
        f"metrics:\n  - kpi: {kpi}\n    weight: 1\n    basis: improvement\n"
        f"    baseline: {{policy: {policy}}}\n    curve:\n      kind: linear\n"
        f"      threshold: {{level: {threshold!r}, payout_pct: 50}}\n"
        f"      target: {{level: {threshold + 0.01!r}, payout_pct: 100}}\n"
        f"      maximum: {{level: {threshold + 0.02!r}, payout_pct: 150}}\n"
    )
    return path


def test_the_corpus_lists_its_files():
    assert sorted(p.name for p in ON_SMALL) == sorted(EXPECTED_ON_SMALL)
    for path in ON_SMALL:
        assert path.read_text().startswith("# BAD PLAN ON small: ")


@pytest.mark.parametrize("path", ON_SMALL, ids=[p.stem for p in ON_SMALL])
def test_each_plan_is_valid_alone_and_refused_on_small_in_one_line(path, capsys):
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert main(["validate", str(path), "--scenario", "small"]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    key, kpi = EXPECTED_ON_SMALL[path.name]
    assert line.startswith(f"{path}: {key}: {kpi} is a share")
    for team in ("apps", "platform", "workplace"):
        assert f"team {team} at 0." in line
    assert "at most" in line and "scenario 'small'" in line and "Traceback" not in line


def test_the_baseline_is_the_one_the_scorer_uses_on_the_scenarios_world(small_scenario, small_log):
    """The pre-plan world alone, measured by the plan's scorer, gives the run's baselines."""
    plan = load_plan(ON_SMALL[1])
    [reaches] = share_reach(plan, small_scenario, seeds=[11]).values()
    periods = World(small_scenario, 11).periods
    metrics = score_log(plan, small_log, periods).metrics
    first = metrics.loc[metrics["period"] == periods["label"].iloc[plan.start_after_periods]]
    expected = first.set_index("team_id")["baseline"]
    assert {r.team_id for r in reaches} == set(expected.index)
    for r in reaches:
        assert r.baseline == pytest.approx(expected[r.team_id])
        assert 0 < r.baseline < 1
        assert r.most == pytest.approx((1 - r.baseline) / r.baseline)


def test_only_the_teams_that_cannot_reach_the_threshold_are_named(tmp_path, small_scenario):
    plan = load_plan(share_plan(tmp_path, 0.5))
    [reaches] = share_reach(plan, small_scenario).values()
    most = sorted(r.most for r in reaches)
    assert len(set(most)) > 1  # the teams' baselines differ, so a threshold can split them
    between = float(np.mean(most[:2]))
    [problem] = check_plan_against_scenario(
        load_plan(share_plan(tmp_path, between)), small_scenario
    )
    short = {r.team_id for r in reaches if r.most < between}
    named = {r.team_id for r in reaches if f"team {r.team_id} at" in problem.reason}
    assert named == short and len(short) == 1
    assert f"of {len(reaches)} teams" in problem.reason
    assert f"seeds {reach_seeds(small_scenario)}" in problem.reason


def test_a_reachable_improvement_passes(tmp_path, small_scenario):
    plan = load_plan(share_plan(tmp_path, 0.5))
    [reaches] = share_reach(plan, small_scenario).values()
    reachable = 0.9 * min(r.most for r in reaches)
    assert (
        check_plan_against_scenario(load_plan(share_plan(tmp_path, reachable)), small_scenario)
        == []
    )


def test_a_lower_is_better_share_may_ask_for_a_fall_up_to_all_of_it(tmp_path, small_scenario):
    path = share_plan(tmp_path, 0.9, kpi="reopen_rate")
    assert check_plan_against_scenario(load_plan(path), small_scenario) == []


def test_a_rolling_baseline_is_not_checked(tmp_path, small_scenario):
    """A rolling baseline falls after bad periods, so no improvement is out of reach for ever."""
    plan = load_plan(share_plan(tmp_path, 0.5, policy="rolling"))
    assert share_reach(plan, small_scenario) == {}
    assert unreachable_thresholds(plan, small_scenario) == []


def test_simulate_and_batch_refuse_before_any_run(tmp_path, capsys):
    path = ON_SMALL[1]
    for argv in (
        ["simulate", str(SMALL), "--plan", str(path), "--out", str(tmp_path / "run")],
        ["batch", str(SMALL), "--plans", str(path), "--seeds", "1", "--out", str(tmp_path / "b")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{path}: metrics[0].curve.threshold.level: sla_attainment is a share" in err
        assert "Traceback" not in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "extra", ["    normalisation: service_baseline\n", "attribution: shapley\n"]
)
def test_pairs_and_shared_services_only_widen_a_teams_reach(extra, tmp_path, small_scenario):
    """A team paid per pair, or credited with services it shares, can reach at least as far."""
    owner = load_plan(share_plan(tmp_path, 0.5))
    path = share_plan(tmp_path, 0.5)
    path.write_text(path.read_text() + extra)
    wider = load_plan(path)
    [alone] = share_reach(owner, small_scenario).values()
    [widened] = share_reach(wider, small_scenario).values()
    most = {r.team_id: r.most for r in widened}
    assert {r.team_id for r in alone} == set(most)
    assert all(most[r.team_id] >= r.most for r in alone)
    assert any(most[r.team_id] > r.most for r in alone)


def test_a_lower_is_better_share_at_zero_cannot_improve(tmp_path):
    """Without emergency changes their share is 0 before the plan, so no fall can be paid for."""
    data = yaml.safe_load(SMALL.read_text())
    mix = data["environment"]["changes"]["mix"]
    mix["normal"] += mix["emergency"]
    mix["emergency"] = 0.0
    scenario = validate_mapping(Scenario, data, "small.yaml")
    [problem] = check_plan_against_scenario(
        load_plan(share_plan(tmp_path, 0.1, kpi="emergency_share")), scenario
    )
    assert problem.path == "metrics[0].curve.threshold.level"
    for team in ("apps", "platform", "workplace"):
        assert f"team {team} at 0.000 can improve by +0.0% at most" in problem.reason
