"""Module 4's notebook runs whole on a batch; its tables hold the ledger's money and its
checkers judge answers both ways."""

import io
import math

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.course import finance_materials as fm
from toolkit.course import financial_management as m4
from toolkit.course.catalogue import module
from toolkit.course.sections import section_problems
from toolkit.course.workbooks import workbook_bytes
from toolkit.finance import journal_entries, reconcile

SMALL = "scenarios/small.yaml"
DEFAULT_TIERS = {1: 1.5, 2: 1.2, 3: 1.0, 4: 0.8}


@pytest.fixture(scope="module")
def executed(course):
    root, _ = course
    return nbformat.read(root / "modules" / f"{module(4).stem}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    plan = m4.module_plan("careful", 1)
    out = tmp_path_factory.mktemp("m4")
    return m4.module_batch(SMALL, plan, 2, out, workers=1), plan.name


@pytest.fixture(scope="module")
def world():
    return load_scenario(SMALL)


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    assert section_problems(executed, module(4)) == []
    checks = [
        output["data"]["text/markdown"]
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "Exercise check" in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


# -- 4.1 -------------------------------------------------------------------------------------
def test_targets_and_pools_are_the_hand_computed_ones(world):
    plan = m4.module_plan("careful", 1)
    targets = m4.target_awards(plan, world)
    # workplace: G6 52,000 x 22 % + G3 31,000 x 10 % + G3 52,000 x 10 %
    assert targets["workplace"] == pytest.approx(11_440 + 3_100 + 5_200)
    # workplace owns a tier-3 service of 300,000 and a tier-4 one of 700,000: 2 % of the
    # criticality-weighted budget, (300,000 x 1.0 + 700,000 x 0.8) x 2 % = 17,200 < 19,740
    short = m4.check_funding(plan.funding.model_dump(), plan, world)
    assert not short.met and "workplace 87 %" in short.why and "cannot pay" in short.why
    level = {1: 1.0, 2: 1.2, 3: 1.0, 4: 1.0}
    rule = {"basis": "service_budget", "budget_share_pct": 2.0, "criticality_multiplier": level}
    assert m4.check_funding(rule, plan, world).met
    rich = m4.check_funding({**rule, "budget_share_pct": 5.0}, plan, world)
    assert not rich.met and "more than twice" in rich.why
    # by headcount, the pool that funds platform (4 x 20,000 >= 56,780) gives workplace's three
    # people 60,000 against its 19,740 at target: over three times what it can earn
    per_head = m4.check_funding({"basis": "headcount", "amount_per_head": 20_000}, plan, world)
    assert not per_head.met and "workplace 304 %" in per_head.why
    assert not m4.check_funding({"basis": "headcount"}, plan, world).met  # no amount: invalid


def test_a_pool_cuts_exactly_what_vests_beyond_it(batch):
    directory, name = batch
    pools = m4.pool_table(directory, name).set_index("team_id")
    vesting = m4.vesting_by_year(directory, name)
    assert len(vesting) == 3 * 2  # three teams vest once in each of two seeds
    for row in vesting.itertuples():
        pool = pools.loc[row.team_id, "pool"]
        assert row.pool_scaling == pytest.approx(max(0.0, row.before_pool - pool), abs=0.01)
        assert row.vested == pytest.approx(row.before_pool - row.pool_scaling - row.cap_scaling)
    binding = pools[pools["binds"] > 0].index
    assert list(binding) == ["workplace"]  # the one pool below its award at target
    text = m4.interpret_pools(pools.reset_index())
    assert "workplace" in text and f"{pools['pool'].sum():,.0f} EUR" in text
    total = pools["pool"].sum()
    assert pools["pool_if_by_headcount"].sum() == pytest.approx(total)


# -- 4.2 -------------------------------------------------------------------------------------
def test_the_forecast_pays_what_the_ledger_pays_and_owes(batch):
    directory, name = batch
    table = m4.forecast(directory, name)
    runs = directory.runs[directory.runs["plan"] == name]
    inside = table[~table["projected"]]
    # every seed pays inside the horizon what the ledger paid, and after it what is owed
    assert inside["paid_mean"].sum() == pytest.approx(runs["total_paid"].mean(), rel=1e-9)
    after = table[table["projected"]]
    assert after["paid_mean"].sum() == pytest.approx(runs["liability_end"].mean(), rel=1e-9)
    assert "After the horizon" in m4.interpret_forecast(table)


def test_the_budget_check_wants_the_p90_and_no_padding():
    table = pd.DataFrame({"year": [2026, 2027], "paid_p90": [100_000.0, 50_000.0]})
    assert m4.check_budget(100_000, table, 2026).met
    assert m4.check_budget(125_000, table, 2026).met
    low = m4.check_budget(99_000, table, 2026)
    assert not low.met and "below the year's P90" in low.why
    padded = m4.check_budget(126_000, table, 2026)
    assert not padded.met and "26 % above" in padded.why
    assert not m4.check_budget(None, table, 2026).met
    assert "no year 2030" in m4.check_budget(1.0, table, 2030).why


# -- 4.3 -------------------------------------------------------------------------------------
def test_costs_by_unit_add_up_to_the_awards_and_name_the_dearest_unit(batch, world):
    directory, name = batch
    units = m4.business_unit_costs(directory, name)
    awards = directory.run_table("awards")
    earned = awards[awards["plan"] == name].groupby("seed")["earned"].sum().mean()
    assert units["earned"].sum() == pytest.approx(earned)
    budgets = {}
    for service in world.organisation.services:
        budgets[service.business_unit] = (
            budgets.get(service.business_unit, 0) + service.annual_budget
        )
    for row in units.itertuples():
        assert row.cost_per_budget == pytest.approx(row.earned / budgets[row.business_unit])
    services = m4.business_unit_costs(directory, name, ["business_unit", "service_id"])
    assert services["earned"].sum() == pytest.approx(earned)
    dearest = units.loc[units["cost_per_budget"].idxmax(), "business_unit"]
    other = units.loc[units["cost_per_budget"].idxmin(), "business_unit"]
    assert m4.check_unit(dearest, units).met
    assert not m4.check_unit(other, units).met
    assert not m4.check_unit(None, units).met and not m4.check_unit("nosuch", units).met
    assert f"Per unit of service budget {dearest}" in m4.interpret_costs(units)


# -- 4.4 -------------------------------------------------------------------------------------
def test_the_cap_table_reads_vesting_against_personnel_cost(batch):
    directory, name = batch
    caps = m4.cap_table(directory, name)
    assert (caps["personnel_cost"] == 680_000).all()  # the small scenario's base salaries
    assert caps["cap"].iloc[0] == pytest.approx(0.35 * 680_000)  # careful caps at 35 %
    assert caps["share_of_personnel"].to_numpy() == pytest.approx(caps["budget"] / 680_000)
    assert not caps["cap_binds"].any()
    assert "no run-year reached it" in m4.interpret_cap(caps, directory.plan_model(name))


def test_the_cap_check_wants_no_binding_and_at_most_a_point_of_headroom():
    table = pd.DataFrame({"share_of_personnel": [0.10, 0.149]})
    assert m4.check_cap(15, table).met
    assert m4.check_cap(15.9, table).met
    binds = m4.check_cap(14, table)
    assert not binds.met and "binds in 1 of 2" in binds.why
    loose = m4.check_cap(16.5, table)
    assert not loose.met and "1.6 points above" in loose.why
    assert not m4.check_cap(None, table).met
    assert not m4.check_cap(15, table.iloc[:0]).met


# -- 4.6 -------------------------------------------------------------------------------------
def test_every_quarter_closes_and_the_planted_errors_are_found(batch):
    directory, name = batch
    schedule, quarters = m4.quarterly_roll_forward(directory, name, 0, "straight_line", 0.05)
    summary = m4.quarter_summary(quarters)
    assert summary["closes"].all() and len(summary) == 4  # the plan's four quarters
    last = schedule[schedule["period_index"] == schedule["period_index"].max()]
    assert summary["closing"].iloc[-1] == pytest.approx(last["liability"].sum(), abs=0.01)
    journal = journal_entries(quarters)
    for seed in range(3):
        gl, planted = m4.planted_gl(journal, seed)
        found = reconcile(journal, gl).groupby("reference")["cause"].first().to_dict()
        assert found == planted


def test_the_corrections_check_wants_balanced_postings_that_clear_every_difference(batch):
    directory, name = batch
    _, quarters = m4.quarterly_roll_forward(directory, name, 0, "graded", 0.0)
    journal = journal_entries(quarters)
    gl, _ = m4.planted_gl(journal, 1)
    differences = reconcile(journal, gl)
    right = [(r.reference, r.account, -r.difference) for r in differences.itertuples()]
    assert m4.check_corrections(right, journal, gl).met
    assert "do not balance" in m4.check_corrections(right[:1], journal, gl).why
    half = [item for item in right if item[0] == right[0][0]]
    remain = m4.check_corrections(half, journal, gl)
    assert not remain.met and "remain" in remain.why
    wrong_sign = [(ref, account, -amount) for ref, account, amount in right]
    assert not m4.check_corrections(wrong_sign, journal, gl).met
    assert "no journal reference" in m4.check_corrections([("x", "a", 0)], journal, gl).why
    text = m4.interpret_reconciliation(m4.quarter_summary(quarters), differences)
    liability = differences.loc[differences["account"] == "lti_liability", "difference"].sum()
    assert f"off by {liability:,.2f}" in text and "4 of 4 quarters close" in text
    assert math.isfinite(liability) and not np.isclose(liability, 0)


# -- the accrual and reconciliation workbook (its formulas evaluated) ------------------------
def _evaluated(book):
    from tests.test_course_materials import Sheet

    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(book)))
    roll = Sheet(book[fm.ROLL_SHEET])
    return book, roll, roll.others.setdefault(fm.SCHEDULE_SHEET, Sheet(book[fm.SCHEDULE_SHEET]))


