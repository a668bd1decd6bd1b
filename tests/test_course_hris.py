"""Topic 7.4's course helpers: the worked reconciliation, its paragraph, check and worksheet."""

from pathlib import Path

import openpyxl
import pytest

from tests.test_course_materials import Sheet
from toolkit.course import hris_reconciliation as m74
from toolkit.course.documents import MaterialsError
from toolkit.course.materials import render_materials
from toolkit.experiments.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "scenarios" / "small.yaml")
PLAN = str(ROOT / "tests" / "data" / "people" / "one_year.yaml")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    return run_batch([SMALL], ["no_incentive", PLAN], 1, out, workers=1, progress=False)


@pytest.fixture(scope="module")
def case(batch, tmp_path_factory):
    return m74.example(batch.directory, tmp_path_factory.mktemp("exports"), seed=4)


def test_the_example_finds_every_planted_mismatch_of_the_batch_run(case):
    assert case.plan.name == "one_year"  # the incentive plan, not the reference
    found = set(zip(case.table["kind"], case.table["person_id"], strict=True))
    assert found == set(zip(case.planted["kind"], case.planted["person_id"], strict=True))
    shown = m74.reconciliation_table(case)
    assert list(shown.columns) == ["kind", "person_id", "team_id", "cohort", "period", "amount",
                                   "detail"]  # fmt: skip


def test_the_paragraph_is_written_from_the_numbers(case):
    text = m74.interpret_reconciliation(case.table, case.currency)
    table = case.table
    assert f"{len(table)} mismatches" in text
    assert f"on {table['person_id'].nunique()} people" in text
    assert f"{table['amount'].sum():,.0f} EUR" in text
    top = table.groupby("kind")["amount"].sum().idxmax().replace("_", " ")
    assert f"largest kind is {top}" in text
    fewer = table[table["kind"] != "leaver_with_unvested_award"]
    assert "leaver rules forfeit" in text and "leaver rules" not in m74.interpret_reconciliation(
        fewer, case.currency
    )
    assert "agree" in m74.interpret_reconciliation(table.iloc[:0])


def test_the_check_marks_the_recalculation_list_against_the_planted_key(case):
    award = case.planted[case.planted["kind"].isin(m74.AWARD_KINDS)]
    right = sorted(set(award["person_id"]))
    payroll_only = set(case.planted["person_id"]) - set(right)
    assert m74.check_recalculations(case, right)
    assert not m74.check_recalculations(case, right[1:])
    if payroll_only:
        wrong = m74.check_recalculations(case, [*right, sorted(payroll_only)[0]])
        assert not wrong and "holds 1 who need no recalculation" in wrong.why


def test_the_filled_worksheet_computes_what_the_reconciliation_computes(case, tmp_path):
    path = tmp_path / "sheet.xlsx"
    m74.worksheet(case).save(path)
    book = openpyxl.load_workbook(path)
    sheet, ws = Sheet(book[m74.RECONCILIATION_SHEET]), book[m74.RECONCILIATION_SHEET]
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row)}
    table = case.table.set_index(["kind", "person_id"])["amount"]
    for kind, word in (("salary_differs", "salary"), ("grade_differs", "grade")):
        (person,) = case.planted.loc[case.planted["kind"] == kind, "person_id"]
        r = rows[person]
        assert sheet.value(f"M{r}") == pytest.approx(table[(kind, person)], abs=0.01)
        assert word in sheet.value(f"Q{r}")
    (person,) = case.planted.loc[case.planted["kind"] == "payment_amount_differs", "person_id"]
    assert sheet.value(f"P{rows[person]}") == pytest.approx(123.45, abs=0.01)
    leavers, lws = Sheet(book[m74.LEAVERS_SHEET]), book[m74.LEAVERS_SHEET]
    forfeitures = case.result.forfeitures
    for r, award in enumerate(forfeitures.itertuples(), start=2):
        assert lws.cell(row=r, column=1).value == award.person_id
        assert leavers.value(f"J{r}") == pytest.approx(award.forfeited, abs=0.01)
    total = len(forfeitures) + 2
    assert leavers.value(f"J{total}") == pytest.approx(forfeitures["forfeited"].sum(), abs=0.01)


def test_the_blank_worksheet_has_empty_inputs_and_live_formulas(tmp_path):
    path = tmp_path / "blank.xlsx"
    m74.worksheet().save(path)
    ws = openpyxl.load_workbook(path)[m74.RECONCILIATION_SHEET]
    assert [c.value for c in ws[1]] == m74.RECONCILIATION_HEADERS
    assert ws["A2"].value is None and str(ws["M2"].value).startswith("=")
    assert Sheet(ws).value(f"M{m74.BLANK_ROWS + 2}") == 0


def test_the_template_notebook_renders_the_filled_worksheet_only(batch, tmp_path):
    written = render_materials(tmp_path, batch.directory, notebooks=["hris_reconciliation"])
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "worksheets/hris_reconciliation.xlsx"
    ]
    with pytest.raises(MaterialsError, match="not in the batch"):
        m74.example(batch.directory, tmp_path / "x", plan="careful")
