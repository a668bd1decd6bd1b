"""Tests of the KPI library: hand-made logs with hand-worked expectations, plus a random log."""

import numpy as np
import pandas as pd
import pytest

from toolkit.events import TABLES, EventLog, empty_table
from toolkit.metrics import CATALOGUE, KPI, catalogue_table, compute_kpis, summary
from toolkit.metrics.compute import kpi_rows
from toolkit.metrics.context import entity_codes

START = pd.Timestamp("2025-01-01")
END = pd.Timestamp("2025-07-01")  # two whole quarters
RANDOM_END = pd.Timestamp("2026-07-01")  # six quarters
HOUR = pd.Timedelta(1, "h")
Q1_HOURS = (pd.Timestamp("2025-04-01") - START) / HOUR
Q2_HOURS = (END - pd.Timestamp("2025-04-01")) / HOUR

ALL_KPIS = {
    "mttr_mean_hours",
    "mttr_median_hours",
    "sla_attainment",
    "reopen_rate",
    "reassignment_mean",
    "on_hold_share",
    "priority_change_rate",
    "minor_incident_share",
    "sla_bunching_excess",
    "incident_volume",
    "availability",
    "change_throughput",
    "change_success_rate",
    "emergency_share",
    "unauthorized_count",
    "change_caused_incidents",
    "unjustified_emergency_count",
    "csat_mean",
    "csat_adjusted",
}
LEADING = {
    "change_success_rate",
    "emergency_share",
    "unauthorized_count",
    "unjustified_emergency_count",
    "change_throughput",
    "reassignment_mean",
    "priority_change_rate",
    "on_hold_share",
    "minor_incident_share",
    "sla_bunching_excess",
}


# --- building small logs -------------------------------------------------------------------


def incident(
    opened,
    hours=None,
    *,
    service="S1",
    team="T1",
    on_hold=0.0,
    priority=3,
    priority_initial=None,
    target=8.0,
    reopen=0,
    reassign=0,
    csat=np.nan,
):
    """One incident open for ``hours`` (None = unresolved), consistent sla_breached."""
    opened = pd.Timestamp(opened)
    resolved = pd.NaT if hours is None else opened + hours * HOUR
    breached = hours is not None and (hours - on_hold) > target
    return {
        "service_id": service,
        "team_id": team,
        "opened_at": opened,
        "responded_at": opened,
        "resolved_at": resolved,
        "closed_at": resolved,
        "priority": priority,
        "priority_initial": priority if priority_initial is None else priority_initial,
        "root_cause": "internal",
        "change_id": None,
        "vendor_id": None,
        "reopen_count": reopen,
        "reassignment_count": reassign,
        "on_hold_hours": on_hold,
        "sla_target_hours": target,
        "sla_breached": breached,
        "csat": csat,
    }


def change(implemented, *, service="S1", team="T1", kind="normal", failed=False):
    implemented = pd.Timestamp(implemented) if implemented is not None else pd.NaT
    return {
        "team_id": team,
        "service_id": service,
        "type": kind,
        "submitted_at": START,
        "implemented_at": implemented,
        "cab_reviewed": kind in ("standard", "normal"),
        "failed": failed,
        "justification": None,
    }


def outage(start, end, *, service="S1"):
    return {
        "source": "vendor",
        "vendor_id": "V1",
        "subcontractor_id": None,
        "service_id": service,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end) if end is not None else pd.NaT,
    }


def service(service_id, team_id):
    return {
        "service_id": service_id,
        "team_id": team_id,
        "business_unit": "BU1",
        "criticality": 2,
        "complexity": 1.0,
        "platform_age_years": 3.0,
    }


def table(name, rows, id_column=None, prefix=""):
    if not rows:
        return empty_table(name)
    frame = pd.DataFrame(rows)
    if id_column:
        frame.insert(0, id_column, [f"{prefix}{i}" for i in range(len(frame))])
    return frame


def make_log(incidents=(), changes=(), outages=(), services=(), start=START, end=END):
    return EventLog(
        incidents=table("incidents", list(incidents), "incident_id", "INC"),
        changes=table("changes", list(changes), "change_id", "CHG"),
        outages=table("outages", list(outages), "outage_id", "OUT"),
        services=table("services", list(services)),
        start=start,
        end=end,
    )


