"""Tests of the change guards: the defect penalty on throughput and the emergency justification.

The KPIs and the penalised measurement are checked on hand-made logs with hand-worked values;
the behaviour they are meant to buy is checked across seeds on the small scenario, paired seed
by seed against the plan without the guard.
"""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit.config import ConfigError
from toolkit.config.plan import DefectPenalty, Gate, Plan
from toolkit.metrics import compute_kpis, period_bounds
from toolkit.plans import PlanScorer, load_plan
from toolkit.plans.loading import check_plan, check_plan_against_scenario
from toolkit.plans.measurement import Item, measurement_groups
from toolkit.run.loop import run_plan

from .test_metrics import change, incident, make_log

HOUR = pd.Timedelta(1, "h")
DAY = pd.Timedelta(1, "D")


def caused(change_number, opened, *, team="T1", service="S1"):
    """An incident caused by change ``CHG<change_number>`` (the ids :func:`make_log` gives)."""
    return {
        **incident(opened, 2.0, team=team, service=service),
        "root_cause": "change",
        "change_id": f"CHG{change_number}",
    }


def emergency(implemented, justification, *, team="T1", service="S1"):
    return {
        **change(implemented, team=team, service=service, kind="emergency"),
        "justification": justification,
    }


# CHG0 (T1, Q1) causes incidents 2 hours, 10 days and 20 days after it; CHG1 (T1, implemented in
# the last hour of Q1) one two days later, in Q2; CHG2 (T2, Q2) one recorded for T2 and one
# recorded for T1, which is not T2's to answer for; CHG3 (T1, Q2) none.
IMPLEMENTED = {
    0: pd.Timestamp("2025-01-10"),
    1: pd.Timestamp("2025-03-31 23:00"),
    2: pd.Timestamp("2025-05-01"),
    3: pd.Timestamp("2025-05-02"),
}
CHANGES = [
    change(IMPLEMENTED[0], failed=True),
    change(IMPLEMENTED[1], failed=True),
    change(IMPLEMENTED[2], team="T2", service="S2", failed=True),
    change(IMPLEMENTED[3]),
]
INCIDENTS = [
    caused(0, IMPLEMENTED[0] + 2 * HOUR),
    caused(0, IMPLEMENTED[0] + 10 * DAY),
    caused(0, IMPLEMENTED[0] + 20 * DAY),
    caused(1, IMPLEMENTED[1] + 2 * DAY),
    caused(2, IMPLEMENTED[2] + 3 * HOUR, team="T2", service="S2"),
    caused(2, IMPLEMENTED[2] + 4 * HOUR, team="T1", service="S2"),
    incident(IMPLEMENTED[3] + HOUR, 1.0),  # not linked to any change
]


def kpi(out, name, period, team="ALL", service="ALL"):
    rows = out[
        (out["kpi"] == name)
        & (out["period"] == period)
        & (out["team_id"] == team)
        & (out["service_id"] == service)
    ]
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


def test_change_caused_incidents_counts_each_changes_defects_in_its_window():
    log = make_log(INCIDENTS, CHANGES)
    out = compute_kpis(log, kpis="change_caused_incidents")
    # T1: CHG0's incidents after 2 h and 10 d, and CHG1's in Q2, all placed with their change
    assert kpi(out, "change_caused_incidents", "2025Q1", "T1") == 3
    assert kpi(out, "change_caused_incidents", "2025Q1", "T1", "S1") == 3
    assert kpi(out, "change_caused_incidents", "2025Q2", "T1") == 0
    assert kpi(out, "change_caused_incidents", "2025Q2", "T2") == 1
    assert kpi(out, "change_caused_incidents", "2025Q2") == 1
    wide = compute_kpis(log, kpis="change_caused_incidents", defect_window_days=30)
    assert kpi(wide, "change_caused_incidents", "2025Q1", "T1") == 4
    narrow = compute_kpis(log, kpis="change_caused_incidents", defect_window_days=1)
    assert kpi(narrow, "change_caused_incidents", "2025Q1", "T1") == 1


def test_defect_window_must_be_positive_days():
    log = make_log(INCIDENTS, CHANGES)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="defect_window_days"):
            compute_kpis(log, kpis="change_caused_incidents", defect_window_days=bad)


