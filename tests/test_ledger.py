"""The award ledger on a toy organisation, against amounts worked out by hand from the inputs.

The toy team "ops" has alice (base 100k, grade G5) and bob (base 50k, grade G3); with a 20 %
target for G5 and a 10 % default their grants are 20k and 5k. A second team "dev" has carol
(base 150k, G3, grant 15k). Periods are quarters unless a test says otherwise.
"""

import numpy as np
import pandas as pd
import pytest

from toolkit.plans.ledger import AwardLedger, Finding

from .test_finance import DEV, DEV_SERVICES, OPS, OPS_SERVICES, make_plan, make_scenario

AWARDS = {"target_award_pct": {"G5": 20}, "default_target_award_pct": 10}
GRANT = {"alice": 20_000.0, "bob": 5_000.0, "carol": 15_000.0}
TEAM = {"alice": "ops", "bob": "ops", "carol": "dev"}
# One cohort granted at Q1 with a two-year window Q1..Q8 (the next grant would be at Q13).
ONE_COHORT = {
    **AWARDS,
    "start_after_periods": 1,
    "performance_period_years": 2,
    "grant_every_years": 3,
}
MONEY = [
    "granted",
    "accrued",
    "pool_scaling",
    "cap_scaling",
    "earned",
    "vested",
    "deferred",
    "forfeited",
    "malus",
    "clawed_back",
    "paid",
    "outstanding",
]


def labels(n, prefix="Q"):
    return [f"{prefix}{k}" for k in range(n)]


def run(plan, scores, scenario=None, periods_per_year=4, findings=None, prefix="Q"):
    """Close every period; a score is a number for "ops" or a mapping of team scores."""
    ledger = AwardLedger(
        plan, scenario or make_scenario(), labels(len(scores), prefix), periods_per_year
    )
    for k, score in enumerate(scores):
        team_scores = score if isinstance(score, dict) else {"ops": score}
        ledger.close_period(k, team_scores, (findings or {}).get(k, ()))
    return ledger


def table(ledger):
    return ledger.awards().set_index(["person_id", "cohort"])


def flows(ledger, kind):
    cash = ledger.cashflows()
    return cash[cash["kind"] == kind].groupby(["period", "person_id"])["amount"].sum()


def test_cohort_schedule_overlap_and_open_windows():
    plan = make_plan(
        **AWARDS, start_after_periods=2, performance_period_years=2, grant_every_years=1
    )
    ledger = run(plan, [100.0] * 16)
    grants = [2, 6, 10, 14]  # start 2, one a year (4 quarters), while inside 16 periods
    awards = table(ledger)
    assert sorted(set(awards.index.get_level_values("cohort")), key=lambda c: int(c[1:])) == [
        f"Q{g}" for g in grants
    ]
    status = awards.xs("alice", level="person_id")["status"].to_dict()
    assert status == {"Q2": "paid", "Q6": "paid", "Q10": "open", "Q14": "open"}
    alice = awards.xs("alice", level="person_id")
    assert alice.loc["Q2", "vested"] == pytest.approx(GRANT["alice"])
    # windows Q10..Q17 and Q14..Q21 run past Q15: 6 and 2 of their 8 periods are accrued
    assert alice.loc["Q10", "outstanding"] == pytest.approx(GRANT["alice"] * 6 / 8)
    assert alice.loc["Q14", "outstanding"] == pytest.approx(GRANT["alice"] * 2 / 8)
    assert alice.loc["Q14", "vested"] == 0
    assert set(flows(ledger, "vest").index.get_level_values("period")) == {"Q9", "Q13"}

    team_grant = GRANT["alice"] + GRANT["bob"]
    for k in range(16):
        active = sum(g <= k < g + 8 for g in grants)
        assert ledger.period_value("ops", k) == pytest.approx(team_grant / 8 * active)
    assert ledger.period_value("ops", 1) == 0  # pre-plan


