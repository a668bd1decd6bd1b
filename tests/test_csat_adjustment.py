"""CSAT with factors beyond IT's control: the world's effects, the regression, the KPI."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm

from toolkit.config import ConfigError, Scenario, load_scenario
from toolkit.config.loading import validate_mapping
from toolkit.events.covariates import vendor_outage_at_open
from toolkit.metrics import compute_kpis
from toolkit.metrics.csat_adjustment import (
    MIN_LEVEL_SURVEYS,
    MIN_SURVEYS,
    adjusted_csat,
    csat_covariates,
    fit_csat_adjustment,
)
from toolkit.plans import load_plan
from toolkit.plans.loading import check_plan_against_scenario
from toolkit.run.loop import PlanLoop
from toolkit.sim import simulate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEEDS = (1, 2, 3, 4, 5)


def small_data() -> dict:
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def scenario_with(csat: dict, vendor_rate: float | None = None, data: dict | None = None):
    """The small scenario with some CSAT fields set (and, optionally, frequent vendor outages)."""
    data = data or small_data()
    data["environment"]["csat"].update(csat)
    if vendor_rate is not None:
        for vendor in data["organisation"]["vendors"]:
            vendor["outage_rate_per_year"] = vendor_rate
    return validate_mapping(Scenario, data, "test.yaml")


def pooled(logs: dict[int, object]) -> pd.DataFrame:
    """Surveys of several seeds in one frame, ids kept apart by seed."""
    frames = []
    for seed, log in logs.items():
        frame = csat_covariates(log)
        frames.append(frame.assign(incident_id=f"{seed}/" + frame["incident_id"].astype(str)))
    return pd.concat(frames, ignore_index=True)


# -- the world ------------------------------------------------------------------------------

# Scores near the middle of the scale, so that rounding and clipping to 1..5 leave the
# configured effects on the mean score nearly whole (see expected_mean below).
KNOWN = {
    "response_rate": 1.0,
    "base_score": 3.0,
    "breach_penalty": 1.0,
    "reopen_penalty": 0.8,
    "noise_sd": 0.7,
    "month_effect": {12: -0.6, 7: 0.3},
    "vendor_outage_penalty": 1.0,
}


@pytest.fixture(scope="module")
def known_logs():
    scenario = scenario_with(KNOWN, vendor_rate=12)
    return {seed: simulate(scenario, seed) for seed in SEEDS}


def expected_mean(mu, sd: float):
    """E[clip(round(mu + sd Z), 1, 5)] for standard normal Z, as the world scores."""
    mu = np.asarray(mu, dtype=float)[..., None]
    cuts = norm.cdf((np.arange(1.5, 5.0, 1.0) - mu) / sd)  # P(X < 1.5), .. P(X < 4.5)
    low, high = np.zeros_like(mu), np.ones_like(mu)
    probabilities = np.diff(np.concatenate([low, cuts, high], axis=-1), axis=-1)
    return probabilities @ np.arange(1, 6)


def expected_scores(frame: pd.DataFrame) -> np.ndarray:
    """Each survey's expected score under KNOWN, from its observable factors."""
    month = np.zeros(13)
    for m, effect in KNOWN["month_effect"].items():
        month[m] = effect
    mu = (
        KNOWN["base_score"]
        + month[frame["season"].to_numpy(dtype=int)]
        - KNOWN["vendor_outage_penalty"] * frame["vendor_outage"].to_numpy(dtype=float)
        - KNOWN["breach_penalty"] * frame["sla_breached"].to_numpy(dtype=float)
        - KNOWN["reopen_penalty"] * frame["reopen_count"].to_numpy(dtype=float)
    )
    return expected_mean(mu, KNOWN["noise_sd"])


