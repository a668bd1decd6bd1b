"""``lti validate`` on everything a user writes: both corpora, plans against scenarios, bounds.

Anything that validates must run: every shipped scenario is simulated under every library plan,
and a pair the validation refuses is refused by ``lti simulate`` with the same lines.
"""

import copy
import math
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from toolkit.cli import main
from toolkit.cli.main import build_parser
from toolkit.config import ConfigError, Scenario, load_scenario
from toolkit.config.loading import document_kind, expected_events, validate_mapping
from toolkit.config.yaml_strict import MAX_DEPTH, read_yaml_mapping
from toolkit.plans import load_plan
from toolkit.plans.loading import check_plan_against_scenario, library_plans

from .conftest import ROOT, SCENARIOS

DATA = ROOT / "tests" / "data"
BAD_PLANS = sorted((DATA / "bad_plans").glob("*.yaml"))
BAD_SCENARIOS = sorted((DATA / "bad_scenarios").glob("*.yaml"))
PLANS = SCENARIOS / "plans"
HANG_GUARD_SECONDS = 5

# Every malformed plan has exactly one thing wrong: file -> a fragment of its one line.
EXPECTED_PLANS = {
    "alias_bomb.yaml": ": expands through aliases to more than 100,000 values",
    "approval_date_out_of_range.yaml": "provenance.approved_on: must lie between 1700-01-01",
    "counter_metric_zeroes_unrewarded.yaml": "counter_metrics[0].metric: 'sla_attainment' is not",
    "curve_levels_not_monotone.yaml": "metrics[0].curve: threshold, target and maximum levels",
    "curve_levels_reversed.yaml": "metrics[0].curve: the curve pays more for a lower improvement",
    "deep_nesting.yaml": f": nested more than {MAX_DEPTH} levels deep",
    "defect_penalty_on_mttr.yaml": "metrics[0].defect_penalty: a defect penalty takes changes off",
    "defect_penalty_without_per_incident.yaml": "defect_penalty.per_incident: required key is",
    "defect_window_zero.yaml": "metrics[0].defect_penalty.window_days: Input should be greater",
    "deferral_without_years.yaml": "vesting: deferral_share > 0 needs deferral_years >= 1",
    "duplicate_key.yaml": "metrics[0].weight: key 'weight' is given twice",
    "empty.yaml": ": file is empty",
    "extends_absolute_path.yaml": "extends: must name a plan",
    "extends_cycle_a.yaml": "extends: plans extend each other in a cycle: extends_cycle_a ->",
    "extends_cycle_b.yaml": "extends: plans extend each other in a cycle: extends_cycle_b ->",
    "extends_missing_parent.yaml": "extends: no plan named 'balancd'",
    "extends_parent_directory.yaml": "extends: must name a plan",
    "extends_with_separator.yaml": "extends: must name a plan",
    "gate_on_a_share.yaml": "gates[0].kpi: a gate sums its KPI over the plan year",
    "huge_award_percentage.yaml": "target_award_pct.G5: Input should be less than or equal to 1000",
    "improvement_below_minus_one.yaml": "change_throughput can fall by at most 1",
    "infinite_weight.yaml": "metrics[0].weight: must be a finite number (got '.inf')",
    "misspelt_key.yaml": "default_target_award_pc: unknown key; did you mean",
    "misspelt_metric_key.yaml": "metrics[0].bassis: unknown key; did you mean 'basis'?",
    "nan_in_bracket_list.yaml": "metrics[0].curve.brackets[1].level: must be a finite number",
    "neither_plan_nor_scenario.yaml": ": neither a scenario nor a plan",
    "not_utf8.yaml": ": not UTF-8 text",
    "scenario_and_plan_keys.yaml": ": mixes scenario keys (horizon) with plan keys",
    "top_level_list.yaml": ": top level must be a mapping of keys, not a list",
    "trigger_with_two_conditions.yaml": "counter_metrics[0].trigger: give exactly one of",
    "unknown_attribution.yaml": "attribution: Input should be 'owner'",
    "unknown_kpi.yaml": "metrics[0].kpi: unknown KPI 'mttr_mean_hour'",
    "unreachable_improvement.yaml": "mttr_mean_hours can improve by at most 1",
    "unreachable_level_on_share.yaml": "sla_attainment is a share, so its levels lie in 0..1",
    "wrong_type_weight.yaml": "metrics[0].weight: Input should be a valid number (got 'heavy')",
    "zero_weight.yaml": "metrics[0].weight: Input should be greater than 0",
}