def test_the_workbook_recomputes_the_toolkits_accruals_and_roll_forward(batch):
    directory, name = batch
    rows, quarters = fm.reconciliation_inputs(directory, name, 1, 0.05)
    book, roll, schedule = _evaluated(fm.reconciliation_workbook(rows, quarters, "test"))
    full, _ = m4.quarterly_roll_forward(directory, name, 1, "straight_line", 0.05)
    ends = full[full["period"].isin(set(quarters["quarter"]))]
    expected = ends.sort_values(["cohort", "team_id", "period_index"])
    for i, item in enumerate(expected.itertuples(), start=2):
        assert schedule.value(f"H{i}") == pytest.approx(item.service_share)
        assert schedule.value(f"I{i}") == pytest.approx(item.cumulative_accrual, abs=0.01)
        assert schedule.value(f"J{i}") == pytest.approx(item.expense, abs=0.01)
    first = fm.ROLL_HEADER_ROW + 1
    for i, item in enumerate(quarters.itertuples(), start=first):
        assert roll.value(f"A{i}") == item.quarter
        assert roll.value(f"B{i}") == pytest.approx(item.opening, abs=0.005)
        assert roll.value(f"J{i}") == pytest.approx(item.closing, abs=0.005)
        assert roll.value(f"K{i}") == pytest.approx(item.expense, abs=0.005)
        assert roll.value(f"L{i}") == pytest.approx(item.closing, abs=fm.TOLERANCE)
        assert roll.value(f"N{i}") == "OK"
    assert float(quarters["payments"].sum()) > 0  # the run pays, so net payments are tested
    last = first + len(quarters) - 1
    ws = book[fm.ROLL_SHEET]
    ws[f"M{last}"] = round(float(quarters["closing"].iloc[-1]) + 10, 2)  # the GL is 10 higher
    _, roll, _ = _evaluated(book)
    assert roll.value(f"N{last}") == "GL differs by 10.00"
    ws[f"M{last}"] = round(float(quarters["closing"].iloc[-1]), 2)
    _, roll, _ = _evaluated(book)
    assert roll.value(f"N{last}") == "OK"
    ws[f"C{first}"] = float(quarters["service_cost"].iloc[0]) + 100  # a movement mistyped
    _, roll, _ = _evaluated(book)
    assert roll.value(f"N{first}") == "closing differs from the schedule by 100.00"
    assert roll.value(f"J{last}") == pytest.approx(quarters["closing"].iloc[-1] + 100, abs=0.005)


