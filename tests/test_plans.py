"""Tests of plan loading (strictness, ``extends``, cross-checks, diffs) and of the plan library."""

import textwrap
from pathlib import Path

import pytest

from toolkit.config import ConfigError
from toolkit.metrics import period_bounds
from toolkit.plans import (
    PLANS_DIR,
    PlanScorer,
    library_plans,
    load_plan,
    plan_diff,
    resolve_plan_path,
)

LIBRARY = [
    "no_incentive",
    "mttr_only",
    "throughput_only",
    "sla_attainment",
    "change_safety",
    "balanced",
    "balanced_guarded",
    "careful",
    "throughput_guarded",
]

METRIC = """
  - kpi: {kpi}
    weight: 1
    basis: level
    curve:
      kind: linear
      threshold: {{level: {t}, payout_pct: 50}}
      target: {{level: {g}, payout_pct: 100}}
      maximum: {{level: {m}, payout_pct: 150}}
"""


def write(directory, name, text):
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def plan_text(name, body="", extends=None):
    head = f"name: {name}\ndescription: A test plan.\n"
    if extends:
        head += f"extends: {extends}\n"
    return head + textwrap.dedent(body)


def mttr(t=40, g=30, m=20):
    return METRIC.format(kpi="mttr_mean_hours", t=t, g=g, m=m)


def problems(excinfo):
    return [(p.path, p.reason) for p in excinfo.value.problems]


# --- the library ---------------------------------------------------------------------------


def test_library_is_complete_and_named_after_its_files():
    assert sorted(p.stem for p in PLANS_DIR.glob("*.yaml")) == sorted(LIBRARY)
    readme = (PLANS_DIR / "README.md").read_text()
    for name in LIBRARY:
        plan = load_plan(name)
        assert plan.name == name
        assert "meant to show" in plan.description.lower()
        assert f"`{name}`" in readme
        assert load_plan(PLANS_DIR / f"{name}.yaml") == plan  # a path works as well as a name


def test_library_plans_lists_the_baseline_first(tmp_path):
    names = library_plans()
    assert names[0] == "no_incentive" and sorted(names) == sorted(LIBRARY)
    for name in ("b", "no_incentive", "a"):
        (tmp_path / f"{name}.yaml").write_text("name: x\n")
    (tmp_path / "notes.txt").write_text("not a plan")
    assert library_plans(tmp_path) == ["no_incentive", "a", "b"]


def test_library_shape():
    plans = {name: load_plan(name) for name in LIBRARY}
    assert plans["no_incentive"].metrics == [] and plans["no_incentive"].target_award_pct == {}
    assert plans["no_incentive"].default_target_award_pct == 0
    for name, plan in plans.items():
        assert plan.start_after_periods == 4 and plan.performance_period_years == 3
        assert plan.grant_every_years == 1
        if name != "no_incentive":
            assert plan.target_award_pct["G3"] == 10 and plan.target_award_pct["G8"] == 30
    assert [m.kpi for m in plans["mttr_only"].metrics] == ["mttr_mean_hours"]
    assert [m.kpi for m in plans["throughput_only"].metrics] == ["change_throughput"]
    assert [m.kpi for m in plans["sla_attainment"].metrics] == ["sla_attainment"]
    assert plans["change_safety"].gates and plans["change_safety"].counter_metrics
    funded = [n for n, p in plans.items() if p.funding is not None]
    capped = [n for n, p in plans.items() if p.cap is not None]
    assert len(funded) >= 2 and len(capped) >= 2
    balanced = plans["balanced"]
    assert not balanced.audit.root_cause_audit
    assert all(
        {"vendor", "external"} <= set(m.exclude_root_causes)
        for m in balanced.metrics
        if m.kpi in ("mttr_mean_hours", "sla_attainment", "availability")
    )


def test_balanced_guarded_extends_balanced():
    balanced, guarded = load_plan("balanced"), load_plan("balanced_guarded")
    assert guarded.extends == "balanced" and balanced.extends is None
    assert guarded.metrics == balanced.metrics  # inherited
    assert guarded.funding == balanced.funding and guarded.cap == balanced.cap
    assert {c.kpi for c in guarded.counter_metrics} == {
        "on_hold_share",
        "reopen_rate",
        "minor_incident_share",
        "priority_change_rate",
    }
    assert [g.kpi for g in guarded.gates] == ["unauthorized_count"]
    assert guarded.audit.root_cause_audit and guarded.audit.probability_per_period > 0
    assert guarded.audit.detection_power == balanced.audit.detection_power  # merged key by key
    assert guarded.malus and guarded.clawback and guarded.vesting.deferral_share > 0
    assert guarded.description != balanced.description