@contextmanager
def hang_guard(seconds: float = HANG_GUARD_SECONDS):
    """Fail instead of hanging: a guard against runaway work, not a measure of speed."""

    def expire(signum, frame):
        raise TimeoutError(f"still busy after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def validate(capsys, *argv: str) -> tuple[int, list[str], str]:
    with hang_guard():
        code = main(["validate", *argv])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


# -- the corpora -----------------------------------------------------------------------------


def test_plan_corpus_and_expectations_list_the_same_files():
    assert len(BAD_PLANS) >= 20
    assert sorted(p.name for p in BAD_PLANS) == sorted(EXPECTED_PLANS)


def test_plan_corpus_files_say_what_is_wrong():
    for path in BAD_PLANS:
        raw = path.read_bytes()
        assert raw == b"" if path.name == "empty.yaml" else raw.startswith(b"# BAD PLAN: ")


@pytest.mark.parametrize(
    "path",
    [*BAD_PLANS, *BAD_SCENARIOS],
    ids=[f"{p.parent.name}/{p.stem}" for p in [*BAD_PLANS, *BAD_SCENARIOS]],
)
def test_each_bad_file_gets_one_line_and_exit_2(path, capsys):
    started = time.perf_counter()
    code, lines, out = validate(capsys, str(path))
    assert time.perf_counter() - started < HANG_GUARD_SECONDS
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ")
    assert "Traceback" not in lines[0]
    assert out == ""
    if path.parent.name == "bad_plans":
        assert EXPECTED_PLANS[path.name] in lines[0]


# -- plans and scenarios told apart by content -----------------------------------------------


def test_shipped_plans_and_scenarios_validate_together(capsys):
    files = [*sorted(SCENARIOS.glob("*.yaml")), *sorted(PLANS.glob("*.yaml"))]
    code, lines, out = validate(capsys, *map(str, files))
    assert code == 0, lines
    assert out.count(": ok (scenario ") == len(list(SCENARIOS.glob("*.yaml")))
    assert out.count(": ok (plan ") == len(list(PLANS.glob("*.yaml")))


def test_kind_comes_from_content_not_from_name_or_folder(tmp_path, capsys):
    disguised = tmp_path / "scenarios" / "plans"
    disguised.mkdir(parents=True)
    scenario = disguised / "balanced.yaml"  # a scenario where plans live, named like one
    scenario.write_text((SCENARIOS / "small.yaml").read_text())
    plan = tmp_path / "scenarios" / "small.yaml"  # a plan named like a scenario
    plan.write_text((PLANS / "mttr_only.yaml").read_text())
    code, lines, out = validate(capsys, str(scenario), str(plan))
    assert code == 0, lines
    assert f"{scenario}: ok (scenario 'small'" in out
    assert f"{plan}: ok (plan 'mttr_only'" in out


def test_plan_is_checked_as_strictly_as_the_run(tmp_path, capsys):
    child = tmp_path / "reform.yaml"
    child.write_text(
        "name: reform\ndescription: d\nextends: balanced\n"
        + one_metric("mttr_mean_hours", "level", (10, 20, 30))
    )
    code, lines, _ = validate(capsys, str(child))
    assert code == 2
    assert lines == [
        f"{child}: metrics[0].curve: the curve pays more for a higher mttr_mean_hours, which "
        "is worse; reverse its levels"
    ]


def test_unknown_top_level_keys_get_a_hint(tmp_path):
    path = tmp_path / "x.yaml"
    with pytest.raises(ConfigError, match="'organisaton' might be 'organisation'"):
        document_kind({"name": "x", "organisaton": {}}, path)


# -- a plan against a scenario -----------------------------------------------------------------


def small_data() -> dict:
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def scenario_from(data: dict) -> Scenario:
    return validate_mapping(Scenario, data, "test.yaml")


def plan_file(tmp_path: Path, body: str, name: str = "p") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndescription: d\n{body}")
    return path


def problems(plan_path: Path, scenario: Scenario) -> list[tuple[str, str]]:
    return [(p.path, p.reason) for p in check_plan_against_scenario(load_plan(plan_path), scenario)]


def one_problem(plan_path: Path, scenario: Scenario) -> tuple[str, str]:
    [problem] = problems(plan_path, scenario)
    return problem


def test_validate_with_scenario_reports_each_plan(capsys):
    code, lines, out = validate(
        capsys,
        str(PLANS / "mttr_only.yaml"),
        str(PLANS / "throughput_only.yaml"),
        "--scenario",
        str(SCENARIOS / "mmc.yaml"),
    )
    assert code == 2
    assert "mttr_only.yaml: ok (plan 'mttr_only': 1 metric" in out
    assert "fits scenario 'mmc'" in out
    assert lines == [
        f"{PLANS / 'throughput_only.yaml'}: metrics[0].kpi: change_throughput can never be "
        "measured on scenario 'mmc': the scenario makes no changes "
        "(environment.changes.rate_per_service_per_year is 0)"
    ]


def test_validate_takes_a_shipped_scenario_by_name_as_simulate_does(capsys):
    code, lines, out = validate(capsys, str(PLANS / "throughput_only.yaml"), "--scenario", "mmc")
    assert code == 2 and "change_throughput can never be measured on scenario 'mmc'" in lines[0]
    code, lines, out = validate(capsys, str(PLANS / "mttr_only.yaml"), "--scenario", "small")
    assert code == 0 and "fits scenario 'small'" in out


def test_validate_with_a_bad_scenario_names_the_scenario(capsys):
    bad = DATA / "bad_scenarios" / "infinite_rate.yaml"
    code, lines, _ = validate(capsys, str(PLANS / "mttr_only.yaml"), "--scenario", str(bad))
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"{bad}: ")


