"""The SimPy world: determinism, schema, causal links and rates against the scenario."""

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.sim import HOURS_PER_YEAR, World, simulate

SEEDS = range(20)


def _frames(log):
    return [log.incidents, log.changes, log.outages, log.services]


def test_same_seed_gives_identical_logs(small_scenario):
    first, second = simulate(small_scenario, seed=3), simulate(small_scenario, seed=3)
    for a, b in zip(_frames(first), _frames(second), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_asking_for_the_log_period_by_period_changes_nothing(small_scenario):
    straight = World(small_scenario, seed=4).run()
    world = World(small_scenario, seed=4)
    earlier = []
    for edge in world.edges:
        world.advance(edge)
        earlier.append(world.event_log())  # incidents still open here are read again later
    stepped = world.event_log()
    assert any(log.incidents["resolved_at"].isna().any() for log in earlier)
    for table in ("incidents", "changes", "outages"):
        pd.testing.assert_frame_equal(getattr(stepped, table), getattr(straight, table))
    first = earlier[0].incidents
    again = stepped.incidents.iloc[: len(first)]
    reopened = first["resolved_at"].isna() & again["resolved_at"].notna().to_numpy()
    assert reopened.any()  # open at the first period's end, resolved since: re-read


def test_a_log_since_an_hour_keeps_exactly_the_rows_that_can_still_count(small_scenario):
    world = World(small_scenario, seed=4)
    world.advance(world.edges[2])
    full = world.event_log()
    since = world.edges[0]
    recent = world.event_log(since=since)
    cut = world.start + pd.Timedelta(hours=since)
    inc, chg = full.incidents, full.changes
    open_inc = (inc["opened_at"] >= cut) | ~(inc["resolved_at"] < cut)
    open_chg = (chg["submitted_at"] >= cut) | ~(chg["implemented_at"] < cut)
    assert 0 < len(recent.incidents) < len(inc) and 0 < len(recent.changes) < len(chg)
    pd.testing.assert_frame_equal(recent.incidents, inc.loc[open_inc].reset_index(drop=True))
    pd.testing.assert_frame_equal(recent.changes, chg.loc[open_chg].reset_index(drop=True))
    pd.testing.assert_frame_equal(recent.outages, full.outages)
    assert (recent.start, recent.end) == (full.start, full.end)


def test_different_seeds_give_different_logs(small_scenario):
    a, b = simulate(small_scenario, seed=3), simulate(small_scenario, seed=4)
    assert not a.incidents["opened_at"].equals(b.incidents["opened_at"])


def test_scenario_seed_is_the_default(small_scenario):
    default = simulate(small_scenario)
    explicit = simulate(small_scenario, seed=small_scenario.seed)
    pd.testing.assert_frame_equal(default.incidents, explicit.incidents)


def test_log_follows_the_canonical_schema(small_log):
    assert small_log.validate() == []
    assert set(small_log.incidents["root_cause"]) == {"internal", "change", "vendor", "external"}


def test_times_are_ordered(small_log):
    inc = small_log.incidents
    done = inc.dropna(subset=["resolved_at"])
    assert (done["responded_at"] >= done["opened_at"]).all()
    assert (done["resolved_at"] >= done["responded_at"]).all()
    closed = done.dropna(subset=["closed_at"])
    assert (closed["closed_at"] >= closed["resolved_at"]).all()
    assert (inc["opened_at"] < small_log.end).all()


def test_change_incidents_follow_their_failed_change(small_log):
    inc = small_log.incidents
    caused = inc[inc["root_cause"] == "change"].merge(
        small_log.changes, on="change_id", suffixes=("", "_change")
    )
    assert len(caused) == (inc["root_cause"] == "change").sum() > 0
    assert caused["failed"].all()
    assert (caused["service_id"] == caused["service_id_change"]).all()
    assert (caused["opened_at"] >= caused["implemented_at"]).all()
    assert inc.loc[inc["root_cause"] != "change", "change_id"].isna().all()


def test_vendor_and_external_incidents_match_outages(small_log):
    inc, out = small_log.incidents, small_log.outages
    for cause, source in (("vendor", "vendor"), ("external", "external")):
        hit = inc[inc["root_cause"] == cause].merge(
            out[out["source"] == source],
            left_on=["service_id", "opened_at"],
            right_on=["service_id", "start"],
        )
        assert len(hit) == (inc["root_cause"] == cause).sum() > 0
        resolved = hit.dropna(subset=["resolved_at"])
        assert (resolved["resolved_at"] >= resolved["end"]).all()
    vendor = inc[inc["root_cause"] == "vendor"]
    assert vendor["vendor_id"].notna().all()


def test_vendor_outages_hit_only_dependent_services(small_scenario, small_log):
    deps = {(s.id, v) for s in small_scenario.organisation.services for v in s.vendor_dependencies}
    vendor = small_log.outages[small_log.outages["source"] == "vendor"]
    assert all(pair in deps for pair in zip(vendor["service_id"], vendor["vendor_id"], strict=True))


def _expected_internal(world, service):
    """Integrated rate of a log-linear intensity over the horizon."""
    rate = world.incident_rate_per_hour(service)
    growth = world.incident_cfg.age_effect_per_year / HOURS_PER_YEAR
    h = world.horizon_hours
    return rate * h if growth == 0 else rate * math.expm1(growth * h) / growth


@pytest.mark.slow
def test_incident_counts_match_the_rate_formula_across_seeds(small_scenario):
    """Per service, internal counts summed over seeds are Poisson with the formula's mean."""
    world = World(small_scenario)
    expected = {s.id: _expected_internal(world, s) for s in small_scenario.organisation.services}
    counts = {sid: 0 for sid in expected}
    for seed in SEEDS:
        inc = simulate(small_scenario, seed).incidents
        internal = inc[inc["root_cause"] == "internal"]
        for sid, n in internal["service_id"].value_counts().items():
            counts[sid] += n
    for sid, mean in expected.items():
        total = mean * len(SEEDS)
        z = (counts[sid] - total) / math.sqrt(total)
        assert abs(z) < 4, (sid, counts[sid], total)


@pytest.mark.slow
def test_priority_mix_reopen_and_csat_rates_across_seeds(small_scenario):
    cfg = small_scenario.environment.incidents
    logs = [simulate(small_scenario, seed).incidents for seed in range(8)]
    inc = pd.concat(logs)
    internal = inc[inc["root_cause"] == "internal"]
    observed = internal["priority"].value_counts(normalize=True)
    n = len(internal)
    for priority, share in cfg.priority_mix.items():
        se = math.sqrt(share * (1 - share) / n)
        assert abs(observed.get(priority, 0) - share) < 4 * se + 1e-9
    settled = inc[inc["resolved_at"] < inc["resolved_at"].max() - pd.Timedelta(days=30)]
    reopened = (settled["reopen_count"] > 0).mean()
    assert reopened == pytest.approx(cfg.reopen_probability, abs=4 * math.sqrt(0.03 / len(settled)))
    resolved = inc.dropna(subset=["resolved_at"])
    response = resolved["csat"].notna().mean()
    rate = small_scenario.environment.csat.response_rate
    assert response == pytest.approx(rate, abs=4 * math.sqrt(rate * (1 - rate) / len(resolved)))
    assert set(resolved["csat"].dropna().unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    breached = resolved.loc[resolved["sla_breached"], "csat"].mean()
    on_time = resolved.loc[~resolved["sla_breached"], "csat"].mean()
    assert breached < on_time


def test_higher_priority_waits_less(small_log):
    inc = small_log.incidents.dropna(subset=["responded_at"])
    inc = inc[inc["reassignment_count"] == 0]
    wait = (inc["responded_at"] - inc["opened_at"]).dt.total_seconds()
    by_priority = wait.groupby(inc["priority"]).mean()
    assert by_priority[1] < by_priority[4]


def test_sla_breach_is_elapsed_time_beyond_target(small_log):
    inc = small_log.incidents.dropna(subset=["resolved_at"])
    hours = (inc["resolved_at"] - inc["opened_at"]).dt.total_seconds() / 3600
    clear = (hours - inc["sla_target_hours"]).abs() > 1 / 60  # away from rounding to seconds
    assert (inc["sla_breached"][clear] == (hours > inc["sla_target_hours"])[clear]).all()


def test_failed_changes_cause_incidents_at_the_configured_mean(small_scenario):
    cfg = small_scenario.environment.changes
    per_change = []
    for seed in range(6):
        log = simulate(small_scenario, seed)
        early = log.changes[
            log.changes["failed"] & (log.changes["implemented_at"] < log.end - pd.Timedelta(days=2))
        ]
        caused = log.incidents["change_id"].value_counts()
        per_change += [caused.get(cid, 0) for cid in early["change_id"]]
    per_change = np.array(per_change)
    assert per_change.min() >= 1
    se = math.sqrt((cfg.incidents_per_failed_change - 1) / len(per_change))
    assert abs(per_change.mean() - cfg.incidents_per_failed_change) < 4 * se


def test_normal_changes_go_through_cab_and_emergencies_are_justified(small_log):
    ch = small_log.changes
    assert ch.loc[ch["type"] == "normal", "cab_reviewed"].all()
    assert not ch.loc[ch["type"] != "normal", "cab_reviewed"].any()
    assert ch.loc[ch["type"] == "emergency", "justification"].notna().all()
    normal = ch[ch["type"] == "normal"].dropna(subset=["implemented_at"])
    emergency = ch[ch["type"] == "emergency"].dropna(subset=["implemented_at"])
    assert _mean_lead(emergency) < _mean_lead(normal)


def _mean_lead(changes):
    return (changes["implemented_at"] - changes["submitted_at"]).dt.total_seconds().mean()
