"""Compliance templates: the documents hold the checklists' rows and every convention."""

import pytest

from toolkit.compliance.checklists import build_checklists
from toolkit.compliance.jurisdictions import DISCLAIMER, load_rules
from toolkit.course import compliance_materials as cm
from toolkit.course.documents import resolve_plan, to_markdown
from toolkit.plans import load_plan


@pytest.fixture(scope="module")
def guarded(small_scenario):
    return load_plan("balanced_guarded", scenario=small_scenario)


def test_the_example_roster_pays_the_target_award_by_grade(small_scenario, guarded):
    people = cm.example_people(small_scenario, guarded).set_index("person_id")
    # p01: grade G7, base 98 000; balanced_guarded's G7 target is 26 % of base salary
    assert guarded.target_award_pct["G7"] == 26.0
    assert people.loc["p01", "variable_pay"] == pytest.approx(98000 * 0.26)
    assert len(people) == sum(len(t.people) for t in small_scenario.organisation.teams)


def test_the_blank_sign_off_lists_every_countrys_review_points():
    text = to_markdown(cm.sign_off_document(None)).replace("\\", "")  # unescaped
    assert DISCLAIMER in text
    for rule in load_rules(kind="discretion_review"):
        assert f"| {rule.jurisdiction} | {rule.record_kind} |" in text


def test_the_filled_documents_hold_every_clause_and_the_day_to_start(small_scenario, guarded):
    found = build_checklists(small_scenario, guarded, start="2026-03-31")
    sign_off = to_markdown(cm.sign_off_document(found)).replace("\\", "")
    for clause in found.legal_sign_off["clause"].unique():
        assert f"| {clause} |" in sign_off, clause
    brief = to_markdown(cm.works_council_document(found)).replace("\\", "")
    # the small scenario's four DE people all hold awards; 3 months before 2026-03-31
    assert "| DE | 4 | co_determination | 3 | months | 2026-03-31 | 2025-12-31 |" in brief
    tax = to_markdown(cm.tax_document(found)).replace("\\", "")
    assert "| PL | cash_lti | employment_income | payment |" in tax


def test_the_equal_pay_report_prints_every_convention():
    report, description = cm.equal_pay_example(plan="balanced_guarded")
    text = to_markdown(cm.equal_pay_document(report, description)).replace("\\", "")
    assert resolve_plan("balanced_guarded").name in description
    for name in report["conventions"]:
        assert f"| {name} |" in text, name
    assert "9(1)(a)" in text and "four-fifths" in text and report["not_legal_advice"] in text
