"""Tests of plan scoring on hand-made logs; every expected number is worked out from the inputs."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from toolkit.config.plan import LinearCurve, Plan
from toolkit.events import EventLog, empty_table
from toolkit.metrics import period_bounds
from toolkit.plans import PlanScorer
from toolkit.plans.curves import curve_payout, improvement
from toolkit.plans.scoring import score_log

START = pd.Timestamp("2025-01-01")
HOUR = pd.Timedelta(1, "h")


def quarter(k, day=10, hour=0):
    """A time inside quarter ``k`` (0 = 2025Q1)."""
    return START + pd.DateOffset(months=3 * k, days=day - 1, hours=hour)


def incident(
    k,
    hours,
    *,
    service="S1",
    team="T1",
    root_cause="internal",
    target=100.0,
    priority=3,
    reopen=0,
    day=10,
):
    opened = quarter(k, day)
    resolved = opened + hours * HOUR
    return {
        "service_id": service,
        "team_id": team,
        "opened_at": opened,
        "responded_at": opened,
        "resolved_at": resolved,
        "closed_at": resolved,
        "priority": priority,
        "priority_initial": priority,
        "root_cause": root_cause,
        "change_id": None,
        "vendor_id": None,
        "reopen_count": reopen,
        "reassignment_count": 0,
        "on_hold_hours": 0.0,
        "sla_target_hours": target,
        "sla_breached": hours > target,
        "csat": np.nan,
    }


def change(k, *, service="S1", team="T1", kind="normal", failed=False, day=10):
    return {
        "team_id": team,
        "service_id": service,
        "type": kind,
        "submitted_at": quarter(k, day),
        "implemented_at": quarter(k, day, hour=1),
        "cab_reviewed": kind in ("standard", "normal"),
        "failed": failed,
        "justification": None,
    }


def service(service_id, team_id, criticality=2, complexity=1.0, age=3.0):
    return {
        "service_id": service_id,
        "team_id": team_id,
        "business_unit": "BU1",
        "criticality": criticality,
        "complexity": complexity,
        "platform_age_years": age,
    }


SERVICES = [service("S1", "T1"), service("S2", "T2")]


def make_log(incidents=(), changes=(), outages=(), services=SERVICES, quarters=4):
    def table(name, rows, id_column=None):
        if not rows:
            return empty_table(name)
        frame = pd.DataFrame(list(rows))
        if id_column:
            frame.insert(0, id_column, [f"{id_column[:3]}{i}" for i in range(len(frame))])
        return frame

    return EventLog(
        incidents=table("incidents", incidents, "incident_id"),
        changes=table("changes", changes, "change_id"),
        outages=table("outages", outages, "outage_id"),
        services=table("services", services),
        start=START,
        end=START + pd.DateOffset(months=3 * quarters),
    )


def periods_of(log):
    return period_bounds(log.start, log.end, "quarter")


def linear(threshold, target, maximum):
    """A linear curve from (level, payout) pairs."""
    return {
        "kind": "linear",
        "threshold": {"level": threshold[0], "payout_pct": threshold[1]},
        "target": {"level": target[0], "payout_pct": target[1]},
        "maximum": {"level": maximum[0], "payout_pct": maximum[1]},
    }


def payout(x, points):
    """Hand-written linear curve over (level, payout) points, for expected values."""
    (t, tp), (g, gp), (m, mp) = points
    sign = 1 if t < m else -1
    x, t, g, m = sign * x, sign * t, sign * g, sign * m
    if x < t:
        return 0.0
    if x >= m:
        return mp
    if x <= g:
        return tp + (x - t) / (g - t) * (gp - tp)
    return gp + (x - g) / (m - g) * (mp - gp)


MTTR_LEVEL = ((20.0, 20.0), (10.0, 100.0), (0.0, 200.0))  # falling: lower MTTR pays more
IMPROVE = ((0.0, 50.0), (0.1, 100.0), (0.3, 200.0))


def metric(kpi="mttr_mean_hours", points=MTTR_LEVEL, basis="level", **fields):
    return {"kpi": kpi, "weight": 1, "basis": basis, "curve": linear(*points), **fields}


def make_plan(metrics=(), start=1, **fields):
    data = {
        "name": "test",
        "description": "A plan for a test.",
        "start_after_periods": start,
        "metrics": list(metrics),
        **fields,
    }
    return Plan.model_validate(data)


def run(plan, log, commits):
    """Commit periods ``0 .. commits-1``; return the scorer and each period's scores."""
    scorer = PlanScorer(plan, log.services, periods_of(log))
    return scorer, [scorer.commit(log, k) for k in range(commits)]