def test_plan_diff_documents_a_reform():
    balanced, guarded = load_plan("balanced"), load_plan("balanced_guarded")
    diff = plan_diff(guarded, balanced)
    assert diff["audit.root_cause_audit"] == (False, True)
    assert diff["extends"] == (None, "balanced")
    assert diff["malus"][0] is None and diff["malus"][1]["reduction"] == 0.5
    assert diff["gates"] == ([], [{"kpi": "unauthorized_count", "at_least": 5.0}])
    assert not any(key.startswith("metrics") for key in diff)
    assert plan_diff(balanced, balanced) == {}
    heavier = balanced.model_copy(
        update={"metrics": [balanced.metrics[0].model_copy(update={"weight": 0.5})]}
    )
    assert plan_diff(heavier, balanced)["metrics"][1][0]["weight"] == 0.5  # lengths differ
    same_length = balanced.model_copy(
        update={
            "metrics": [
                balanced.metrics[0].model_copy(update={"weight": 0.5}),
                *balanced.metrics[1:],
            ]
        }
    )
    assert plan_diff(same_length, balanced) == {"metrics[0].weight": (0.2, 0.5)}


@pytest.mark.parametrize("name", LIBRARY)
def test_library_plans_score_the_small_scenario(name, small_log):
    periods = period_bounds(small_log.start, small_log.end, "quarter")
    scorer = PlanScorer(load_plan(name), small_log.services, periods)
    for k in range(len(periods)):
        scores = scorer.commit(small_log, k)
        teams = scores.teams
        assert set(teams["team_id"]) == set(small_log.services["team_id"])
        assert teams["score_pct"].between(0, 200).all()
        if k < 4 or name == "no_incentive":
            assert (teams["score_pct"] == 0).all()


# --- extends -------------------------------------------------------------------------------


def test_child_is_a_small_diff_over_its_parent(tmp_path):
    write(
        tmp_path,
        "base",
        plan_text("base", "metrics:" + mttr() + "cap:\n  pct_of_personnel_cost: 30\n"),
    )
    write(
        tmp_path,
        "child",
        plan_text(
            "child",
            "cap: null\naudit:\n  probability_per_period: 0.2\n",
            extends="base",
        ),
    )
    child = load_plan("child", search_dir=tmp_path)
    assert child.name == "child" and child.description == "A test plan."
    assert [m.kpi for m in child.metrics] == ["mttr_mean_hours"]
    assert child.cap is None  # a null replaces the parent's mapping
    assert child.audit.probability_per_period == 0.2


def test_child_must_give_its_own_name_and_description(tmp_path):
    write(tmp_path, "base", plan_text("base", "metrics:" + mttr()))
    path = write(tmp_path, "child", "extends: base\n")
    with pytest.raises(ConfigError) as excinfo:
        load_plan(path, search_dir=tmp_path)
    assert excinfo.value.source == str(path)
    assert {p for p, _ in problems(excinfo)} == {"name", "description"}


def test_parent_is_found_beside_the_child_first(tmp_path):
    write(tmp_path, "balanced", plan_text("balanced", "metrics:" + mttr()))
    path = write(tmp_path, "reform", plan_text("reform", extends="balanced"))
    assert len(load_plan(path).metrics) == 1  # the local 'balanced', not the library's


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path, "a", plan_text("a", extends="b"))
    write(tmp_path, "b", plan_text("b", extends="c"))
    write(tmp_path, "c", plan_text("c", extends="a"))
    with pytest.raises(ConfigError) as excinfo:
        load_plan("a", search_dir=tmp_path)
    [(path, reason)] = problems(excinfo)
    assert path == "extends" and "cycle: a -> b -> c -> a" in reason
    assert excinfo.value.source == str(tmp_path / "a.yaml")  # the file being loaded


def test_self_extension_is_a_cycle(tmp_path):
    write(tmp_path, "a", plan_text("a", extends="a"))
    with pytest.raises(ConfigError, match=r"a\.yaml: extends: .*cycle"):
        load_plan("a", search_dir=tmp_path)


def test_missing_parent_is_refused_with_a_suggestion(tmp_path):
    write(tmp_path, "base_plan", plan_text("base_plan"))
    path = write(tmp_path, "child", plan_text("child", extends="base_plann"))
    with pytest.raises(ConfigError) as excinfo:
        load_plan(path, search_dir=tmp_path)
    assert excinfo.value.source == str(path)
    [(key, reason)] = problems(excinfo)
    assert key == "extends"
    assert "no plan named 'base_plann'" in reason and "did you mean 'base_plan'?" in reason


def test_names_and_paths_resolve(tmp_path):
    assert resolve_plan_path("mttr_only") == PLANS_DIR / "mttr_only.yaml"
    assert resolve_plan_path("x", tmp_path) == tmp_path / "x.yaml"
    assert resolve_plan_path("my_plans/x") == Path("my_plans/x")
    assert resolve_plan_path("x.yml") == Path("x.yml")


def test_unknown_bare_name_suggests_a_library_plan():
    with pytest.raises(ConfigError, match="did you mean 'mttr_only'"):
        load_plan("mttr_onyl")


