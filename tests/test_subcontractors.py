"""A subcontractor's share of its vendor's SLA shortfall and of the owning team's loss."""

import dataclasses

import pandas as pd
import pytest

from toolkit.config.loading import load_scenario
from toolkit.events.log import empty_table
from toolkit.finance import subcontractors as sc
from toolkit.resources import shipped_scenario
from toolkit.sim import simulate


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_scenario("small"))


@pytest.fixture(scope="module")
def hand(scenario):
    """Two hours of CloudCo's own and two of DC Power's downtime on CRM in March 2025."""
    log = simulate(scenario, seed=0)
    rows = [
        ("O1", "cloudco", None, "crm", "2025-03-10 10:00", "2025-03-10 12:00"),
        ("O2", "cloudco", "dcpower", "crm", "2025-03-20 10:00", "2025-03-20 12:00"),
    ]
    columns = ["outage_id", "vendor_id", "subcontractor_id", "service_id", "start", "end"]
    frame = pd.DataFrame(rows, columns=columns).assign(source="vendor")
    frame[["start", "end"]] = frame[["start", "end"]].apply(pd.to_datetime)
    outages = empty_table("outages")
    outages = pd.concat([outages, frame], ignore_index=True)[list(outages.columns)]
    return dataclasses.replace(log, outages=outages, incidents=empty_table("incidents"))


def test_the_subcontractor_alone_tips_the_vendor_month_into_a_credit(scenario, hand):
    share = sc.subcontractor_sla_share(scenario, hand)
    march = share[(share["subcontractor_id"] == "dcpower") & (share["period"] == "2025-03")]
    row = march.iloc[0]
    # 4 h of 4 x 744 service-hours: 99.866 % against 99.9; 2 h alone: 99.933 %, no miss
    assert row["shortfall_pct"] == pytest.approx(99.9 - 100 * (1 - 4 / 2976))
    assert row["shortfall_without_pct"] == 0 and row["subcontractor_share_pct"] == 100
    assert row["credit"] == pytest.approx(2000) and row["credit_without"] == 0
    assert (share.loc[share["period"] != "2025-03", "shortfall_pct"] == 0).all()
    summary = sc.subcontractor_summary(share).set_index("subcontractor_id")
    assert summary.loc["dcpower", "credit_caused"] == pytest.approx(2000)
    assert summary.loc["dcpower", "share_pct"] == pytest.approx(100)


def test_half_the_owning_teams_vendor_loss_came_through_the_subcontractor(scenario, hand):
    team = sc.subcontractor_team_share(scenario, hand)
    assert list(team["team_id"]) == ["apps"] and team["internal_period"].iloc[0] == "2025Q1"
    row = team.iloc[0]
    assert row["vendor_loss_pp"] == pytest.approx(100 * 4 / (3 * 2160))
    assert row["subcontractor_share_pct"] == pytest.approx(50)


def test_removing_subcontractors_keeps_the_vendors_own_outages(hand):
    left = sc.without_subcontractors(hand)
    assert list(left.outages["outage_id"]) == ["O1"]
    assert len(sc.without_subcontractors(hand, {"nobody"}).outages) == 2