def test_period_value_with_gaps_between_windows():
    plan = make_plan(
        **AWARDS, start_after_periods=1, performance_period_years=1, grant_every_years=2
    )
    ledger = AwardLedger(plan, make_scenario(), labels(12), 4)
    values = [ledger.period_value("ops", k) for k in range(12)]
    windows = [range(1, 5), range(9, 13)]
    assert values == pytest.approx([25_000 / 4 * any(k in w for w in windows) for k in range(12)])
    with pytest.raises(ValueError, match="outside the horizon"):
        ledger.period_value("ops", 12)
    with pytest.raises(ValueError, match="outside the horizon"):
        ledger.period_value("ops", -1)
    with pytest.raises(KeyError, match="ghost"):
        ledger.period_value("ghost", 3)


@pytest.mark.parametrize("schedule", ["cliff", "graded"])
def test_full_score_vests_the_grant(schedule):
    plan = make_plan(**ONE_COHORT, vesting={"schedule": schedule})
    awards = table(run(plan, [100.0] * 9))
    for name in ("alice", "bob"):
        assert awards.loc[(name, "Q1"), "vested"] == pytest.approx(GRANT[name])
        assert awards.loc[(name, "Q1"), "paid"] == pytest.approx(GRANT[name])
        assert awards.loc[(name, "Q1"), "status"] == "paid"


SCORES = [50.0, 80.0, 120.0, 100.0, 60.0, 140.0, 90.0, 110.0, 70.0]


def test_cliff_vests_grant_times_mean_window_score():
    plan = make_plan(**ONE_COHORT)
    ledger = run(plan, SCORES)
    expected = GRANT["alice"] * np.mean(SCORES[1:9]) / 100  # Q0 is pre-plan
    vests = flows(ledger, "vest")
    assert list(vests.index) == [("Q8", "alice"), ("Q8", "bob")]
    assert vests["Q8", "alice"] == pytest.approx(expected)

    before_end = table(run(plan, SCORES[:8])).loc[("alice", "Q1")]
    assert before_end["vested"] == 0
    assert before_end["status"] == "open"
    assert before_end["outstanding"] == pytest.approx(GRANT["alice"] / 8 * sum(SCORES[1:8]) / 100)


def test_graded_vests_yearly_tranches_on_each_years_scores():
    plan = make_plan(**ONE_COHORT, vesting={"schedule": "graded"})
    vests = flows(run(plan, SCORES), "vest")
    grant = GRANT["alice"]
    assert vests["Q4", "alice"] == pytest.approx(grant / 2 * np.mean(SCORES[1:5]) / 100)
    assert vests["Q8", "alice"] == pytest.approx(grant / 2 * np.mean(SCORES[5:9]) / 100)
    # over a whole window, graded and cliff vest the same total
    cliff = table(run(make_plan(**ONE_COHORT), SCORES)).loc[("alice", "Q1"), "vested"]
    assert vests["Q4", "alice"] + vests["Q8", "alice"] == pytest.approx(cliff)


def test_deferral_paid_later_and_held_at_horizon_end():
    plan = make_plan(
        **ONE_COHORT, vesting={"schedule": "cliff", "deferral_share": 0.25, "deferral_years": 1}
    )
    ledger = run(plan, [100.0] * 13)  # vests at Q8, deferral released at Q12
    pays = flows(ledger, "pay")
    assert pays["Q8", "alice"] == pytest.approx(0.75 * GRANT["alice"])
    assert pays["Q12", "alice"] == pytest.approx(0.25 * GRANT["alice"])
    done = table(ledger).loc[("alice", "Q1")]
    assert (done["paid"], done["deferred"], done["status"]) == (
        pytest.approx(GRANT["alice"]),
        0,
        "paid",
    )

    held = table(run(plan, [100.0] * 12)).loc[("alice", "Q1")]
    assert held["paid"] == pytest.approx(0.75 * GRANT["alice"])
    assert held["deferred"] == pytest.approx(0.25 * GRANT["alice"])
    assert held["status"] == "vested"


@pytest.mark.parametrize(
    ("funding", "pool"),
    [
        ({"basis": "headcount", "amount_per_head": 20_000}, 40_000.0),
        ({"basis": "headcount", "amount_per_head": 10_000}, 20_000.0),
        # default multipliers: tier 1 ×1.5 (1M budget), tier 3 ×1.0 (0.5M budget)
        ({"basis": "service_budget", "budget_share_pct": 1.0}, 20_000.0),
    ],
)
def test_pool_scales_pro_rata_only_when_it_binds(funding, pool):
    ledger = run(make_plan(**ONE_COHORT, funding=funding), [100.0] * 9)
    factor = min(1.0, pool / (GRANT["alice"] + GRANT["bob"]))
    awards = table(ledger)
    for name in ("alice", "bob"):
        assert awards.loc[(name, "Q1"), "vested"] == pytest.approx(GRANT[name] * factor)
        assert awards.loc[(name, "Q1"), "pool_scaling"] == pytest.approx(GRANT[name] * (1 - factor))
    assert flows(ledger, "pool_scaling").empty == (factor == 1.0)