def team_row(scores, team):
    return scores.teams.set_index("team_id").loc[team]


def metric_row(scores, team, index=0):
    rows = scores.metrics.set_index(["team_id", "index"])
    return rows.loc[(team, index)]


# --- curves ----------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [IMPROVE, MTTR_LEVEL])
def test_linear_curve_both_directions(points):
    curve = LinearCurve.model_validate(linear(*points))
    (t, _), (g, _), (m, mp) = points
    step = (m - t) / 10
    levels = [t - step, t, (t + g) / 2, g, (g + m) / 2, m, m + step, m + 100 * step]
    got = curve_payout(curve, np.array(levels))
    assert got == pytest.approx([payout(x, points) for x in levels])
    assert got[0] == 0.0  # below threshold
    assert got[-1] == got[-2] == mp  # capped above maximum
    assert np.isnan(curve_payout(curve, np.array([np.nan]))[0])


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_bracket_curve_pays_last_bracket_reached(direction):
    levels = [0.90, 0.95, 0.99] if direction == "higher" else [6.0, 4.0, 0.0]
    pays = [50.0, 100.0, 150.0]
    plan = make_plan(
        [
            {
                "kpi": "sla_attainment" if direction == "higher" else "incident_volume",
                "weight": 1,
                "basis": "level",
                "curve": {
                    "kind": "brackets",
                    "direction": direction,
                    "brackets": [
                        {"level": lv, "payout_pct": p} for lv, p in zip(levels, pays, strict=True)
                    ],
                },
            }
        ]
    )
    curve = plan.metrics[0].curve
    sign = 1 if direction == "higher" else -1
    probes = [levels[0] - sign, levels[0], (levels[0] + levels[1]) / 2, levels[1], levels[2]]
    assert curve_payout(curve, np.array(probes)) == pytest.approx([0, 50, 50, 100, 150])


def test_improvement_in_the_better_direction_and_at_zero_baseline():
    assert improvement(np.array([8.0]), np.array([10.0]), "lower") == pytest.approx([0.2])
    assert improvement(np.array([12.0]), np.array([10.0]), "higher") == pytest.approx([0.2])
    at_zero = improvement(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0]), "lower")
    assert at_zero[0] == 0 and at_zero[1] == -np.inf
    assert improvement(np.array([1.0]), np.array([0.0]), "higher")[0] == np.inf


# --- basis and baselines ---------------------------------------------------------------------


def test_improvement_and_level_basis():
    log = make_log([incident(0, 10), incident(0, 10), incident(1, 8), incident(1, 8)])
    _, improving = run(make_plan([metric(points=IMPROVE, basis="improvement")]), log, 2)
    row = metric_row(improving[1], "T1")
    assert row["baseline"] == pytest.approx(10)
    assert row["basis_value"] == pytest.approx((10 - 8) / 10)
    assert row["payout_pct"] == pytest.approx(payout(0.2, IMPROVE))
    assert team_row(improving[1], "T1")["score_pct"] == pytest.approx(payout(0.2, IMPROVE))

    _, level = run(make_plan([metric()]), log, 2)
    row = metric_row(level[1], "T1")
    assert row["basis_value"] == pytest.approx(8)
    assert row["payout_pct"] == pytest.approx(payout(8, MTTR_LEVEL))
    # T2 had nothing to measure: its metric is left out and it scores 0.
    assert np.isnan(metric_row(level[1], "T2")["payout_pct"])
    assert team_row(level[1], "T2")["score_pct"] == 0


SEQUENCE = [10.0, 20.0, 8.0, 6.0, 12.0, 14.0]


def expected_baseline(policy, k, start=2, window=2):
    def mean(values):
        return sum(values) / len(values)

    fixed = mean(SEQUENCE[:start])
    if policy == "fixed":
        return fixed
    if policy == "rolling":
        return mean(SEQUENCE[k - window : k])
    return min([fixed, *(mean(SEQUENCE[j - window : j]) for j in range(start, k + 1))])