def values(out, kpi, team="ALL", service_id="ALL"):
    """The KPI's values by period label for one (team, service) row key."""
    rows = out[(out["kpi"] == kpi) & (out["team_id"] == team) & (out["service_id"] == service_id)]
    return dict(zip(rows["period"], rows["value"], strict=True))


def value(out, kpi, period, team="ALL", service_id="ALL"):
    return values(out, kpi, team, service_id)[period]


# --- incidents -------------------------------------------------------------------------------


def test_mttr_subtracts_on_hold_and_skips_unresolved():
    spans = [(10.0, 2.0), (5.0, 0.0), (30.0, 10.0)]  # (hours open, hours on hold)
    incidents = [incident("2025-02-01", h, on_hold=hold) for h, hold in spans]
    incidents.append(incident("2025-02-02", None))  # still open: not in MTTR
    out = compute_kpis(make_log(incidents), kpis=["mttr_mean_hours", "mttr_median_hours"])

    net = sorted(h - hold for h, hold in spans)
    for team, svc in [("T1", "S1"), ("T1", "ALL"), ("ALL", "ALL")]:
        assert values(out, "mttr_mean_hours", team, svc) == pytest.approx(
            {"2025Q1": sum(net) / len(net)}
        )
        assert values(out, "mttr_median_hours", team, svc) == pytest.approx({"2025Q1": net[1]})


def test_resolved_kpis_use_resolved_at_and_counts_use_opened_at():
    incidents = [
        incident("2025-03-31 20:00", 8.0),  # opened in Q1, resolved in Q2
        incident("2024-12-31 22:00", 4.0),  # opened before the window, resolved inside it
        incident("2025-06-30 20:00", 10.0),  # resolved after the window ends
    ]
    out = compute_kpis(make_log(incidents), kpis=["mttr_mean_hours", "incident_volume"])
    assert values(out, "mttr_mean_hours") == pytest.approx({"2025Q1": 4.0, "2025Q2": 8.0})
    assert values(out, "incident_volume") == {"2025Q1": 1.0, "2025Q2": 1.0}


def test_priority_variants_only_where_that_priority_exists():
    incidents = [
        incident("2025-01-05", 2.0, priority=1),
        incident("2025-01-06", 4.0, priority=1),
        incident("2025-01-07", 9.0, priority=1),
        incident("2025-01-08", 20.0, priority=3),
    ]
    out = compute_kpis(make_log(incidents), period="all")
    p1 = [2.0, 4.0, 9.0]
    assert value(out, "mttr_mean_hours_p1", "all") == pytest.approx(sum(p1) / 3)
    assert value(out, "mttr_median_hours_p1", "all") == pytest.approx(4.0)
    assert value(out, "mttr_mean_hours_p3", "all") == pytest.approx(20.0)
    assert value(out, "mttr_mean_hours", "all") == pytest.approx((sum(p1) + 20.0) / 4)
    emitted = set(out["kpi"])
    assert {"mttr_mean_hours_p2", "mttr_mean_hours_p4", "mttr_median_hours_p2"}.isdisjoint(emitted)


@pytest.mark.parametrize("tolerance", [0.0, 0.05, 0.1, 0.25])
def test_sla_tolerance_band(tolerance):
    target = 8.0
    spans = [(6.0, 0.0), (8.0, 0.0), (8.6, 0.0), (9.5, 1.0), (9.9, 0.0), (12.0, 0.0)]
    incidents = [incident("2025-02-01", h, on_hold=hold, target=target) for h, hold in spans]
    out = compute_kpis(make_log(incidents), sla_tolerance=tolerance, kpis=["sla_attainment"])
    met = sum((h - hold) <= target * (1 + tolerance) for h, hold in spans)
    assert value(out, "sla_attainment", "2025Q1") == pytest.approx(met / len(spans))


def test_sla_tolerance_changes_attainment():
    incidents = [incident("2025-02-01", h, target=10.0) for h in (9.0, 10.5, 12.0)]
    log = make_log(incidents)
    strict = value(compute_kpis(log, kpis=["sla_attainment"]), "sla_attainment", "2025Q1")
    lenient = value(
        compute_kpis(log, sla_tolerance=0.1, kpis=["sla_attainment"]), "sla_attainment", "2025Q1"
    )
    assert strict == pytest.approx(1 / 3)  # only 9h is within 10h
    assert lenient == pytest.approx(2 / 3)  # 10.5h is within 11h


