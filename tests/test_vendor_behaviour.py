"""Vendors that respond to their own contract: levers, world effects, reporting, disputes.

Every test runs the small scenario (or its world) with cloudco given ``behaviour``; netlink
keeps its fixed levers unless a test says otherwise.
"""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.behaviour.adaptation import Adaptation, AuditExposure
from toolkit.behaviour.levers import LeverSet
from toolkit.behaviour.reporting import report
from toolkit.behaviour.vendor_reporting import (
    LATE_START_SHARE,
    contest_attributions,
    report_vendor_outages,
)
from toolkit.config.errors import ConfigError
from toolkit.config.loading import validate_mapping
from toolkit.config.scenario import Scenario
from toolkit.metrics.joint_failures import unsupported_attributions
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.vendors import VENDOR_LEVERS, VendorAgents, VendorLevers
from toolkit.sim import World

from .conftest import SCENARIOS

PENALTY = {1: 2000, 2: 800, 3: 200, 4: 50}
BEHAVIOUR = "organisation.vendors[0].behaviour"


def _data(behaviour: dict | None = None, clause: bool = True) -> dict:
    data = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    cloudco = data["organisation"]["vendors"][0]
    cloudco["behaviour"] = {} if behaviour is None else behaviour
    if clause:
        cloudco["contract"]["penalty_sharing"] = {
            "rule": "proportional",
            "penalty_per_incident": PENALTY,
        }
    return data


def _scenario(data: dict) -> Scenario:
    return validate_mapping(Scenario, data, "test.yaml")


def _adaptation(data: dict, **settings) -> dict:
    data.setdefault("environment", {}).setdefault("behaviour", {})["adaptation"] = settings
    return data


# -- strict configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "where", "says"),
    [
        ({"effrot_cost_pct": 5}, f"{BEHAVIOUR}.effrot_cost_pct", "unknown key"),
        ({"integrity": 1.5}, f"{BEHAVIOUR}.integrity", "1"),
        ({"risk_aversion": -1}, f"{BEHAVIOUR}.risk_aversion", "0"),
        ({"outage_rate_effect": 9}, f"{BEHAVIOUR}.outage_rate_effect", "5"),
        ({"audit_sample_size": "many"}, f"{BEHAVIOUR}.audit_sample_size", "integer"),
        ({"contest_success": 2}, f"{BEHAVIOUR}.contest_success", "1"),
        ({"gaming_penalty_pct": 101}, f"{BEHAVIOUR}.gaming_penalty_pct", "100"),
    ],
)
def test_bad_behaviour_fields_are_refused_with_path_and_reason(behaviour, where, says):
    with pytest.raises(ConfigError) as caught:
        _scenario(_data(behaviour))
    problems = {p.path: p.reason for p in caught.value.problems}
    assert any(path.startswith(where) and says in reason for path, reason in problems.items()), (
        problems
    )
    assert "test.yaml" in str(caught.value)


def test_behaviour_without_a_contract_is_refused():
    data = _data(clause=False)
    netlink = data["organisation"]["vendors"][1]
    del netlink["contract"]
    netlink["behaviour"] = {}
    with pytest.raises(ConfigError) as caught:
        _scenario(data)
    problems = {p.path: p.reason for p in caught.value.problems}
    assert any(
        path.startswith("organisation.vendors[1]") and "needs a contract" in reason
        for path, reason in problems.items()
    ), problems


# -- levers between periods -----------------------------------------------------------------


def _run(data: dict, plan: str = "no_incentive", seed: int = 3, prepare=None):
    loop = PlanLoop(_scenario(data), load_plan(plan), seed)
    if prepare is not None:
        prepare(loop)
    return loop, loop.run()


def test_levers_move_by_one_step_of_at_most_two_levers_inside_their_range():
    _, run = _run(_data())
    table = run.vendor_behaviour
    assert set(table["vendor_id"]) == {"cloudco"}
    levers = table[list(VENDOR_LEVERS)].to_numpy()
    assert ((levers >= 0) & (levers <= 1)).all()
    moves = np.abs(np.diff(levers, axis=0))
    step = _scenario(_data()).environment.behaviour.adaptation.step
    assert np.isin(np.round(moves, 9), [0.0, step]).all()
    assert ((moves > 0).sum(axis=1) <= 2).all()