@pytest.mark.parametrize("policy", ["fixed", "rolling", "ratchet"])
def test_baselines_over_several_commits(policy):
    log = make_log([incident(k, h) for k, h in enumerate(SEQUENCE)], quarters=6)
    plan = make_plan(
        [
            metric(
                points=IMPROVE,
                basis="improvement",
                baseline={"policy": policy, "window_periods": 2},
            )
        ],
        start=2,
    )
    _, scores = run(plan, log, 6)
    for k in (2, 3, 4, 5):
        row = metric_row(scores[k], "T1")
        base = expected_baseline(policy, k)
        assert row["baseline"] == pytest.approx(base), (policy, k)
        assert row["basis_value"] == pytest.approx((base - SEQUENCE[k]) / base)
    if policy == "ratchet":  # the ratchet kept period 4's stricter baseline in period 5
        assert expected_baseline("ratchet", 5) < expected_baseline("rolling", 5)


def test_root_cause_exclusion_changes_the_measured_value():
    log = make_log([incident(k, 10) for k in (0, 1)] + [incident(1, 100, root_cause="vendor")])
    plain = make_plan([metric()])
    excluding = make_plan([metric(exclude_root_causes=["vendor", "external"])])
    for plan, expected in ((plain, (10 + 100) / 2), (excluding, 10.0)):
        scorer, _ = run(plan, log, 1)
        measured = scorer.measure(log, 1).set_index(["team_id", "item", "index"])["value"]
        assert measured[("T1", "metric", 0)] == pytest.approx(expected)
        assert metric_row(scorer.score(log, 1), "T1")["value"] == pytest.approx(expected)


def test_tolerance_band():
    incidents = [incident(k, h, target=10.0) for k in (0, 1) for h in (10.4, 9.0)]
    log = make_log(incidents)
    points = ((0.4, 50.0), (0.8, 100.0), (1.0, 150.0))
    for tolerance, share in ((0.0, 0.5), (0.05, 1.0)):
        plan = make_plan([metric("sla_attainment", points, tolerance=tolerance)])
        _, scores = run(plan, log, 2)
        row = metric_row(scores[1], "T1")
        assert row["value"] == pytest.approx(share)
        assert row["payout_pct"] == pytest.approx(payout(share, points))


def test_service_baseline_weights_by_baseline_volume():
    services = [*SERVICES, service("S3", "T1")]
    before = [incident(0, 10, service="S1")] * 4 + [incident(0, 20, service="S3")]
    after = [incident(1, 8, service="S1")] * 2 + [incident(1, 30, service="S3")] * 3
    log = make_log(before + after, services=services)
    plan = make_plan(
        [metric(points=IMPROVE, basis="improvement", normalisation="service_baseline")]
    )
    _, scores = run(plan, log, 2)
    gains = {"S1": (10 - 8) / 10, "S3": (20 - 30) / 20}
    volumes = {"S1": 4, "S3": 1}  # baseline (pre-plan) incidents
    expected = sum(volumes[s] * gains[s] for s in gains) / sum(volumes.values())
    row = metric_row(scores[1], "T1")
    assert row["basis_value"] == pytest.approx(expected)
    assert row["payout_pct"] == pytest.approx(payout(expected, IMPROVE))


# --- counter-metrics, gates, pre-plan ------------------------------------------------------------


def reopen_log():
    """T1: reopen rate 0.1 in period 0 and 0.3 in period 1; T2 never reopens. MTTR 10 h."""
    incidents = []
    for k, reopened in ((0, 1), (1, 3)):
        incidents += [incident(k, 10, reopen=int(i < reopened)) for i in range(10)]
        incidents += [incident(k, 10, service="S2", team="T2") for _ in range(10)]
    return make_log(incidents)


def with_counter(counter, metrics=None):
    metrics = metrics or [metric()]
    return make_plan(metrics, counter_metrics=[counter])