def test_team_and_org_levels_pool_raw_rows():
    rows = {("T1", "S1"): [10.0], ("T1", "S2"): [2.0, 2.0, 2.0], ("T2", "S3"): [20.0]}
    incidents = [
        incident("2025-02-01", h, team=t, service=s)
        for (t, s), hours in rows.items()
        for h in hours
    ]
    out = compute_kpis(make_log(incidents), kpis=["mttr_mean_hours"])

    def mean(xs):
        return sum(xs) / len(xs)

    t1 = rows[("T1", "S1")] + rows[("T1", "S2")]
    everyone = [h for hours in rows.values() for h in hours]
    assert value(out, "mttr_mean_hours", "2025Q1", "T1", "S2") == pytest.approx(2.0)
    assert value(out, "mttr_mean_hours", "2025Q1", "T1") == pytest.approx(mean(t1))
    assert value(out, "mttr_mean_hours", "2025Q1") == pytest.approx(mean(everyone))
    # pooling differs from averaging the lower level's averages
    assert mean(t1) != pytest.approx(mean([mean(rows[("T1", "S1")]), mean(rows[("T1", "S2")])]))
    assert mean(everyone) != pytest.approx(mean([mean(t1), mean(rows[("T2", "S3")])]))


def test_rows_without_team_or_service_count_only_where_they_can():
    incidents = [
        incident("2025-02-01", 4.0),
        incident("2025-02-01", 8.0, service=None),  # an export without a service
        incident("2025-02-01", 12.0, team=None, service=None),  # nor an assignment group
    ]
    out = compute_kpis(make_log(incidents), kpis=["mttr_mean_hours"])
    assert value(out, "mttr_mean_hours", "2025Q1", "T1", "S1") == pytest.approx(4.0)
    assert value(out, "mttr_mean_hours", "2025Q1", "T1") == pytest.approx((4.0 + 8.0) / 2)
    assert value(out, "mttr_mean_hours", "2025Q1") == pytest.approx((4.0 + 8.0 + 12.0) / 3)
    assert out[["team_id", "service_id"]].notna().all().all()


def test_incident_rates():
    incidents = [
        incident("2025-01-10", 5.0, reopen=1, reassign=2, on_hold=1.0, csat=4.0),
        incident("2025-01-11", 5.0, reopen=0, reassign=0, on_hold=0.0, csat=np.nan),
        incident("2025-01-12", 5.0, reopen=3, reassign=1, on_hold=0.0, csat=2.0),
        incident("2025-01-13", 5.0, priority=4, priority_initial=2),
        incident("2025-01-14", None, priority=4),  # opened only
    ]
    out = compute_kpis(make_log(incidents))
    resolved = incidents[:4]
    n = len(resolved)
    assert value(out, "reopen_rate", "2025Q1") == pytest.approx(
        sum(i["reopen_count"] > 0 for i in resolved) / n
    )
    assert value(out, "reassignment_mean", "2025Q1") == pytest.approx(
        sum(i["reassignment_count"] for i in resolved) / n
    )
    assert value(out, "on_hold_share", "2025Q1") == pytest.approx(
        sum(i["on_hold_hours"] > 0 for i in resolved) / n
    )
    assert value(out, "csat_mean", "2025Q1") == pytest.approx((4.0 + 2.0) / 2)
    assert value(out, "priority_change_rate", "2025Q1") == pytest.approx(
        sum(i["priority"] != i["priority_initial"] for i in incidents) / len(incidents)
    )
    assert value(out, "minor_incident_share", "2025Q1") == pytest.approx(
        sum(i["priority"] == 4 for i in incidents) / len(incidents)
    )
    assert value(out, "incident_volume", "2025Q1") == len(incidents)


def test_rates_without_denominator_give_no_rows():
    incidents = [
        incident("2025-01-10", 5.0, csat=np.nan),
        incident("2025-05-10", None, service="S2"),  # opened in Q2, never resolved
    ]
    out = compute_kpis(make_log(incidents, services=[service("S1", "T1"), service("S2", "T1")]))
    assert out["value"].notna().all()
    assert "csat_mean" not in set(out["kpi"])
    assert "2025Q2" not in values(out, "mttr_mean_hours")
    assert "2025Q1" not in values(out, "priority_change_rate", "T1", "S2")
    assert values(out, "priority_change_rate", "T1", "S2") == {"2025Q2": 0.0}