def test_pool_compares_all_amounts_vesting_in_a_plan_year():
    # graded 2-year windows granted yearly: Q4 vests one tranche (12.5k), Q8 and Q12 two (25k)
    plan = make_plan(
        **AWARDS,
        start_after_periods=1,
        performance_period_years=2,
        grant_every_years=1,
        vesting={"schedule": "graded"},
        funding={"basis": "headcount", "amount_per_head": 10_000},
    )
    vests = flows(run(plan, [100.0] * 13), "vest")
    tranche = GRANT["alice"] / 2
    assert vests["Q4", "alice"] == pytest.approx(tranche)
    assert vests["Q8", "alice"] == pytest.approx(2 * tranche * 20_000 / 25_000)
    assert vests["Q12", "alice"] == pytest.approx(2 * tranche * 20_000 / 25_000)


def test_cap_scales_every_amount_across_teams_after_pools():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    scores = [{"ops": 100.0, "dev": 100.0}] * 9
    personnel = 100_000 + 50_000 + 150_000

    capped = table(
        run(make_plan(**ONE_COHORT, cap={"pct_of_personnel_cost": 10}), scores, scenario)
    )
    factor = 0.10 * personnel / sum(GRANT.values())
    for name in GRANT:
        assert capped.loc[(name, "Q1"), "vested"] == pytest.approx(GRANT[name] * factor)
        assert capped.loc[(name, "Q1"), "cap_scaling"] == pytest.approx(GRANT[name] * (1 - factor))

    plan = make_plan(
        **ONE_COHORT,
        funding={"basis": "headcount", "amount_per_head": 10_000},
        cap={"pct_of_personnel_cost": 8},
    )
    both = table(run(plan, scores, scenario))
    pool_factor = {"ops": 20_000 / 25_000, "dev": 10_000 / 15_000}
    after_pools = sum(GRANT[n] * pool_factor[TEAM[n]] for n in GRANT)
    cap_factor = 0.08 * personnel / after_pools
    for name in GRANT:
        pooled = GRANT[name] * pool_factor[TEAM[name]]
        row = both.loc[(name, "Q1")]
        assert row["pool_scaling"] == pytest.approx(GRANT[name] - pooled)
        assert row["cap_scaling"] == pytest.approx(pooled * (1 - cap_factor))
        assert row["vested"] == pytest.approx(pooled * cap_factor)
    assert both["vested"].sum() == pytest.approx(0.08 * personnel)


MALUS_PLAN = {
    **AWARDS,
    "start_after_periods": 1,
    "performance_period_years": 2,
    "grant_every_years": 1,
    "vesting": {"schedule": "cliff", "deferral_share": 0.5, "deferral_years": 1},
    "malus": {"triggers": ["gaming_detected"], "reduction": 0.5},
}


