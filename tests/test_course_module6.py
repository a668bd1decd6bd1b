"""Module 6's notebook runs whole on the small scenario; its checkers judge answers both ways."""

from pathlib import Path

import nbformat
import papermill
import pytest

from toolkit.course import vendor_partners as m6
from toolkit.course.catalogue import module
from toolkit.course.exercises import MARK
from toolkit.course.sections import section_problems

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "modules"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("module6")
    papermill.execute_notebook(
        str(NOTEBOOK / f"{module(6).stem}.ipynb"),
        str(out / "executed.ipynb"),
        parameters={"output_dir": str(out / "runs"), "progress": False},
        progress_bar=False,
    )
    return nbformat.read(out / "executed.ipynb", as_version=4)


@pytest.fixture(scope="module")
def example():
    return m6.example_run("small", "careful", 0, subcontractor_outages_per_year=3.0)


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    assert section_problems(executed, module(6)) == []
    checks = [
        output["data"]["text/markdown"]
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if MARK in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


def test_alignment_check_needs_the_report_and_the_same_quarter(example):
    assert not m6.check_alignment(example, 0, goal_pct=50).met  # before the SLA report
    assert m6.check_alignment(example, 1, goal_pct=50).met
    assert not m6.check_alignment(example, 2, goal_pct=50).met  # most credits a quarter late
    text = m6.interpret_alignment(m6.alignment_tables(example))
    assert "cloudco" in text and "per quarter like the plan" in text


def test_only_the_proportional_split_follows_the_contribution_closely(example):
    table = m6.penalty_rules_table(example)
    proportional = table[table["rule"] == "proportional"]
    assert (proportional["vendor_pct"] - proportional["contribution_pct"]).abs().max() < 1e-9
    capped = table[table["rule"] == "capped"]
    assert (capped["vendor_penalty"] <= proportional["vendor_penalty"].to_numpy() + 1e-6).all()
    assert m6.check_penalty_rule(example, "proportional").met
    assert not m6.check_penalty_rule(example, "capped").met
    assert not m6.check_penalty_rule(example, "shared").met
    penalties = table.groupby("rule")["penalty"].sum()
    assert penalties.nunique() == 1  # the rules split the same penalties


def test_data_clause_due_by_the_statement_date(example):
    contract = m6.delivery_table(example.scenario, 7)
    assert not contract["on_time"].all()  # netlink delivers no extracts, cloudco's are late
    assert m6.check_data_clause(example.scenario, {c: 5 for c in m6.FEEDS.values()}, 7).met
    late = {"outages": 5, "incidents": 5, "sla_report": 10}
    assert not m6.check_data_clause(example.scenario, late, 7).met
    assert not m6.check_data_clause(example.scenario, {"outages": 0}, 7).met


def test_a_clause_brings_data_on_time_only_when_complete_and_due_by_the_statements(example):
    effect = m6.clause_effect(example.scenario, 7).set_index(["vendor_id", "content"])
    own, bound = effect["on_time_own_pace_pct"], effect["on_time_clause_pct"]
    assert (bound >= own).all()  # the same draws, bound or not
    unbound = effect["due_days"].isna()  # cloudco's 98 % incidents, netlink's missing extracts
    assert unbound[("cloudco", "incidents")] and unbound[("netlink", "outages")]
    assert (bound[unbound] == own[unbound]).all()
    assert bound[("cloudco", "outages")] >= 95 > own[("cloudco", "outages")]  # due day 5
    assert bound[("cloudco", "sla_report")] == own[("cloudco", "sla_report")]  # due day 10 > 7
    proposal = m6.clause_effect(example.scenario, 7, {c: 5 for c in m6.FEEDS.values()})
    assert (proposal["on_time_clause_pct"] >= 95).all()
    text = m6.interpret_clause_effect(proposal, 7)
    assert f"{proposal['on_time_clause_pct'].mean():.0f} %" in text and "No complete" not in text
    assert "cloudco's incidents" in m6.interpret_clause_effect(effect.reset_index(), 7)


def test_payout_check_wants_one_settlement_per_quarter_after_the_report(example):
    assert not m6.check_payout_schedule(example, "contract", 1).met  # three dates a quarter
    assert not m6.check_payout_schedule(example, "aligned", 0).met  # before the report
    assert m6.check_payout_schedule(example, "aligned", 1).met
    assert not m6.check_payout_schedule(example, "aligned", 4).met  # a quarter too late
    schedule = m6.payout_table(example)
    credits = -schedule.loc[schedule["kind"] == "credit", "amount"].sum()
    assert credits == pytest.approx(example.sla["credit_true"].sum())


def test_panel_check(tmp_path):
    gov = m6.example_ledger(tmp_path)
    disputes = m6.vendor_disputes(gov)
    statement = int(disputes["statement_id"].iloc[0])
    team = disputes["team_id"].iloc[0]
    assert m6.check_panel(gov, statement, ["vendor-mo", "hr-anna", "board-fay"]).met
    conflicted = m6.check_panel(
        gov, statement, ["vendor-mo", "hr-anna", "board-fay", f"lead-{team}"]
    )
    assert not conflicted.met and team in conflicted.why
    assert not m6.check_panel(gov, statement, ["hr-anna", "board-fay"]).met
    assert not m6.check_panel(gov, statement, ["nobody"]).met


def test_subcontractor_reading_is_checked_against_the_table(example):
    tables = m6.subcontractor_tables(example)
    share = float(tables["summary"]["share_pct"].iloc[0])
    assert 0 < share <= 100
    assert m6.check_subcontractor_share(tables, "dcpower", share + 0.5).met
    assert not m6.check_subcontractor_share(tables, "dcpower", share + 5).met
    assert not m6.check_subcontractor_share(tables, "dcpower", None).met
    assert f"{share:.0f} %" in m6.interpret_subcontractors(tables)