def test_grades_that_match_no_one_are_refused(tmp_path):
    path = plan_file(
        tmp_path, "target_award_pct: {'5': 10, '7': 20}\ndefault_target_award_pct: 5\n"
    )
    key, reason = one_problem(path, load_scenario(SCENARIOS / "small.yaml"))
    assert key == "target_award_pct"
    assert "none of its grades (5, 7) is a grade of scenario 'small' (G3, G4, G5, G6, G7)" in reason


def test_a_misspelt_grade_is_refused_with_the_grade_it_resembles(tmp_path):
    path = plan_file(tmp_path, "target_award_pct: {G3: 10, g5: 18}\ndefault_target_award_pct: 5\n")
    key, reason = one_problem(path, load_scenario(SCENARIOS / "small.yaml"))
    assert key == "target_award_pct.g5" and "did you mean 'G5'?" in reason


def test_grades_left_to_an_unset_default_are_refused(tmp_path):
    path = plan_file(tmp_path, "target_award_pct: {G3: 10, G4: 14}\n")
    key, reason = one_problem(path, load_scenario(SCENARIOS / "small.yaml"))
    assert key == "default_target_award_pct"
    assert "grades ['G5', 'G6', 'G7']" in reason and "silently get 0%" in reason
    explicit = plan_file(tmp_path, "target_award_pct: {G3: 10}\ndefault_target_award_pct: 0\n", "q")
    assert problems(explicit, load_scenario(SCENARIOS / "small.yaml")) == []


def test_a_plan_that_never_starts_is_refused(tmp_path):
    path = plan_file(tmp_path, "start_after_periods: 8\n")
    key, reason = one_problem(path, load_scenario(SCENARIOS / "small.yaml"))
    assert key == "start_after_periods"
    assert "has 8 (2 years in quarters)" in reason


def one_metric(kpi: str, basis: str, levels: tuple[float, float, float]) -> str:
    """A plan body rewarding one KPI on a linear curve through ``levels``."""
    points = ", ".join(
        f"{point}: {{level: {level}, payout_pct: {pay}}}"
        for point, level, pay in zip(
            ("threshold", "target", "maximum"), levels, (50, 100, 150), strict=True
        )
    )
    return (
        f"metrics:\n  - {{kpi: {kpi}, weight: 1, basis: {basis}, "
        f"curve: {{kind: linear, {points}}}}}\n"
    )


MTTR_P1 = one_metric("mttr_mean_hours_p1", "improvement", (-0.1, 0.05, 0.25))


