"""One run of the loop: determinism, the no-plan baseline, money and shared services."""

import numpy as np
import pandas as pd
import pytest

from toolkit.config.plan import Plan
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop, run_plan
from toolkit.sim import simulate


@pytest.fixture(scope="module")
def mttr_run(small_scenario):
    return run_plan(small_scenario, load_plan("mttr_only"), seed=4)


def test_same_seed_same_run(small_scenario, mttr_run):
    again = run_plan(small_scenario, load_plan("mttr_only"), seed=4)
    pd.testing.assert_frame_equal(again.behaviour, mttr_run.behaviour)
    pd.testing.assert_frame_equal(again.awards, mttr_run.awards)
    pd.testing.assert_frame_equal(again.reported.incidents, mttr_run.reported.incidents)


def test_no_incentive_reproduces_the_world_and_pays_nothing(small_scenario):
    run = run_plan(small_scenario, load_plan("no_incentive"), seed=4)
    plain = simulate(small_scenario, seed=4)
    pd.testing.assert_frame_equal(run.truth.incidents, plain.incidents)
    pd.testing.assert_frame_equal(run.reported.incidents, plain.incidents)
    assert run.awards.empty or run.awards["earned"].sum() == 0
    assert (run.behaviour["score_pct"] == 0).all()


def test_a_plan_pays_from_its_start_and_scores_the_record(small_scenario, mttr_run):
    plan = load_plan("mttr_only")
    periods = mttr_run.behaviour["period"].drop_duplicates().tolist()
    before = mttr_run.behaviour[
        mttr_run.behaviour["period"].isin(periods[: plan.start_after_periods])
    ]
    assert (before["score_pct"] == 0).all()
    after = mttr_run.behaviour[
        mttr_run.behaviour["period"].isin(periods[plan.start_after_periods :])
    ]
    assert (after["score_pct"] > 0).any()
    assert mttr_run.awards["granted"].sum() > 0
    people = sum(len(t.people) for t in small_scenario.organisation.teams)
    assert mttr_run.awards["person_id"].nunique() == people
    # teams respond: some lever leaves its natural value once the plan pays
    levers = mttr_run.behaviour.drop(columns=["period", "team_id", "score_pct", "true_score_pct"])
    levers = levers.select_dtypes("number")
    assert (levers.iloc[-1] != levers.iloc[0]).any() or (levers.diff().abs().sum() > 0).any()


def test_shared_services_are_credited_under_a_sharing_rule(small_scenario):
    services = [
        s.model_copy(update={"supporting_teams": ["workplace"]}) if s.id == "crm" else s
        for s in small_scenario.organisation.services
    ]
    organisation = small_scenario.organisation.model_copy(update={"services": services})
    scenario = small_scenario.model_copy(update={"organisation": organisation})
    base = load_plan("mttr_only").model_dump()
    plan = Plan.model_validate({**base, "name": "mttr_shared", "attribution": "shapley"})
    loop = PlanLoop(scenario, plan, seed=2)
    run = loop.run()
    crm = run.truth.incidents[run.truth.incidents["service_id"] == "crm"]
    assert set(crm["team_id"]) == {"apps", "workplace"}
    scores = run.behaviour["score_pct"].to_numpy()
    assert np.isfinite(scores).all() and (scores > 0).any()


def test_moves_drafted_before_scoring_can_be_taken_back(small_scenario):
    loop = PlanLoop(small_scenario, load_plan("mttr_only"), seed=4)
    loop.world.advance(loop.world.edges[0])
    truth = loop.world.event_log()
    agents = loop.adaptation.agents
    before = {t: (a.rng.getstate(), a.levers) for t, a in agents.items()}
    moves = loop._draft(0, truth)
    assert moves.revising  # with these seeds some teams revise
    labels = set(moves.log.incidents["team_id"]) - set(truth.incidents["team_id"])
    assert labels and labels <= set(moves.team_of)
    assert all(moves.team_of[label] == label.split("#")[0] for label in labels)
    assert any(a.rng.getstate() != before[t][0] for t, a in agents.items())
    moves.take_back()
    assert {t: (a.rng.getstate(), a.levers) for t, a in agents.items()} == before