def test_malus_reduces_unvested_and_deferred_but_not_paid():
    # cohorts Q1 (vests Q8, half deferred to Q12), Q5 (vests Q12) and Q9 (open at Q12)
    finding = {10: [Finding("ops", "gaming_detected")]}
    ledger = run(make_plan(**MALUS_PLAN), [100.0] * 13, findings=finding)
    alice = table(ledger).xs("alice", level="person_id")
    g = GRANT["alice"]
    # at Q10: Q1 holds g/2 deferred; Q5 accrued 6/8 g (Q5..Q10); Q9 accrued 2/8 g (Q9, Q10)
    q1, q5, q9 = alice.loc["Q1"], alice.loc["Q5"], alice.loc["Q9"]
    assert (q1["forfeited"], q1["malus"]) == (0, pytest.approx(0.5 * g / 2))
    assert q1["paid"] == pytest.approx(g / 2 + 0.5 * g / 2)  # paid at Q8 untouched
    assert q5["forfeited"] == pytest.approx(0.5 * 6 / 8 * g)
    assert q5["vested"] == pytest.approx(g - 0.5 * 6 / 8 * g)
    assert q5["paid"] == pytest.approx(q5["vested"] / 2)
    assert q5["deferred"] == pytest.approx(q5["vested"] / 2)  # due Q16, past the horizon
    assert q5["status"] == "vested"
    assert q9["forfeited"] == pytest.approx(0.5 * 2 / 8 * g)
    assert q9["outstanding"] == pytest.approx(4 / 8 * g - 0.5 * 2 / 8 * g)
    assert q9["status"] == "open"
    malus = ledger.cashflows().query("kind == 'malus'")
    assert set(malus["period"]) == {"Q10"}
    assert malus["amount"].sum() == pytest.approx(table(ledger)["malus"].sum())


@pytest.mark.parametrize(
    ("plan", "consequence"),
    [
        (MALUS_PLAN, "gate_breach"),
        (
            {
                **MALUS_PLAN,
                "clawback": {
                    "triggers": ["misattribution_detected"],
                    "lookback_years": 3,
                    "recovery": 1.0,
                },
            },
            "gate_breach",
        ),
        ({**MALUS_PLAN, "malus": None}, "gaming_detected"),
    ],
)
def test_findings_outside_the_triggers_do_nothing(plan, consequence):
    finding = {k: [Finding("ops", consequence)] for k in (9, 10, 12)}
    with_finding = run(make_plan(**plan), [100.0] * 13, findings=finding)
    without = run(make_plan(**plan), [100.0] * 13)
    pd.testing.assert_frame_equal(with_finding.awards(), without.awards())
    pd.testing.assert_frame_equal(with_finding.cashflows(), without.cashflows())


CLAWBACK_PLAN = {
    **AWARDS,
    "start_after_periods": 1,
    "performance_period_years": 1,
    "grant_every_years": 1,
    "clawback": {
        "triggers": ["gaming_detected", "misattribution_detected"],
        "lookback_years": 2,
        "recovery": 0.5,
    },
}


def test_clawback_recovers_only_within_lookback():
    # yearly periods: cohort Yg vests and pays its grant at the end of year g (g = 1..5)
    findings = {5: [Finding("ops", "gaming_detected"), Finding("ops", "misattribution_detected")]}
    ledger = run(
        make_plan(**CLAWBACK_PLAN),
        [100.0] * 6,
        periods_per_year=1,
        findings=findings,
        prefix="Y",
    )
    alice = table(ledger).xs("alice", level="person_id")
    g = GRANT["alice"]
    # lookback of two years from Y5 reaches the payments of Y4 and Y5; two findings act once
    expected = {"Y1": 0, "Y2": 0, "Y3": 0, "Y4": 0.5 * g, "Y5": 0.5 * g}
    assert alice["clawed_back"].to_dict() == pytest.approx(expected)
    assert alice["paid"].to_dict() == pytest.approx({c: g - v for c, v in expected.items()})
    assert alice["vested"].to_dict() == pytest.approx(dict.fromkeys(expected, g))


def test_repeated_clawback_takes_a_share_of_what_is_left():
    findings = {4: [Finding("ops", "gaming_detected")], 5: [Finding("ops", "gaming_detected")]}
    ledger = run(
        make_plan(**CLAWBACK_PLAN),
        [100.0] * 6,
        periods_per_year=1,
        findings=findings,
        prefix="Y",
    )
    clawed = table(ledger).xs("alice", level="person_id")["clawed_back"]
    g = GRANT["alice"]
    # Y4 recovers half of Y3 and Y4; Y5 half of what is left of Y4 and half of Y5
    expected = {"Y1": 0, "Y2": 0, "Y3": 0.5 * g, "Y4": 0.5 * g + 0.25 * g, "Y5": 0.5 * g}
    assert clawed.to_dict() == pytest.approx(expected)