def test_a_run_the_batch_does_not_hold_is_refused_naming_it(batch):
    directory, name = batch
    with pytest.raises(fm.MaterialsError, match=f"no run of plan '{name}' with seed 7"):
        fm.reconciliation_inputs(directory, name, 7, 0.05)
    with pytest.raises(ValueError, match="forfeiture_rate must be in"):
        m4.quarterly_roll_forward(directory, name, 0, "straight_line", 1.5)


def test_a_hand_filled_blank_workbook_closes_as_computed_by_hand():
    book = fm.reconciliation_workbook()
    ws = book[fm.SCHEDULE_SHEET]
    # one cohort, four quarters of service; the estimate moves; it vests 1,100 at the end
    for r, (quarter, payout, vested) in enumerate(
        [("Q1", 1000, 0), ("Q2", 1200, 0), ("Q3", 1100, 0), ("Q4", 1100, 1100)], start=2
    ):
        for c, value in enumerate(["C1", "ops", quarter, r - 1, 4, payout, vested], start=1):
            ws.cell(row=r, column=c, value=value)
    roll = book[fm.ROLL_SHEET]
    first = fm.ROLL_HEADER_ROW + 1
    # service cost at the previous estimate; change in estimate the rest; 60 % paid at vesting
    movements = [
        ("Q1", 250, 0, 0),
        ("Q2", 250, 100, 0),
        ("Q3", 300, -75, 0),
        ("Q4", 275, 0, 660),
    ]
    for r, (quarter, service, change, paid) in enumerate(movements, start=first):
        values = (quarter, service, change, paid, 0, 0, 0)
        for c, value in zip((1, 3, 4, 5, 6, 7, 8), values, strict=True):
            roll.cell(row=r, column=c, value=value)
    roll[f"M{first + 3}"] = 440
    _, sheet, schedule = _evaluated(book)
    assert [schedule.value(f"I{r}") for r in range(2, 6)] == [250, 600, 825, 1100]
    assert [schedule.value(f"J{r}") for r in range(2, 6)] == [250, 350, 225, 275]
    assert schedule.value("I6") == ""  # a blank row computes nothing
    closings = [sheet.value(f"J{r}") for r in range(first, first + 4)]
    assert closings == [250, 600, 825, 440]  # 1,100 accrued less 660 paid
    assert [sheet.value(f"N{r}") for r in range(first, first + 4)] == ["OK"] * 4
    roll[f"H{first + 3}"] = 50  # a clawback of 50: cash back, the expense 50 lower
    _, sheet, _ = _evaluated(book)
    assert sheet.value(f"I{first + 3}") == 610 and sheet.value(f"K{first + 3}") == 225
    assert sheet.value(f"J{first + 3}") == 440
    assert sheet.value(f"L{first + 3}") == 490  # the schedule was not told: it flags it
    assert sheet.value(f"N{first + 3}") == "closing differs from the schedule by -50.00"
