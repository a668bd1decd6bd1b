"""Tests of the reporting layer: gaming transforms from the true log to the reported log."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour import (
    GAMING_LEVERS,
    REPORTING_LEVERS,
    WORLD_GAMING_LEVERS,
    audit_evidence,
    misattributions_without_outage,
    report,
)
from toolkit.behaviour.reporting import FOLLOW_UP_SUFFIX, hash_ids, uniforms
from toolkit.events import EventLog, empty_table
from toolkit.metrics import compute_kpis
from toolkit.sim import World

HOUR = pd.Timedelta(1, "h")
SEED = 5
BOUNDARY = pd.Timestamp("2026-01-01")  # a quarter boundary inside the small scenario's window
Z = 4.5  # binomial tolerance in standard errors


# --- fixtures and helpers ------------------------------------------------------------------


def quarters(log):
    spans = pd.period_range(log.start, log.end - pd.Timedelta(1, "ns"), freq="Q")
    return pd.DataFrame(
        {"label": spans.astype(str), "start": spans.start_time, "end": (spans + 1).start_time}
    )


@pytest.fixture(scope="module")
def truth(small_log):
    return small_log


@pytest.fixture(scope="module")
def periods(truth):
    return quarters(truth)


@pytest.fixture(scope="module")
def setting(small_scenario):
    return {
        "sla_targets": dict(small_scenario.environment.incidents.sla_target_hours),
        "vendor_links": {s.id: s.vendor_dependencies for s in small_scenario.organisation.services},
    }


@pytest.fixture(scope="module")
def gamed(truth, periods, setting):
    """Report under one lever at a time, cached: {(lever, intensity): reported log}."""
    cache = {}

    def get(lever, intensity):
        if (lever, intensity) not in cache:
            levers = intensities(truth, periods, **{lever: intensity})
            cache[lever, intensity] = report(truth, levers, periods, seed=SEED, **setting)
        return cache[lever, intensity]

    return get


def intensities(truth, periods, teams=None, labels=None, **levels):
    teams = sorted(truth.incidents["team_id"].unique()) if teams is None else teams
    labels = list(periods["label"]) if labels is None else labels
    frame = pd.DataFrame([(p, t) for p in labels for t in teams], columns=["period", "team_id"])
    for lever, value in levels.items():
        frame[lever] = value
    return frame


def org_kpi(log, name):
    kpis = compute_kpis(log, period="all", kpis=[name])
    org = kpis.loc[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL"), "value"]
    return float(org.iloc[0])


def net_hours(incidents):
    elapsed = (incidents["resolved_at"] - incidents["opened_at"]) / HOUR
    return elapsed - incidents["on_hold_hours"]


def by_id(log):
    return log.incidents.set_index("incident_id")


def gamed_ids(truth, reported):
    """Ids of true incidents missing, changed or followed up in the report, and padded tickets."""
    true, rep = by_id(truth), by_id(reported)
    common = true.index.intersection(rep.index)
    a, b = true.loc[common], rep.loc[common, true.columns]
    changed = ((a != b) & ~(a.isna() & b.isna())).any(axis=1)
    missing = true.index.difference(rep.index)
    added = rep.index.difference(true.index)
    return (
        set(common[changed.to_numpy()])
        | set(missing)
        | set(added.str.removesuffix(FOLLOW_UP_SUFFIX))
    )


def added_rows(truth, reported):
    rep = reported.incidents
    return rep.loc[~rep["incident_id"].isin(truth.incidents["incident_id"])]


def within_binomial(count, n, p):
    sd = np.sqrt(n * p * (1 - p))
    return abs(count - n * p) <= Z * sd + 1


# --- the vocabulary -----------------------------------------------------------------------


def test_lever_vocabulary():
    assert REPORTING_LEVERS == (
        "padding",
        "priority_downgrade",
        "stop_the_clock",
        "premature_closure",
        "underreporting",
        "misattribution",
    )
    assert WORLD_GAMING_LEVERS == ("cherry_picking", "emergency_abuse")
    assert GAMING_LEVERS == REPORTING_LEVERS + WORLD_GAMING_LEVERS


def test_draws_are_stable_uniform_and_independent_per_purpose():
    hashed = hash_ids(pd.Series([f"INC{i:07d}" for i in range(20000)]))
    u = uniforms(hashed, 1, "padding")
    assert np.array_equal(u, uniforms(hashed.copy(), 1, "padding"))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(u, uniforms(hashed, 1, "misattribution"))[0, 1]) < 0.03
    assert abs(np.corrcoef(u, uniforms(hashed, 2, "padding"))[0, 1]) < 0.03


# --- the identity and the inputs ----------------------------------------------------------


def test_zero_intensities_report_the_truth(truth, periods, setting):
    before = truth.incidents.copy()
    for levers in (
        intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 0.0)),
        pd.DataFrame({"period": [], "team_id": []}),
    ):
        reported = report(truth, levers, periods, seed=SEED, **setting)
        pd.testing.assert_frame_equal(reported.incidents, truth.incidents)
        for table in ("changes", "outages", "services"):
            pd.testing.assert_frame_equal(getattr(reported, table), getattr(truth, table))
        assert reported.meta == {**truth.meta, "view": "reported"}
        assert (reported.start, reported.end) == (truth.start, truth.end)
    assert truth.meta["view"] == "truth"
    pd.testing.assert_frame_equal(truth.incidents, before)


def test_inputs_are_untouched(truth, periods, setting):
    before = truth.incidents.copy()
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 1.0))
    levers_before = levers.copy()
    report(truth, levers, periods, seed=SEED, **setting)
    pd.testing.assert_frame_equal(truth.incidents, before)
    pd.testing.assert_frame_equal(levers, levers_before)


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_reported_log_validates(truth, periods, setting, intensity):
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, intensity))
    reported = report(truth, levers, periods, seed=SEED, **setting)
    assert reported.validate() == []
    assert reported.incidents.dtypes.equals(truth.incidents.dtypes)
    rep = reported.incidents
    resolved = rep["resolved_at"].notna()
    assert (net_hours(rep.loc[resolved]) >= 0).all()
    assert (rep.loc[resolved, "responded_at"] <= rep.loc[resolved, "resolved_at"]).all()
    assert (rep["responded_at"].dropna() >= rep.loc[rep["responded_at"].notna(), "opened_at"]).all()
    assert (rep["closed_at"].dropna() <= reported.end).all()


def test_bad_inputs_are_refused(truth, periods, setting):
    good = intensities(truth, periods, padding=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        report(truth, good.assign(padding=1.5), periods, seed=1, **setting)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        report(truth, good.assign(padding=np.nan), periods, seed=1, **setting)
    with pytest.raises(ValueError, match="more than one row"):
        report(truth, pd.concat([good, good.head(1)]), periods, seed=1, **setting)
    with pytest.raises(ValueError, match="missing columns"):
        report(truth, good.drop(columns="team_id"), periods, seed=1, **setting)
    overlapping = periods.assign(end=periods["end"] + HOUR)
    with pytest.raises(ValueError, match="overlap"):
        report(truth, good, overlapping, seed=1, **setting)
    targets = {p: t for p, t in setting["sla_targets"].items() if p != 4}
    with pytest.raises(ValueError, match="sla_targets"):
        report(truth, good, periods, seed=1, sla_targets=targets, vendor_links={})


# --- each lever: its trace and the KPI it moves ---------------------------------------------


KPI_MOVES = {
    "padding": {"incident_volume": +1, "minor_incident_share": +1, "mttr_mean_hours": -1},
    "priority_downgrade": {"priority_change_rate": +1, "sla_attainment": +1},
    "stop_the_clock": {"on_hold_share": +1, "sla_attainment": +1},
    "premature_closure": {"reopen_rate": +1},
    "underreporting": {"incident_volume": -1, "minor_incident_share": -1},
    "misattribution": {},
}


@pytest.mark.parametrize("intensity", [0.5, 1.0])
@pytest.mark.parametrize("lever", REPORTING_LEVERS)
def test_each_lever_moves_its_kpis(truth, gamed, lever, intensity):
    reported = gamed(lever, intensity)
    assert reported.validate() == []
    for kpi, sign in KPI_MOVES[lever].items():
        assert sign * (org_kpi(reported, kpi) - org_kpi(truth, kpi)) > 0, kpi


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_padding_adds_short_unsurveyed_p4_tickets(truth, periods, gamed, setting, intensity):
    added = added_rows(truth, gamed("padding", intensity))
    assert added["incident_id"].str.contains("-PAD-").all()
    assert (added["priority"] == 4).all() and (added["priority_initial"] == 4).all()
    assert added["csat"].isna().all() and (added["root_cause"] == "internal").all()
    assert (added["responded_at"] == added["opened_at"]).all()
    hours = (added["resolved_at"] - added["opened_at"]) / HOUR
    assert hours.between(0.1 - 1 / 3600, 1.0).all()
    closed = added.dropna(subset=["closed_at"])
    assert (closed["closed_at"] - closed["resolved_at"]).eq(72 * HOUR).all()
    assert (added["sla_target_hours"] == setting["sla_targets"][4]).all()
    assert not added["sla_breached"].any()
    assert ((added["reopen_count"] == 0) & (added["on_hold_hours"] == 0)).all()
    owners = truth.services.set_index("service_id")["team_id"]
    assert (added["service_id"].map(owners) == added["team_id"]).all()
    # about intensity x 0.3 x the true volume of each team and period, rounded per cell
    true = truth.incidents
    cells = len(periods) * true["team_id"].nunique()
    expected = intensity * 0.3 * len(true)
    assert abs(len(added) - expected) <= cells


def test_padding_of_a_team_without_listed_services_uses_those_of_its_incidents(
    truth, periods, setting
):
    team = truth.services["team_id"].iloc[0]
    unlisted = replace(truth, services=truth.services.loc[truth.services["team_id"] != team])
    levers = intensities(truth, periods, padding=1.0)
    added = added_rows(truth, report(unlisted, levers, periods, seed=SEED, **setting))
    own = truth.incidents.loc[truth.incidents["team_id"] == team, "service_id"]
    mine = added.loc[added["team_id"] == team]
    assert len(mine) > 0 and set(mine["service_id"]) <= set(own)
    assert mine["service_id"].nunique() == own.nunique()  # every service of its incidents
    listed = added.loc[added["team_id"] != team]
    owners = truth.services.set_index("service_id")["team_id"]
    assert (listed["service_id"].map(owners) == listed["team_id"]).all()


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_priority_downgrade_lowers_breaching_incidents(truth, gamed, setting, intensity):
    rep, true = by_id(gamed("priority_downgrade", intensity)), by_id(truth)
    changed = rep.index[rep["priority"] != rep["priority_initial"]]
    assert len(changed) > 0
    assert true.loc[changed, "sla_breached"].all()
    assert (rep.loc[changed, "priority"] == true.loc[changed, "priority"] + 1).all()
    assert (rep.loc[changed, "priority_initial"] == true.loc[changed, "priority_initial"]).all()
    targets = rep.loc[changed, "priority"].map(setting["sla_targets"])
    assert (rep.loc[changed, "sla_target_hours"] == targets).all()
    resolved = rep.loc[changed].dropna(subset=["resolved_at"])
    assert (resolved["sla_breached"] == (net_hours(resolved) > resolved["sla_target_hours"])).all()
    eligible = true["sla_breached"] & (true["priority"] < 4)
    assert within_binomial(len(changed), eligible.sum(), intensity)


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_stop_the_clock_books_waiting_as_on_hold(truth, gamed, intensity):
    rep, true = by_id(gamed("stop_the_clock", intensity)), by_id(truth)
    held = rep.loc[rep["on_hold_hours"] > 0]
    assert len(held) > 0
    was = true.loc[held.index]
    slow = net_hours(was) > was["sla_target_hours"] / 2
    assert (was["sla_breached"] | slow).all()
    breached = held.loc[was["sla_breached"].to_numpy()]
    net, target = net_hours(breached), breached["sla_target_hours"]
    assert len(breached) > 0 and (net <= target).all()
    assert not held["sla_breached"].any()
    elapsed = (held["resolved_at"] - held["opened_at"]) / HOUR
    assert (held["on_hold_hours"] <= elapsed).all()
    wait = (was["responded_at"] - was["opened_at"]) / HOUR
    assert (held["on_hold_hours"] >= 0.5 * wait.to_numpy() - 1e-6).all()
    net_true = net_hours(true)
    waited = true["responded_at"] > true["opened_at"]
    eligible = true["resolved_at"].notna() & (
        true["sla_breached"] | ((net_true > true["sla_target_hours"] / 2) & waited)
    )
    assert within_binomial(len(held), eligible.sum(), intensity)


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_premature_closure_leaves_reopens_and_follow_ups(truth, gamed, intensity):
    reported = gamed("premature_closure", intensity)
    rep, true = by_id(reported), by_id(truth)
    follow = added_rows(truth, reported).set_index("incident_id")
    assert len(follow) > 0 and follow.index.str.endswith(FOLLOW_UP_SUFFIX).all()
    first = follow.index.str.removesuffix(FOLLOW_UP_SUFFIX)
    assert first.isin(true.index).all()
    early, was = rep.loc[first], true.loc[first]
    assert (early["reopen_count"] == was["reopen_count"] + 1).all()
    assert (early["resolved_at"] < was["resolved_at"]).all()
    share = net_hours(early) / early["sla_target_hours"]
    assert ((share > 0.1) & (share <= 0.7)).all()
    assert not early["sla_breached"].any()
    for column in ("service_id", "team_id", "priority"):
        assert (follow[column].to_numpy() == early[column].to_numpy()).all()
    assert (follow["resolved_at"].to_numpy() == was["resolved_at"].to_numpy()).all()
    gap = (follow["opened_at"].to_numpy() - early["resolved_at"].to_numpy()) / HOUR
    assert ((gap >= 0) & (gap <= 4)).all()
    eligible = true["resolved_at"].notna() & (net_hours(true) > true["sla_target_hours"] / 2)
    assert within_binomial(len(follow), eligible.sum(), intensity)


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_underreporting_drops_minor_incidents(truth, gamed, intensity):
    reported = gamed("underreporting", intensity)
    true = truth.incidents
    missing = true.loc[~true["incident_id"].isin(reported.incidents["incident_id"])]
    assert set(missing["priority"]) <= {3, 4}
    for priority, chance in ((4, intensity), (3, intensity / 2)):
        n = (true["priority"] == priority).sum()
        assert within_binomial((missing["priority"] == priority).sum(), n, chance)
    kept = true.loc[true["incident_id"].isin(reported.incidents["incident_id"])]
    pd.testing.assert_frame_equal(reported.incidents, kept.reset_index(drop=True))


@pytest.mark.parametrize("intensity", [0.5, 1.0])
def test_misattribution_blames_suppliers_without_outages(truth, gamed, setting, intensity):
    reported = gamed("misattribution", intensity)
    rep, true = by_id(reported), by_id(truth)
    moved = rep.index[rep["root_cause"] != true["root_cause"]]
    assert true.loc[moved, "root_cause"].isin(["internal", "change"]).all()
    relabelled = rep.loc[moved]
    links = setting["vendor_links"]
    has_vendor = relabelled["service_id"].map(lambda s: len(links[s]) > 0)
    assert (relabelled["root_cause"] == np.where(has_vendor, "vendor", "external")).all()
    pairs = zip(relabelled["service_id"], relabelled["vendor_id"], strict=True)
    vendor_ok = [v in links[s] for s, v in pairs]
    assert np.array_equal(vendor_ok, has_vendor.to_numpy())
    assert relabelled["change_id"].isna().all()
    eligible = true["root_cause"].isin(["internal", "change"]).sum()
    assert within_binomial(len(moved), eligible, intensity)

    def supplier_share(log):
        return log.incidents["root_cause"].isin(["vendor", "external"]).mean()

    assert supplier_share(reported) > supplier_share(truth)
    for team in truth.incidents["team_id"].unique():
        assert misattributions_without_outage(truth, team, truth.start, truth.end) == 0
        assert misattributions_without_outage(reported, team, truth.start, truth.end) > 0


# --- scope, monotonicity, determinism, prefixes ---------------------------------------------


def test_intensity_applies_only_to_its_team_and_period(truth, periods, setting):
    quarter = periods.iloc[2]
    levers = intensities(
        truth,
        periods,
        teams=["apps"],
        labels=[quarter["label"]],
        **dict.fromkeys(REPORTING_LEVERS, 1),
    )
    reported = report(truth, levers, periods, seed=SEED, **setting)
    ids = gamed_ids(truth, reported)
    assert ids
    everyone = pd.concat([truth.incidents, reported.incidents]).drop_duplicates("incident_id")
    owner = everyone.set_index("incident_id")
    rows = owner.loc[sorted(ids)]
    assert (rows["team_id"] == "apps").all()
    assert rows["opened_at"].between(quarter["start"], quarter["end"], inclusive="left").all()


@pytest.mark.parametrize("lever", [*REPORTING_LEVERS, "all"])
def test_raising_an_intensity_only_adds_gamed_incidents(truth, periods, setting, lever):
    levers = REPORTING_LEVERS if lever == "all" else (lever,)
    low, high = (
        report(
            truth,
            intensities(truth, periods, **dict.fromkeys(levers, i)),
            periods,
            seed=SEED,
            **setting,
        )
        for i in (0.3, 0.6)
    )
    low_ids, high_ids = gamed_ids(truth, low), gamed_ids(truth, high)
    assert low_ids and low_ids <= high_ids
    if lever == "padding":  # the k-th padded ticket is the same whichever intensity makes it
        added = added_rows(truth, low).set_index("incident_id")
        same = by_id(high).loc[added.index]
        pd.testing.assert_frame_equal(added, same)


def test_same_seed_same_report_other_seed_other_report(truth, periods, setting):
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 0.5))
    first, again, other = (
        report(truth, levers, periods, seed=seed, **setting) for seed in (SEED, SEED, SEED + 1)
    )
    pd.testing.assert_frame_equal(first.incidents, again.incidents)
    assert gamed_ids(truth, first) != gamed_ids(truth, other)


def test_shorter_truth_reports_incidents_it_has_seen_the_same(
    small_scenario, truth, periods, setting
):
    world = World(small_scenario, seed=truth.meta["seed"])
    world.env.run(until=(BOUNDARY - world.start) / HOUR)
    prefix = world.event_log()
    assert prefix.end == BOUNDARY
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 0.5))
    full_report = report(truth, levers, periods, seed=SEED, **setting).incidents
    short_report = report(prefix, levers, periods, seed=SEED, **setting).incidents

    resolved_before = truth.incidents.loc[truth.incidents["resolved_at"] < BOUNDARY, "incident_id"]
    seen = full_report["incident_id"].str.removesuffix(FOLLOW_UP_SUFFIX).isin(resolved_before)
    padded = full_report["incident_id"].str.contains("-PAD-")
    expected = full_report.loc[seen | (padded & (full_report["resolved_at"] < BOUNDARY))]
    stems = short_report["incident_id"].str.removesuffix(FOLLOW_UP_SUFFIX)
    in_short = stems.isin(resolved_before) | short_report["incident_id"].str.contains("-PAD-")
    got = short_report.loc[in_short]
    assert len(got) > 1000
    expected, got = expected.set_index("incident_id"), got.set_index("incident_id")
    assert set(expected.index) == set(got.index)
    got = got.loc[expected.index]
    # The world draws CSAT scores and closes tickets after the boundary, so the true logs
    # themselves differ there; every column the reporting layer decides must agree.
    columns = [c for c in expected.columns if c not in ("csat", "closed_at")]
    pd.testing.assert_frame_equal(expected[columns], got[columns])
    both = expected["closed_at"].notna() & got["closed_at"].notna()
    assert both.sum() > 1000
    assert (expected.loc[both, "closed_at"] == got.loc[both, "closed_at"]).all()


# --- the audit ----------------------------------------------------------------------------


def test_audit_finds_nothing_without_gaming(truth, periods, setting):
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 0.0))
    reported = report(truth, levers, periods, seed=SEED, **setting)
    for team in truth.incidents["team_id"].unique():
        found = audit_evidence(truth, reported, team, truth.start, truth.end)
        assert list(found) == list(REPORTING_LEVERS)
        assert set(found.values()) == {0}
        assert misattributions_without_outage(reported, team, truth.start, truth.end) == 0


@pytest.mark.parametrize("lever", REPORTING_LEVERS)
def test_audit_finds_each_lever_used_and_only_it(truth, gamed, lever):
    reported = gamed(lever, 0.5)
    total = dict.fromkeys(REPORTING_LEVERS, 0)
    for team in truth.incidents["team_id"].unique():
        found = audit_evidence(truth, reported, team, truth.start, truth.end)
        total = {k: total[k] + found[k] for k in total}
    assert total[lever] > 0
    assert all(count == 0 for other, count in total.items() if other != lever)


def test_audit_ignores_rows_of_other_labels(truth, periods, setting):
    # A log scored with candidates holds their gamed copies of the team's incidents, under the
    # same ids; an audit of the team must see only the team's own record.
    honest = report(truth, intensities(truth, periods), periods, seed=SEED, **setting)
    team = "platform"
    mine = truth.incidents.loc[truth.incidents["team_id"] == team]
    candidate = EventLog(
        mine.assign(team_id=f"{team}#1"),
        truth.changes,
        truth.outages,
        truth.services,
        truth.start,
        truth.end,
    )
    levers = intensities(candidate, periods, **dict.fromkeys(REPORTING_LEVERS, 0.5))
    gamed = report(candidate, levers, periods, seed=SEED, **setting)
    both = EventLog(
        pd.concat([honest.incidents, gamed.incidents], ignore_index=True),
        truth.changes,
        truth.outages,
        truth.services,
        truth.start,
        truth.end,
    )
    assert any(audit_evidence(candidate, gamed, f"{team}#1", truth.start, truth.end).values())
    found = audit_evidence(truth, both, team, truth.start, truth.end)
    assert set(found.values()) == {0}


def test_audit_counts_one_window(truth, periods, setting):
    quarter = periods.iloc[3]
    levers = intensities(truth, periods, **dict.fromkeys(REPORTING_LEVERS, 0.5))
    reported = report(truth, levers, periods, seed=SEED, **setting)
    whole = audit_evidence(truth, reported, "platform", truth.start, truth.end)
    part = audit_evidence(truth, reported, "platform", quarter["start"], quarter["end"])
    assert all(0 < part[lever] < whole[lever] for lever in REPORTING_LEVERS)
    windows = [
        audit_evidence(truth, reported, "platform", row.start, row.end)
        for row in periods.itertuples()
    ]
    assert {k: sum(w[k] for w in windows) for k in whole} == whole


def test_misattributions_without_outage_checks_overlap_on_the_same_service():
    day = pd.Timestamp("2025-01-01")

    def at(hours):
        return pd.NaT if hours is None else day + hours * HOUR

    def incident(i, service, cause, opened, resolved, team="T"):
        return {
            "incident_id": f"I{i}",
            "service_id": service,
            "team_id": team,
            "opened_at": at(opened),
            "responded_at": at(opened),
            "resolved_at": at(resolved),
            "closed_at": pd.NaT,
            "priority": 2,
            "priority_initial": 2,
            "root_cause": cause,
            "change_id": None,
            "vendor_id": "V" if cause == "vendor" else None,
            "reopen_count": 0,
            "reassignment_count": 0,
            "on_hold_hours": 0.0,
            "sla_target_hours": 24.0,
            "sla_breached": False,
            "csat": np.nan,
        }

    incidents = pd.DataFrame(
        [
            incident(1, "S1", "vendor", 11, 13),  # inside an outage
            incident(2, "S1", "vendor", 13, 14),  # between outages: unexplained
            incident(3, "S1", "external", 21, None),  # open, during an open outage
            incident(4, "S2", "vendor", 11, 12),  # no outage on S2: unexplained
            incident(5, "S1", "internal", 13, 14),  # not blamed on a supplier
            incident(6, "S1", "vendor", 9, 10),  # ends as the outage starts
            incident(7, "S2", "vendor", 11, 12, team="U"),  # another team
            incident(8, "S3", "vendor", 5, 6),  # inside a long outage that began first
            incident(9, "S2", "vendor", 30, 31),  # outside the first window
        ]
    )
    outages = pd.DataFrame(
        {
            "outage_id": ["O1", "O2", "O3", "O4"],
            "source": "vendor",
            "vendor_id": "V",
            "subcontractor_id": None,
            "service_id": ["S1", "S1", "S3", "S3"],
            "start": [at(10), at(20), at(0), at(2)],
            "end": [at(12), pd.NaT, at(10), at(3)],
        }
    )
    log = EventLog(
        incidents=incidents,
        changes=empty_table("changes"),
        outages=outages,
        services=empty_table("services"),
        start=day,
        end=day + 48 * HOUR,
    )
    assert log.validate() == []
    assert misattributions_without_outage(log, "T", day, day + 24 * HOUR) == 2
    assert misattributions_without_outage(log, "U", day, day + 24 * HOUR) == 1
    assert misattributions_without_outage(log, "T", day, day + 48 * HOUR) == 3
