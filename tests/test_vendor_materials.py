"""Module 6's materials: the SLA alignment sheet's formulas and the documents' contents."""

import pytest

from toolkit.config.loading import load_scenario
from toolkit.course import vendor_materials as vm
from toolkit.course import vendor_partners as m6
from toolkit.course.documents import to_markdown
from toolkit.resources import shipped_scenario

from .test_course_materials import Sheet


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_scenario("small"))


def test_the_alignment_sheet_prices_a_miss_by_formula(scenario):
    book = vm.sla_alignment_workbook(scenario)
    ws = book["SLA alignment"]
    assert ws["A2"].value == "cloudco" and ws["D2"].value == 4  # four services depend on it
    ws["H2"] = 4.0  # 4 service-hours down: 99.863 % against 99.9
    sheet = Sheet(ws)
    attainment = 100 * (1 - 4 / (4 * 1 * vm.HOURS_PER_MONTH))
    assert sheet.value("I2") == pytest.approx(attainment)
    assert sheet.value("J2") == pytest.approx(99.9 - attainment)
    assert sheet.value("K2") == pytest.approx(0.05 * 40_000)  # the first band: 5 % of the fee
    assert sheet.value("M2") == pytest.approx(3) and sheet.value("N2") == "no"
    ws["H2"] = 0.0
    assert Sheet(ws).value("K2") == 0
    ws["C2"], ws["L2"] = 3, 1  # a quarterly SLA against a monthly plan
    assert Sheet(ws).value("N2") == "yes"


def test_the_documents_carry_the_contracts_and_the_open_contest(scenario, tmp_path):
    checklist = to_markdown(vm.data_sharing_document(scenario)).replace("\\", "")
    assert "incident-extract" in checklist and "98" in checklist
    clause = to_markdown(vm.penalty_clause_document()).replace("\\", "")
    assert all(rule in clause for rule in m6.RULES)
    blank = to_markdown(vm.joint_review_agenda(None)).replace("\\", "")
    filled = to_markdown(vm.joint_review_agenda(m6.example_ledger(tmp_path))).replace("\\", "")
    assert "vendor-mo" in filled and "vendor-mo" not in blank