def test_a_priority_no_incident_can_have_is_refused(tmp_path):
    path = plan_file(tmp_path, MTTR_P1)
    key, reason = one_problem(path, load_scenario(SCENARIOS / "mmc.yaml"))
    assert key == "metrics[0].kpi"
    assert "no incident can be recorded at priority 1 (only [3, 4])" in reason
    assert problems(path, load_scenario(SCENARIOS / "small.yaml")) == []


def test_surveys_without_responses_cannot_be_rewarded(tmp_path):
    data = small_data()
    data["environment"]["csat"]["response_rate"] = 0
    path = plan_file(tmp_path, one_metric("csat_mean", "level", (3, 4, 4.5)))
    key, reason = one_problem(path, scenario_from(data))
    assert key == "metrics[0].kpi" and "no surveys" in reason


def test_root_causes_the_scenario_never_produces_are_refused():
    key, reason = problems(PLANS / "change_safety.yaml", load_scenario(SCENARIOS / "mmc.yaml"))[0]
    assert key == "metrics[0].exclude_root_causes"
    assert "keeps only incidents caused by ['change']" in reason


def test_a_share_the_scenario_pins_is_refused(tmp_path):
    data = small_data()
    for kind in ("standard", "normal", "emergency", "unauthorized"):
        data["environment"]["changes"]["failure_probability"][kind] = 0.0
    path = plan_file(tmp_path, one_metric("change_success_rate", "improvement", (-0.1, 0.01, 0.02)))
    key, reason = one_problem(path, scenario_from(data))
    assert key == "metrics[0].kpi" and "no change can fail" in reason


def test_funding_from_budgets_that_are_all_zero_is_refused(tmp_path):
    data = small_data()
    for service in data["organisation"]["services"]:
        service["annual_budget"] = 0
    path = plan_file(tmp_path, "funding: {basis: service_budget, budget_share_pct: 2}\n")
    key, reason = one_problem(path, scenario_from(data))
    assert key == "funding.basis" and "nothing would ever be paid" in reason


