"""Module 3's notebook runs whole on a real ledger; its checkers judge answers both ways."""

import nbformat
import pandas as pd
import pytest

from toolkit.course import approval_workflows as m3
from toolkit.course.catalogue import module
from toolkit.course.sections import section_problems
from toolkit.governance import open_engine, verify
from toolkit.governance.demo import build_demo
from toolkit.governance.migrations import PERMISSIONS, ROUTING


@pytest.fixture(scope="module")
def executed(course):
    root, _ = course
    return nbformat.read(root / "modules" / f"{module(3).stem}.ipynb", as_version=4)


@pytest.fixture
def ledger(tmp_path):
    gov, _ = build_demo(tmp_path / "gov.db")
    return gov, tmp_path / "gov.db"


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    assert section_problems(executed, module(3)) == []
    checks = [
        output["data"]["text/markdown"]
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "Exercise check" in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


def test_quorum_check_counts_who_may_vote(ledger):
    gov, _ = ledger
    voters = gov.voters("board-fay", "ops")
    assert "board-fay" not in voters and len(voters) == 3  # the apps member may vote for ops
    assert len(gov.voters("board-fay", "apps")) == 2  # but not for apps
    assert not m3.check_quorum(gov, "board-fay", "ops", 1).met
    assert m3.check_quorum(gov, "board-fay", "ops", 2).met
    blocked = m3.check_quorum(gov, "board-fay", "ops", 3)
    assert not blocked.met and "blocked" in blocked.why
    assert not any(m3.check_quorum(gov, "board-fay", "apps", q).met for q in range(1, 4))
    assert "2 of the 3 members who may vote" in m3.interpret_overrides(gov)


def test_the_tampered_copy_is_found_at_the_entry_edited(ledger, tmp_path):
    gov, path = ledger
    copy = m3.tampered_copy(path, tmp_path / "copy.db", seed=1)
    result = verify(open_engine(copy))
    assert not result.ok and verify(gov.engine).ok  # the original is untouched
    edited = result.first_bad - 1
    assert m3.check_tampered_entry(copy, edited).met
    assert not m3.check_tampered_entry(copy, result.first_bad).met
    assert not m3.check_tampered_entry(copy, None).met
    assert "verifies over all" in m3.interpret_audit(gov)


def test_threshold_goal_is_reachable_and_checked_both_ways():
    stakes = pd.Series([500.0, 800, 1_200, 2_000, 3_500, 4_000, 9_000, 12_000, 15_000, 40_000])
    above, limit = m3.threshold_goal(stakes)
    assert above == 12_000 and limit == 2
    assert m3.check_thresholds([(0, [["hr"]]), (12_001, [["cfo", "cio"]])], stakes, above, limit)
    low = m3.check_thresholds([(0, [["hr"]]), (3_000, [["cfo"]])], stakes, above, limit)
    assert not low.met and "at most 2" in low.why
    high = m3.check_thresholds([(0, [["hr"]]), (50_000, [["cfo"]])], stakes, above, limit)
    assert not high.met and "without the CFO or CIO" in high.why
    assert not m3.check_thresholds([(10, [["hr"]])], stakes, above, limit).met
    routed = m3.route(stakes, ROUTING)
    assert routed["needs_cfo_or_cio"].sum() == 3  # 12,000, 15,000 and 40,000 under the default
    assert "3 (30.0 %) need the CFO or CIO" in m3.interpret_thresholds(routed)
    same = pd.Series([700.0, 700.0])
    above, limit = m3.threshold_goal(same)
    assert (same > above).sum() >= 1 and limit >= 1  # reachable even when all sums are equal


def test_window_and_cadence_checks():
    days = [2, 3, 5, 6, 8, 9, 11, 13, 18, 26]
    assert m3.check_window(13, days, 30, 10).met
    assert not m3.check_window(21, days, 30, 10).met  # decided after payroll
    assert not m3.check_window(9, days, 30, 10).met  # admits 60 %
    assert m3.check_cadence(15, 13, 30).met
    assert not m3.check_cadence(20, 13, 30).met  # past payroll
    assert not m3.check_cadence(7, 13, 30).met  # 53 meetings a year


def test_separation_of_duties_at_the_level_of_roles():
    assert not m3.check_separation(PERMISSIONS).met  # HR and IT governance propose and approve
    fixed = {role: list(rights) for role, rights in PERMISSIONS.items()}
    fixed["hr"].remove("propose")
    fixed["it_governance"].remove("propose")
    assert m3.check_separation(fixed).met  # finance still proposes
    no_signer = {**fixed, "it_governance": ["issue_statement", "view_all"]}
    assert "nobody in it_governance may approve" in m3.check_separation(no_signer).why
    meddling = {**fixed, "auditor": [*fixed["auditor"], "approve"]}
    assert "auditor" in m3.check_separation(meddling).why
    assert not m3.check_separation({"hr": ["approve"]}).met
    matrix = m3.approval_matrix()
    assert matrix.loc["cfo", "edit_routing"] == "x" and matrix.loc["auditor", "approve"] == ""