@pytest.mark.parametrize("sign", [1, -1])
def test_the_vendor_follows_its_utility_by_the_logit_rule(monkeypatch, sign):
    """With a utility rising in effort the vendor climbs it; falling, it never leaves 0.

    Nearly noiseless logit, no inertia: each period it takes the best candidate, which moves
    effort up whenever one of its dozen candidates does.
    """
    monkeypatch.setattr(
        VendorAgents, "_utility", lambda self, agent, levers, *_: sign * 1000.0 * levers.effort
    )
    data = _adaptation(_data(), inertia=0.0, logit_temperature=0.001)
    _, run = _run(data)
    effort = run.vendor_behaviour["effort"].to_numpy()
    if sign < 0:
        assert (effort == 0).all()
    else:
        assert (np.diff(effort) >= -1e-12).all()  # never a move down
        assert effort[-1] >= 0.8


def test_the_contract_prices_the_choice_cheap_effort_is_bought_dear_effort_is_not():
    """Effort that saves credits and costs nothing is raised; at 100 % of fees it is not."""

    def effort(cost_pct: float) -> float:
        data = _adaptation(_data({"effort_cost_pct": cost_pct}), inertia=0.0)
        return float(
            np.mean([_run(data, seed=s)[1].vendor_behaviour["effort"].mean() for s in (1, 2)])
        )

    cheap, dear = effort(0.0), effort(100.0)
    assert cheap > dear
    assert cheap > 0.2


def test_inertia_one_keeps_every_lever_where_it_started():
    data = _adaptation(_data(), inertia=1.0)
    data["organisation"]["vendors"][0]["reporting"] = {"late_outage_start": 0.4}
    _, run = _run(data)
    table = run.vendor_behaviour
    assert (table["effort"] == 0).all() and (table["contest"] == 0).all()
    assert (table["late_outage_start"] == 0.4).all()


def test_a_vendor_without_behaviour_stays_put():
    data = _data()
    data["organisation"]["vendors"][1]["reporting"] = {"late_outage_start": 0.3}
    loop, run = _run(data)
    assert "netlink" not in set(run.vendor_behaviour["vendor_id"])
    netlink = run.vendor_intensities[run.vendor_intensities["vendor_id"] == "netlink"]
    assert len(netlink) == len(loop.labels) and (netlink["late_outage_start"] == 0.3).all()
    assert loop.world.vendor_factors["netlink"] == (1.0, 1.0)
    # no vendor adapts: the run has no vendor tables and is the run without any behaviour
    plain = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    _, before = _run(plain)
    data = _data(clause=False)
    del data["organisation"]["vendors"][0]["behaviour"]
    _, after = _run(data)
    assert after.vendor_behaviour.empty and after.vendor_intensities is None
    pd.testing.assert_frame_equal(before.reported.incidents, after.reported.incidents)
    pd.testing.assert_frame_equal(before.behaviour, after.behaviour)


def test_same_seed_same_vendor_behaviour_and_record():
    data = _adaptation(_data(), inertia=0.0)
    _, one = _run(data, seed=5)
    _, two = _run(data, seed=5)
    pd.testing.assert_frame_equal(one.vendor_behaviour, two.vendor_behaviour)
    pd.testing.assert_frame_equal(one.reported.incidents, two.reported.incidents)
    pd.testing.assert_frame_equal(one.truth.outages, two.truth.outages)
    _, other = _run(data, seed=6)
    assert not one.truth.outages.equals(other.truth.outages)


# -- effort in the world --------------------------------------------------------------------


def _own_outages(data: dict, factors: tuple[float, float], seeds) -> pd.DataFrame:
    scenario = _scenario(data)
    events = []
    for seed in seeds:
        world = World(scenario, seed)
        world.set_vendor_factors({"cloudco": factors})
        outages = world.run().outages
        own = outages[(outages["vendor_id"] == "cloudco") & outages["subcontractor_id"].isna()]
        events.append(own.drop_duplicates("start").assign(seed=seed))
    return pd.concat(events, ignore_index=True)


def test_effort_thins_outages_and_shortens_them_as_documented():
    """Full effort at effects 1 and 0.5: rate × e^-1, durations × e^-0.5 (of 3 h means)."""
    data = _data({"outage_rate_effect": 1.0, "outage_duration_effect": 0.5})
    data["organisation"]["vendors"][0]["outage_rate_per_year"] = 40
    behaviour = _scenario(data).organisation.vendors[0].behaviour
    factors = VendorLevers(effort=1.0).factors(behaviour)
    assert factors == pytest.approx((math.exp(-1.0), math.exp(-0.5)))
    seeds = range(8)
    idle = _own_outages(data, (1.0, 1.0), seeds)
    busy = _own_outages(data, factors, seeds)
    # counts: Poisson thinning, tolerance four standard errors of the thinned count
    expected = len(idle) * factors[0]
    assert abs(len(busy) - expected) < 4 * math.sqrt(expected)
    hours = (busy["end"] - busy["start"]).dt.total_seconds() / 3600
    mean = 3.0 * factors[1]  # exponential durations: the standard error is mean / sqrt(n)
    assert abs(hours.mean() - mean) < 4 * mean / math.sqrt(len(hours))
    idle_hours = (idle["end"] - idle["start"]).dt.total_seconds() / 3600
    assert hours.mean() < idle_hours.mean()


