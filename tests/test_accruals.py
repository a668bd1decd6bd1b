"""Accrual schedule, quarterly roll-forward, journal and GL reconciliation on a toy ledger.

The toy organisation of ``test_finance``: team "ops" (alice 20k and bob 5k grants) serving
units bu1 and bu2, team "dev" (carol 15k) serving bu2. Quarterly periods unless stated; ops is
found gaming twice, which triggers malus on unvested and deferred awards and clawback.
"""

import numpy as np
import pandas as pd
import pytest

from toolkit.finance.accruals import AccrualError, LedgerTables, accrual_schedule
from toolkit.finance.rollforward import (
    GL_COLUMNS,
    LedgerExportError,
    journal_entries,
    read_gl_export,
    reconcile,
    roll_forward,
    roll_forward_markdown,
    summarise_roll_forward,
)
from toolkit.plans.ledger import AwardLedger, Finding

from .test_finance import DEV, DEV_SERVICES, OPS, OPS_SERVICES, make_plan, make_scenario

SCENARIO = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
FINDINGS = {6: [Finding("ops", "gaming_detected")], 11: [Finding("ops", "gaming_detected")]}


def plan(schedule="graded", **fields):
    return make_plan(
        target_award_pct={"G5": 20},
        default_target_award_pct=10,
        start_after_periods=1,
        performance_period_years=2,
        grant_every_years=1,
        vesting={"schedule": schedule, "deferral_share": 0.5, "deferral_years": 1},
        malus={"triggers": ["gaming_detected"], "reduction": 0.5},
        clawback={"triggers": ["gaming_detected"], "recovery": 0.5, "lookback_years": 1},
        **fields,
    )


def ledger(the_plan, periods=20, periods_per_year=4, findings=FINDINGS):
    book = AwardLedger(the_plan, SCENARIO, [f"P{k}" for k in range(periods)], periods_per_year)
    for k in range(periods):
        scores = {"ops": 70.0 + 10 * (k % 4), "dev": 120.0 - 5 * (k % 3)}
        book.close_period(k, scores, findings.get(k, ()))
    return book


@pytest.fixture(scope="module")
def graded():
    the_plan = plan()
    return the_plan, LedgerTables.from_ledger(ledger(the_plan))


def schedule_of(setup, method="graded", forfeiture_rate=0.05, **kwargs):
    the_plan, tables = setup
    return accrual_schedule(
        tables, the_plan, 4, method=method, forfeiture_rate=forfeiture_rate, **kwargs
    )


def final_rows(schedule):
    return schedule.sort_values("period_index").groupby(["cohort", "team_id"]).last()


@pytest.mark.parametrize("method", ["straight_line", "graded"])
def test_money_is_conserved_across_accrual_payment_malus_and_clawback(graded, method):
    _, tables = graded
    schedule = schedule_of(graded, method)
    sums = schedule.groupby(["cohort", "team_id"])[["expense", "payments", "clawback"]].sum()
    last = final_rows(schedule)
    # sum of expenses = net payments + closing liability, per cohort and team, to the cent
    gap = sums["expense"] - (sums["payments"] - sums["clawback"] + last["liability"])
    assert gap.abs().max() < 0.005
    # the schedule's payments and recoveries are the ledger's
    flows = tables.cashflows.groupby("kind")["amount"].sum()
    assert schedule["payments"].sum() == pytest.approx(flows["pay"], abs=0.005)
    assert schedule["clawback"].sum() == pytest.approx(flows["clawback"], abs=0.005)
    assert schedule["forfeitures"].sum() + schedule["malus"].sum() == pytest.approx(
        flows["malus"], abs=0.005
    )
    # once a cohort has fully vested, the book liability is what the ledger still holds
    status = tables.awards.groupby(["cohort", "team_id"])["status"].first()
    settled = last[status.reindex(last.index) != "open"]
    assert len(settled) >= 4
    assert (settled["liability"] - settled["ledger_liability"]).abs().max() < 0.005
    paid = status.reindex(last.index) == "paid"
    assert paid.any() and last.loc[paid, "liability"].abs().max() < 0.005
    # and its total expense is what was paid net of clawback
    net_paid = tables.awards.groupby(["cohort", "team_id"])["paid"].sum()
    assert (sums.loc[paid, "expense"] - net_paid.reindex(last.index)[paid]).abs().max() < 0.005


def test_malus_and_clawback_reduce_the_cost(graded):
    schedule = schedule_of(graded)
    assert schedule["forfeitures"].sum() > 0
    assert schedule["malus"].sum() > 0
    assert schedule["clawback"].sum() > 0
    the_plan = graded[0]
    clean = LedgerTables.from_ledger(ledger(the_plan, findings={}))
    untouched = accrual_schedule(clean, the_plan, 4, method="graded", forfeiture_rate=0.05)
    assert untouched["expense"].sum() > schedule["expense"].sum()
    assert untouched[["forfeitures", "malus", "clawback"]].to_numpy().sum() == 0