@pytest.mark.parametrize(
    ("trigger", "fires"),
    [
        ({"rise_pct_over_baseline": 100}, (True, False)),  # T1: 0.3 > 0.1 * 2; T2: 0 > 0
        ({"rise_pct_over_baseline": 250}, (False, False)),  # T1: 0.3 < 0.1 * 3.5
        ({"above": 0.25}, (True, False)),
        ({"below": 0.25}, (False, True)),
    ],
)
def test_counter_metric_triggers(trigger, fires):
    plan = with_counter({"kpi": "reopen_rate", "trigger": trigger, "action": "audit"})
    _, scores = run(plan, reopen_log(), 2)
    for team, fired in zip(("T1", "T2"), fires, strict=True):
        assert team_row(scores[1], team)["audit_requested"] == fired
        assert team_row(scores[1], team)["fired"] == ("reopen_rate" if fired else "")


def test_counter_metric_actions():
    base = payout(10, MTTR_LEVEL)
    sla_points = ((0.5, 50.0), (0.9, 100.0), (1.0, 120.0))
    two = [metric(weight=3), metric("sla_attainment", sla_points)]
    trigger = {"above": 0.25}
    cases = {
        "multiplier": ({"multiplier": 0.5}, [metric()], base * 0.5),
        "zero_metric": ({"metric": "mttr_mean_hours"}, two, (3 * 0 + 1 * 120) / 4),
        "zero_award": ({}, [metric()], 0.0),
        "audit": ({}, [metric()], base),
    }
    for action, (extra, metrics, expected) in cases.items():
        counter = {"kpi": "reopen_rate", "trigger": trigger, "action": action, **extra}
        _, scores = run(with_counter(counter, metrics), reopen_log(), 2)
        t1, t2 = team_row(scores[1], "T1"), team_row(scores[1], "T2")
        raw = (3 * base + 120) / 4 if metrics is two else base
        assert t1["raw_score_pct"] == pytest.approx(raw), action
        assert t1["score_pct"] == pytest.approx(expected), action
        assert t2["score_pct"] == pytest.approx(raw), action
        assert t1["audit_requested"] == (action == "audit")
        zeroed = scores[1].metrics.set_index(["team_id", "index"])["zeroed"]
        assert zeroed[("T1", 0)] == (action == "zero_metric")
        assert not zeroed[("T2", 0)]


def test_pre_plan_periods_score_zero_without_audits():
    plan = make_plan(
        [metric()],
        start=2,
        counter_metrics=[{"kpi": "reopen_rate", "trigger": {"above": 0.0}, "action": "audit"}],
    )
    log = reopen_log()
    scorer, scores = run(plan, log, 2)
    for k in (0, 1):
        teams = scores[k].teams
        assert (teams["score_pct"] == 0).all() and (teams["raw_score_pct"] == 0).all()
        assert not teams["audit_requested"].any() and (teams["fired"] == "").all()
        assert (scores[k].metrics["payout_pct"] == 0).all()
    assert scorer.committed == 2


def test_gate_fires_lasts_the_plan_year_and_resets():
    # Quarters, plan from period 1: plan year 0 = periods 1..4, plan year 1 = periods 5..8.
    unauthorized = {1: 1, 2: 1, 5: 1, 6: 0}
    changes = [change(k) for k in range(7)]
    changes += [change(k, kind="unauthorized") for k, n in unauthorized.items() for _ in range(n)]
    log = make_log(changes=changes, quarters=7)
    points = ((1.0, 50.0), (2.0, 100.0), (3.0, 150.0))
    plan = make_plan(
        [metric("change_throughput", points)],
        gates=[{"kpi": "unauthorized_count", "at_least": 2}],
    )
    scorer, scores = run(plan, log, 7)
    assert scorer.periods_per_year == 4
    gated = [bool(team_row(s, "T1")["gated"]) for s in scores]
    assert gated == [False, False, True, True, True, False, False]
    for k, s in enumerate(scores):
        row = team_row(s, "T1")
        assert row["score_pct"] == (0 if gated[k] or k == 0 else row["raw_score_pct"])
        assert k == 0 or row["raw_score_pct"] > 0


def test_commits_in_order_and_scores_need_history():
    log = reopen_log()
    scorer = PlanScorer(make_plan([metric()]), log.services, periods_of(log))
    with pytest.raises(ValueError, match="committed in order"):
        scorer.commit(log, 1)
    with pytest.raises(ValueError, match="committed first"):
        scorer.score(log, 1)
    scorer.commit(log, 0)
    with pytest.raises(ValueError, match="outside"):
        scorer.score(log, 9)


# --- counterfactual labels -------------------------------------------------------------------