def test_unjustified_emergency_count_counts_emergencies_without_a_reason():
    changes = [
        emergency("2025-01-05", "urgent: restore or protect service"),
        emergency("2025-01-06", None),
        emergency("2025-02-06", None),
        change("2025-02-07"),  # a normal change has no justification and needs none
        emergency("2025-04-02", None, team="T2", service="S2"),
    ]
    out = compute_kpis(make_log(changes=changes), kpis="unjustified_emergency_count")
    assert kpi(out, "unjustified_emergency_count", "2025Q1", "T1") == 2
    assert kpi(out, "unjustified_emergency_count", "2025Q2", "T1") == 0
    assert kpi(out, "unjustified_emergency_count", "2025Q2", "T2") == 1
    assert kpi(out, "unjustified_emergency_count", "2025Q1") == 2


# --- the defect penalty in a plan ------------------------------------------------------------


def plan_with(metric_fields=None, **fields):
    metric = {
        "kpi": "change_throughput",
        "weight": 1,
        "basis": "level",
        "curve": {
            "kind": "linear",
            "threshold": {"level": 1, "payout_pct": 50},
            "target": {"level": 2, "payout_pct": 100},
            "maximum": {"level": 4, "payout_pct": 200},
        },
        **(metric_fields or {}),
    }
    data = {
        "name": "guarded",
        "description": "A plan for a test.",
        "start_after_periods": 1,
        "metrics": [metric],
        **fields,
    }
    return Plan.model_validate(data)


def services():
    return pd.DataFrame(
        {
            "service_id": ["S1", "S2"],
            "team_id": ["T1", "T2"],
            "business_unit": ["BU1", "BU1"],
            "criticality": [2, 2],
            "complexity": [1.0, 1.0],
            "platform_age_years": [3.0, 3.0],
        }
    )


def test_penalised_throughput_nets_defects_and_never_falls_below_zero():
    log = make_log(INCIDENTS, CHANGES, services=services().to_dict("records"))
    periods = period_bounds(log.start, log.end, "quarter")
    penalty = {"defect_penalty": {"window_days": 14, "per_incident": 0.5}}
    scorer = PlanScorer(plan_with(penalty), log.services, periods)
    q1 = scorer.measure(log, 0).set_index(["team_id", "item"])["value"]
    # T1 implemented 2 changes in Q1 that caused 3 incidents within 14 days, but the one opened
    # in Q2 is not yet on the record when Q1 is scored: 2 - 0.5 x 2
    assert q1[("T1", "metric")] == pytest.approx(1.0)
    scorer.commit(log, 0)
    q2 = scorer.measure(log, 1).set_index(["team_id", "item"])["value"]
    assert q2[("T1", "metric")] == pytest.approx(1.0)  # CHG3, no defect
    assert q2[("T2", "metric")] == pytest.approx(0.5)  # CHG2, one defect of its own team
    heavy = {"defect_penalty": {"window_days": 14, "per_incident": 3}}
    scorer = PlanScorer(plan_with(heavy), log.services, periods)
    assert scorer.measure(log, 0).set_index(["team_id", "item"])["value"][("T1", "metric")] == 0
    plain = PlanScorer(plan_with(), log.services, periods)
    assert plain.measure(log, 0).set_index(["team_id", "item"])["value"][("T1", "metric")] == 2


def test_a_counter_metric_on_throughput_still_reads_it_gross():
    log = make_log(INCIDENTS, CHANGES, services=services().to_dict("records"))
    periods = period_bounds(log.start, log.end, "quarter")
    plan = plan_with(
        {"defect_penalty": {"window_days": 14, "per_incident": 0.5}},
        counter_metrics=[{"kpi": "change_throughput", "trigger": {"above": 10}, "action": "audit"}],
        gates=[{"kpi": "change_caused_incidents", "at_least": 10}],
    )
    measured = PlanScorer(plan, log.services, periods).measure(log, 0)
    values = measured.set_index(["team_id", "item"])["value"]
    assert values[("T1", "metric")] == pytest.approx(1.0)
    assert values[("T1", "counter")] == 2
    assert values[("T1", "gate")] == 2  # the gate's KPI at its default 14-day window


