"""Module 2's notebook runs whole; its checkers judge answers and its paragraphs follow numbers."""

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from toolkit.course import performance_metrics as pm
from toolkit.course.catalogue import module
from toolkit.course.sections import section_problems
from toolkit.metrics.lead_lag import LeadLag

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks/modules/02_performance_metrics.ipynb"
SEEDS = 2


@pytest.fixture(scope="module")
def executed(course):
    """The notebook as the course build executed it on small with two seeds, and its runs."""
    root, _ = course
    notebook = nbformat.read(root / "modules" / f"{module(2).stem}.ipynb", as_version=4)
    return notebook, root / "runs" / module(2).stem


@pytest.fixture(scope="module")
def world():
    return pm.world_logs("small", [0])


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    notebook, runs = executed
    assert section_problems(nbformat.from_dict(notebook), module(2)) == []
    assert {p.name for p in runs.iterdir()} >= {"2.3", "2.4", "2.5"}
    # the committed starting values do not meet any goal
    checks = [
        output["data"]["text/markdown"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "Exercise check" in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


# -- 2.1 ----------------------------------------------------------------------------------------


def _lags(coefficients, half_width):
    """A lead–lag result whose lags 0..n-1 have these coefficients and ± half_width intervals."""
    rows = [
        {"term": f"lag {k}", "lag": k, "coefficient": c, "ci_low": c - half_width}
        | {"ci_high": c + half_width, "nobs": 40}
        for k, c in enumerate(coefficients)
    ]
    total = sum(coefficients)
    rows.append(
        {"term": "sum", "lag": None, "coefficient": total, "ci_low": total - 2 * half_width}
        | {"ci_high": total + 2 * half_width, "nobs": 40}
    )
    regression = pd.DataFrame(rows).astype({"lag": "Int64"})
    return LeadLag("reliability_effort", "incident_volume", pd.DataFrame(), regression)


def test_the_indicator_check_wants_both_kinds_and_the_first_clear_lag():
    result = _lags([-30.0, -5.0, -20.0], 10.0)  # lag 1's interval crosses zero, lag 2's does not
    good = pm.check_indicator_set(["change_success_rate", "mttr_mean_hours"], 2, result)
    assert good.met and "1 leading" in good.why and "1 lagging" in good.why
    assert not pm.check_indicator_set(["change_success_rate", "mttr_mean_hours"], 1, result)
    only_lagging = pm.check_indicator_set(["mttr_mean_hours", "availability"], 2, result)
    assert not only_lagging and "no leading indicator" in only_lagging.why
    with pytest.raises(ValueError, match="did you mean 'mttr_mean_hours'"):
        pm.check_indicator_set(["mttr_mean_hour"], 2, result)


def test_the_lead_lag_paragraph_follows_the_numbers():
    leads = pm.interpret_lead_lag(_lags([-30.0, -25.0], 10.0))
    assert "-55.0" in leads and "lag 1 (-25.0" in leads and "clearly below zero" in leads
    flat = pm.interpret_lead_lag(_lags([-3.0, 1.0], 10.0))
    assert "-2.0" in flat and "does not lead" in flat and "not distinguishable" in flat


# -- 2.2 ----------------------------------------------------------------------------------------


def _curve(threshold, target, maximum):
    return {
        "kind": "linear",
        "threshold": {"level": threshold, "payout_pct": 50},
        "target": {"level": target, "payout_pct": 100},
        "maximum": {"level": maximum, "payout_pct": 150},
    }


def test_the_normalisation_check_refuses_raw_counts_and_accepts_observed_expected(world):
    raw = {"kpi": "incident_volume", "weight": 1, "basis": "level", "curve": _curve(250, 150, 80)}
    normalised = {**raw, "normalisation": "expected_volume", "curve": _curve(1.2, 1.0, 0.8)}
    refused, accepted = (
        pm.check_normalisation(raw, world),
        pm.check_normalisation(normalised, world),
    )
    assert not refused and accepted
    # the reason: on raw counts the team on the oldest platforms earns nothing, on O/E it does
    assert "platform (oldest platforms) is paid 0 %" in refused.why
    assert "platform (oldest platforms) is paid 0 %" not in accepted.why
    with pytest.raises(ValueError, match="must reward incident_volume"):
        pm.check_normalisation({**raw, "kpi": "mttr_mean_hours"}, world)


def _incidents(raw_payouts, ratios):
    return pd.DataFrame(
        {
            "team_id": ["old", "new"],
            "platform_age_mean": [20.0, 3.0],
            "incidents": [300.0, 60.0],
            "expected": [300.0 / ratios[0], 60.0 / ratios[1]],
            "observed_expected": ratios,
            "payout_raw_pct": raw_payouts,
            "payout_normalised_pct": [110.0, 100.0],
        }
    )


def test_the_normalisation_paragraph_follows_the_numbers():
    fairer = pm.interpret_normalisation(_incidents([0.0, 150.0], [0.95, 1.05]))
    assert "old, on the oldest platforms (mean age 20.0 years)" in fairer
    assert "0.95" in fairer and "150 points on raw counts and 10" in fairer
    assert "rather than on what they inherited" in fairer
    same = pm.interpret_normalisation(_incidents([100.0, 105.0], [1.30, 1.05]))
    assert "1.30" in same and "does not narrow the gap" in same


# -- 2.3 ----------------------------------------------------------------------------------------


def test_the_baseline_check_reads_the_sections_runs(executed):
    _, runs = executed
    args = ("mttr_only", "small", SEEDS, runs / "2.3")
    rolling = pm.check_baseline("rolling", None, *args)
    batch = pd.read_parquet(runs / "2.3" / "runs.parquet")
    assert batch["cached"].all()  # the section's fixed and rolling runs, reused
    # on small the rolling baseline follows the mainframe's drift: platform gains most
    assert (
        rolling.met
        and "platform earns" in rolling.why
        and "largest gain is platform" in rolling.why
    )
    assert not pm.check_baseline("fixed", None, *args)
    ratchet = pm.check_baseline("ratchet", None, *args)
    assert not ratchet and "platform earns 0 EUR more" in ratchet.why


def _baselines(change_old, correlation):
    rows = []
    for policy, change in (("fixed", 0.0), ("rolling", change_old)):
        for team, age, delta in (("old", 20.0, change), ("new", 3.0, -change)):
            rows.append(
                {"team_id": team, "policy": policy, "compared_with": "fixed"}
                | {"award_change": delta, "award_change_ci_low": delta - 100.0}
                | {"award_change_ci_high": delta + 100.0, "platform_age_mean": age}
            )
    effect = pd.DataFrame([{"policy": "rolling", "age_measure": "platform_age_mean"}]).assign(
        correlation=correlation, p_value=0.5
    )
    return pd.DataFrame(rows), effect


def test_the_baseline_paragraph_follows_the_numbers():
    gains = pm.interpret_baselines(*_baselines(2500.0, 0.9))
    assert "old earns 2,500 EUR more" in gains and "clearly above zero" in gains
    assert "correlates 0.90" in gains
    loses = pm.interpret_baselines(*_baselines(-50.0, -0.4))
    assert "old earns -50 EUR more" in loses and "not distinguishable" in loses
    assert "correlates -0.40" in loses


# -- 2.4 ----------------------------------------------------------------------------------------


def test_the_exclusion_check_wants_every_supplier_cause_out_and_audited(world, tmp_path):
    audited = {"probability_per_period": 0.25, "root_cause_audit": True}
    args = (world, "small", [0], tmp_path)
    good = pm.check_exclusions(["vendor", "external"], audited, *args)
    assert good.met and good.why.startswith("0 of ")
    external = int((world.logs[0].incidents["root_cause"] == "external").sum())
    assert external > 0  # so that excluding vendors alone leaves some charged
    vendor_only = pm.check_exclusions(["vendor"], audited, *args)
    assert not vendor_only and vendor_only.why.startswith(f"{external} of ")
    unaudited = {**audited, "root_cause_audit": False}
    assert "chance 0 %" in pm.check_exclusions(["vendor", "external"], unaudited, *args).why


def _exclusions(gain_a, found):
    effect = pd.DataFrame(
        {
            "team_id": ["a", "b"],
            "kpi": ["availability", "availability"],
            "payout_all_pct": [10.0, 50.0],
            "payout_excluded_pct": [10.0 + gain_a, 52.0],
            "supplier_incidents": [3.5, 1.0],
        }
    )
    findings = pd.DataFrame(
        {
            "run": ["r0", "r0"],
            "team_id": ["a", "b"],
            "during": [0.02 if found else 0.0, 0.0],
            "found": [found, False],
        }
    )
    return effect, findings


def test_the_exclusion_paragraph_follows_the_numbers():
    found = pm.interpret_exclusions(*_exclusions(30.0, True))
    assert "most for a (10 % to 40 %" in found and "3.5 supplier" in found
    assert "finds misattribution for a" in found
    assert "balanced, which excludes external and vendor and audits no root causes" in found
    audited = pm.exclusion_plan(
        ["vendor"], {"probability_per_period": 0.2, "root_cause_audit": True}
    )
    clean = pm.interpret_exclusions(*_exclusions(1.0, False), audited)
    assert "most for b (50 % to 52 %" in clean and "no misattribution in 1 runs" in clean
    assert "excludes vendor and audits root causes with chance 20 %" in clean


# -- 2.5 ----------------------------------------------------------------------------------------


def test_the_tolerance_check_spares_minor_breaches_but_not_long_ones(world):
    good = pm.check_tolerance(0.10, world)
    assert good.met and "forgives 100 % of the minor" in good.why
    assert not pm.check_tolerance(0.0, world)
    wide = pm.check_tolerance(0.6, world)
    assert not wide and pm.breach_forgiveness(world, 0.6)["serious_forgiven"] > 0.25
    with pytest.raises(ValueError, match="fraction of the target"):
        pm.check_tolerance(-0.1, world)


def _bunching(paid_excess, found):
    bunching = pd.DataFrame(
        {
            "plan": ["no_incentive", "sla_attainment"],
            "team_id": ["ALL", "ALL"],
            "runs": [2, 2],
            "excess_share": [0.001, paid_excess],
            "runs_found": [0, found],
        }
    )
    bands = pd.DataFrame(
        {
            "tolerance": [0.0, 0.2],
            "attainment": [0.90, 0.95],
            "minor_forgiven": [0.0, 1.0],
            "serious_forgiven": [0.0, 0.3],
        }
    )
    return bunching, bands


def test_the_bunching_paragraph_follows_the_numbers():
    traced = pm.interpret_bunching(*_bunching(0.02, 2))
    assert "2.00 % of all resolutions under sla_attainment" in traced
    assert "leaves its trace" in traced and "30 % of the longer ones" in traced
    clean = pm.interpret_bunching(*_bunching(0.0005, 0))
    assert "0.05 %" in clean and "no clear trace" in clean


# -- 2.6 ----------------------------------------------------------------------------------------


def _credit(shapley_strong, shapley_weak):
    rows = [("owner", "strong", None), ("owner", "weak", None)]
    rows += [
        (rule, team, 150.0) for rule in ("equal", "contribution") for team in ("strong", "weak")
    ]
    rows += [("shapley", "strong", shapley_strong), ("shapley", "weak", shapley_weak)]
    table = pd.DataFrame(rows, columns=["rule", "team_id", "credit_per_stake"])
    table["own_attainment"] = table["team_id"].map({"strong": 0.95, "weak": 0.80})
    table["payout_pct"] = 100.0
    return table


def test_the_credit_check_wants_the_stronger_partner_credited_more():
    table = _credit(180.0, 120.0)
    assert pm.check_credit("shapley", table).met
    equal = pm.check_credit("equal", table)
    assert not equal and "a difference of 0.0" in equal.why
    assert not pm.check_credit("owner", table)
    with pytest.raises(ValueError, match="did you mean 'shapley'"):
        pm.check_credit("shapely", table)


def test_the_credit_paragraph_follows_the_numbers():
    apart = pm.interpret_credit(_credit(180.0, 120.0))
    assert "strong meets 95.0 %" in apart and "shapley 180 against 120" in apart
    close = pm.interpret_credit(_credit(151.0, 149.0))
    assert "shapley 151 against 149" in close and "equal 150 against 150" in close


def test_the_shared_world_picks_the_most_critical_service_and_another_team_by_default():
    world = pm.shared_world("default", [0], "", "")
    services = world.scenario.organisation.services
    chosen = min(services, key=lambda s: s.criticality)  # the first of the most critical
    assert chosen.criticality == 1
    assert chosen.supporting_teams and chosen.owning_team not in chosen.supporting_teams


def test_the_shared_world_names_an_unknown_service():
    with pytest.raises(ValueError, match="did you mean 'payments'"):
        pm.shared_world("small", [0], "payment", "platform")


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs", ".hidden", "a/b", "plans"])
def test_plan_runs_refuse_a_plan_name_that_is_no_directory_before_writing(tmp_path, name):
    from toolkit.experiments.derived import as_plan, variant

    plan = variant(as_plan("mttr_only"), name, "a name that is a path")
    out = tmp_path / "inner" / "out"
    with pytest.raises(ValueError, match="cannot name a directory of runs"):
        pm.plan_runs("small", ["no_incentive", plan], 1, out)
    with pytest.raises(ValueError, match="cannot name a directory of runs"):
        pm.run_logs(out, name)
    assert list(tmp_path.rglob("*")) == []