def test_counts_are_zero_in_periods_without_rows():
    incidents = [
        incident("2025-01-10", 5.0, service="S1"),
        incident("2025-05-10", 5.0, service="S2"),
    ]
    out = compute_kpis(make_log(incidents), kpis=["incident_volume"])
    assert values(out, "incident_volume", "T1", "S1") == {"2025Q1": 1.0, "2025Q2": 0.0}
    assert values(out, "incident_volume", "T1", "S2") == {"2025Q1": 0.0, "2025Q2": 1.0}
    assert values(out, "incident_volume", "T1") == {"2025Q1": 1.0, "2025Q2": 1.0}


# --- availability ----------------------------------------------------------------------------


def test_availability_merges_overlaps_and_clips_at_period_bounds():
    outages = [
        outage("2025-03-31 20:00", "2025-04-01 06:00"),  # crosses the Q1/Q2 boundary
        outage("2025-05-01 00:00", "2025-05-01 02:00"),
        outage("2025-05-01 01:00", "2025-05-01 01:30"),  # inside the previous one
    ]
    incidents = [
        incident("2025-03-31 22:00", 10.0, priority=1),  # overlaps the first outage, to 08:00
        incident("2025-06-01 00:00", 50.0, priority=3),  # not priority 1: not downtime
    ]
    log = make_log(incidents, outages=outages, services=[service("S1", "T1")])
    out = compute_kpis(log, kpis=["availability"])

    boundary = pd.Timestamp("2025-04-01")
    union_start, union_end = pd.Timestamp("2025-03-31 20:00"), pd.Timestamp("2025-04-01 08:00")
    q1_down = (boundary - union_start) / HOUR
    q2_down = (union_end - boundary) / HOUR + 2.0
    expected = {"2025Q1": 1 - q1_down / Q1_HOURS, "2025Q2": 1 - q2_down / Q2_HOURS}
    for team, svc in [("T1", "S1"), ("T1", "ALL"), ("ALL", "ALL")]:
        assert values(out, "availability", team, svc) == pytest.approx(expected)


def test_availability_pools_services_and_keeps_services_never_down():
    services = [service("S1", "T1"), service("S2", "T1"), service("S3", "T2")]
    outages = [outage("2025-02-01 00:00", "2025-02-01 12:00", service="S1")]
    incidents = [incident("2025-02-10", 2.0, service="S4", team="T2")]  # S4 only in incidents
    out = compute_kpis(
        make_log(incidents, outages=outages, services=services), kpis=["availability"]
    )

    assert value(out, "availability", "2025Q1", "T1", "S1") == pytest.approx(1 - 12 / Q1_HOURS)
    for team, svc in [("T1", "S2"), ("T2", "S3"), ("T2", "S4"), ("T2", "ALL")]:
        assert values(out, "availability", team, svc) == {"2025Q1": 1.0, "2025Q2": 1.0}
    assert value(out, "availability", "2025Q1", "T1") == pytest.approx(1 - 12 / (2 * Q1_HOURS))
    assert value(out, "availability", "2025Q1") == pytest.approx(1 - 12 / (4 * Q1_HOURS))
    assert value(out, "availability", "2025Q2") == 1.0


def test_availability_partial_last_period_and_open_intervals():
    end = pd.Timestamp("2025-05-01")
    outages = [
        outage("2024-12-31 20:00", "2025-01-01 03:00"),  # starts before the window
        outage("2025-04-30 12:00", None),  # ongoing at the end of the window
        outage("2024-12-01 00:00", "2024-12-02 00:00"),  # wholly before the window
        outage("2025-05-02 00:00", "2025-05-03 00:00"),  # wholly after the window
    ]
    incidents = [incident("2025-04-30 18:00", None, priority=1)]  # unresolved P1, overlaps
    log = make_log(incidents, outages=outages, services=[service("S1", "T1")], end=end)
    out = compute_kpis(log, kpis=["availability"])

    q2_hours = (end - pd.Timestamp("2025-04-01")) / HOUR
    q2_down = (end - pd.Timestamp("2025-04-30 12:00")) / HOUR
    assert values(out, "availability", "T1", "S1") == pytest.approx(
        {"2025Q1": 1 - 3 / Q1_HOURS, "2025Q2": 1 - q2_down / q2_hours}
    )