def test_items_reading_a_defect_window_are_grouped_by_it():
    def item(kpi, defect=None, index=0):
        return Item("metric", index, kpi, "changes", "changes", "higher", defect=defect)

    net = item("change_throughput", (30.0, 1.0))
    gross = item("change_throughput", index=1)
    defects = item("change_caused_incidents", index=2)
    assert measurement_groups([gross, net, defects]) == {
        ("plain", (), 0.0, 30.0): [net, gross],
        ("plain", (), 0.0, 14.0): [defects],
    }


def test_a_plan_with_the_penalty_and_the_gate_validates():
    plan = plan_with(
        {"defect_penalty": {"window_days": 14, "per_incident": 1}},
        gates=[{"kpi": "unjustified_emergency_count", "at_least": 1}],
    )
    assert check_plan(plan) == []
    guarded = load_plan("throughput_guarded")
    assert guarded.metrics[0].defect_penalty == DefectPenalty(window_days=14, per_incident=1)
    assert guarded.gates == [Gate(kpi="unjustified_emergency_count", at_least=1)]


@pytest.mark.parametrize(
    ("fields", "plan_fields", "words"),
    [
        ({"kpi": "mttr_mean_hours"}, {}, "a defect penalty takes changes off change_throughput"),
        ({"exclude_root_causes": ["change"]}, {}, "drop 'change' from it"),
        ({}, {"attribution": "equal"}, "works with attribution 'owner' only"),
    ],
)
def test_a_defect_penalty_where_it_has_no_meaning_is_refused(fields, plan_fields, words):
    metric = {"defect_penalty": {"window_days": 14, "per_incident": 1}, **fields}
    if "kpi" in fields:  # MTTR pays for falling levels
        metric["curve"] = {
            "kind": "linear",
            "threshold": {"level": 40, "payout_pct": 50},
            "target": {"level": 30, "payout_pct": 100},
            "maximum": {"level": 20, "payout_pct": 200},
        }
    problems = check_plan(plan_with(metric, **plan_fields))
    assert [p.path for p in problems] == ["metrics[0].defect_penalty"]
    assert words in problems[0].reason


@pytest.mark.parametrize(
    ("penalty", "words"),
    [
        ({"window_days": 0, "per_incident": 1}, "greater than 0"),
        ({"window_days": 14}, "per_incident"),
        ({"window_days": 14, "per_incident": 1, "cap": 3}, "cap"),
    ],
)
def test_a_malformed_defect_penalty_is_refused(tmp_path, penalty, words):
    import yaml

    plan = plan_with().model_dump(mode="json", exclude_none=True)
    plan["metrics"][0]["defect_penalty"] = penalty
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(ConfigError) as error:
        load_plan(path)
    assert "metrics[0].defect_penalty" in str(error.value) and words in str(error.value)


def test_one_unjustified_emergency_gates_the_team_and_the_move_that_makes_it():
    gate = {"gates": [{"kpi": "unjustified_emergency_count", "at_least": 1}]}
    changes = [change(f"2025-0{m}-10") for m in (1, 4, 5)]
    changes += [emergency("2025-04-20", "urgent: restore or protect service")]
    log = make_log(changes=changes, services=services().to_dict("records"))
    periods = period_bounds(log.start, log.end, "quarter")
    scorer = PlanScorer(plan_with(**gate), log.services, periods)
    scorer.commit(log, 0)
    honest = scorer.score(log, 1).teams.set_index("team_id")
    assert not honest.loc["T1", "gated"] and honest.loc["T1", "score_pct"] > 0
    # a candidate of T1 that pushes one change past the CAB without a reason, scored beside
    # the record as the teams weigh their moves
    own = log.changes.assign(team_id=log.changes["team_id"].replace("T1", "T1#0"))
    pushed = {**emergency("2025-05-20", None), "team_id": "T1#0", "change_id": "CHG-cand"}
    rows = pd.concat([log.changes, own, pd.DataFrame([pushed])], ignore_index=True)
    both = replace(log, changes=rows)
    scored = scorer.score(both, 1, team_of={"T1#0": "T1"}).teams.set_index("team_id")
    assert scored.loc["T1#0", "gated"] and scored.loc["T1#0", "score_pct"] == 0
    assert not scored.loc["T1", "gated"]


