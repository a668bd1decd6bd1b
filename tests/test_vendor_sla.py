"""Vendor SLA attainment and credits on hand-built logs, the vendor's reporting lever, runs."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.vendor_reporting import LATE_START_SHARE, report_vendor_outages
from toolkit.config.scenario import (
    AvailabilityTerms,
    Bonus,
    CreditBand,
    SubcontractorContract,
    TimeTerms,
    VendorContract,
    VendorReporting,
)
from toolkit.events import EventLog
from toolkit.events.log import empty_table
from toolkit.events.periods import period_bounds
from toolkit.finance.vendor_credits import (
    band_credit_pct,
    credits,
    vendor_sla_table,
    vendor_summary,
)
from toolkit.metrics.vendor_sla import (
    VENDOR_RESPONSE,
    SlaParty,
    measurable,
    restorations,
    sla_parties,
    unmeasured_note,
    vendor_sla,
)
from toolkit.sim import World

START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-01")  # January and February
JANUARY_HOURS = 744.0
BANDS = [
    CreditBand(shortfall_from_pct=0, credit_pct=5),
    CreditBand(shortfall_from_pct=0.4, credit_pct=10),
    CreditBand(shortfall_from_pct=0.9, credit_pct=15),
]


def contract(**changes) -> VendorContract:
    terms = {
        "period": "month",
        "monthly_fee": 10_000.0,
        "availability": AvailabilityTerms(
            target_pct=99.9,
            credit_bands=BANDS,
            bonus=Bonus(above_target_pct=0.09, bonus_pct=2),
        ),
        "credit_cap_pct": 20.0,
        "bonus_cap_pct": 2.0,
    }
    return VendorContract(**{**terms, **changes})


def party(terms=None, services=("S1",), sub=None) -> SlaParty:
    return SlaParty("V1", sub, tuple(services), 99.9, terms if terms is not None else contract())


def outage(start, hours, *, service="S1", vendor="V1", sub=None, source="vendor"):
    begin = pd.Timestamp(start)
    return {
        "source": source,
        "vendor_id": vendor,
        "subcontractor_id": sub,
        "service_id": service,
        "start": begin,
        "end": begin + pd.Timedelta(hours=hours),
    }


def incident(
    opened, *, responded=None, resolved=None, priority=1, cause="vendor", hold=0.0, **extra
):
    at = pd.Timestamp(opened)
    acknowledged = extra.pop("acknowledged", None)
    assert not extra
    if acknowledged is not None:  # the vendor's own acknowledgement (False: none), its feed
        never = acknowledged is False
        extra[VENDOR_RESPONSE] = pd.NaT if never else at + pd.Timedelta(hours=acknowledged)
    return extra | {
        "service_id": "S1",
        "team_id": "T1",
        "opened_at": at,
        "responded_at": at + pd.Timedelta(hours=responded) if responded is not None else pd.NaT,
        "resolved_at": at + pd.Timedelta(hours=resolved) if resolved is not None else pd.NaT,
        "closed_at": pd.NaT,
        "priority": priority,
        "priority_initial": priority,
        "root_cause": cause,
        "change_id": None,
        "vendor_id": "V1" if cause == "vendor" else None,
        "reopen_count": 0,
        "reassignment_count": 0,
        "on_hold_hours": hold,
        "sla_target_hours": 8.0,
        "sla_breached": False,
        "csat": np.nan,
    }


def make_log(outages=(), incidents=(), start=START, end=END) -> EventLog:
    def table(name, rows, id_column, prefix):
        if not rows:
            return empty_table(name)
        frame = pd.DataFrame(list(rows))
        frame.insert(0, id_column, [f"{prefix}{i}" for i in range(len(frame))])
        if VENDOR_RESPONSE in frame:
            frame[VENDOR_RESPONSE] = pd.to_datetime(frame[VENDOR_RESPONSE])
        return frame

    return EventLog(
        incidents=table("incidents", incidents, "incident_id", "INC"),
        changes=empty_table("changes"),
        outages=table("outages", outages, "outage_id", "OUT"),
        services=empty_table("services"),
        start=start,
        end=end,
    )


def row(table, period, measure="availability"):
    hit = table[(table["period"] == period) & (table["measure"] == measure)]
    assert len(hit) == 1
    return hit.iloc[0]


# -- attainment ---------------------------------------------------------------------------


def test_known_outage_minutes_give_known_availability_and_credit_band():
    # 0.5 % of January's 744 hours is 3.72 h = 223.2 minutes: availability 99.5 %, a shortfall
    # of 0.4 points from 99.9 %, the second band (10 % of the 10,000 monthly fee).
    log = make_log([outage("2025-01-10 08:00", 3.72)])
    table = credits(vendor_sla(log, [party()]), [party()])
    jan, feb = row(table, "2025-01"), row(table, "2025-02")
    assert jan["attainment_pct"] == pytest.approx(99.5)
    assert jan["measured"] == JANUARY_HOURS
    assert jan["shortfall_pct"] == pytest.approx(0.4)
    assert jan["credit_pct"] == 10 and jan["credit"] == pytest.approx(1000.0)
    assert jan["bonus"] == 0
    # February: no outage, 100 % beats 99.9 % by 0.1 point: the 2 % bonus, no credit.
    assert feb["attainment_pct"] == 100 and feb["credit"] == 0
    assert feb["bonus"] == pytest.approx(200.0)


def test_bands_pick_the_highest_band_reached():
    assert band_credit_pct(0.0, BANDS) == 0
    assert band_credit_pct(0.01, BANDS) == 5
    assert band_credit_pct(0.4, BANDS) == 10
    assert band_credit_pct(0.89, BANDS) == 10
    assert band_credit_pct(3.0, BANDS) == 15
    assert band_credit_pct(3.0, []) == 0


def test_overlapping_outages_count_once_and_other_downtime_not_at_all():
    log = make_log(
        [
            outage("2025-01-10 08:00", 2.0),
            outage("2025-01-10 09:00", 2.0, sub="SUB1"),  # overlaps by an hour: 3 h in all
            outage("2025-01-20 00:00", 10.0, source="external", vendor=None),
            outage("2025-01-21 00:00", 10.0, vendor="V2"),
        ],
        [incident("2025-01-25", responded=0.1, resolved=5.0, cause="internal")],
    )
    vendor, sub = (
        party(),
        party(
            SubcontractorContract(
                period="month",
                monthly_fee=2000.0,
                availability=contract().availability,
                credit_cap_pct=10.0,
            ),
            sub="SUB1",
        ),
    )
    table = vendor_sla(log, [vendor, sub])
    own = table[table["subcontractor_id"].isna()]
    theirs = table[table["subcontractor_id"] == "SUB1"]
    assert row(own, "2025-01")["attainment_pct"] == pytest.approx(100 * (1 - 3 / JANUARY_HOURS))
    assert row(theirs, "2025-01")["attainment_pct"] == pytest.approx(100 * (1 - 2 / JANUARY_HOURS))


def test_availability_pools_the_dependent_services():
    log = make_log([outage("2025-01-10", 7.44, service="S1")])
    table = vendor_sla(log, [party(services=("S1", "S2"))])
    # 7.44 h down on one of two services: 0.5 % of the service-hours.
    assert row(table, "2025-01")["attainment_pct"] == pytest.approx(99.5)
    assert row(table, "2025-01")["measured"] == 2 * JANUARY_HOURS


def _resolution(target_hours, outages, incidents, end=END):
    terms = contract(
        resolution=TimeTerms(target_hours=target_hours, required_pct=90, credit_bands=BANDS)
    )
    log = make_log(outages, incidents, end=end)
    return credits(vendor_sla(log, [party(terms)]), [party(terms)])


def test_resolution_is_the_restoration_of_the_vendor_outage_not_the_ticket():
    # Opened at t with its outage; the outage ends at t + 5 h; the internal team resolves the
    # ticket 20 h later, 3 of them on hold. A 4-hour limit is missed, a 6-hour one met: the
    # team's queue and its on-hold time do not count.
    outages = [outage("2025-01-10 08:00", 5.0)]
    incidents = [incident("2025-01-10 08:00", responded=2.0, resolved=20.0, hold=3.0)]
    tight = row(_resolution({1: 4.0}, outages, incidents), "2025-01", "resolution")
    loose = row(_resolution({1: 6.0}, outages, incidents), "2025-01", "resolution")
    assert tight["measured"] == 1 and tight["attainment_pct"] == 0 and tight["credit"] > 0
    assert loose["measured"] == 1 and loose["attainment_pct"] == 100 and loose["credit"] == 0
    assert tight["measurable"] and loose["measurable"]


def test_resolution_counts_only_incidents_an_outage_of_the_vendor_explains():
    outages = [
        outage("2025-01-05", 3.0),  # within 4 h
        outage("2025-01-06", 2.0, sub="SUB1"),  # a subcontractor's: the vendor answers for it
        outage("2025-01-07", 9.0),  # late
        outage("2025-01-09", 9.0, vendor="V2"),  # another vendor's outage
        outage("2025-02-28 19:00", 9.0),  # still going at the log's end, 5 h in: a miss
        outage("2025-02-28 23:00", 9.0, service="S2"),  # 1 h in: not measured yet
    ]
    s2 = {**incident("2025-02-28 23:00"), "service_id": "S2"}
    incidents = [
        incident("2025-01-05", resolved=30.0),
        incident("2025-01-06", resolved=30.0),
        incident("2025-01-07", resolved=10.0),
        incident("2025-01-08", resolved=1.0, priority=3),  # P3: no limit
        incident("2025-01-09", resolved=1.0),  # blamed on V1, but only V2 was down: unsupported
        incident("2025-01-10", resolved=1.0, cause="internal"),
        incident("2025-02-28 19:00"),
        s2,
    ]
    table = _resolution({1: 4.0}, outages, incidents)
    jan, feb = row(table, "2025-01", "resolution"), row(table, "2025-02", "resolution")
    assert jan["measured"] == 3 and jan["attainment_pct"] == pytest.approx(200 / 3)
    assert feb["measured"] == 1 and feb["attainment_pct"] == 0


def test_an_incident_is_linked_to_the_outage_under_way_or_the_first_to_start_after():
    log = make_log(
        [
            outage("2025-01-05 00:00", 10.0),
            outage("2025-01-05 02:00", 1.0, sub="SUB1"),  # began last, under way at 02:30
            outage("2025-01-07 03:00", 2.0),  # dated after the ticket, while it was open
            outage("2025-01-09 03:00", 2.0),  # after the ticket was resolved
        ],
        [
            incident("2025-01-05 02:30", resolved=20.0),
            incident("2025-01-07 01:00", resolved=10.0),
            incident("2025-01-09 01:00", resolved=1.0),
        ],
    )
    linked = restorations(log, "V1", log.incidents)
    assert linked["outage_id"].iloc[:2].tolist() == ["OUT1", "OUT2"]
    assert linked["outage_id"].isna().iloc[2] and pd.isna(linked["start"].iloc[2])
    assert linked["end"].iloc[0] == pd.Timestamp("2025-01-05 03:00")
    assert restorations(log, "V2", log.incidents)["outage_id"].isna().all()


def test_a_late_reported_outage_start_shortens_the_reported_resolution():
    # 5 h down, a 4.5 h limit: a miss on the truth. The vendor reports the start 20-60 % of the
    # way in, so its report shows 2-4 h: a hit, from its clock, for the same ticket.
    log = make_log([outage("2025-01-10 08:00", 5.0)], [incident("2025-01-10 08:00", resolved=9)])
    terms = contract(resolution=TimeTerms(target_hours={1: 4.5}, required_pct=90))
    true = row(vendor_sla(log, [party(terms)]), "2025-01", "resolution")
    late = row(vendor_sla(_late(log, 1.0), [party(terms)]), "2025-01", "resolution")
    assert true["attainment_pct"] == 0 and late["attainment_pct"] == 100
    assert late["measured"] == true["measured"] == 1


def test_response_needs_the_vendors_acknowledgement_and_is_unmeasured_without_it():
    terms = contract(
        response=TimeTerms(target_hours={1: 0.5}, required_pct=95, credit_bands=BANDS),
        resolution=TimeTerms(target_hours={1: 4.0}, required_pct=90),
    )
    # The internal team responded late, which is not the vendor's response.
    internal_only = make_log(incidents=[incident("2025-01-05", responded=3.0, resolved=5.0)])
    table = credits(vendor_sla(internal_only, [party(terms)]), [party(terms)])
    response = table[table["measure"] == "response"]
    assert not measurable(internal_only, "response") and not response["measurable"].any()
    assert response["attainment_pct"].isna().all() and (response["measured"] == 0).all()
    assert response["credit"].sum() == 0 and response["bonus"].sum() == 0
    # No outage in the log: resolution cannot be measured either; availability is, as 100 %.
    assert not row(table, "2025-01", "resolution")["measurable"]
    assert row(table, "2025-01")["measurable"]
    fed = make_log(
        incidents=[
            incident("2025-01-05", responded=3.0, resolved=5.0, acknowledged=0.25),
            incident("2025-01-06", responded=0.1, resolved=5.0, acknowledged=1.0),  # late
            incident("2025-01-07", resolved=5.0, acknowledged=False),  # resolved, none recorded
            incident("2025-01-08", priority=3, acknowledged=9.0),  # P3: no limit
            incident("2025-02-28 23:45", acknowledged=False),  # open, limit not yet passed
        ]
    )
    table = credits(vendor_sla(fed, [party(terms)]), [party(terms)])
    jan, feb = row(table, "2025-01", "response"), row(table, "2025-02", "response")
    assert jan["measurable"] and jan["measured"] == 2 and jan["attainment_pct"] == 50
    assert jan["credit_pct"] == 15  # a 45-point shortfall reaches the top band
    assert feb["measured"] == 0 and np.isnan(feb["attainment_pct"]) and feb["credit"] == 0


def test_an_export_without_outage_records_does_not_measure_availability():
    """An ingested export names its tables; without outages it shows no downtime, which must
    not read as 100 % and earn the bonus a month without outages earns (see the first test)."""
    simulated = make_log(incidents=[incident("2025-01-05", resolved=5.0)])
    exported = replace(simulated, meta={"source": "ingest", "tables": ["incidents"]})
    assert measurable(simulated, "availability") and not measurable(exported, "availability")
    table = credits(vendor_sla(exported, [party()]), [party()])
    availability = table[table["measure"] == "availability"]
    assert not availability["measurable"].any() and availability["attainment_pct"].isna().all()
    assert (availability["measured"] == 0).all()
    assert availability["credit"].sum() == 0 and availability["bonus"].sum() == 0
    assert (availability["fee"] > 0).all()  # the fees are still owed
    assert "availability of V1 (the log's source exports no outage records)" in unmeasured_note(
        table
    )


def test_the_note_names_each_unmeasured_measure_and_the_missing_data():
    terms = contract(
        response=TimeTerms(target_hours={1: 0.5}, required_pct=95),
        resolution=TimeTerms(target_hours={1: 4.0}, required_pct=90),
    )
    bare = make_log(incidents=[incident("2025-01-05", resolved=5.0)])
    note = unmeasured_note(vendor_sla(bare, [party(terms)]))
    assert note.startswith("Not measured") and "response of V1" in note
    assert "resolution of V1" in note and "availability" not in note
    fed = make_log([outage("2025-01-05", 1.0)], [incident("2025-01-05", acknowledged=0.1)])
    assert unmeasured_note(vendor_sla(fed, [party(terms)])) == ""


def test_an_unanswered_incident_past_its_limit_is_a_miss():
    terms = contract(response=TimeTerms(target_hours={1: 0.5}, required_pct=95))
    log = make_log(
        incidents=[
            incident("2025-01-05", acknowledged=False),
            incident("2025-01-06", acknowledged=0.1),
        ]
    )
    response = row(vendor_sla(log, [party(terms)]), "2025-01", "response")
    assert response["measured"] == 2 and response["attainment_pct"] == 50


def test_the_credit_cap_scales_every_measure_of_the_period():
    terms = contract(
        response=TimeTerms(target_hours={1: 0.5}, required_pct=95, credit_bands=BANDS),
        credit_cap_pct=20.0,
    )
    log = make_log(
        [outage("2025-01-10", 10.0)],  # 98.66 %: a 1.24-point shortfall, 15 %
        [incident("2025-01-10", resolved=10.0, acknowledged=2.0)],  # 0 % on time: 15 %
    )
    table = credits(vendor_sla(log, [party(terms)]), [party(terms)])
    january = table[table["period"] == "2025-01"]
    assert january["credit_pct"].tolist() == [15, 15]
    assert january["credit"].sum() == pytest.approx(2000.0)  # 20 % of 10,000, not 30 %
    assert january["credit"].tolist() == pytest.approx([1000.0, 1000.0])
    assert january["capped"].all()
    uncapped = contract(
        response=TimeTerms(target_hours={1: 0.5}, required_pct=95, credit_bands=BANDS),
        credit_cap_pct=50.0,
    )
    loose = credits(vendor_sla(log, [party(uncapped)]), [party(uncapped)])
    assert loose[loose["period"] == "2025-01"]["credit"].sum() == pytest.approx(3000.0)


def test_quarterly_fees_are_three_months_and_pro_rata_when_cut_short():
    log = make_log([outage("2025-01-10", 1.0)], end=pd.Timestamp("2025-05-01"))
    terms = contract(period="quarter")
    table = credits(vendor_sla(log, [party(terms)]), [party(terms)])
    assert row(table, "2025Q1")["fee"] == pytest.approx(30_000.0)
    april_share = 30 * 24 / (91 * 24)  # April's hours of the second quarter's 91 days
    assert row(table, "2025Q2")["fee"] == pytest.approx(30_000.0 * april_share)


def test_a_vendor_without_contract_is_measured_but_owes_nothing():
    log = make_log([outage("2025-01-10", 3.72)])
    bare = SlaParty("V1", None, ("S1",), 99.9, None)
    table = credits(vendor_sla(log, [bare]), [bare])
    assert row(table, "2025-01")["attainment_pct"] == pytest.approx(99.5)
    assert table["credit"].sum() == 0 and table["fee"].sum() == 0


# -- the vendor's own report --------------------------------------------------------------


def _late(log, level, seed=7):
    periods = period_bounds(log.start, log.end, "month")
    intensities = pd.DataFrame(
        {"period": periods["label"], "vendor_id": "V1", "late_outage_start": level}
    )
    return report_vendor_outages(log, intensities, periods, seed=seed)


def test_late_outage_starts_shorten_the_reported_outage_only():
    log = make_log(
        [
            outage("2025-01-10 08:00", 3.72, service="S1"),
            outage("2025-01-10 08:00", 3.72, service="S2"),  # the same event on another service
            outage("2025-01-20", 5.0, source="external", vendor=None),
        ]
    )
    reported = _late(log, 1.0).outages
    truth = log.outages
    delay = (reported["start"] - truth["start"]) / (truth["end"] - truth["start"])
    assert (reported["end"] == truth["end"]).all()
    assert delay[0] == pytest.approx(delay[1])  # one event, reported once
    low, high = LATE_START_SHARE
    assert low - 1e-3 <= delay[0] <= high
    assert delay[2] == 0  # not the vendor's outage
    assert (_late(log, 0.0).outages["start"] == truth["start"]).all()


def test_reported_credits_fall_when_the_vendor_starts_the_clock_late():
    log = make_log([outage("2025-01-10 08:00", 3.72)])
    parties = [party()]
    true = credits(vendor_sla(log, parties), parties)
    late = credits(vendor_sla(_late(log, 1.0), parties), parties)
    honest = credits(vendor_sla(_late(log, 0.0), parties), parties)
    pd.testing.assert_frame_equal(true, honest)
    assert row(late, "2025-01")["attainment_pct"] > row(true, "2025-01")["attainment_pct"]
    assert row(late, "2025-01")["credit"] < row(true, "2025-01")["credit"]


def test_the_share_of_late_reports_follows_the_intensity_and_only_grows():
    starts = pd.date_range("2025-01-01", periods=600, freq="2h")
    log = make_log([outage(t, 1.0) for t in starts])
    moved = {}
    for level in (0.3, 0.6):
        moved[level] = (_late(log, level).outages["start"] != log.outages["start"]).to_numpy()
        sd = np.sqrt(level * (1 - level) / len(starts))
        assert abs(moved[level].mean() - level) < 4 * sd
    assert (moved[0.6] | ~moved[0.3]).all()  # every outage late at 0.3 is late at 0.6


# -- a simulated run ----------------------------------------------------------------------


def _with_lever(scenario, level):
    lever = VendorReporting(late_outage_start=level)
    vendors = [v.model_copy(update={"reporting": lever}) for v in scenario.organisation.vendors]
    return scenario.model_copy(
        update={"organisation": scenario.organisation.model_copy(update={"vendors": vendors})}
    )


@pytest.fixture(scope="module")
def truth(small_scenario):
    return World(small_scenario, seed=5).run()


def test_a_run_table_has_every_party_period_and_measure(small_scenario, truth):
    table = vendor_sla_table(small_scenario, truth, truth, seed=5)
    parties = sla_parties(small_scenario)
    assert {(p.vendor_id, p.subcontractor_id) for p in parties} == {
        ("cloudco", None),
        ("cloudco", "dcpower"),
        ("netlink", None),
    }
    months = small_scenario.horizon.years * 12
    counts = table.groupby(["vendor_id", table["subcontractor_id"].fillna("-"), "measure"]).size()
    assert (counts == months).all()
    assert set(table.loc[table["vendor_id"] == "netlink", "measure"]) == {
        "availability",
        "response",
    }
    # The simulated log has no vendor acknowledgement: response is listed but not measured.
    response = table["measure"] == "response"
    assert not table.loc[response, "measurable_true"].any()
    assert table.loc[response, "attainment_true"].isna().all()
    assert table.loc[~response, "measurable_true"].all()
    # Lever off: the vendor's report of its outages is the truth.
    for column in ("attainment", "credit", "bonus"):
        pd.testing.assert_series_equal(
            table[f"{column}_true"], table[f"{column}_reported"], check_names=False
        )
    assert table["credit_true"].sum() > 0  # cloudco's 99.9 % is missed in some months


def test_a_gaming_vendor_pays_fewer_credits_than_it_owes(small_scenario, truth):
    table = vendor_sla_table(_with_lever(small_scenario, 1.0), truth, truth, seed=5)
    summary = vendor_summary(table).set_index("vendor_id")
    cloudco = summary[summary["subcontractor_id"].isna()].loc["cloudco"]
    assert cloudco["credit_gap"] > 0
    availability = table[table["measure"] == "availability"]
    assert (availability["attainment_reported"] >= availability["attainment_true"] - 1e-9).all()
    assert (availability["attainment_reported"] > availability["attainment_true"]).any()
    # Resolution runs on the vendor's clock, so a late start flatters it too, never the reverse.
    resolution = table[(table["measure"] == "resolution") & table["attainment_true"].notna()]
    assert (resolution["attainment_reported"] >= resolution["attainment_true"]).all()
    assert (resolution["attainment_reported"] > resolution["attainment_true"]).any()
    pd.testing.assert_series_equal(
        resolution["measured_true"], resolution["measured_reported"], check_names=False
    )
    # Response has no vendor acknowledgement in either view: unmeasured, uncredited in both.
    response = table[table["measure"] == "response"]
    assert not response[["measurable_true", "measurable_reported"]].any().any()
    assert response[["credit_true", "credit_reported"]].sum().sum() == 0


def test_a_batch_writes_the_vendor_tables(tmp_path):
    from toolkit.experiments.batch import run_batch

    from .conftest import SCENARIOS

    result = run_batch(
        [SCENARIOS / "small.yaml"],
        ["no_incentive"],
        [4],
        tmp_path / "out",
        workers=1,
        progress=False,
    )
    (directory,) = result.runs["directory"]
    run_dir = result.directory / directory
    table = pd.read_parquet(run_dir / "vendor_sla.parquet")
    manifest = pd.read_json(run_dir / "manifest.json", typ="series")
    assert "vendor_sla.parquet" in manifest["outputs"]
    assert set(table["vendor_id"]) == {"cloudco", "netlink"}
    vendors = pd.read_parquet(result.directory / "vendors.parquet")
    assert len(vendors) == 3 and set(vendors["plan"]) == {"no_incentive"}
    summary = vendor_summary(table)
    assert vendors["credit_true"].sum() == pytest.approx(summary["credit_true"].sum())
    assert "response of cloudco, netlink" in unmeasured_note(table, "measurable_true")