def test_external_factors_change_only_the_scores():
    plain = scenario_with({"month_effect": {}, "vendor_outage_penalty": 0.0})
    moved = scenario_with({"month_effect": {12: -1.0}, "vendor_outage_penalty": 2.0})
    a, b = simulate(plain, seed=3), simulate(moved, seed=3)
    for table in ("changes", "outages", "services"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    others = [c for c in a.incidents.columns if c != "csat"]
    pd.testing.assert_frame_equal(a.incidents[others], b.incidents[others])
    assert (a.incidents["csat"].notna() == b.incidents["csat"].notna()).all()
    assert not a.incidents["csat"].equals(b.incidents["csat"])
    again = simulate(moved, seed=3)
    pd.testing.assert_frame_equal(b.incidents, again.incidents)


def test_factors_move_scores_by_about_what_is_configured(known_logs):
    frame = pooled(known_logs)
    clean = frame.loc[(frame["sla_breached"] == 0) & (frame["reopen_count"] == 0)]
    sd = KNOWN["noise_sd"]
    plain = clean.loc[~clean["vendor_outage"] & ~clean["season"].isin([7, 12])]
    checks = {
        "december": (clean.loc[~clean["vendor_outage"] & (clean["season"] == 12)], -0.6),
        "july": (clean.loc[~clean["vendor_outage"] & (clean["season"] == 7)], 0.3),
        "vendor outage": (clean.loc[clean["vendor_outage"] & ~clean["season"].isin([7, 12])], -1),
    }
    base = KNOWN["base_score"]
    for name, (rows, effect) in checks.items():
        assert len(rows) >= 100, name
        observed = rows["csat"].mean() - plain["csat"].mean()
        expected = float(expected_mean(base + effect, sd) - expected_mean(base, sd))
        error = math.hypot(
            rows["csat"].std() / math.sqrt(len(rows)), plain["csat"].std() / math.sqrt(len(plain))
        )
        assert abs(observed - expected) < 4 * error, (name, observed, expected, error)
        assert math.copysign(1, observed) == math.copysign(1, effect), name


def test_vendor_outage_flag_reads_outages_not_root_causes():
    incidents = pd.DataFrame(
        {
            "service_id": ["a", "a", "a", "b"],
            "opened_at": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-01 12:00", "2025-01-01 13:00", "2025-01-01 11:00"]
            ),
        }
    )
    outages = pd.DataFrame(
        {
            "source": ["vendor", "external"],
            "service_id": ["a", "b"],
            "start": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:00"]),
            "end": pd.to_datetime(["2025-01-01 12:00", "2025-01-01 12:00"]),
        }
    )
    # opened at the start and at the end count; after it, and an attack's outage, do not
    assert vendor_outage_at_open(incidents, outages).tolist() == [True, True, False, False]


# -- the regression -------------------------------------------------------------------------


def test_regression_recovers_the_configured_effects(known_logs):
    frame = pooled(known_logs)
    fit = fit_csat_adjustment(frame, alpha=0.01)
    assert fit.fitted and fit.surveys > 5000
    table = fit.coefficients.set_index("term")
    # What the fit should converge to: the same regression on each survey's expected score.
    # Scores are rounded and clipped to 1..5, so where penalties add up near 1 an effect shows
    # a little smaller than configured; in the middle of the scale it shows nearly whole.
    target = fit_csat_adjustment(frame.assign(csat=expected_scores(frame)))
    target = target.coefficients.set_index("term")["coefficient"]
    configured = {
        "season[12]": -0.6,
        "season[7]": 0.3,
        "vendor_outage": -1.0,
        "sla_breached": -1.0,
        "reopen_count": -0.8,
        "season[6]": 0.0,
        "business_unit[retail]": 0.0,
    }
    for term, value in configured.items():
        row = table.loc[term]
        assert row["estimated"], term
        assert row["ci_low"] < target[term] < row["ci_high"], (term, target[term], row.to_dict())
        assert abs(target[term] - value) < 0.15 * max(abs(value), 1), (term, target[term])
    assert table.loc["season[1]", "note"] == "reference level of the fit"
    assert table.loc["sla_breached", "controllable"]
    assert not table.loc["vendor_outage", "controllable"]