def test_plan_without_awards_pays_nothing():
    plan = make_plan(
        malus={"triggers": ["gaming_detected"], "reduction": 1.0},
        funding={"basis": "headcount", "amount_per_head": 1.0},
    )
    ledger = run(plan, [150.0] * 12, findings={8: [Finding("ops", "gaming_detected")]})
    awards = ledger.awards()
    assert len(awards) == 2 * 3  # two people, cohorts Q2, Q6, Q10
    assert (awards[MONEY].to_numpy() == 0).all()
    assert ledger.cashflows().empty
    assert all(ledger.period_value("ops", k) == 0 for k in range(12))
    assert ledger.exposure("ops").at_risk("gaming_detected") == 0


def test_team_without_score_accrues_nothing():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    awards = run(make_plan(**ONE_COHORT), [{"ops": 100.0}] * 9, scenario).awards()
    by_team = awards.groupby("team_id")["earned"].sum()
    assert by_team["dev"] == 0
    assert by_team["ops"] == pytest.approx(GRANT["alice"] + GRANT["bob"])


def ops_dev_scores(n):
    """Deterministic, uneven scores for both teams."""
    return [{"ops": 40.0 + 15 * (k % 5), "dev": 150.0 - 20 * (k % 3)} for k in range(n)]


def test_money_is_conserved():
    scenario = make_scenario((OPS, DEV), OPS_SERVICES + DEV_SERVICES)
    plan = make_plan(
        **AWARDS,
        start_after_periods=2,
        performance_period_years=2,
        grant_every_years=1,
        vesting={"schedule": "graded", "deferral_share": 0.3, "deferral_years": 1},
        funding={"basis": "headcount", "amount_per_head": 5_000},
        cap={"pct_of_personnel_cost": 3},
        malus={"triggers": ["gaming_detected", "gate_breach"], "reduction": 0.4},
        clawback={"triggers": ["misattribution_detected"], "lookback_years": 1, "recovery": 0.6},
    )
    scores = ops_dev_scores(16)
    findings = {
        7: [Finding("ops", "gaming_detected")],
        11: [Finding("dev", "misattribution_detected"), Finding("dev", "gate_breach")],
        13: [Finding("ops", "misattribution_detected")],
    }
    ledger = run(plan, scores, scenario, findings=findings)
    awards = ledger.awards()
    assert list(awards.columns) == [
        "person_id",
        "team_id",
        "grade",
        "country",
        "gender",
        "base_salary",
        "cohort",
        *MONEY,
        "status",
    ]

    # accrued = grant / P × score / 100 over the window periods closed so far
    for row in awards.itertuples():
        g = int(row.cohort[1:])
        window = range(g, min(g + 8, 16))
        expected = GRANT[row.person_id] / 8 * sum(scores[k][row.team_id] for k in window) / 100
        assert row.accrued == pytest.approx(expected)
        assert row.granted == GRANT[row.person_id]
    for column in ("pool_scaling", "cap_scaling", "forfeited", "clawed_back", "deferred"):
        assert awards[column].sum() > 0, column  # every rule is exercised
    a = awards
    assert (a["malus"] - a["forfeited"]).sum() > 0  # malus on deferred amounts too
    np.testing.assert_allclose(
        a["accrued"], a["earned"] + a["pool_scaling"] + a["cap_scaling"] + a["forfeited"]
    )
    np.testing.assert_allclose(a["earned"], a["vested"] + a["outstanding"])
    np.testing.assert_allclose(
        a["vested"], a["paid"] + a["clawed_back"] + a["deferred"] + (a["malus"] - a["forfeited"])
    )

    # the cash-flow trail adds up to the same amounts
    cash = ledger.cashflows().pivot_table(
        index=["person_id", "cohort"], columns="kind", values="amount", aggfunc="sum"
    )
    cash = cash.reindex(a.set_index(["person_id", "cohort"]).index).fillna(0).add_prefix("cf_")
    m = a.set_index(["person_id", "cohort"]).join(cash)
    for kind, column in [
        ("vest", "vested"),
        ("malus", "malus"),
        ("clawback", "clawed_back"),
        ("pool_scaling", "pool_scaling"),
        ("cap_scaling", "cap_scaling"),
    ]:
        np.testing.assert_allclose(m[f"cf_{kind}"], m[column], atol=1e-9, err_msg=kind)
    np.testing.assert_allclose(m["cf_pay"] - m["cf_clawback"], m["paid"], atol=1e-9)
    # gross payments: what vested, less what is still held and what malus took from deferrals
    np.testing.assert_allclose(
        m["cf_pay"], m["vested"] - m["deferred"] - (m["malus"] - m["forfeited"]), atol=1e-9
    )

    # the liability table reconciles with the awards at the horizon end
    liability = ledger.liability()
    np.testing.assert_allclose(
        liability["liability"], liability["outstanding"] + liability["deferred"]
    )
    last = liability[liability["period"] == "Q15"].set_index(["team_id", "cohort"])
    by_team = awards.groupby(["team_id", "cohort"])[
        ["outstanding", "deferred", "paid", "earned"]
    ].sum()
    for column in ("outstanding", "deferred", "paid", "earned"):
        np.testing.assert_allclose(last[column].sort_index(), by_team[column].sort_index())
    accruals = liability.groupby(["team_id", "cohort"])["accrual"].sum()
    np.testing.assert_allclose(accruals.sort_index(), by_team["earned"].sort_index(), atol=1e-9)


