"""Module 1 notebook: every section whole once executed; its interpretations and checkers."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from toolkit.course import strategic_alignment as m1
from toolkit.course.catalogue import module
from toolkit.course.sections import section_problems
from toolkit.experiments.attribution_disputes import (
    dispute_table,
    route_disputes,
    routing_summary,
    rule_totals,
)
from toolkit.resources import SCENARIOS_DIR

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks/modules/01_strategic_alignment.ipynb"
SMALL = str(SCENARIOS_DIR / "small.yaml")


@pytest.fixture(scope="module")
def executed(course):
    """The notebook as the course build executed it (conftest.COURSE_PARAMETERS), its runs."""
    root, _ = course
    notebook = nbformat.read(root / "modules" / f"{module(1).stem}.ipynb", as_version=4)
    return notebook, root / "runs" / module(1).stem


def test_every_section_shows_a_result_its_reading_and_its_check(executed):
    notebook, root = executed
    assert section_problems(notebook, module(1)) == []
    shown = [
        output["data"]["text/markdown"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "text/markdown" in output.get("data", {})
    ]
    assert any(text.startswith("- 1.1:") and "- 1.6:" in text for text in shown)  # summary
    # every topic's runs went under the notebook's output directory, one directory per topic
    assert {p.name for p in root.iterdir()} == {
        "topic_1_1",
        "topic_1_2",
        "topic_1_3",
        "topic_1_5",
        "topic_1_6",
    }


WHERE = m1.setting("small", 2, "unused-runs")  # checkers below never run anything


def test_the_setting_resolves_names_and_refuses_mistakes():
    assert WHERE.scenario == SMALL and WHERE.out("1.5") == Path("unused-runs/topic_1_5")
    with pytest.raises(LookupError, match="'smal'.*'small'"):
        m1.setting("smal", 2, "x")
    with pytest.raises(ValueError, match="at least 1"):
        m1.setting("small", 0, "x")


def test_the_introduction_describes_the_scenario_it_runs_on():
    small = m1.introduction(WHERE)
    assert "**small**: 3 teams" in small and "2 seeds" in small and "alone" in small
    default = m1.introduction(m1.setting("default", 3, "runs"))
    assert "**default**" in default and "3 seeds" in default and "shared" in default


def _kpis(rows):
    columns = ["kpi", "gaming_index", "gaming_gap", "net_value"]
    table = pd.DataFrame(rows, columns=columns)
    return table.assign(
        status="ranked",
        reason=None,
        unit="hours",
        net_value_ci_low=table["net_value"] - 50,
        net_value_ci_high=table["net_value"] + 50,
    )


KPIS = _kpis(
    [
        ("mttr_mean_hours", 7.3, 0.57, 175_000.0),
        ("sla_attainment", 0.2, 0.001, 42_000.0),
        ("availability", 0.0, 0.0, -40_000.0),
    ]
)


def test_kpi_check_wants_the_most_valuable_ungamed_kpi():
    assert m1.check_kpi_choice("sla_attainment", KPIS, WHERE).met  # 0.2 < 1 point, 42,000 tops
    gamed = m1.check_kpi_choice("mttr_mean_hours", KPIS, WHERE)
    assert not gamed.met and "7.30 points" in gamed.why and gamed.hint
    poorer = m1.check_kpi_choice("availability", KPIS, WHERE)
    assert not poorer.met and "-40,000 EUR" in poorer.why
    # a looser bound makes the gamed KPI the answer
    assert m1.check_kpi_choice("mttr_mean_hours", KPIS, WHERE, max_gaming=10).met


def test_kpi_reading_follows_the_numbers():
    text = m1.interpret_kpi_ranking(KPIS)
    assert "**mttr_mean_hours** is gamed most" in text and "7.30 score points" in text
    assert "**sla_attainment** brings the most, 42,000 EUR" in text
    other = _kpis([("change_throughput", 3.0, 2.0, 9_000.0), ("csat_mean", 2.5, 0.1, 1_000.0)])
    text = m1.interpret_kpi_ranking(other)
    assert "**change_throughput** is gamed most" in text and "3.00 score points" in text
    assert "No KPI here stays below 1.00 points" in text


def _weights(reliability, awards, frontier=(True, True, True)):
    return pd.DataFrame(
        {
            "share_a": [0.0, 0.5, 1.0],
            "kpi_a": "mttr_mean_hours",
            "kpi_b": "change_throughput",
            "reliability_true": reliability,
            "delivery_value": [450_000.0, 425_000.0, 380_000.0],
            "total_awards": awards,
            "net_value": [-80_000.0, 60_000.0, 100_000.0],
            "net_value_ci_low": [-90_000.0, 10_000.0, -5_000.0],
            "net_value_ci_high": [-70_000.0, 90_000.0, 200_000.0],
            "frontier": list(frontier),
        }
    )


WEIGHTS = _weights([29.1, 28.3, 27.9], [35_500.0, 36_300.0, 40_100.0])


def test_weight_check_wants_the_cheapest_share_near_the_best_reliability():
    # 28.3 is within 2 % of 27.9 (bound 28.46), and 36,300 undercuts 40,100
    assert m1.check_weight_choice(0.5, WEIGHTS, WHERE).met
    dear = m1.check_weight_choice(1.0, WEIGHTS, WHERE)
    assert not dear.met and "40,100 EUR" in dear.why
    short = m1.check_weight_choice(0.0, WEIGHTS, WHERE)
    assert not short.met and "29.10" in short.why
    assert m1.check_weight_choice(0.0, WEIGHTS, WHERE, tolerance=0.05).met  # 29.1 < 29.3


def test_weight_reading_follows_the_numbers():
    text = m1.interpret_weight_sweep(WEIGHTS)
    assert "from 29.10 to 27.90 (better)" in text and "highest net value at 100 %" in text
    worse = _weights([27.0, 28.0, 29.0], [30_000.0, 31_000.0, 32_000.0], (True, False, False))
    text = m1.interpret_weight_sweep(worse)
    assert "from 27.00 to 29.00 (no better)" in text and "1 of 3 shares" in text
    assert "best true reliability comes at 0 %" in text


def _horizons(short_termism):
    return pd.DataFrame(
        {
            "variant": ["as_is", "one_year_cliff", "two_year_graded"],
            "performance_period_years": [3, 1, 2],
            "grant_every_years": [1, 1, 1],
            "vesting_schedule": ["cliff", "cliff", "graded"],
            "deferral_share": [0.0, 0.0, 0.0],
            "deferral_years": [0, 0, 0],
            "net_value": [0.0, -67_800.0, -9_900.0],
            "net_value_ci_low": [0.0, -90_000.0, -50_000.0],
            "net_value_ci_high": [0.0, -40_000.0, 30_000.0],
            "total_awards": [36_000.0, 106_800.0, 55_100.0],
            "short_termism": short_termism,
            "change_rate_shift": [0.09, 0.105, 0.117],
            "gaming_levers": [0.0, 0.042, 0.0],
            "reliability_shift": [0.0, 0.0, -0.013],
            "vesting_short_termism": [float("nan"), 0.187, 0.111],
        }
    )


HORIZONS = _horizons([0.093, 0.147, 0.13])


def test_horizon_check_reads_the_section_and_compares_with_the_bound():
    goal = m1.horizon_goal(HORIZONS)
    assert goal == pytest.approx(0.12)  # halfway between 0.093 and 0.147
    longer = m1.check_horizon_choice({"performance_period_years": 3}, HORIZONS, WHERE, goal)
    assert longer.met and "0.093" in longer.why  # the plan as it is, read from the table
    annual = {"performance_period_years": 1, "vesting": {"schedule": "cliff"}}
    check = m1.check_horizon_choice(annual, HORIZONS, WHERE, goal)
    assert not check.met and "0.147" in check.why and "0.120" in check.why
    invalid = m1.check_horizon_choice({"performance_period_years": 0}, HORIZONS, WHERE, goal)
    assert not invalid.met and "not a valid plan" in invalid.why


def test_horizon_reading_follows_the_numbers():
    text = m1.interpret_horizons(HORIZONS)
    assert "**one_year_cliff** tilts effort most" in text and "(0.147" in text
    assert "**as_is** least (0.093)" in text and "clearly below zero" in text
    text = m1.interpret_horizons(_horizons([0.2, 0.05, 0.1]))
    assert "**as_is** tilts effort most" in text and "**one_year_cliff** least (0.050)" in text


def _awards(spreads: dict[tuple[int, str, str], list[float]]) -> pd.DataFrame:
    rules = ["owner", "equal", "contribution", "shapley"]
    return pd.DataFrame(
        [
            {
                "seed": seed,
                "period": period,
                "team_id": team,
                "rule": rule,
                "score_pct": 100.0,
                "award": award,
                "shared_services": "payments",
            }
            for (seed, period, team), awards in spreads.items()
            for rule, award in zip(rules, awards, strict=True)
        ]
    )


AWARDS = _awards(
    {
        (0, "Q1", "apps"): [3_000, 1_000, 2_000, 2_500],  # 2,000 at stake
        (0, "Q1", "platform"): [500, 2_000, 1_200, 900],  # 1,500
        (0, "Q2", "apps"): [1_000, 400, 700, 900],  # 600
        (1, "Q1", "apps"): [1_000, 900, 950, 980],  # 100
    }
)
DISPUTES = dispute_table(AWARDS)


def test_dispute_goal_and_escalation_check():
    above, limit = m1.dispute_goal(DISPUTES)
    assert (above, limit) == (1_000.0, 1)  # median stake 1,050; two disputes above 1,000
    path = {"team leads": 0, "review board": 1_000, "CIO": 1_800}
    assert m1.check_escalation(path, DISPUTES, above, limit).met  # board: 1,500; CIO: 2,000
    lax = m1.check_escalation({"team leads": 0, "review board": 5_000}, DISPUTES, above, limit)
    assert not lax.met and "2 disputes above 1,000 EUR stay with the team leads" in lax.why
    swamped = m1.check_escalation({"team leads": 0, "review board": 500}, DISPUTES, above, limit)
    assert not swamped.met and "sees 3 disputes" in swamped.why
    nameless = m1.check_escalation({"team leads": 0, "board": 500}, DISPUTES, above, limit)
    assert not nameless.met and "'review board'" in nameless.hint
    bad = m1.check_escalation({"team leads": 0, "review board": -1}, DISPUTES, above, limit)
    assert not bad.met and "0 or more" in bad.why


def test_dispute_reading_follows_the_numbers():
    path = {"team leads": 0, "review board": 1_000, "CIO": 1_800}
    routed = route_disputes(DISPUTES, path)
    text = m1.interpret_disputes(routed, rule_totals(AWARDS), routing_summary(routed, path))
    assert "4 team plan-periods" in text and "4,200 EUR at stake" in text
    assert "team apps in Q1 (seed 0" in text and "2,000 EUR between owner (most) and equal" in text
    assert "most disputes go to the team leads (2" in text
    one = _awards({(0, "Q3", "platform"): [100, 900, 300, 200]})
    few = route_disputes(dispute_table(one), path)
    text = m1.interpret_disputes(few, rule_totals(one), routing_summary(few, path))
    assert "1 team plan-period is paid" in text and "team platform in Q3" in text
    assert "800 EUR between equal (most) and owner" in text
    empty = route_disputes(dispute_table(one, tolerance=1e6), path)
    assert "nothing to dispute" in m1.interpret_disputes(empty, rule_totals(one), None)


FIRED = pd.DataFrame(
    {
        "gate_kpi": "unauthorized_count",
        "at_least": [1.0, 2.0, 3.0, 4.0],
        "seeds": 2,
        "gated_team_periods": [6.5, 2.5, 0.5, 0.0],
        "gated_share": [0.54, 0.21, 0.04, 0.0],
        "runs_fired": [2, 1, 1, 0],
        "awards_removed": [20_000.0, 7_000.0, 2_400.0, 0.0],
        "awards_removed_ci_low": [-1.0, -1.0, -1.0, 0.0],
        "awards_removed_ci_high": [1.0, 1.0, 1.0, 0.0],
    }
)


def test_gate_check_wants_a_gate_that_bites_but_rarely():
    assert m1.check_gate_level(3, FIRED, WHERE).met  # fires once, 4 % of team periods
    often = m1.check_gate_level(2, FIRED, WHERE)
    assert not often.met and "21.0 %" in often.why
    never = m1.check_gate_level(4, FIRED, WHERE)
    assert not never.met and "never fires" in never.why
    assert m1.check_gate_level(2, FIRED, WHERE, max_share=0.25).met


def _levers(difference):
    return pd.DataFrame(
        {
            "lever": ["change_rate", "padding"],
            "kind": ["operational", "gaming"],
            "mean_without": [1.09, 0.2],
            "mean_with": [1.09 + difference[0], 0.2 + difference[1]],
            "difference": difference,
            "ci_low": [d - 0.01 for d in difference],
            "ci_high": [d + 0.01 for d in difference],
        }
    )


def test_gate_reading_follows_the_numbers():
    text = m1.interpret_gate(_levers([-0.02, 0.0]), FIRED.iloc[[1]])
    assert "at least 2" in text and "21.0 %" in text and "change_rate (operational)" in text
    assert "punishes luck" in text
    text = m1.interpret_gate(_levers([0.0, -0.15]), FIRED.iloc[[2]])
    assert "at least 3" in text and "4.0 %" in text and "gave up: padding" in text
    assert "repeated breaches" in text and "clearly below zero" in text


def _coefficients(vendor_ci, unit_ci):
    rows = [
        ("const", "const", None, False, 4.1, 4.0, 4.2),
        ("season[1]", "season", 1, False, 0.0, float("nan"), float("nan")),
        ("season[12]", "season", 12, False, -0.15, -0.28, -0.02),
        ("vendor_outage", "vendor_outage", True, False, -0.37, *vendor_ci),
        ("business_unit[retail]", "business_unit", "retail", False, 0.01, *unit_ci),
        ("sla_breached", "sla_breached", None, True, -1.13, -1.3, -0.98),
    ]
    table = pd.DataFrame(
        rows,
        columns=["term", "factor", "level", "controllable", "coefficient", "ci_low", "ci_high"],
    )
    return table.assign(estimated=table["term"] != "season[1]", surveys=100)


def _csat(observed, external):
    teams = ["ALL", "apps", "platform"]
    table = pd.DataFrame({"team_id": teams, "observed": observed, "external": external})
    return table.assign(surveys=[200, 120, 80], adjusted=table["observed"] - table["external"])


def test_csat_check_wants_exactly_the_established_outside_factors():
    weak = _coefficients((-0.8, 0.04), (-0.05, 0.07))
    assert m1.established_factors(weak) == ["season"]  # December's interval excludes zero
    assert m1.check_csat_factors(["season"], weak).met
    everything = m1.check_csat_factors(["season", "vendor_outage", "business_unit"], weak)
    assert not everything.met and "business_unit and vendor_outage have no level" in everything.why
    own = m1.check_csat_factors(["season", "sla_breached"], weak)
    assert not own.met and "within IT's control" in own.why
    assert "no factor weather" in m1.check_csat_factors(["weather"], weak).why
    strong = _coefficients((-0.6, -0.1), (-0.05, 0.07))
    assert m1.check_csat_factors(["season", "vendor_outage"], strong).met
    left = m1.check_csat_factors(["season"], strong)
    assert not left.met and "vendor_outage clearly moves scores but is left in" in left.why


def test_csat_reading_follows_the_numbers():
    weak = _coefficients((-0.8, 0.04), (-0.05, 0.07))
    text = m1.interpret_csat(_csat([4.05, 4.0, 4.1], [-0.01, -0.02, 0.005]), weak)
    assert "Over 200 surveys" in text and "vendor_outage: -0.370 points" in text
    assert "clearly away from zero: season" in text and "sla_breached moves" in text
    assert "most is apps: observed 4.000, adjusted 4.020" in text and "order as it was" in text
    strong = _coefficients((-0.6, -0.1), (-0.05, 0.07))
    text = m1.interpret_csat(_csat([4.05, 4.08, 4.06], [-0.01, 0.05, -0.03]), strong)
    assert "season and vendor_outage" in text and "most is apps: observed 4.080" in text
    assert "reorders the teams: apps and platform observed, platform and apps adjusted" in text


def test_the_summary_collects_each_topic_from_its_table():
    weak = _coefficients((-0.8, 0.04), (-0.05, 0.07))
    text = m1.summary(KPIS, WEIGHTS, HORIZONS, weak, DISPUTES, FIRED.iloc[[1]])
    assert "- 1.1: of the KPIs paid alone, sla_attainment" in text and "42,000 EUR" in text
    assert "best true mttr_mean_hours (27.90) comes with 100 %" in text
    assert "1.3: as_is (3-year periods)" in text and "0.093" in text
    assert "establishes: season." in text and "1.5: 4 team plan-periods" in text
    assert "gate at 2 unauthorized_count disqualified 21.0 %" in text
    gamed = _kpis([("change_throughput", 3.0, 2.0, 9_000.0)])
    text = m1.summary(gamed, WEIGHTS, _horizons([0.2, 0.05, 0.1]), weak, DISPUTES, FIRED)
    assert "every KPI paid alone was gamed" in text and "1.3: one_year_cliff" in text
