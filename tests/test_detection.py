"""The detection model that audits realise and teams price, and their agreement."""

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour import REPORTING_LEVERS, report
from toolkit.behaviour.audit import audit_evidence, ticket_evidence
from toolkit.behaviour.detection import eligible_counts, finding_probability, ticket_exposure
from toolkit.plans import load_plan
from toolkit.run.loop import run_plan

SEED = 5
Z = 4.5  # binomial tolerance in standard errors


def quarters(log):
    spans = pd.period_range(log.start, log.end - pd.Timedelta(1, "ns"), freq="Q")
    return pd.DataFrame(
        {"label": spans.astype(str), "start": spans.start_time, "end": (spans + 1).start_time}
    )


# --- the formula ---------------------------------------------------------------------------


def test_finding_probability_by_hand():
    # r = 1: a finding iff an affected ticket is drawn, 1 - C(8, 3) / C(10, 3)
    assert finding_probability(10, 2, 3, 1.0) == pytest.approx(1 - 56 / 120)
    # r = 0.5: P(x = 1) = C(2,1) C(8,2) / C(10,3) = 56/120 and P(x = 2) = C(8,1) / C(10,3)
    # = 8/120; one affected ticket drawn is recognised half the time, two 1 - 0.25 of it
    assert finding_probability(10, 2, 3, 0.5) == pytest.approx(56 / 120 * 0.5 + 8 / 120 * 0.75)


def test_finding_probability_limits():
    assert finding_probability(10, 0, 5, 0.9) == 0.0
    assert finding_probability(0, 0, 5, 0.9) == 0.0
    # a sample as large as the population is a full check: every affected ticket is looked at
    assert finding_probability(10, 3, 10, 0.5) == pytest.approx(1 - 0.5**3)
    assert finding_probability(10, 3, 50, 0.5) == pytest.approx(1 - 0.5**3)
    assert finding_probability(10, 3, 4, 0.0) == 0.0


def test_finding_probability_rises_with_gaming_and_sample():
    by_affected = [finding_probability(200, k, 25, 0.8) for k in range(0, 60, 5)]
    by_sample = [finding_probability(200, 10, n, 0.8) for n in range(1, 200, 20)]
    assert np.all(np.diff(by_affected) > 0)
    assert np.all(np.diff(by_sample) > 0)


def test_a_fractional_expectation_is_interpolated():
    low, high = finding_probability(100, 4, 25, 0.8), finding_probability(100, 5, 25, 0.8)
    assert finding_probability(100, 4.25, 25, 0.8) == pytest.approx(low + 0.25 * (high - low))


# --- what teams expect against what the reporting layer does --------------------------------


@pytest.fixture(scope="module")
def setting(small_scenario):
    return {
        "sla_targets": dict(small_scenario.environment.incidents.sla_target_hours),
        "vendor_links": {s.id: s.vendor_dependencies for s in small_scenario.organisation.services},
    }


def windows(truth):
    """Every (team, quarter) cell of the log, with the team's true incidents opened in it."""
    teams = sorted(truth.incidents["team_id"].unique())
    for row in quarters(truth).itertuples():
        opened = truth.incidents["opened_at"]
        inside = truth.incidents.loc[(opened >= row.start) & (opened < row.end)]
        for team in teams:
            yield team, row, inside.loc[inside["team_id"] == team]


def reported_under(truth, setting, **levels):
    periods = quarters(truth)
    teams = sorted(truth.incidents["team_id"].unique())
    frame = pd.DataFrame(
        [(p, t) for p in periods["label"] for t in teams], columns=["period", "team_id"]
    )
    for lever in REPORTING_LEVERS:
        frame[lever] = levels.get(lever, 0.0)
    return report(truth, frame, periods, seed=SEED, **setting)


@pytest.mark.parametrize("lever", REPORTING_LEVERS)
def test_eligible_counts_predict_the_gamed_tickets(small_log, setting, lever):
    intensity = 0.5
    reported = reported_under(small_log, setting, **{lever: intensity})
    expected = realised = 0.0
    for team, row, incidents in windows(small_log):
        expected += eligible_counts(incidents)[lever] * intensity
        realised += audit_evidence(small_log, reported, team, row.start, row.end)[lever]
    # each eligible ticket is gamed on its own draw; padding rounds a count per cell
    assert realised == pytest.approx(expected, abs=Z * math.sqrt(expected) + 1)


def test_expected_exposure_matches_the_sampled_population(small_log, setting):
    intensity = 0.3
    levels = dict.fromkeys(REPORTING_LEVERS, intensity)
    reported = reported_under(small_log, setting, **levels)
    population = affected = expected_population = expected_affected = 0.0
    for team, row, incidents in windows(small_log):
        got = ticket_evidence(small_log, reported, team, row.start, row.end)
        population, affected = population + got.population, affected + got.affected
        n, k = ticket_exposure(eligible_counts(incidents), levels)
        expected_population, expected_affected = expected_population + n, expected_affected + k
    # the team combines levers as independent; the transforms exclude some overlaps (an
    # underreported incident is not gamed further), which costs a few per cent at most
    assert population == pytest.approx(expected_population, rel=0.02)
    assert affected == pytest.approx(expected_affected, rel=0.05)


# --- the test: perceived and realised detection per audit ---------------------------


@pytest.mark.slow
def test_perceived_and_realised_detection_agree_over_ten_seeds(small_scenario):
    # A speed-only plan that takes nothing on a finding, so teams game freely and the audit
    # does not deter them; every team is audited every period, for many audits, and the
    # sample and recognition keep the chance of a finding away from 0 and 1, where any model
    # would agree.
    plan = load_plan("mttr_only")
    audit = plan.audit.model_copy(
        update={"probability_per_period": 1.0, "detection_power": 0.5, "sample_size": 10}
    )
    plan = plan.model_copy(update={"audit": audit, "start_after_periods": 2})
    horizon = small_scenario.horizon.model_copy(update={"years": 3})
    scenario = small_scenario.model_copy(update={"horizon": horizon})
    runs = [run_plan(scenario, plan, seed).behaviour for seed in range(10)]
    audits = pd.concat(runs).query("audited")
    found = audits["findings"].str.contains("gaming_detected")
    perceived = audits["detection_perceived"].mean()
    assert len(audits) >= 200
    assert 0.1 < perceived < 0.9
    assert found.mean() == pytest.approx(perceived, rel=0.10)
    # and the world's own chance, given the counts it sampled from, agrees with its draws
    expected = audits["detection_expected"]
    assert found.mean() == pytest.approx(
        expected.mean(), abs=Z * math.sqrt((expected * (1 - expected)).sum()) / len(audits)
    )
