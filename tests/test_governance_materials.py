"""Module 3's materials: blank forms, and forms filled from a governance ledger."""

from datetime import date

import pytest
from openpyxl import load_workbook

from toolkit.course.documents import MaterialsError, to_html, to_markdown
from toolkit.course.governance_materials import (
    approval_workbook,
    audit_extract_document,
    contest_form_document,
    governance_ledger,
    minutes_document,
)
from toolkit.course.workbooks import workbook_bytes
from toolkit.governance.demo import build_demo


@pytest.fixture
def ledger(tmp_path):
    gov, _ = build_demo(tmp_path / "gov.db")
    return gov, tmp_path / "gov.db"


def test_blank_forms_have_blanks_and_no_ledger_data():
    with governance_ledger("", "") as gov:
        assert gov is None
    for document in (
        minutes_document(None),
        contest_form_document(None),
        audit_extract_document(None),
    ):
        text = to_markdown(document)
        assert "\\_\\_\\_" in text and "adjustment:" not in text.replace("\\", "")


def test_forms_filled_from_a_ledger(ledger):
    gov, path = ledger
    with governance_ledger("", path) as read:
        minutes = to_markdown(minutes_document(read, date(2027, 2, 1))).replace("\\", "")
    assert "| adjustment:1 | apps |" in minutes and "| contest:2 |" in minutes
    assert "rejected" in minutes and "upheld" in minutes
    form = to_markdown(contest_form_document(gov, 1)).replace("\\", "")
    assert "| Window closes on | 2027-01-25 |" in form  # issued 2027-01-11, 14 days
    with pytest.raises(MaterialsError, match="statement 99"):
        contest_form_document(gov, 99)
    extract = audit_extract_document(gov, last=5)
    assert "audit log intact" in to_markdown(extract).replace("\\", "")
    assert "<script" not in to_html(extract)


def test_a_ledger_that_cannot_be_opened_is_named(tmp_path):
    with (
        pytest.raises(MaterialsError, match="db:"),
        governance_ledger("", tmp_path / "no" / "x.db"),
    ):
        pass


def test_the_approval_matrix_routes_an_amount_with_a_live_formula(tmp_path):
    path = tmp_path / "matrix.xlsx"
    path.write_bytes(workbook_bytes(approval_workbook()))
    book = load_workbook(path)
    routing = book["Routing"]
    formulas = [c.value for row in routing.iter_rows() for c in row if str(c.value).startswith("=")]
    assert formulas == ["=LOOKUP(ABS(B6),A2:A4,B2:B4)"]
    assert [routing.cell(row=r, column=1).value for r in (2, 3, 4)] == [0, 10_000, 50_000]
    matrix = book["Approval matrix"]
    header = [c.value for c in matrix[1]]
    row = {matrix.cell(row=r, column=1).value: r for r in range(2, matrix.max_row + 1)}
    assert matrix.cell(row=row["cfo"], column=header.index("edit_routing") + 1).value == "x"
    assert matrix.cell(row=row["auditor"], column=header.index("approve") + 1).value is None
    assert workbook_bytes(approval_workbook()) == workbook_bytes(approval_workbook())