def relabel(rows, label):
    return [{**row, "team_id": label} for row in rows]


def test_team_of_gives_the_real_teams_score():
    t1 = [incident(k, h) for k, h in ((0, 10), (0, 14), (1, 8), (1, 9))]
    t2 = [incident(k, 15, service="S2", team="T2") for k in (0, 1)]
    log = make_log(t1 + t2)
    plan = make_plan(
        [metric(points=IMPROVE, basis="improvement")],
        counter_metrics=[{"kpi": "reopen_rate", "trigger": {"above": 0.5}, "action": "audit"}],
    )
    scorer, scores = run(plan, log, 1)
    real = scorer.score(log, 1)
    faster = [{**row, "resolved_at": row["opened_at"] + 5 * HOUR} for row in t1 if row]
    counterfactual = make_log(
        t1 + t2 + relabel(t1, "T1#a") + relabel(faster, "T1#b") + relabel(t2, "T2#a")
    )
    team_of = {"T1#a": "T1", "T1#b": "T1", "T2#a": "T2"}
    labelled = scorer.score(counterfactual, 1, team_of=team_of)
    got = labelled.teams.set_index("team_id")
    want = real.teams.set_index("team_id")
    assert list(got.index) == ["T1", "T1#a", "T1#b", "T2", "T2#a"]
    for label, team in (("T1", "T1"), ("T1#a", "T1"), ("T2#a", "T2")):
        assert got.loc[label, "score_pct"] == pytest.approx(want.loc[team, "score_pct"])
    base = metric_row(real, "T1")["baseline"]
    assert metric_row(labelled, "T1#b")["baseline"] == pytest.approx(base)
    assert metric_row(labelled, "T1#b")["value"] == pytest.approx(5)
    assert got.loc["T1#b", "score_pct"] == pytest.approx(payout((base - 5) / base, IMPROVE))


def test_team_of_availability_per_label():
    services = [*SERVICES]
    outage = {
        "source": "vendor",
        "vendor_id": "V1",
        "subcontractor_id": None,
        "service_id": "S1",
        "start": quarter(1, 20),
        "end": quarter(1, 20) + 10 * HOUR,
    }
    p1 = [incident(1, 5, priority=1, day=5), incident(0, 1)]
    log = make_log(p1, outages=[outage], services=services)
    points = ((0.99, 50.0), (0.995, 100.0), (1.0, 150.0))
    scorer, _ = run(make_plan([metric("availability", points)]), log, 1)
    real = metric_row(scorer.score(log, 1), "T1")["value"]
    hours = (quarter(2, 1) - quarter(1, 1)) / HOUR
    assert real == pytest.approx(1 - 15 / hours)
    labelled = make_log(p1 + relabel(p1[:1], "T1#a"), outages=[outage], services=services)
    scores = scorer.score(labelled, 1, team_of={"T1#a": "T1", "T1#b": "T1"})
    assert metric_row(scores, "T1#a")["value"] == pytest.approx(real)
    assert metric_row(scores, "T1#b")["value"] == pytest.approx(1 - 10 / hours)  # outage only


# --- attribution -----------------------------------------------------------------------------


def shared_log():
    """T1 alone on S1 (2 × 10 h), T2 alone on S2 (2 × 16 h); on shared S T1 3 × 4 h, T2 16 h."""
    services = [*SERVICES, service("S", "T1")]
    rows = [incident(k, 10) for k in (0, 1) for _ in range(2)]
    rows += [incident(k, 16, service="S2", team="T2") for k in (0, 1) for _ in range(2)]
    rows += [incident(1, 4, service="S", team="T1") for _ in range(3)]
    rows += [incident(1, 16, service="S", team="T2")]
    return make_log(rows, services=services)