def test_exposure_is_what_a_finding_would_take():
    plan = make_plan(
        **{**MALUS_PLAN, "malus": {"triggers": ["gaming_detected"], "reduction": 0.4}},
        clawback={"triggers": ["gaming_detected"], "lookback_years": 1, "recovery": 0.5},
    )
    before = run(plan, [100.0] * 11)
    exposure = before.exposure("ops")
    awards = before.awards()
    assert exposure.unvested == pytest.approx(awards["outstanding"].sum())
    assert exposure.deferred == pytest.approx(awards["deferred"].sum())
    # only the Q8 payment (half of the Q1 cohort) lies in the last four quarters
    assert exposure.paid_in_lookback == pytest.approx(0.5 * (GRANT["alice"] + GRANT["bob"]))
    assert exposure.at_risk("gate_breach") == 0

    found = run(plan, [100.0] * 11, findings={10: [Finding("ops", "gaming_detected")]})
    taken = found.awards()[["malus", "clawed_back"]].sum()
    assert exposure.malus_amount == pytest.approx(taken["malus"])
    assert exposure.clawback_amount == pytest.approx(taken["clawed_back"])
    assert exposure.at_risk("gaming_detected") == pytest.approx(taken.sum())

    fresh = AwardLedger(plan, make_scenario(), labels(4), 4).exposure("ops")
    assert fresh.at_risk("gaming_detected") == 0


def test_refuses_out_of_order_and_bad_inputs_without_changing_state():
    ledger = AwardLedger(make_plan(**ONE_COHORT), make_scenario(), labels(3), 4)
    with pytest.raises(ValueError, match="next is 0, got 1"):
        ledger.close_period(1, {"ops": 100.0})
    ledger.close_period(0, {"ops": 100.0})
    with pytest.raises(ValueError, match="next is 1, got 0"):
        ledger.close_period(0, {"ops": 100.0})
    bad = [
        ({"opps": 100.0}, (), "unknown team 'opps'"),
        ({"ops": -1.0}, (), "finite and >= 0"),
        ({"ops": float("nan")}, (), "finite and >= 0"),
        ({"ops": 100.0}, [Finding("ops", "fraud")], "unknown consequence 'fraud'"),
        ({"ops": 100.0}, [Finding("ghost", "gate_breach")], "unknown team 'ghost'"),
    ]
    for scores, findings, message in bad:
        with pytest.raises(ValueError, match=message):
            ledger.close_period(1, scores, findings)
        assert ledger.periods_closed == 1
    ledger.close_period(1, {"ops": 100.0})
    assert ledger.awards()["accrued"].sum() == pytest.approx(25_000 / 8)
    ledger.close_period(2, {})
    with pytest.raises(ValueError, match="beyond the horizon"):
        ledger.close_period(3, {"ops": 100.0})


def test_empty_ledger_tables_have_their_columns():
    ledger = AwardLedger(make_plan(**ONE_COHORT), make_scenario(), labels(4), 4)
    assert ledger.awards().empty and "status" in ledger.awards()
    assert list(ledger.cashflows().columns) == [
        "period",
        "person_id",
        "team_id",
        "cohort",
        "kind",
        "amount",
    ]
    assert ledger.liability().empty and "liability" in ledger.liability()