# -- late outage starts ---------------------------------------------------------------------


def test_late_outage_starts_move_only_the_vendors_report(small_log):
    periods = World(_scenario(_data()), 11).periods[["label", "start", "end"]]
    lates = pd.DataFrame(
        {"period": periods["label"], "vendor_id": "cloudco", "late_outage_start": 1.0}
    )
    view = report_vendor_outages(small_log, lates, periods, seed=11)
    true, seen = small_log.outages, view.outages
    cloudco = (true["vendor_id"] == "cloudco").to_numpy()
    assert cloudco.any() and (~cloudco).any()
    pd.testing.assert_frame_equal(true.loc[~cloudco], seen.loc[~cloudco])
    length = true["end"] - true["start"]
    low, high = LATE_START_SHARE
    delay = seen["start"] - true["start"]
    assert (delay[cloudco] >= length[cloudco] * low - pd.Timedelta(1, "s")).all()
    assert (delay[cloudco] <= length[cloudco] * high).all()
    assert (delay[cloudco] > pd.Timedelta(0)).all()
    assert seen["end"].equals(true["end"])
    pd.testing.assert_frame_equal(small_log.incidents, view.incidents)
    # an outage event moves as one: every row of it starts at the same reported time
    by_event = seen.loc[cloudco].groupby(true.loc[cloudco, "start"])["start"].nunique()
    assert (by_event == 1).all()


def test_in_a_run_the_customers_record_keeps_the_true_outage_starts():
    data = _adaptation(_data(), inertia=1.0)
    data["organisation"]["vendors"][0]["reporting"] = {"late_outage_start": 1.0}
    _, run = _run(data)
    pd.testing.assert_frame_equal(run.truth.outages, run.reported.outages)
    assert (run.vendor_behaviour["late_reported"] == run.vendor_behaviour["outage_events"]).all()


# -- disputes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blamed():
    """The small world's log with every internal and change cause blamed on a supplier."""
    scenario = _scenario(_data())
    world = World(scenario, 11)
    truth = world.run()
    periods = world.periods[["label", "start", "end"]]
    levers = pd.DataFrame(
        [
            {"period": p, "team_id": t.id, "misattribution": 1.0}
            for p in periods["label"]
            for t in scenario.organisation.teams
        ]
    )
    links = {s.id: s.vendor_dependencies for s in scenario.organisation.services}
    targets = scenario.environment.incidents.sla_target_hours
    record = report(truth, levers, periods, seed=11, sla_targets=targets, vendor_links=links)
    return scenario, periods, record


def _contest(blamed, level: float, success: float = 0.9):
    scenario, periods, log = blamed
    services = [s.id for s in scenario.organisation.services if "cloudco" in s.vendor_dependencies]
    contests = pd.DataFrame({"period": periods["label"], "vendor_id": "cloudco", "contest": level})
    return contest_attributions(
        log, contests, periods, {"cloudco": services}, seed=11, success={"cloudco": success}
    )


def test_the_vendor_disputes_unsupported_attributions_at_its_contest_share(blamed):
    scenario, _, log = blamed
    services = [s.id for s in scenario.organisation.services if "cloudco" in s.vendor_dependencies]
    unsupported = int(unsupported_attributions(log, "cloudco", services).sum())
    assert unsupported > 200
    after, disputes = _contest(blamed, 0.5, success=0.9)
    disputed, overturned = disputes["disputed"].sum(), disputes["overturned"].sum()
    # binomial shares, within four standard errors
    assert abs(disputed / unsupported - 0.5) < 4 * math.sqrt(0.25 / unsupported)
    assert abs(overturned / disputed - 0.9) < 4 * math.sqrt(0.09 / disputed)
    assert set(disputes["team_id"]) <= {t.id for t in scenario.organisation.teams}
    # overturned attributions show an internal cause again, with no vendor; nothing else moves
    before = log.incidents.set_index("incident_id")
    now = after.incidents.set_index("incident_id")
    changed = now["root_cause"] != before["root_cause"]
    assert changed.sum() == overturned
    assert (before.loc[changed, "vendor_id"] == "cloudco").all()
    assert now.loc[changed, "root_cause"].isin(["internal", "change"]).all()
    assert now.loc[changed, "vendor_id"].isna().all()
    # supported attributions (and other vendors') are never disputed
    left = unsupported_attributions(after, "cloudco", services).sum()
    assert left == unsupported - overturned