def test_graded_front_loads_the_same_total(graded):
    straight = schedule_of(graded, "straight_line").set_index(["period", "cohort", "team_id"])
    tranche = schedule_of(graded, "graded").set_index(["period", "cohort", "team_id"])
    # same expected payout, same total once the cohort has vested
    assert np.allclose(straight["expected_payout"], tranche["expected_payout"])
    vested = straight["service_share"] == 1
    assert np.allclose(
        straight.loc[vested, "cumulative_accrual"], tranche.loc[vested, "cumulative_accrual"]
    )
    # before that, graded has accrued at least as much, and strictly more in the first year
    during = ~vested
    lead = tranche.loc[during, "cumulative_accrual"] - straight.loc[during, "cumulative_accrual"]
    assert lead.min() > -1e-9
    first_year = (tranche["service_share"] < 1) & (straight["service_share"] < 0.5)
    assert (lead[first_year[during]] > 1).all() and first_year.any()


def test_cliff_vesting_makes_both_methods_identical():
    the_plan = plan("cliff")
    setup = (the_plan, LedgerTables.from_ledger(ledger(the_plan)))
    straight = schedule_of(setup, "straight_line")
    tranche = schedule_of(setup, "graded")
    assert np.allclose(straight["cumulative_accrual"], tranche["cumulative_accrual"])


def test_forfeiture_assumption_lowers_the_accrual_then_trues_up(graded):
    none = schedule_of(graded, forfeiture_rate=0.0)
    some = schedule_of(graded, forfeiture_rate=0.2)
    open_ = none["service_share"] < 1
    assert (some.loc[open_, "cumulative_accrual"] < none.loc[open_, "cumulative_accrual"]).all()
    assert np.allclose(
        final_rows(some)["cumulative_accrual"][final_rows(none)["service_share"] == 1],
        final_rows(none)["cumulative_accrual"][final_rows(none)["service_share"] == 1],
    )


def test_forfeiture_assumption_is_required(graded):
    with pytest.raises(AccrualError, match="forfeiture_rate is required"):
        schedule_of(graded, forfeiture_rate=None)
    with pytest.raises(AccrualError, match=r"\[0, 1\)"):
        schedule_of(graded, forfeiture_rate=1.0)
    with pytest.raises(AccrualError, match="method"):
        schedule_of(graded, method="accelerated")


def test_fixed_expected_score_at_target_over_accrues_a_low_scorer(graded):
    # ops scores 70..100 (mean 85): expecting target overstates its open estimate
    to_date = schedule_of(graded).query("team_id == 'ops' and service_share < 1")
    target = schedule_of(graded, expected_score=100).query("team_id == 'ops' and service_share < 1")
    assert (target["expected_payout"].to_numpy() >= to_date["expected_payout"].to_numpy()).all()


def cents(series):
    return np.rint(series.to_numpy() * 100).astype(np.int64)


def signed(table, last):
    """Service cost + change in estimate − forfeitures − malus − ``last``, in cents."""
    plus = cents(table["service_cost"]) + cents(table["change_in_estimate"])
    return plus - cents(table["forfeitures"]) - cents(table["malus"]) - cents(table[last])


@pytest.mark.parametrize("periods_per_year", [4, 12])
def test_roll_forward_closes_every_quarter_to_the_cent(periods_per_year):
    the_plan = plan()
    periods = 5 * periods_per_year
    tables = LedgerTables.from_ledger(ledger(the_plan, periods, periods_per_year, {}))
    schedule = accrual_schedule(
        tables, the_plan, periods_per_year, method="graded", forfeiture_rate=0.05
    )
    table = roll_forward(schedule, SCENARIO, periods_per_year)
    movements = signed(table, "payments")
    assert (cents(table["opening"]) + movements == cents(table["closing"])).all()
    rows = table.groupby(["cohort", "team_id", "business_unit"])
    assert (cents(rows["closing"].shift(fill_value=0)) == cents(table["opening"])).all()
    # quarters: monthly runs group three months
    per_quarter = periods_per_year // 4
    quarters = schedule["period_index"] // per_quarter
    assert table["quarter"].nunique() == quarters.nunique()
    # charged to units, the closing liability adds up to the schedule's
    last_q = table[table["quarter"] == table["quarter"].iloc[-1]]
    last_p = schedule[schedule["period_index"] == schedule["period_index"].max()]
    assert last_q["closing"].sum() == pytest.approx(
        last_p["liability"].sum(), abs=0.01 * len(last_q)
    )