def shared_numbers():
    """The module docstring's rule worked out by hand for :func:`shared_log`."""
    own = {"T1": (2, payout(10, MTTR_LEVEL)), "T2": (2, payout(16, MTTR_LEVEL))}
    w = {"T1": 3, "T2": 1}
    total = sum(w.values())
    v = {
        ("T1",): payout(4, MTTR_LEVEL),
        ("T2",): payout(16, MTTR_LEVEL),
        ("T1", "T2"): payout((3 * 4 + 16) / 4, MTTR_LEVEL),
    }
    grand = v[("T1", "T2")]
    credit = {
        "equal": {t: grand / 2 for t in w},
        "contribution": {t: grand * w[t] / total for t in w},
        "shapley": {
            "T1": 0.5 * v[("T1",)] + 0.5 * (grand - v[("T2",)]),
            "T2": 0.5 * v[("T2",)] + 0.5 * (grand - v[("T1",)]),
        },
    }
    stake = {
        "equal": {t: 0.5 for t in w},
        "contribution": {t: w[t] / total for t in w},
        "shapley": {t: 0.5 for t in w},
    }
    team = {
        rule: {
            t: (own[t][0] * own[t][1] + total * credit[rule][t])
            / (own[t][0] + total * stake[rule][t])
            for t in w
        }
        for rule in credit
    }
    return grand, credit, team


@pytest.mark.parametrize("rule", ["equal", "contribution", "shapley"])
def test_attribution_rules_on_a_shared_service(rule):
    grand, credit, team = shared_numbers()
    _, scores = run(make_plan([metric()], attribution=rule), shared_log(), 2)
    credits = scores[1].credits.set_index("team_id")
    assert set(credits["service_id"]) == {"S"}
    assert credits["service_payout_pct"].to_numpy() == pytest.approx([grand, grand])
    for t in ("T1", "T2"):
        assert credits.loc[t, "credit_pct"] == pytest.approx(credit[rule][t])
        assert team_row(scores[1], t)["score_pct"] == pytest.approx(team[rule][t])
    assert credits["credit_pct"].sum() == pytest.approx(grand)  # efficiency, every rule
    if rule == "equal":
        assert credits.loc["T1", "credit_pct"] == pytest.approx(credits.loc["T2", "credit_pct"])
    if rule == "contribution":
        assert credits["stake"].to_dict() == pytest.approx({"T1": 0.75, "T2": 0.25})
    # The owner rule ignores the other team's rows on S.
    _, owner = run(make_plan([metric()]), shared_log(), 2)
    assert team_row(owner[1], "T1")["score_pct"] == pytest.approx(payout((20 + 12) / 5, MTTR_LEVEL))
    assert owner[1].credits.empty


def test_shapley_efficiency_and_symmetry_with_three_teams():
    services = [service("S", "T1"), service("X2", "T2"), service("X3", "T3")]
    rows = [incident(1, h, service="S", team=t) for t, h in (("T1", 6), ("T2", 6), ("T3", 18))]
    rows += [incident(0, 10, service="S", team="T1")]
    _, scores = run(
        make_plan([metric()], attribution="shapley"), make_log(rows, services=services), 2
    )
    credits = scores[1].credits.set_index("team_id")
    grand = payout((6 + 6 + 18) / 3, MTTR_LEVEL)
    assert credits["service_payout_pct"].to_numpy() == pytest.approx([grand] * 3)
    assert credits["credit_pct"].sum() == pytest.approx(grand)
    assert credits.loc["T1", "credit_pct"] == pytest.approx(credits.loc["T2", "credit_pct"])
    assert credits.loc["T1", "credit_pct"] > credits.loc["T3", "credit_pct"]


def test_shared_candidates_share_with_the_other_teams_status_quo():
    log = shared_log()
    scorer, _ = run(make_plan([metric()], attribution="shapley"), log, 1)
    real = scorer.score(log, 1).teams.set_index("team_id")["score_pct"]
    t1_rows = log.incidents.loc[log.incidents["team_id"] == "T1"].assign(team_id="T1#a")
    labelled = EventLog(
        pd.concat([log.incidents, t1_rows], ignore_index=True),
        log.changes,
        log.outages,
        log.services,
        log.start,
        log.end,
    )
    got = scorer.score(labelled, 1, team_of={"T1#a": "T1"}).teams.set_index("team_id")
    assert got.loc["T1#a", "score_pct"] == pytest.approx(real["T1"])
    assert got.loc["T1", "score_pct"] == pytest.approx(real["T1"])
    assert got.loc["T2", "score_pct"] == pytest.approx(real["T2"])


# --- expected volume -------------------------------------------------------------------------