def test_more_contest_only_adds_disputes(blamed):
    _, low = _contest(blamed, 0.3)
    _, high = _contest(blamed, 0.6)
    assert high["disputed"].sum() > low["disputed"].sum()
    _, none = _contest(blamed, 0.0)
    assert none.empty


# -- the misattribution finding under a clause ----------------------------------------------


def test_the_team_prices_an_overturned_claim_by_hand():
    exposure = AuditExposure(0.0, 0.8, 25, False, {"misattribution": 10.0}, 0.0, overturn=0.2)
    levers = LeverSet({"misattribution": 0.5})
    assert Adaptation.overturned(levers, exposure) == pytest.approx(1 - 0.8**5)
    honest = LeverSet({"misattribution": 0.0})
    assert Adaptation.overturned(honest, exposure) == 0.0
    no_clause = AuditExposure(0.0, 0.8, 25, False, {"misattribution": 10.0}, 0.0)
    assert Adaptation.overturned(levers, no_clause) == 0.0


def _blaming(loop: PlanLoop) -> None:
    """Every team misattributes everything it can; cloudco disputes everything."""
    for agent in loop.adaptation.agents.values():
        agent.levers = LeverSet({**agent.levers.values, "misattribution": 1.0})
    loop.vendors.agents["cloudco"].levers = VendorLevers(contest=1.0)


@pytest.mark.parametrize("clause", [True, False])
def test_an_overturned_claim_is_a_finding_only_under_a_clause(clause):
    data = _adaptation(_data(clause=clause), inertia=1.0)
    loop, run = _run(data, plan="balanced", prepare=_blaming)
    table = run.behaviour
    plan_periods = table["period"].isin(loop.labels[loop.plan.start_after_periods :])
    disputes = run.vendor_behaviour["overturned"].sum()
    assert disputes > 0  # the vendor overturns claims either way
    found = table["findings"].str.contains("misattribution_detected")
    if clause:
        assert table["overturned"].sum() > 0
        assert found[plan_periods].any()
        assert found[plan_periods].equals(table.loc[plan_periods, "overturned"] > 0)
        assert not found[~plan_periods].any()  # before the plan nothing is at stake
    else:
        assert (table["overturned"] == 0).all() and not found.any()


# -- outputs --------------------------------------------------------------------------------


@pytest.fixture()
def scenario_file(tmp_path):
    path = tmp_path / "vendors.yaml"
    path.write_text(yaml.safe_dump(_data()))
    return path


def test_a_batch_writes_the_vendor_behaviour_and_penalty_split_tables(tmp_path, scenario_file):
    from toolkit.experiments.batch import run_batch
    from toolkit.run.manifest import file_sha256

    result = run_batch(
        [scenario_file], ["no_incentive"], [1, 2], tmp_path / "out", workers=1, progress=False
    )
    stacked = {}
    for name in ("vendor_behaviour.parquet", "penalty_split.parquet"):
        parts = []
        for run in result.runs.itertuples():
            run_dir = result.directory / run.directory
            manifest = yaml.safe_load((run_dir / "manifest.json").read_text())
            assert manifest["outputs"][name] == file_sha256(run_dir / name)
            parts.append(pd.read_parquet(run_dir / name).assign(seed=run.seed))
        stacked[name] = pd.read_parquet(result.directory / name)
        assert len(stacked[name]) == sum(len(p) for p in parts) > 0
        assert set(stacked[name]["seed"]) == {1, 2}
        assert name in yaml.safe_load((result.directory / "manifest.json").read_text())["outputs"]
    behaviour = stacked["vendor_behaviour.parquet"]
    assert set(behaviour["vendor_id"]) == {"cloudco"}
    assert {*VENDOR_LEVERS, "utility", "effort_cost", "dispute_cost"} <= set(behaviour.columns)
    split = stacked["penalty_split.parquet"]
    assert set(split["vendor_id"]) == {"cloudco"}  # only cloudco's contract shares penalties
    assert (split["vendor_penalty"] + split["internal_penalty"]).to_numpy() == pytest.approx(
        split["penalty"].to_numpy()
    )


def test_a_simulation_writes_the_vendor_tables(tmp_path, scenario_file):
    from toolkit.run.simulation import run_scenario

    result = run_scenario(scenario_file, 1, tmp_path / "run", progress=False)
    for name in ("vendor_sla", "vendor_behaviour", "penalty_split"):
        table = pd.read_parquet(result.directory / f"{name}.parquet")
        assert len(table) > 0
    behaviour = pd.read_parquet(result.directory / "vendor_behaviour.parquet")
    pd.testing.assert_frame_equal(behaviour, result.run.vendor_behaviour, check_dtype=False)
