"""Attribution disputes: the record scored under every rule, disputes found and routed."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.experiments.attribution_disputes import (
    attribution_disputes,
    dispute_table,
    route_disputes,
    routing_summary,
    rule_plans,
    rule_totals,
    suggested_sharing,
    with_supporting_teams,
)
from toolkit.plans import load_plan
from toolkit.resources import SCENARIOS_DIR
from toolkit.run.loop import PlanLoop

SMALL = SCENARIOS_DIR / "small.yaml"
SHARED = {"payments": ["platform"], "k8s": ["apps"]}


@pytest.fixture(scope="module")
def disputes(tmp_path_factory):
    out = tmp_path_factory.mktemp("disputes")
    scenario = with_supporting_teams(SMALL, SHARED)
    table, awards = attribution_disputes(scenario, "mttr_only", [0], out)
    return scenario, table, awards, out


def test_supporting_teams_are_added_and_mistakes_named():
    scenario = with_supporting_teams(SMALL, SHARED)
    services = {s.id: s for s in scenario.organisation.services}
    assert services["payments"].supporting_teams == ["platform"]
    assert services["crm"].supporting_teams == []
    with pytest.raises(ValueError, match="no service 'payment'.*'payments'"):
        with_supporting_teams(SMALL, {"payment": ["platform"]})
    with pytest.raises(ValueError, match="no team 'platfrom'.*'platform'"):
        with_supporting_teams(SMALL, {"payments": ["platfrom"]})
    with pytest.raises(ValueError, match="owns 'payments'"):
        with_supporting_teams(SMALL, {"payments": ["apps"]})


@pytest.mark.parametrize("name", ["small.yaml", "default.yaml"])
def test_suggested_sharing_takes_the_most_critical_services_of_different_teams(name):
    scenario = load_scenario(SCENARIOS_DIR / name)
    services = {s.id: s for s in scenario.organisation.services}
    sharing = suggested_sharing(scenario)
    owners = [services[service].owning_team for service in sharing]
    assert len(sharing) == 2 and len(set(owners)) == 2
    # each owner helps with the other's service
    assert [team for (team,) in sharing.values()] == owners[::-1]
    # no service of another owner is more critical than the one chosen for that owner
    for service, owner in zip(sharing, owners, strict=True):
        assert services[service].criticality == min(
            s.criticality for s in services.values() if s.owning_team == owner
        )
    assert min(services[s].criticality for s in sharing) == min(
        s.criticality for s in services.values()
    )
    shared = with_supporting_teams(scenario, sharing)  # a valid scenario
    assert all(
        team in {s.id: s for s in shared.organisation.services}[service].supporting_teams
        for service, (team,) in sharing.items()
    )
    three = suggested_sharing(scenario, 3)
    assert len(three) == 3 and len({services[s].owning_team for s in three}) == 3


def test_suggested_sharing_on_one_team_shares_nothing():
    one_team = load_scenario(SCENARIOS_DIR / "mmc.yaml")
    assert len({s.owning_team for s in one_team.organisation.services}) == 1
    assert suggested_sharing(one_team) == {}
    with pytest.raises(ValueError, match="at least 1"):
        suggested_sharing(SMALL, 0)


def test_rules_are_checked_before_anything_runs():
    plans = rule_plans("mttr_only")
    assert {rule: plan.attribution for rule, plan in plans.items()} == {
        r: r for r in ("owner", "equal", "contribution", "shapley")
    }
    assert plans["owner"].metrics == plans["shapley"].metrics
    with pytest.raises(ValueError, match="unknown attribution rule 'shaply'.*'shapley'"):
        rule_plans("mttr_only", ["owner", "shaply"])
    with pytest.raises(ValueError, match="at least two"):
        rule_plans("mttr_only", ["owner"])
    with pytest.raises(ValueError, match="more than once"):
        rule_plans("mttr_only", ["owner", "owner"])
    # a plan normalising by expected volume cannot share credit
    with pytest.raises(ValueError, match="expected_volume"):
        rule_plans("balanced")


def _awards(values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rules = ["owner", "equal", "contribution", "shapley"]
    return pd.DataFrame(
        [
            {
                "seed": 0,
                "period": period,
                "team_id": team,
                "rule": rule,
                "score_pct": award / 10,
                "award": award,
                "shared_services": "payments",
            }
            for (period, team), awards in values.items()
            for rule, award in zip(rules, awards, strict=True)
        ]
    )


def test_a_dispute_is_where_the_rules_pay_differently():
    awards = _awards(
        {
            ("Q1", "apps"): [1000, 400, 700, 900],
            ("Q1", "platform"): [200, 800, 500, 300],
            ("Q1", "workplace"): [500, 500, 500, 500.5],
        }
    )
    table = dispute_table(awards, tolerance=1.0)
    assert table["team_id"].tolist() == ["apps", "platform"]  # workplace's 0.5 is rounding
    apps = table.iloc[0]
    assert apps["at_stake"] == pytest.approx(600)
    assert (apps["favoured_by"], apps["hurt_by"]) == ("owner", "equal")
    assert table.iloc[1]["favoured_by"] == "equal"
    assert len(dispute_table(awards, tolerance=0.0)) == 3


def test_disputes_are_routed_by_money_at_stake():
    table = pd.DataFrame({"seed": [0, 0, 1, 1], "at_stake": [50.0, 1_000.0, 9_999.0, 20_000.0]})
    levels = {"team leads": 0, "review board": 1_000, "CIO": 10_000}
    routed = route_disputes(table, levels)
    assert routed["level"].tolist() == ["team leads", "review board", "review board", "CIO"]
    summary = routing_summary(routed, levels).set_index("level")
    assert summary.loc["review board", "disputes"] == 2
    assert summary.loc["review board", "money_at_stake"] == pytest.approx(10_999)
    assert summary.loc["CIO", "disputes_per_seed"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({}, "at least one"),
        ({"team leads": 10, "CIO": 100}, "must start at 0"),
        ({"team leads": 0, "CIO": 100, "board": 50}, "must rise"),
        ({"team leads": 0, "CIO": -1}, "0 or more"),
        ({"team leads": 0, "CIO": float("inf")}, "0 or more"),
    ],
)
def test_a_bad_escalation_path_is_refused(levels, message):
    with pytest.raises(ValueError, match=message):
        route_disputes(pd.DataFrame({"seed": [0], "at_stake": [5.0]}), levels)


def test_only_teams_that_share_a_service_dispute(disputes):
    _, table, awards, _ = disputes
    assert len(table) > 0
    assert (table["shared_services"] != "").all()
    alone = awards[awards["shared_services"] == ""]
    spread = alone.groupby(["period", "team_id"])["award"].agg(lambda a: a.max() - a.min())
    assert (spread < 1e-6).all()  # a team that shares nothing is paid alike under every rule
    wide = table[[f"award_{r}" for r in ("owner", "equal", "contribution", "shapley")]]
    assert table["at_stake"].to_numpy() == pytest.approx(wide.max(axis=1) - wide.min(axis=1))
    assert table["at_stake"].is_monotonic_decreasing


def test_the_plans_own_rule_gives_the_scores_the_run_paid(disputes):
    scenario, _, awards, _ = disputes
    run = PlanLoop(scenario, load_plan("mttr_only"), 0).run()
    paid = run.behaviour.set_index(["period", "team_id"])["score_pct"]
    owner = awards[awards["rule"] == "owner"].set_index(["period", "team_id"])["score_pct"]
    # the final record, scored after the horizon, differs a little from each period's close
    assert owner.to_numpy() == pytest.approx(paid.reindex(owner.index).to_numpy(), rel=0.01)
    totals = rule_totals(awards).set_index("team_id")
    assert totals.loc["apps", "owner"] == pytest.approx(
        awards[(awards["rule"] == "owner") & (awards["team_id"] == "apps")]["award"].sum()
    )


def test_a_rerun_reads_what_was_kept(disputes):
    scenario, table, _, out = disputes
    kept = sorted(p.name for p in out.iterdir())
    assert len(kept) == 1 and kept[0].endswith(".parquet")
    again, _ = attribution_disputes(scenario, "mttr_only", [0], out)
    pd.testing.assert_frame_equal(again, table)


def test_without_shared_services_there_is_no_dispute():
    table, awards = attribution_disputes(load_scenario(SMALL), "mttr_only", [0])
    assert table.empty and (awards["shared_services"] == "").all()