# --- changes ---------------------------------------------------------------------------------


def test_change_kpis_and_unauthorized_zero_rows():
    changes = [
        change("2025-01-05", kind="normal"),
        change("2025-01-06", kind="emergency", failed=True),
        change("2025-01-07", kind="unauthorized"),
        change("2025-02-07", kind="standard", failed=True),
        change(None, kind="normal"),  # never implemented
        change("2025-02-01", service="S2", kind="normal"),
        change("2025-05-01", service="S2", kind="emergency"),
    ]
    out = compute_kpis(make_log(changes=changes))
    s1_q1 = changes[:4]
    n = len(s1_q1)
    assert value(out, "change_throughput", "2025Q1", "T1", "S1") == n
    assert value(out, "change_success_rate", "2025Q1", "T1", "S1") == pytest.approx(
        sum(not c["failed"] for c in s1_q1) / n
    )
    assert value(out, "emergency_share", "2025Q1", "T1", "S1") == pytest.approx(1 / n)
    assert value(out, "unauthorized_count", "2025Q1", "T1", "S1") == 1
    # zero rows, not missing ones, where the pair has changes but none unauthorized
    assert values(out, "unauthorized_count", "T1", "S2") == {"2025Q1": 0.0, "2025Q2": 0.0}
    assert values(out, "unauthorized_count") == {"2025Q1": 1.0, "2025Q2": 0.0}
    implemented_q1 = [c for c in changes if c["implemented_at"] < pd.Timestamp("2025-04-01")]
    assert value(out, "change_throughput", "2025Q1") == len(implemented_q1)
    assert value(out, "emergency_share", "2025Q1", "T1") == pytest.approx(1 / len(implemented_q1))
    # S1 has no implemented changes in Q2: counts are 0, shares have no row
    assert value(out, "change_throughput", "2025Q2", "T1", "S1") == 0
    assert "2025Q2" not in values(out, "change_success_rate", "T1", "S1")


# --- API -------------------------------------------------------------------------------------


def test_catalogue_is_complete_and_valid():
    assert set(CATALOGUE) == ALL_KPIS
    for name, kpi in CATALOGUE.items():
        assert isinstance(kpi, KPI) and kpi.name == name
        assert kpi.direction in ("lower", "higher")
        assert kpi.indicator == ("leading" if name in LEADING else "lagging")
        assert kpi.table in ("incidents", "changes", "outages")
        assert kpi.definition.endswith(".") and kpi.unit
    listing = catalogue_table()
    assert list(listing.columns) == ["kpi", "definition", "unit", "direction", "indicator"]
    assert set(listing["kpi"]) == ALL_KPIS and len(listing) == len(ALL_KPIS)
    variants = set(CATALOGUE["mttr_mean_hours"].variants)
    assert variants == {f"mttr_mean_hours_p{p}" for p in (1, 2, 3, 4)}


def test_catalogue_rejects_invalid_direction():
    with pytest.raises(ValueError, match="direction"):
        KPI("x", "An x.", "share", "sideways", "leading", "incidents", lambda ctx: None)


def test_unknown_kpi_name_is_refused():
    log = make_log([incident("2025-01-10", 5.0)])
    with pytest.raises(ValueError, match="mttr_mean") as error:
        compute_kpis(log, kpis=["mttr_mean", "availability"])
    assert "mttr_mean_hours" in str(error.value)  # the known names are listed


def test_kpis_restrict_to_names_and_variants():
    log = make_log([incident("2025-01-10", 5.0, priority=1)])
    out = compute_kpis(log, kpis=["mttr_mean_hours_p1", "incident_volume"])
    assert set(out["kpi"]) == {"mttr_mean_hours_p1", "incident_volume"}
    assert compute_kpis(log, kpis="incident_volume")["kpi"].eq("incident_volume").all()


def test_bad_period_and_tolerance_are_refused():
    log = make_log([incident("2025-01-10", 5.0)])
    with pytest.raises(ValueError, match="week"):
        compute_kpis(log, period="week")
    with pytest.raises(ValueError, match="sla_tolerance"):
        compute_kpis(log, sla_tolerance=-0.1)