def test_expected_volume_against_an_independent_glm():
    rng = np.random.default_rng(5)
    specs = [  # service, team, criticality, complexity, age
        ("A", "T1", 1, 2.0, 20.0),
        ("B", "T1", 2, 1.0, 4.0),
        ("C", "T1", 3, 0.6, 2.0),
        ("D", "T2", 1, 1.5, 8.0),
        ("E", "T2", 2, 2.4, 25.0),
        ("F", "T2", 3, 1.1, 12.0),
    ]
    services = [service(s, t, c, x, a) for s, t, c, x, a in specs]
    rows, counts = [], []
    for k in range(5):
        for s, t, c, x, a in specs:
            n = rng.poisson(20 * x**0.8 * (1 + 0.02 * a) * (1.2 if c == 1 else 1.0))
            counts.append((k, s, n))
            rows += [incident(k, 1, service=s, team=t, day=1 + i % 80) for i in range(n)]
    log = make_log(rows, services=services, quarters=5)
    points = ((1.5, 50.0), (1.0, 100.0), (0.5, 200.0))
    plan = make_plan([metric("incident_volume", points, normalisation="expected_volume")], start=4)
    _, scores = run(plan, log, 5)

    # The same model fitted by another route: design matrix by hand, sm.GLM on arrays.
    days = periods_of(log)["hours"].to_numpy() / 24
    spec = {s: (c, x, a) for s, _, c, x, a in specs}
    pre = [(k, s, n) for k, s, n in counts if k < 4]

    def design(names):
        return np.array(
            [
                [1.0, np.log(spec[s][1]), spec[s][2], spec[s][0] == 2, spec[s][0] == 3]
                for s in names
            ],
            dtype=float,
        )

    fit = sm.GLM(
        np.array([n for _, _, n in pre], dtype=float),
        design([s for _, s, _ in pre]),
        family=sm.families.Poisson(),
        exposure=np.array([days[k] for k, _, _ in pre]),
    ).fit()
    rate = dict(zip("ABCDEF", np.exp(design("ABCDEF") @ fit.params), strict=True))
    for team, owned in (("T1", "ABC"), ("T2", "DEF")):
        observed = sum(n for k, s, n in counts if k == 4 and s in owned)
        expected = sum(rate[s] for s in owned) * days[4]
        row = metric_row(scores[4], team)
        assert row["value"] == observed
        assert row["scored_value"] == pytest.approx(observed / expected, rel=1e-6)
        assert row["payout_pct"] == pytest.approx(payout(observed / expected, points), rel=1e-6)


# --- measurement and determinism -------------------------------------------------------------


def test_measure_lists_every_team_and_item():
    plan = make_plan(
        [metric()],
        counter_metrics=[{"kpi": "reopen_rate", "trigger": {"above": 0.5}, "action": "audit"}],
        gates=[{"kpi": "unauthorized_count", "at_least": 1}],
    )
    log = reopen_log()
    scorer = PlanScorer(plan, log.services, periods_of(log))
    measured = scorer.measure(log, 0)
    assert list(measured.columns) == ["team_id", "item", "index", "kpi", "value"]
    assert len(measured) == 2 * 3
    values = measured.set_index(["team_id", "item"])["value"]
    assert values[("T1", "counter")] == pytest.approx(0.1)
    assert values[("T1", "gate")] == 0  # no changes at all: counted as none
    assert values[("T2", "metric")] == pytest.approx(10)


def test_items_share_a_measurement_unless_their_sla_tolerances_differ():
    from toolkit.plans.measurement import Item, measurement_groups

    def item(kpi, tolerance=0.0, exclude=("vendor",), view="plain", index=0):
        return Item("metric", index, kpi, "incidents", "share", "higher", exclude, tolerance, view)

    sla_5, sla_10 = item("sla_attainment", 0.05, index=1), item("sla_attainment", 0.1, index=2)
    mttr, volume = item("mttr_mean_hours"), item("incident_volume", exclude=())
    avail = item("availability", view="availability")
    groups = measurement_groups([mttr, sla_5, volume, sla_10, avail])
    assert groups == {
        ("plain", ("vendor",), 0.05, 14.0): [sla_5, mttr],
        ("plain", ("vendor",), 0.1, 14.0): [sla_10],
        ("plain", (), 0.0, 14.0): [volume],
        ("availability", ("vendor",), 0.0, 14.0): [avail],
    }