def test_errors_name_the_file_the_key_came_from(tmp_path):
    parent = write(
        tmp_path,
        "parent",
        plan_text(
            "parent",
            "metrics:"
            + mttr()
            + "counter_metrics:\n"
            + "  - {kpi: reopen_rate, trigger: {above: 0.1}, action: zero_metric,"
            + " metric: mttr_mean_hours}\n",
        ),
    )
    sla = METRIC.format(kpi="sla_attainment", t=0.8, g=0.9, m=0.95)
    write(tmp_path, "child", plan_text("child", "metrics:" + sla, extends="parent"))
    with pytest.raises(ConfigError) as excinfo:
        load_plan("child", search_dir=tmp_path)
    assert excinfo.value.source == str(parent)  # the dangling reference was set in the parent
    assert problems(excinfo)[0][0] == "counter_metrics[0].metric"

    # Problems from both files: the loaded file is the source, the parent's are marked.
    parent = write(tmp_path, "parent", plan_text("parent", "cap:\n  pct_of_personnel_cost: 500\n"))
    child = write(
        tmp_path, "child", plan_text("child", "start_after_periods: 0\n", extends="parent")
    )
    with pytest.raises(ConfigError) as excinfo:
        load_plan("child", search_dir=tmp_path)
    assert excinfo.value.source == str(child)
    lines = excinfo.value.lines()
    assert any(line.startswith(f"{child}: start_after_periods:") for line in lines)
    assert any(
        line.startswith(f"{child}: cap.pct_of_personnel_cost:") and f"(set in {parent})" in line
        for line in lines
    )


# --- strictness and cross-checks -----------------------------------------------------------------


def refused(tmp_path, body):
    path = write(tmp_path, "bad", plan_text("bad", body))
    with pytest.raises(ConfigError) as excinfo:
        load_plan(path)
    assert excinfo.value.source == str(path)
    return problems(excinfo)


def test_unknown_key_is_refused_with_a_hint(tmp_path):
    [(path, reason)] = refused(tmp_path, "metrics:" + mttr().replace("weight:", "wieght:"))
    assert path == "metrics[0].wieght" and "did you mean 'weight'?" in reason
    [(path, reason)] = refused(tmp_path, "audit:\n  root_cause_audt: true\n")
    assert path == "audit.root_cause_audt" and "did you mean 'root_cause_audit'?" in reason


def test_unknown_kpi_gets_the_closest_name(tmp_path):
    [(path, reason)] = refused(
        tmp_path, "metrics:" + mttr().replace("mttr_mean_hours", "mttr_mean_hour")
    )
    assert path == "metrics[0].kpi" and "did you mean 'mttr_mean_hours'?" in reason
    [(path, reason)] = refused(tmp_path, "gates:\n  - {kpi: unauthorised_count, at_least: 2}\n")
    assert path == "gates[0].kpi" and "did you mean 'unauthorized_count'?" in reason


def test_per_priority_variants_are_known(tmp_path):
    path = write(tmp_path, "ok", plan_text("ok", "metrics:" + mttr().replace("hours", "hours_p1")))
    assert load_plan(path).metrics[0].kpi == "mttr_mean_hours_p1"


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ("metrics:" + mttr() + mttr(50, 35, 25), "metrics[1]", "repeats metrics[0]"),
        (
            "metrics:" + mttr() + "counter_metrics:\n  - {kpi: reopen_rate, trigger: {above: 0.1},"
            " action: zero_metric, metric: sla_attainment}\n",
            "counter_metrics[0].metric",
            "not among the plan's metrics",
        ),
        ("gates:\n  - {kpi: reopen_rate, at_least: 2}\n", "gates[0].kpi", "count KPI"),
        (
            "metrics:" + METRIC.format(kpi="sla_attainment", t=80, g=90, m=95),
            "metrics[0].curve",
            "share",
        ),
        ("metrics:" + mttr(20, 30, 40), "metrics[0].curve", "pays more for a higher"),
        (
            "metrics:"
            + mttr().replace("basis: level", "basis: level\n    normalisation: expected_volume"),
            "metrics[0].normalisation",
            "count KPI",
        ),
        (
            "attribution: shapley\nmetrics:"
            + METRIC.format(kpi="incident_volume", t=1.2, g=1.0, m=0.8).replace(
                "basis: level", "basis: level\n    normalisation: expected_volume"
            ),
            "metrics[0].normalisation",
            "attribution 'owner' only",
        ),
    ],
)
def test_cross_checks(tmp_path, body, key, words):
    found = refused(tmp_path, body)
    assert any(path == key and words in reason for path, reason in found), found


def test_improvement_levels_must_be_reachable(tmp_path):
    body = "metrics:" + mttr(0.0, 0.5, 1.5).replace("basis: level", "basis: improvement")
    [(path, reason)] = refused(tmp_path, body)
    assert path == "metrics[0].curve" and "at most 1" in reason