@pytest.mark.parametrize(
    ("period", "labels"),
    [
        ("month", {"2025-01", "2025-03", "2025-05"}),
        ("quarter", {"2025Q1", "2025Q2"}),
        ("year", {"2025"}),
        ("all", {"all"}),
    ],
)
def test_period_labels(period, labels):
    incidents = [incident(day, 1.0) for day in ("2025-01-10", "2025-03-10", "2025-05-10")]
    out = compute_kpis(make_log(incidents), period=period, kpis=["mttr_mean_hours"])
    assert set(out["period"]) == labels


def test_output_columns_order_and_determinism():
    log = random_log(np.random.default_rng(7), 500)
    out = compute_kpis(log, period="quarter")
    assert list(out.columns) == ["period", "team_id", "service_id", "kpi", "value"]
    assert [str(t) for t in out.dtypes] == ["str", "str", "str", "str", "float64"]
    assert out.index.equals(pd.RangeIndex(len(out)))
    keys = ["period", "team_id", "service_id", "kpi"]
    assert out.equals(out.sort_values(keys, ignore_index=True))
    assert not out.duplicated(keys).any()
    # the same log with its rows shuffled gives the same result
    shuffled = EventLog(
        incidents=log.incidents.sample(frac=1, random_state=1),
        changes=log.changes.sample(frac=1, random_state=2),
        outages=log.outages.sample(frac=1, random_state=3),
        services=log.services.sample(frac=1, random_state=4),
        start=log.start,
        end=log.end,
    )
    pd.testing.assert_frame_equal(compute_kpis(shuffled), out, check_exact=False, rtol=1e-12)


def test_empty_log_gives_empty_frame():
    out = compute_kpis(make_log())
    assert out.empty
    assert list(out.columns) == ["period", "team_id", "service_id", "kpi", "value"]


def test_summary_is_org_wide_over_the_window():
    log = random_log(np.random.default_rng(3), 300)
    table_ = summary(log, sla_tolerance=0.1)
    assert list(table_.columns) == ["kpi", "value", "unit", "direction"]
    assert set(table_["kpi"]) == ALL_KPIS and len(table_) == len(ALL_KPIS)
    whole = compute_kpis(log, period="all", sla_tolerance=0.1)
    for row in table_.itertuples():
        assert row.direction == CATALOGUE[row.kpi].direction
        if np.isnan(row.value):  # too little data to measure (bunching needs many resolutions)
            assert "all" not in values(whole, row.kpi)
            continue
        assert row.value == pytest.approx(value(whole, row.kpi, "all"))


# --- a random log against a straightforward computation ----------------------------------------