def test_simulate_refuses_what_validate_refuses(tmp_path, capsys):
    with hang_guard():
        code = main(
            [
                "simulate",
                str(SCENARIOS / "mmc.yaml"),
                "--plan",
                "throughput_only",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    captured = capsys.readouterr()
    assert code == 2
    assert "metrics[0].kpi: change_throughput can never be measured" in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


# -- anything that validates must run --------------------------------------------------------


def _pairs():
    for scenario in sorted(SCENARIOS.glob("*.yaml")):
        marks = [pytest.mark.slow] if scenario.name == "default.yaml" else []
        for plan in library_plans():
            yield pytest.param(scenario, plan, id=f"{scenario.stem}-{plan}", marks=marks)


@pytest.mark.parametrize(("scenario", "plan"), list(_pairs()))
def test_every_shipped_scenario_runs_under_every_library_plan_it_validates_with(
    scenario, plan, tmp_path, capsys
):
    found = check_plan_against_scenario(load_plan(plan), load_scenario(scenario))
    out = tmp_path / "out"
    code = main(["simulate", str(scenario), "--plan", plan, "--seed", "0", "--out", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if found:
        assert code == 2
        assert len(captured.err.strip().splitlines()) == len(found)
    else:
        assert code == 0, captured.err
        assert (out / "summary.json").is_file()


def test_the_shipped_pairs_that_are_refused_are_only_those_on_the_queueing_check():
    refused = {
        (scenario.stem, plan)
        for scenario in SCENARIOS.glob("*.yaml")
        for plan in library_plans()
        if check_plan_against_scenario(load_plan(plan), load_scenario(scenario))
    }
    assert {scenario for scenario, _ in refused} <= {"mmc"}
    assert ("mmc", "no_incentive") not in refused and ("mmc", "mttr_only") not in refused


# -- seeds -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", str(2**63), "1.5"])
def test_a_seed_that_is_no_seed_is_refused_with_a_clear_message(value, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(
            ["simulate", str(SCENARIOS / "small.yaml"), "--seed", value, "--out", "x"]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seed: must be " in err and value in err


def test_seed_zero_is_a_seed():
    args = build_parser().parse_args(
        ["simulate", str(SCENARIOS / "small.yaml"), "--seed", "0", "--out", "x"]
    )
    assert args.seed == 0


# -- bounds on the YAML itself and on numbers --------------------------------------------------


def test_aliases_within_the_budget_are_plain_yaml(tmp_path):
    text = (SCENARIOS / "small.yaml").read_text()
    target = "sla_target_hours: {1: 8, 2: 24, 3: 72, 4: 120}"
    assert target in text
    path = tmp_path / "aliased.yaml"
    path.write_text(text.replace(target, "sla_target_hours: &sla {1: 8, 2: 24, 3: 72, 4: 120}"))
    assert load_scenario(path) == load_scenario(SCENARIOS / "small.yaml")


def test_nesting_just_within_the_limit_is_read(tmp_path):
    path = tmp_path / "nested.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert read_yaml_mapping(path)["a"] is not None


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * 2_000_000 + "\n")
    with pytest.raises(ConfigError, match="files larger than 1,000,000 are refused"):
        read_yaml_mapping(path)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused_from_python_too(value):
    data = copy.deepcopy(small_data())
    data["environment"]["incidents"]["reopen_delay_hours"] = value
    with pytest.raises(ConfigError, match="reopen_delay_hours: Input should be a finite number"):
        scenario_from(data)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("organisation", "business_units", 0, "id"), "ALL"),
        (("organisation", "vendors", 0, "id"), "ALL"),
        (("organisation", "teams", 0, "people", 0, "id"), "ALL"),
    ],
)
def test_the_aggregate_marker_is_no_id(where, value):
    data = small_data()
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(ConfigError, match="'ALL' is reserved"):
        scenario_from(data)


def test_the_latest_horizon_still_runs_inside_pandas(tmp_path):
    import pandas as pd

    from toolkit.config.scenario import EARLIEST_DATE, LATEST_DATE

    assert pd.Timestamp(EARLIEST_DATE) - pd.DateOffset(years=20) > pd.Timestamp.min
    assert pd.Timestamp(LATEST_DATE) + pd.DateOffset(years=40) < pd.Timestamp.max
    data = small_data()
    data["horizon"]["start"] = "2198-01-01"
    assert scenario_from(data).horizon.start.year == 2198


# -- extends ----------------------------------------------------------------------------------


def test_extends_may_not_follow_a_link_out_of_its_directory(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.yaml").write_text("name: secret\ndescription: d\n")
    here = tmp_path / "plans"
    here.mkdir()
    (here / "secret.yaml").symlink_to(outside / "secret.yaml")
    child = plan_file(here, "extends: secret\n", "child")
    with pytest.raises(ConfigError) as caught:
        load_plan(child)
    assert str(caught.value).startswith(f"{child}: extends: ")
    assert "outside this file's directory and the plan library" in str(caught.value)


@pytest.mark.parametrize("parent", ["../balanced", "/etc/passwd", "sub/balanced", "..", "a\\b"])
def test_extends_names_only_plans(tmp_path, parent):
    child = plan_file(tmp_path, f"extends: '{parent}'\n", "child")
    with pytest.raises(ConfigError, match="extends: must name a plan .* paths are refused"):
        load_plan(child)


def test_extends_with_a_file_suffix_says_to_drop_it(tmp_path):
    child = plan_file(tmp_path, "extends: balanced.yaml\n", "child")
    with pytest.raises(
        ConfigError, match="without its suffix \\('balanced', not 'balanced.yaml'\\)"
    ):
        load_plan(child)


def test_extends_finds_a_library_plan_from_anywhere(tmp_path):
    child = plan_file(tmp_path, "extends: balanced\naudit: {root_cause_audit: true}\n", "child")
    plan = load_plan(child)
    assert plan.audit.root_cause_audit and len(plan.metrics) == len(load_plan("balanced").metrics)


def test_expected_events_match_what_the_world_makes(small_scenario, small_log):
    expected = expected_events(small_scenario)
    # change-caused incidents are not in the estimate; they add a few percent
    not_from_changes = (small_log.incidents["root_cause"] != "change").sum()
    assert not_from_changes == pytest.approx(expected["incidents"], rel=0.05)
    assert len(small_log.changes) == pytest.approx(expected["changes"], rel=0.15)