def test_roll_forward_with_malus_and_clawback_closes(graded):
    table = roll_forward(schedule_of(graded), SCENARIO, 4)
    assert table["clawback"].sum() > 0
    change = cents(table["closing"]) - cents(table["opening"])
    movements = signed(table, "payments")
    assert (change == movements).all()
    assert (signed(table, "clawback") == cents(table["expense"])).all()
    assert set(table["business_unit"]) == {"bu1", "bu2"}


def test_journal_balances_and_carries_the_liability(graded):
    table = roll_forward(schedule_of(graded), SCENARIO, 4)
    journal = journal_entries(table, {"liability": "2450 LTI accrued"})
    by_entry = journal.groupby("entry_id")[["debit", "credit"]].sum()
    assert (cents(by_entry["debit"]) == cents(by_entry["credit"])).all()
    assert set(journal["kind"]) == {"accrual", "true_up", "payment", "recovery"}
    liability = journal[journal["account"] == "2450 LTI accrued"]
    booked = -liability.groupby(["cohort", "business_unit"])["amount"].sum()
    closing = table.assign(order=table["quarter"].str[1:].astype(int))
    closing = closing[closing["order"] == closing["order"].max()]
    closing = closing.groupby(["cohort", "business_unit"])["closing"].sum()
    assert (cents(booked.reindex(closing.index)) == cents(closing)).all()


def gl_from(journal):
    return journal[list(GL_COLUMNS)].copy()


def test_gl_that_books_the_journal_reconciles(graded, tmp_path):
    journal = journal_entries(roll_forward(schedule_of(graded), SCENARIO, 4))
    path = tmp_path / "gl.csv"
    gl_from(journal).to_csv(path, index=False)
    assert reconcile(journal, read_gl_export(path)).empty


def test_planted_gl_differences_are_found_with_their_cause(graded, tmp_path):
    journal = journal_entries(roll_forward(schedule_of(graded), SCENARIO, 4))
    gl = gl_from(journal)
    edited, dropped, moved = 3, 10, 21
    gl.loc[edited, "amount"] += 12.34
    gl.loc[moved, "period"] = "P19"
    extra = gl.loc[[5]].assign(reference="manual:P7:bonus", amount=999.0)
    gl = pd.concat([gl.drop(index=dropped), extra], ignore_index=True)
    path = tmp_path / "gl.csv"
    gl.to_csv(path, index=False)
    found = reconcile(journal, read_gl_export(path)).set_index(["reference", "account"])
    expected = {
        tuple(journal.loc[edited, ["reference", "account"]]): "amount differs",
        tuple(journal.loc[dropped, ["reference", "account"]]): "missing posting",
        tuple(journal.loc[moved, ["reference", "account"]]): "wrong period",
        ("manual:P7:bonus", journal.loc[5, "account"]): "posting without accrual",
    }
    assert found["cause"].to_dict() == expected
    assert found.loc[tuple(journal.loc[edited, ["reference", "account"]]), "difference"] == (
        pytest.approx(12.34)
    )


def test_malformed_gl_export_is_refused_naming_row_and_field(tmp_path):
    path = tmp_path / "gl.csv"
    path.write_text(
        "period,account,business_unit,cohort,amount,reference\nP1,x,bu1,P1,12,a\n"
        "P1,x,bu1,P1,twelve,b\n"
    )
    with pytest.raises(LedgerExportError, match=r"gl.csv: row 3, field 'amount'"):
        read_gl_export(path)
    path.write_text("period,account,amount\nP1,x,1\n")
    with pytest.raises(LedgerExportError, match="missing columns"):
        read_gl_export(path)


def test_run_directory_tables_are_read_and_missing_ones_named(graded, tmp_path):
    the_plan, tables = graded
    for name in ("awards", "cashflows", "liability"):
        getattr(tables, name).to_parquet(tmp_path / f"{name}.parquet", index=False)
    read = LedgerTables.read(tmp_path)
    pd.testing.assert_frame_equal(
        accrual_schedule(read, the_plan, 4, method="graded", forfeiture_rate=0.05),
        schedule_of(graded),
    )
    (tmp_path / "cashflows.parquet").unlink()
    with pytest.raises(AccrualError, match="cashflows.parquet: missing"):
        LedgerTables.read(tmp_path)


def test_summary_by_business_unit_closes_and_renders(graded):
    table = roll_forward(schedule_of(graded), SCENARIO, 4)
    summary = summarise_roll_forward(table, ["quarter", "business_unit"])
    assert (
        cents(summary["opening"]) + signed(summary, "payments") == cents(summary["closing"])
    ).all()
    rows = summary.groupby("business_unit")
    assert (cents(rows["closing"].shift(fill_value=0)) == cents(summary["opening"])).all()
    text = roll_forward_markdown(table)
    assert "## bu1" in text and "## all units" in text
    last = summarise_roll_forward(table, ["quarter"]).iloc[-1]
    assert f"{last['closing']:,.2f}" in text.splitlines()[-1]
