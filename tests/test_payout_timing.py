"""Internal award payments and vendor settlements on one calendar, hand-computed."""

import pandas as pd
import pytest

from toolkit.finance import payout_timing as pt


def _sla(rows):
    columns = ["vendor_id", "subcontractor_id", "period", "start", "end", "credit_true"]
    frame = pd.DataFrame(rows, columns=[*columns, "bonus_true"])
    frame[["start", "end"]] = frame[["start", "end"]].apply(pd.to_datetime)
    return frame.assign(credit_reported=0.0, bonus_reported=0.0, measure="availability")


SLA = _sla(
    [
        ("cloudco", None, "2025-01", "2025-01-01", "2025-02-01", 0.0, 800.0),
        ("cloudco", None, "2025-02", "2025-02-01", "2025-03-01", 4000.0, 0.0),
        ("cloudco", "dcpower", "2025-02", "2025-02-01", "2025-03-01", 300.0, 0.0),
    ]
)
CASH = pd.DataFrame(
    {
        "period": ["2026Q1", "2026Q1", "2026Q1"],
        "person_id": ["p1", "p2", "p1"],
        "team_id": ["apps", "apps", "apps"],
        "cohort": ["2025Q1", "2025Q1", "2025Q1"],
        "kind": ["pay", "pay", "vest"],
        "amount": [1000.0, 500.0, 9999.0],
    }
)
GAIN = pd.DataFrame(
    {
        "side": ["vendor", "internal"],
        "claimant": ["cloudco", "apps"],
        "period": ["2025Q2"] * 2,
        "payment": [5000.0, 700.0],
    }
)


def test_contract_schedule_settles_each_month_on_the_next_invoice():
    table = pt.payout_schedule(CASH, SLA, "quarter", gain_share=GAIN)
    by = table.set_index(["party", "kind", "earned_in"])
    assert by.loc[("cloudco", "bonus", "2025-01"), "paid_month"] == "2025-02"
    credit = by.loc[("cloudco", "credit", "2025-02")]
    assert credit["paid_month"] == "2025-03" and credit["amount"] == -4000
    assert by.loc[("cloudco/dcpower", "credit", "2025-02"), "amount"] == -300
    award = by.loc[("apps", "award", "2025Q1")]
    assert award["amount"] == 1500 and award["paid_month"] == "2026-03"
    assert award["lag_months"] == 12  # earned by March 2025, paid March 2026
    assert by.loc[("cloudco", "gain_share", "2025Q2"), "paid_month"] == "2025-07"
    assert len(table) == 5  # the vest row and the internal saving reward are not vendor cash


def test_aligned_schedule_moves_vendor_money_to_the_internal_quarter():
    table = pt.payout_schedule(CASH, SLA, "quarter", schedule="aligned")
    vendor = table[table["side"] == "vendor"].set_index(["party", "kind"])
    assert (vendor["paid_month"] == "2025-04").all()
    assert vendor.loc[("cloudco", "bonus"), "lag_months"] == 3
    quarters = pt.cash_calendar(table)
    assert quarters.loc["2025Q2", "vendor: credit"] == -4300
    assert quarters.loc["2025Q2", "net"] == pytest.approx(800 - 4300)
    assert quarters.loc["2026Q1", "internal: award"] == 1500
    contract = pt.cash_calendar(pt.payout_schedule(CASH, SLA, "quarter"))
    assert contract.loc["2025Q1", "net"] == pytest.approx(800 - 4300)  # paid in Feb and March
    lags = pt.timing_summary(table).set_index(["side", "kind"])["mean_lag_months"]
    assert lags[("internal", "award")] == 12 and lags[("vendor", "credit")] == 2


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        pt.payout_schedule(CASH, SLA, "quarter", schedule="monthly")