def test_a_gate_beside_a_penalised_metric_reads_its_own_count():
    # the penalised metric's gross throughput and its defects are measured in the same call
    # as the gate's count; none of them may be taken for the gate's KPI
    fields = {"gates": [{"kpi": "unjustified_emergency_count", "at_least": 1}]}
    penalty = {"defect_penalty": {"window_days": 14, "per_incident": 1}}
    changes = [change(f"2025-0{m}-10") for m in (1, 2, 4, 5)]
    incidents = [caused(0, pd.Timestamp("2025-01-10") + 2 * HOUR)]
    log = make_log(incidents, changes, services=services().to_dict("records"))
    periods = period_bounds(log.start, log.end, "quarter")
    scorer = PlanScorer(plan_with(penalty, **fields), log.services, periods)
    measured = scorer.measure(log, 0).set_index(["team_id", "item"])
    assert measured.loc[("T1", "gate"), "value"] == 0
    assert measured.loc[("T1", "metric"), "value"] == 1  # two changes, one defect
    scorer.commit(log, 0)
    assert not scorer.score(log, 1).teams.set_index("team_id").loc["T1", "gated"]


def test_the_guards_are_measurable_on_the_small_scenario(small_scenario):
    assert check_plan_against_scenario(load_plan("throughput_guarded"), small_scenario) == []


# --- what the guards buy, paired over seeds ---------------------------------------------------

SEEDS = range(12)


def _plan_quarters(run):
    """The truth's changes implemented in the plan's quarters, and the levers held in them."""
    labels = run.behaviour["period"].drop_duplicates().tolist()[run.plan.start_after_periods :]
    bounds = period_bounds(run.truth.start, run.truth.end, "quarter")
    start = bounds.loc[bounds["label"] == labels[0], "start"].iloc[0]
    changes = run.truth.changes
    done = changes.loc[changes["implemented_at"] >= start]
    levers = run.behaviour.loc[run.behaviour["period"].isin(labels)]
    return done, levers


def _true_success_rate(run) -> float:
    done, _ = _plan_quarters(run)
    return float((~done["failed"]).mean())


def _emergency_abuse(run) -> float:
    return float(_plan_quarters(run)[1]["emergency_abuse"].mean())


@pytest.fixture(scope="module")
def penalised_runs(small_scenario):
    """Per seed: throughput_only, and the same with throughput_guarded's defect penalty."""
    plain = load_plan("throughput_only")
    penalised = plain.model_copy(update={"metrics": load_plan("throughput_guarded").metrics})
    return {
        (name, seed): run_plan(small_scenario, plan, seed)
        for seed in SEEDS
        for name, plan in (("plain", plain), ("guarded", penalised))
    }


@pytest.fixture(scope="module")
def gated_runs(small_scenario):
    """Per seed: throughput_only, and the same with throughput_guarded's justification gate.

    Over 3 years, as in the stylised facts: within the first plan year CAB skipping hardly
    emerges under throughput_only, which would leave the gate nothing to hold down.
    """
    horizon = small_scenario.horizon.model_copy(update={"years": 3})
    scenario = small_scenario.model_copy(update={"horizon": horizon})
    plain = load_plan("throughput_only")
    gated = plain.model_copy(update={"gates": load_plan("throughput_guarded").gates})
    return {
        (name, seed): run_plan(scenario, plan, seed)
        for seed in SEEDS
        for name, plan in (("plain", plain), ("guarded", gated))
    }


def _paired(runs, measure) -> np.ndarray:
    """Guarded minus plain, seed by seed."""
    return np.array([measure(runs["guarded", s]) - measure(runs["plain", s]) for s in SEEDS])


@pytest.mark.slow
def test_the_defect_penalty_keeps_true_change_success_at_least_as_high(penalised_runs):
    gain = _paired(penalised_runs, _true_success_rate)
    # a team year's change success sways by about 0.01, and the penalty's pull on care is
    # small against the pace care costs; a mean 0.002 below plain throughput would mean the
    # penalty bought the opposite of what it is for
    assert gain.mean() > -0.002, gain


@pytest.mark.slow
def test_the_justification_gate_holds_emergency_abuse_down(gated_runs):
    fall = -_paired(gated_runs, _emergency_abuse)
    assert fall.mean() > 0, fall