def test_scores_are_deterministic():
    rng = np.random.default_rng(3)
    rows = [
        incident(k, float(rng.gamma(2, 8)), team=t, service=s, reopen=int(rng.random() < 0.1))
        for k in range(4)
        for t, s in (("T1", "S1"), ("T2", "S2"))
        for _ in range(30)
    ]
    log = make_log(rows, changes=[change(k, failed=k == 2) for k in range(4)])
    plan = make_plan(
        [metric(points=IMPROVE, basis="improvement"), metric("change_success_rate", IMPROVE)],
        counter_metrics=[{"kpi": "reopen_rate", "trigger": {"above": 0.12}, "action": "audit"}],
        attribution="shapley",
    )
    first = run(plan, log, 4)[1]
    second = run(plan, log, 4)[1]
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a.teams, b.teams)
        pd.testing.assert_frame_equal(a.metrics, b.metrics)


@pytest.mark.parametrize("rule", ["owner", "shapley"])
def test_a_side_world_scores_as_if_measured_alone_and_is_never_recorded(rule):
    # T2 helps with a P1 on T1's service S; in the record it is downgraded to P2.
    services = [*SERVICES, service("S", "T1")]
    helped = incident(1, 30, service="S", team="T2", priority=1, day=12)
    truth = [incident(k, h) for k, h in ((0, 10), (1, 6), (2, 9))]
    truth += [incident(k, 16, service="S2", team="T2") for k in (0, 1, 2)]
    truth += [incident(1, 4, service="S", team="T1"), helped]
    record = [*truth[:-1], {**helped, "priority": 2}]
    truth_log, record_log = make_log(truth, services=services), make_log(record, services=services)
    points = ((0.99, 50.0), (0.995, 100.0), (1.0, 150.0))
    plan = make_plan([metric(), metric("availability", points)], attribution=rule)

    alone, _ = run(plan, record_log, 1)
    true_alone = alone.score(truth_log, 1).teams.set_index("team_id")["score_pct"]
    record_alone = alone.commit(record_log, 1).teams.set_index("team_id")["score_pct"]

    side = {f"{t}@true": t for t in ("T1", "T2")}
    both = make_log(
        record + [{**r, "team_id": f"{r['team_id']}@true"} for r in truth], services=services
    )
    together, _ = run(plan, record_log, 1)
    scores = together.commit(both, 1, team_of=side, worlds={label: "true" for label in side})
    got = scores.teams.set_index("team_id")["score_pct"]
    assert sorted(got.index) == ["T1", "T1@true", "T2", "T2@true"]
    assert true_alone["T1"] != pytest.approx(record_alone["T1"])  # the downgrade shows
    for team in ("T1", "T2"):
        assert got[team] == pytest.approx(record_alone[team])
        assert got[f"{team}@true"] == pytest.approx(true_alone[team])
    # only the record was committed: the next period scores alike
    following = [alone.commit(record_log, 2), together.commit(record_log, 2)]
    pd.testing.assert_frame_equal(following[0].teams, following[1].teams)
    pd.testing.assert_frame_equal(following[0].metrics, following[1].metrics)


# --- score_log -------------------------------------------------------------------------------


def test_score_log_commits_every_period_and_marks_the_plan_periods():
    rows = [incident(k, 10 + k) for k in range(4)]
    log = make_log(rows + [incident(k, 5, service="S2", team="T2") for k in range(4)])
    plan = make_plan([metric()], start=2, attribution="equal")
    stacked = score_log(plan, log, periods_of(log))
    _, by_hand = run(plan, log, 4)
    labels = periods_of(log)["label"].tolist()
    assert stacked.teams["period"].unique().tolist() == labels
    for k, scores in enumerate(by_hand):
        mine = stacked.metrics[stacked.metrics["period"] == labels[k]]
        assert mine["payout_pct"].tolist() == pytest.approx(scores.metrics["payout_pct"].tolist())
        assert mine["plan_period"].all() == (k >= 2)
    # T1 at 12 h and 13 h in the plan periods, on the level curve
    t1 = stacked.metrics[(stacked.metrics["team_id"] == "T1") & stacked.metrics["plan_period"]]
    assert t1["payout_pct"].tolist() == pytest.approx(
        [payout(12, MTTR_LEVEL), payout(13, MTTR_LEVEL)]
    )