def random_log(rng, n, start=START, end=RANDOM_END):
    """A consistent random log whose incidents also start before and end after the window."""
    teams = ["T1", "T2", "T3"]
    services = [service(f"S{i}", teams[i % 3]) for i in range(7)]
    span = (end - start) / HOUR
    svc = rng.integers(0, len(services), n)
    opened = start + pd.to_timedelta(rng.uniform(-200, span, n), "h")
    open_hours = rng.exponential(30, n)
    hold = np.where(rng.random(n) < 0.3, rng.uniform(0, 1, n) * open_hours, 0.0)
    priority = rng.integers(1, 5, n)
    incidents = [
        incident(
            opened[i],
            None if rng.random() < 0.05 else float(open_hours[i]),
            service=services[svc[i]]["service_id"],
            team=services[svc[i]]["team_id"],
            on_hold=float(hold[i]),
            priority=int(priority[i]),
            priority_initial=int(rng.integers(1, 5)) if rng.random() < 0.1 else None,
            target=float((4, 8, 24, 72)[priority[i] - 1]),
            reopen=int(rng.poisson(0.1)),
            reassign=int(rng.poisson(1)),
            csat=float(rng.integers(1, 6)) if rng.random() < 0.5 else np.nan,
        )
        for i in range(n)
    ]
    changes = [
        change(
            start + rng.uniform(0, span) * HOUR,
            service=services[s]["service_id"],
            team=services[s]["team_id"],
            kind=str(rng.choice(["standard", "normal", "emergency", "unauthorized"])),
            failed=bool(rng.random() < 0.1),
        )
        for s in rng.integers(0, len(services), n // 4)
    ]
    outage_starts = start + pd.to_timedelta(rng.uniform(0, span, 20), "h")
    outages = [
        outage(t, t + rng.exponential(6) * HOUR, service=services[s]["service_id"])
        for t, s in zip(outage_starts, rng.integers(0, len(services), 20), strict=True)
    ]
    return make_log(incidents, changes, outages, services, start=start, end=end)


def test_random_log_matches_straightforward_computation():
    log = random_log(np.random.default_rng(2025), 3000)
    out = compute_kpis(log, period="quarter", kpis=["mttr_mean_hours", "sla_attainment"])

    inc = log.incidents
    inc = inc[(inc["resolved_at"] >= log.start) & (inc["resolved_at"] < log.end)].copy()
    inc["quarter"] = inc["resolved_at"].dt.to_period("Q").astype(str)
    inc["hours"] = (inc["resolved_at"] - inc["opened_at"]) / HOUR - inc["on_hold_hours"]
    inc["met"] = inc["hours"] <= inc["sla_target_hours"]
    by_team = inc.groupby(["quarter", "team_id"]).agg(mttr=("hours", "mean"), sla=("met", "mean"))
    by_org = inc.groupby("quarter").agg(mttr=("hours", "mean"), sla=("met", "mean"))
    assert len(by_team) == 6 * 3  # six quarters, three teams

    for (quarter, team), row in by_team.iterrows():
        assert value(out, "mttr_mean_hours", quarter, team) == pytest.approx(row["mttr"])
        assert value(out, "sla_attainment", quarter, team) == pytest.approx(row["sla"])
    for quarter, row in by_org.iterrows():
        assert value(out, "mttr_mean_hours", quarter) == pytest.approx(row["mttr"])
        assert value(out, "sla_attainment", quarter) == pytest.approx(row["sla"])
    team_rows = out[(out["team_id"] != "ALL") & (out["service_id"] == "ALL")]
    assert len(team_rows) == 2 * len(by_team)


def test_sla_attainment_equals_one_minus_breach_rate_on_a_consistent_log():
    log = random_log(np.random.default_rng(11), 2000)
    out = compute_kpis(log, period="quarter", kpis=["sla_attainment"])
    inc = log.incidents
    inc = inc[(inc["resolved_at"] >= log.start) & (inc["resolved_at"] < log.end)].copy()
    inc["quarter"] = inc["resolved_at"].dt.to_period("Q").astype(str)
    expected = 1 - inc.groupby(["quarter", "team_id", "service_id"])["sla_breached"].mean()
    for (quarter, team, svc), attained in expected.items():
        assert value(out, "sla_attainment", quarter, team, svc) == pytest.approx(attained)


def test_rows_marked_to_count_measure_as_the_log_holding_only_them():
    log = random_log(np.random.default_rng(11), 2000)
    rng = np.random.default_rng(12)
    where = {table: rng.random(len(getattr(log, table))) < 0.6 for table in TABLES[:3]}
    subset = EventLog(
        **{table: getattr(log, table).loc[rows] for table, rows in where.items()},
        services=log.services,
        start=log.start,
        end=log.end,
    )

    def tidy(rows):
        frame = rows.frame()
        return frame.sort_values(list(frame.columns[:4]), ignore_index=True)

    marked = tidy(kpi_rows(log, period="quarter", where=where))
    pd.testing.assert_frame_equal(marked, tidy(kpi_rows(subset, period="quarter")))
    assert not marked.equals(tidy(kpi_rows(log, period="quarter")))
    # codes made once for the whole log serve every such measurement
    keys = {table: entity_codes(getattr(log, table)) for table in ("incidents", "changes")}
    coded = tidy(kpi_rows(log, period="quarter", where=where, keys=keys))
    pd.testing.assert_frame_equal(coded, marked)


@pytest.mark.parametrize(
    "where", [{"incidents": np.ones(3, dtype=bool)}, {"incidents": "all"}, {"nothing": []}]
)
def test_rows_to_count_must_be_one_boolean_per_row(where):
    log = random_log(np.random.default_rng(13), 50)
    with pytest.raises(ValueError, match="one boolean per row"):
        kpi_rows(log, where=where)