def hand_frame(n: int = 40) -> pd.DataFrame:
    """Noise-free surveys: 4 points, less 0.5 in December and 1 during a vendor outage."""
    december = np.arange(n) % 2 == 1
    vendor = np.arange(n) % 4 < 1  # a quarter of them, as many in each month
    return pd.DataFrame(
        {
            "incident_id": [f"I{i}" for i in range(n)],
            "team_id": np.where(np.arange(n) < n // 2, "a", "b"),
            "csat": 4.0 - 0.5 * december - 1.0 * vendor,
            "surveyed": True,
            "season": np.where(december, 12, 1),
            "vendor_outage": vendor,
            "business_unit": "unit",
            "sla_breached": 0.0,
            "reopen_count": 0.0,
        }
    )


def test_hand_computed_fit_and_adjustment():
    frame = hand_frame()
    fit = fit_csat_adjustment(frame)
    table = fit.coefficients.set_index("term")
    assert table.loc["const", "coefficient"] == pytest.approx(4.0)
    assert table.loc["season[12]", "coefficient"] == pytest.approx(-0.5)
    assert table.loc["vendor_outage", "coefficient"] == pytest.approx(-1.0)
    # one unit and no breach or reopen: nothing to estimate, said so
    assert not table.loc["business_unit[unit]", "estimated"]
    assert not table.loc["sla_breached", "estimated"]
    # half the surveys are in December: against the average season a December survey lost
    # 0.25 and a January one gained 0.25; a vendor outage cost 1 against none
    external = fit.external(frame)
    december, vendor = frame["season"] == 12, frame["vendor_outage"]
    assert external == pytest.approx(-0.25 * np.where(december, 1, -1) - 1.0 * vendor)
    assert fit.adjusted(frame) == pytest.approx(np.full(len(frame), 3.75))


def test_too_few_surveys_give_no_adjustment_and_say_why():
    frame = hand_frame(MIN_SURVEYS - 1)
    fit = fit_csat_adjustment(frame)
    assert not fit.fitted and f"fewer than the {MIN_SURVEYS}" in fit.reason
    assert fit.adjusted(frame) == pytest.approx(frame["csat"].to_numpy())
    # a rare level is not estimated but taken as the reference
    frame = hand_frame(60)
    frame.loc[: MIN_LEVEL_SURVEYS - 2, "season"] = 6
    table = fit_csat_adjustment(frame).coefficients.set_index("term")
    assert not table.loc["season[6]", "estimated"]
    assert "taken as the reference" in table.loc["season[6]", "note"]
    # a repeated survey (the same incident under another label) counts once
    doubled = pd.concat([frame, frame.assign(team_id="copy")], ignore_index=True)
    assert fit_csat_adjustment(doubled).surveys == len(frame)


def test_collinear_factors_give_no_adjustment():
    frame = hand_frame()
    frame["vendor_outage"] = frame["season"] == 12
    fit = fit_csat_adjustment(frame)
    assert not fit.fitted and "collinear" in fit.reason
    with pytest.raises(ValueError, match="unknown factors"):
        fit_csat_adjustment(frame, factors=("weather",))


def vendor_team_data() -> dict:
    """Only the apps team's services depend on vendors, whose outages are short and frequent."""
    data = small_data()
    for service in data["organisation"]["services"]:
        if service["owning_team"] != "apps":
            service["vendor_dependencies"] = []
    for vendor in data["organisation"]["vendors"]:
        vendor["mean_outage_hours"] = 1.0
    return data


def team_gap(log, adjust: bool) -> float:
    """The apps team's CSAT less the other teams' (over the whole log)."""
    frame = csat_covariates(log)
    if adjust:
        fit = fit_csat_adjustment(frame, factors=("vendor_outage",))
        frame = frame.assign(csat=fit.adjusted(frame))
    apps = frame["team_id"] == "apps"
    return frame.loc[apps, "csat"].mean() - frame.loc[~apps, "csat"].mean()


def test_adjustment_stops_penalising_the_team_of_the_failing_vendor():
    csat = {"response_rate": 1.0, "month_effect": {}}
    blameless = scenario_with({**csat, "vendor_outage_penalty": 0.0}, 12, vendor_team_data())
    blamed = scenario_with({**csat, "vendor_outage_penalty": 1.0}, 12, vendor_team_data())
    raw, adjusted, bound = [], [], []
    for seed in SEEDS[:3]:
        fair, unfair = simulate(blameless, seed), simulate(blamed, seed)
        gap = team_gap(fair, adjust=False)  # no blame: the gap the teams' own work makes
        raw.append(team_gap(unfair, adjust=False) - gap)
        adjusted.append(team_gap(unfair, adjust=True) - gap)
        frame = csat_covariates(unfair)
        fit = fit_csat_adjustment(frame, factors=("vendor_outage",))
        error = fit.coefficients.set_index("term").loc["vendor_outage", "std_error"]
        share = frame.groupby(frame["team_id"] == "apps")["vendor_outage"].mean()
        bound.append(3 * error * (share[True] - share[False]))
    # the raw figure marks the apps team down by about the penalty times its flagged share
    assert np.mean(raw) < -2 * np.mean(bound)
    # the adjusted one no longer does, within the fit's own uncertainty
    assert abs(np.mean(adjusted)) < np.mean(bound), (raw, adjusted, bound)


def test_adjusted_table_and_kpi_agree(known_logs):
    log = known_logs[1]
    table, fit = adjusted_csat(log, period="quarter")
    assert fit.fitted
    kpis = compute_kpis(log, period="quarter", kpis=["csat_mean", "csat_adjusted"])
    teams = kpis.loc[kpis["service_id"] == "ALL"].pivot_table(
        index=["period", "team_id"], columns="kpi", values="value"
    )
    merged = table.set_index(["period", "team_id"]).join(teams)
    assert merged["observed"].to_numpy() == pytest.approx(merged["csat_mean"].to_numpy())
    assert merged["adjusted"].to_numpy() == pytest.approx(merged["csat_adjusted"].to_numpy())
    assert merged["adjusted"].to_numpy() == pytest.approx(
        (merged["observed"] - merged["external"]).to_numpy()
    )
    # December quarters are harsh: adjusting raises them against the others
    q4 = merged.index.get_level_values("period").str.endswith("Q4")
    assert (merged.loc[q4, "external"] < 0).all() and (merged.loc[~q4, "external"] > -0.1).all()


# -- the KPI in a plan ----------------------------------------------------------------------

PLAN = """\
name: pays_adjusted_csat
description: Pays on CSAT adjusted for factors beyond IT's control, watched by itself.
start_after_periods: 2
performance_period_years: 1
grant_every_years: 1
target_award_pct: {G3: 10, G4: 14, G5: 18, G6: 22, G7: 26, G8: 30}
default_target_award_pct: 10
metrics:
  - kpi: csat_adjusted
    weight: 1
    basis: level
    curve:
      kind: linear
      threshold: {level: 3.6, payout_pct: 50}
      target: {level: 4.0, payout_pct: 100}
      maximum: {level: 4.4, payout_pct: 150}
counter_metrics:
  - kpi: csat_adjusted
    trigger: {below: 3.0}
    action: multiplier
    multiplier: 0.5
"""


def test_a_plan_pays_on_adjusted_csat(tmp_path, small_scenario):
    path = tmp_path / "pays_adjusted_csat.yaml"
    path.write_text(PLAN)
    plan = load_plan(path, scenario=small_scenario)
    assert check_plan_against_scenario(plan, small_scenario) == []
    run = PlanLoop(small_scenario, plan, seed=1).run()
    behaviour = run.behaviour
    paid = behaviour.loc[behaviour["period"] >= behaviour["period"].unique()[2]]
    assert (paid["score_pct"] > 0).all() and paid["score_pct"].notna().all()
    assert run.awards["earned"].sum() > 0
    again = PlanLoop(small_scenario, plan, seed=1).run()
    pd.testing.assert_frame_equal(behaviour, again.behaviour)


def test_a_plan_on_adjusted_csat_needs_surveys(tmp_path):
    data = small_data()
    data["environment"]["csat"]["response_rate"] = 0
    path = tmp_path / "silent.yaml"
    path.write_text(yaml.safe_dump(data))
    plan_path = tmp_path / "pays_adjusted_csat.yaml"
    plan_path.write_text(PLAN)
    problems = check_plan_against_scenario(load_plan(plan_path), load_scenario(path))
    found = {p.path: p.reason for p in problems}
    assert set(found) == {"metrics[0].kpi", "counter_metrics[0].kpi"}, found
    assert all("no surveys" in reason for reason in found.values())


# -- configuration --------------------------------------------------------------------------


def refusal(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("field", "value", "path", "words"),
    [
        ("vendor_outage_penalti", 0.5, "vendor_outage_penalti", "did you mean"),
        ("vendor_outage_penalty", -0.5, "vendor_outage_penalty", "greater than or equal to 0"),
        ("month_effect", {13: -0.1}, "month_effect.13", "less than or equal to 12"),
        ("month_effect", {"12": -0.1}, "month_effect.12", "integer"),
        ("month_effect", {12: -3.0}, "month_effect.12", "greater than or equal to -2"),
        ("business_unit_effects", {}, "business_unit_effects", "did you mean"),
    ],
)
def test_bad_csat_factors_are_refused_naming_the_field(field, value, path, words):
    data = small_data()
    data["environment"]["csat"][field] = value
    [(where, reason)] = refusal(data)
    assert where == f"environment.csat.{path}" and words in reason, (where, reason)


def test_a_business_unit_effect_must_name_a_unit(tmp_path):
    data = small_data()
    data["environment"]["csat"]["business_unit_effect"] = {"retail": -0.2, "retial": 0.1}
    path = tmp_path / "unit.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert problem.path == "environment.csat.business_unit_effect.retial"
    assert "no business unit has id 'retial'" in problem.reason
