"""Internal incentive periods against vendor SLA periods, on hand-made outages and a small run."""

import dataclasses

import pandas as pd
import pytest

from toolkit.config.loading import load_scenario
from toolkit.events.log import empty_table
from toolkit.finance import vendor_alignment as va
from toolkit.resources import shipped_scenario
from toolkit.sim import simulate


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_scenario("small"))


@pytest.fixture(scope="module")
def log(scenario):
    return simulate(scenario, seed=0)


def _with_outages(log, rows):
    outages = empty_table("outages")
    frame = pd.DataFrame(rows, columns=["outage_id", "vendor_id", "service_id", "start", "end"])
    frame = frame.assign(source="vendor", subcontractor_id=None)
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    outages = pd.concat([outages, frame], ignore_index=True)[list(outages.columns)]
    return dataclasses.replace(log, outages=outages, incidents=empty_table("incidents"))


def test_months_nest_in_quarters_but_a_quarter_splits_over_months(log):
    nested = va.period_alignment(log.start, log.end, "quarter", "month")
    assert len(nested) == 24 and not nested["split"].any()
    assert (nested["share_of_vendor_pct"] == 100).all()
    split = va.period_alignment(log.start, log.end, "month", "quarter")
    assert split["split"].all() and (split["internal_periods"] == 3).all()
    q1 = split[split["vendor_period"] == "2025Q1"]
    assert q1["share_of_vendor_pct"].sum() == pytest.approx(100)
    assert q1["share_of_vendor_pct"].iloc[0] == pytest.approx(100 * 744 / 2160)


def test_a_march_outage_hits_the_team_in_q1_and_is_credited_in_q2(scenario, log):
    hand = _with_outages(log, [("O1", "cloudco", "crm", "2025-03-31 10:00", "2025-03-31 14:00")])
    table = va.outage_accountability(scenario, hand)
    row = table.iloc[0]
    assert len(table) == 1 and row["team_id"] == "apps" and row["hours"] == pytest.approx(4)
    assert row["internal_period"] == "2025Q1" and row["vendor_period"] == "2025-03"
    # apps owns three services: 4 h of 3 x 2,160 service-hours in Q1
    assert row["team_loss_pp"] == pytest.approx(100 * 4 / (3 * 2160))
    # cloudco serves four services: 4 of 4 x 744 h is a 0.134 point miss, the 5 % band of 40,000
    assert row["vendor_credit"] == pytest.approx(2000) and row["vendor_credited"]
    assert row["settled_month"] == "2025-04" and row["settled_internal_period"] == "2025Q2"
    assert not row["same_period"]
    same = va.outage_accountability(scenario, hand, settlement_lag_months=0).iloc[0]
    assert same["same_period"]
    summary = va.accountability_summary(table)
    assert summary.loc[0, "other_period_pct"] == pytest.approx(100)
    assert summary.loc[0, "uncredited_pct"] == pytest.approx(0)


def test_a_short_outage_inside_the_sla_leaves_the_team_alone_to_answer(scenario, log):
    one_hour = ("O1", "netlink", "network", "2025-05-10 10:00", "2025-05-10 11:00")
    hand = _with_outages(log, [one_hour])
    table = va.outage_accountability(scenario, hand)
    assert not table["vendor_credited"].any() and table["team_loss_pp"].iloc[0] > 0
    assert va.accountability_summary(table).loc[0, "uncredited_pct"] == pytest.approx(100)


def test_a_quarterly_sla_pools_months_and_changes_the_misses(scenario, log):
    effect = va.sla_period_effect(scenario, log, "quarter")
    contract = effect[effect["sla_period"] == "contract"].set_index("vendor_id")
    quarterly = effect[effect["sla_period"] == "quarter"].set_index("vendor_id")
    assert (contract["periods"] == 24).all() and (quarterly["periods"] == 8).all()
    assert (quarterly["availability_misses"] <= contract["availability_misses"]).all()
    assert effect.equals(va.sla_period_effect(scenario, log, "quarter"))
