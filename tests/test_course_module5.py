"""Module 5, behavioural risk: the notebook runs whole, its paragraphs follow the numbers, and
every exercise checker tells a met goal from an unmet one.

The notebook is executed once on the small scenario with two seeds; the checkers and the
interpretations are fed rows built by hand, whose verdicts and figures follow from their values.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from toolkit.course import behavioural_risk as m5
from toolkit.course.catalogue import module
from toolkit.course.exercises import MARK
from toolkit.course.sections import section_problems, topic_sections
from toolkit.experiments.safeguards import compare_plans

NOTEBOOK = (
    Path(__file__).resolve().parent.parent / "notebooks" / "modules" / ("05_behavioural_risk.ipynb")
)


@pytest.fixture(scope="module")
def executed(course):
    """The notebook as the course build executed it on small with two seeds, and its runs."""
    root, _ = course
    notebook = nbformat.read(root / "modules" / f"{module(5).stem}.ipynb", as_version=4)
    return notebook, root / "runs" / module(5).stem


def _markdown(cells) -> list[str]:
    return [
        "".join(output["data"]["text/markdown"])
        for cell in cells
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]


def test_every_topic_section_is_whole(executed):
    notebook, _ = executed
    assert section_problems(notebook, module(5)) == []


def test_the_starting_answers_do_not_meet_the_goals(executed):
    notebook, _ = executed
    for number, cells in topic_sections(notebook).items():
        checks = [text for text in _markdown(cells) if MARK in text]
        assert len(checks) == 1, number
        assert "Not yet" in checks[0], (number, checks[0])


def test_all_runs_go_under_the_output_directory(executed):
    _, runs = executed
    assert {p.name for p in runs.iterdir()} >= {"shared", "5.2", "5.3", "5.4", "5.6"}


def test_the_committed_notebook_is_clean():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata["tags"]
    for name in ("scenario", "seeds", "output_dir", "workers", "progress"):
        assert f"{name} = " in code[0].source


# --- 5.1 -------------------------------------------------------------------------------------


def _variants(**rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{"variant": label, "plan": f"p_{label}", **row} for label, row in rows.items()]
    )


CLAWBACK = dict(
    gaming_index=7.3,
    overstated_pay=3000.0,
    accrued=40000.0,
    gaming_detected_share=0.2,
    malus=0.0,
    clawed_back=0.0,
    gaming_index_ci_low=-2.0,
    gaming_index_ci_high=1.0,
)


@pytest.mark.parametrize(
    ("recovered", "met", "words"),
    [
        (3600.0, True, "1.20 times"),  # all of the gamed pay, a fifth more: within 1 to 1.5
        (0.0, False, "raise it"),  # nothing recovered
        (9000.0, False, "lower the `reduction`"),  # three times the gamed pay: confiscation
    ],
)
def test_the_clawback_goal_is_a_range_of_the_overstated_pay(recovered, met, words):
    row = {**CLAWBACK, "recovered": recovered, "recovered_share": recovered / 3000.0}
    check = m5.clawback_verdict(_variants(exercise=row))
    assert check.met is met
    assert words in check.text()


def test_the_clawback_check_refuses_a_run_without_gamed_pay():
    row = {**CLAWBACK, "recovered": 0.0, "recovered_share": math.nan}
    assert not m5.clawback_verdict(_variants(exercise=row))


def test_the_clawback_paragraph_follows_the_numbers():
    base = {**CLAWBACK, "recovered": 0.0, "recovered_share": 0.0}
    heavy = {**CLAWBACK, "gaming_index": 3.6, "recovered": 8100.0, "recovered_share": 2.7}
    light = {
        **CLAWBACK,
        "gaming_index": 7.3,
        "recovered": 900.0,
        "recovered_share": 0.3,
        "clawed_back": 400.0,
        "gaming_index_ci_low": -0.5,
        "gaming_index_ci_high": -0.1,
    }
    one = m5.interpret_clawback(_variants(as_is=base, malus_clawback=heavy))
    two = m5.interpret_clawback(_variants(as_is=base, malus_clawback=light))
    assert "8,100 EUR" in one and "2.7 times" in one and "-3.7 points" in one
    assert "30.0 %" in two and "400 EUR of it clawed back" in two and "clearly below zero" in two
    assert one != two


# --- 5.2 -------------------------------------------------------------------------------------


def _library(**rows) -> pd.DataFrame:
    return pd.DataFrame([{"plan": plan, **row} for plan, row in rows.items()])


CAUTIOUS = {"plan": "change_safety", "risk_aversion_index": 0.07, "gaming_index": 0.0}


@pytest.mark.parametrize(
    ("mine", "met"),
    [
        ({"risk_aversion_index": 0.035, "gaming_index": 0.0}, True),  # half: below two thirds
        ({"risk_aversion_index": 0.06, "gaming_index": 0.0}, False),  # above two thirds
        ({"risk_aversion_index": 0.0, "gaming_index": 2.0}, False),  # caution bought by gaming
    ],
)
def test_the_risk_aversion_goal(mine, met):
    assert m5.risk_aversion_verdict(pd.Series(mine), pd.Series(CAUTIOUS)).met is met


def test_a_plan_without_caution_has_nothing_to_cut():
    base = pd.Series({**CAUTIOUS, "risk_aversion_index": 0.0})
    mine = pd.Series({"risk_aversion_index": 0.0, "gaming_index": 0.0})
    assert not m5.risk_aversion_verdict(mine, base)


def _change_row(**values):
    row = {
        "risk_aversion_index": 0.0,
        "risk_aversion_index_ci_low": 0.0,
        "risk_aversion_index_ci_high": 0.0,
        "change_throughput_true": 19.5,
        "change_caused_incidents_true": 1.83,
        "change_throughput_true_ci_low": -1.0,
        "change_throughput_true_ci_high": 1.0,
        "change_caused_incidents_true_ci_low": -1.0,
        "change_caused_incidents_true_ci_high": 1.0,
        "change_care": 0.5,
    }
    return {**row, **values}


def test_the_risk_aversion_paragraph_names_the_most_cautious_plan():
    one = _library(
        no_incentive=_change_row(),
        change_safety=_change_row(
            risk_aversion_index=0.07,
            risk_aversion_index_ci_low=0.05,
            risk_aversion_index_ci_high=0.09,
            change_throughput_true=18.1,
        ),
        mttr_only=_change_row(),
    )
    two = _library(
        no_incentive=_change_row(),
        change_safety=_change_row(risk_aversion_index=0.02, risk_aversion_index_ci_low=-0.01),
        mttr_only=_change_row(risk_aversion_index=0.12, risk_aversion_index_ci_low=-0.02),
    )
    first, second = m5.interpret_risk_aversion(one), m5.interpret_risk_aversion(two)
    assert "**change_safety**" in first and "7.0 %" in first and "clearly above zero" in first
    assert "-1.4" in first and "is the only plan" in first
    assert "**mttr_only**" in second and "12.0 %" in second and "are the plans" in second
    assert "not distinguishable from zero" in second
    none = m5.interpret_risk_aversion(_library(no_incentive=_change_row(), other=_change_row()))
    assert "No plan makes teams hold back change" in none


# --- 5.3 -------------------------------------------------------------------------------------


FIXED = pd.Series({"change_caused_incidents_true": 1.83, "change_throughput_true": 19.5})


@pytest.mark.parametrize(
    ("incidents", "throughput", "met", "words"),
    [
        (1.75, 21.1, True, "1.75"),  # fewer defects, more delivery
        (1.92, 22.7, False, "per_incident"),  # more defects than fixed pay
        (1.60, 18.0, False, "soften"),  # the penalty stopped delivery
    ],
)
def test_the_defect_goal(incidents, throughput, met, words):
    mine = pd.Series(
        {"change_caused_incidents_true": incidents, "change_throughput_true": throughput}
    )
    check = m5.defect_verdict(mine, FIXED)
    assert check.met is met and words in check.text()


def test_the_defect_paragraph_says_what_the_penalty_bought():
    base = _change_row()
    same = _library(
        no_incentive=base,
        throughput_only=_change_row(change_throughput_true=22.8, change_caused_incidents_true=1.92),
        throughput_guarded=_change_row(
            change_throughput_true=22.7, change_caused_incidents_true=1.92
        ),
    )
    bites = _library(
        no_incentive=base,
        throughput_only=_change_row(change_throughput_true=22.8, change_caused_incidents_true=2.4),
        throughput_guarded=_change_row(
            change_throughput_true=20.1, change_caused_incidents_true=1.7, change_care=0.6
        ),
    )
    first, second = m5.interpret_defects(same), m5.interpret_defects(bites)
    assert "22.8" in first and "1.92" in first and "bought almost nothing" in first
    assert "-0.70" in second and "20.1" in second and "0.600" in second
    assert first != second


# --- 5.4 -------------------------------------------------------------------------------------


def _signatures(rows) -> pd.DataFrame:
    columns = ["plan", "signature", "runs", "teams_found", "confirmed", "evidence"]
    return pd.DataFrame(rows, columns=columns)


SIGNATURES = _signatures(
    [
        ("mttr_only", "padding", 2, 3, 2, "13 short P4 tickets"),
        ("mttr_only", "cab_skipping", 2, 1, 0, "5 of 64 emergencies"),
        ("mttr_only", "underreporting", 2, 0, 0, ""),
        ("no_incentive", "cab_skipping", 2, 1, 0, "4 of 60 emergencies"),
        ("no_incentive", "padding", 2, 0, 0, ""),
    ]
)


@pytest.mark.parametrize(
    ("answer", "met"), [("padding", True), ("cab_skipping", False), ("", False), ("pad", False)]
)
def test_the_review_answer_is_the_signature_found_most_often(answer, met):
    assert m5.review_answer_verdict(answer, SIGNATURES, "mttr_only").met is met


def test_the_review_answer_needs_a_reviewed_plan():
    with pytest.raises(KeyError, match="no plan 'balanced'"):
        m5.review_answer_verdict("padding", SIGNATURES, "balanced")


def test_the_review_paragraph_reports_findings_and_false_alarms():
    first = m5.interpret_review(SIGNATURES)
    assert "most often padding: 13 short P4 tickets" in first
    assert "4 team finding(s) in 2 run(s), 2 confirmed" in first
    assert "its 1 finding(s) are the false alarms" in first
    quiet = _signatures(
        [
            ("mttr_only", "clock_stopping", 1, 2, 1, "on hold"),
            ("no_incentive", "padding", 1, 0, 0, ""),
        ]
    )
    second = m5.interpret_review(quiet)
    assert "most often clock_stopping: on hold" in second
    assert "under **no_incentive** the review finds no signature" in second
    assert "raises no alarm" in second


# --- 5.5 -------------------------------------------------------------------------------------


GAMED = pd.Series({"plan": "mttr_only", "gaming_index": 7.3, "total_awards": 40000.0})


@pytest.mark.parametrize(("gaming", "met"), [(1.4, True), (3.65, True), (4.1, False)])
def test_the_counter_metric_goal_halves_the_gaming_index(gaming, met):
    mine = pd.Series({"gaming_index": gaming, "total_awards": 30000.0})
    assert m5.counter_metric_verdict(mine, GAMED).met is met


def test_a_plan_without_gaming_cannot_be_halved():
    base = pd.Series({**GAMED, "gaming_index": 0.0})
    assert not m5.counter_metric_verdict(
        pd.Series({"gaming_index": 0.0, "total_awards": 1.0}), base
    )


def test_the_counter_metric_paragraph_gives_each_variants_cut():
    row = dict(
        reported_score_mean=96.3,
        true_score_mean=89.0,
        total_awards=40000.0,
        gaming_index_ci_low=-1.0,
        gaming_index_ci_high=1.0,
    )
    base = {**row, "gaming_index": 8.0}
    first = m5.interpret_counter_metrics(
        _variants(as_is=base, guarded={**row, "gaming_index": 6.0})
    )
    second = m5.interpret_counter_metrics(
        _variants(
            as_is=base,
            tight={**row, "gaming_index": 2.0, "gaming_index_ci_high": -0.5, "total_awards": 1e4},
        )
    )
    assert "**guarded**" in first and "25.0 % less" in first
    assert "**tight**" in second and "75.0 % less" in second and "clearly below zero" in second
    assert "10,000 EUR" in second


# --- 5.6 -------------------------------------------------------------------------------------


def _fired(share: float) -> pd.Series:
    return pd.Series(
        {
            "gate_kpi": "unjustified_emergency_count",
            "at_least": 1.0,
            "gated_share": share,
            "runs_fired": int(share > 0),
            "seeds": 2,
            "awards_removed": 1000.0 * share,
        }
    )


@pytest.mark.parametrize(
    ("share", "honest", "met"),
    [
        (0.0, 0.0, True),  # nothing honest produces it, nobody gated
        (0.58, 0.33, False),  # honest teams produce it and are gated
        (0.10, 0.0, False),  # a KPI only abuse produces, but gated too often
        (0.0, math.nan, False),  # never measured: nothing shows honest teams are spared
    ],
)
def test_the_justification_goal(share, honest, met):
    assert m5.justification_verdict(_fired(share), honest).met is met


def _levers(abuse_without: float, abuse_with: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "lever": "emergency_abuse",
                "mean_without": abuse_without,
                "mean_with": abuse_with,
                "ci_low": abuse_with - abuse_without - 0.01,
                "ci_high": abuse_with - abuse_without + 0.005,
            },
            {
                "lever": "change_rate",
                "mean_without": 1.117,
                "mean_with": 1.05,
                "ci_low": -0.1,
                "ci_high": 0.0,
            },
        ]
    )


def test_the_justification_paragraph_says_when_abuse_never_arose():
    first = m5.interpret_justification(pd.DataFrame([_fired(0.0)]), _levers(0.0, 0.0))
    second = m5.interpret_justification(pd.DataFrame([_fired(0.25)]), _levers(0.08, 0.02))
    assert "nothing to deter" in first and "0.0 %" in first
    assert "from 0.080 to 0.020" in second and "clearly below zero" in second
    assert "25.0 %" in second and "1.050" in second


def test_the_fixed_pay_level_names_an_unknown_kpi():
    with pytest.raises(ValueError, match="did you mean 'unjustified_emergency_count'"):
        m5.fixed_pay_level(None, "unjustified_emergency_cnt")


def test_the_fixed_pay_level_is_read_from_the_library_batch(executed):
    _, runs = executed
    # the notebook's shared batch again: every run is reused from its directory
    _, library = compare_plans(
        [m5.scenario_file("small")], ["no_incentive"], 2, runs / "shared", progress=False
    )
    assert library.runs["cached"].all()
    assert m5.fixed_pay_level(library, "unjustified_emergency_count") == 0
    assert m5.fixed_pay_level(library, "unauthorized_count") > 0
    assert np.isfinite(m5.fixed_pay_level(library, "change_throughput"))
    with pytest.raises(ValueError, match="no 'mttr_only' run"):
        m5.fixed_pay_level(library, "change_throughput", reference="mttr_only")


def test_the_introduction_is_computed_from_the_scenario():
    text = m5.introduction("small", 3)
    assert "**small**" in text and "3 seeds" in text and "2 years" in text
