"""Liability forecast and cost transparency: hand-built runs and a small batch of capped plans."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit.experiments import run_batch
from toolkit.finance import (
    LedgerRun,
    LedgerTables,
    cap_amount,
    charge_to_services,
    cost_statement,
    forecast_summary,
    future_service,
    liability_forecast,
    payment_paths,
    run_costs,
    run_off_payments,
    service_shares,
    vesting_paths,
)
from toolkit.plans import load_plan
from toolkit.plans.ledger import AwardLedger
from toolkit.report import load_batch
from toolkit.report.finance import ledger_runs

from .conftest import SCENARIOS

SEEDS = 3
# a one-year window granted at 2026Q1 vests inside the two-year horizon of small (2026Q4), and
# its deferred 40 % is released after it (2028Q4): the forecast has both kinds of payment
QUICK = (
    "name: {name}\ndescription: one-year cliff with a cap\nextends: balanced_guarded\n"
    "performance_period_years: 1\ncap: {{pct_of_personnel_cost: {pct}}}\n"
)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    plans = tmp_path_factory.mktemp("plans")
    files = []
    for name, pct in (("tiny_cap", 0.01), ("huge_cap", 200)):
        path = plans / f"{name}.yaml"
        path.write_text(QUICK.format(name=name, pct=pct))
        files.append(str(path))
    out = tmp_path_factory.mktemp("batch")
    result = run_batch(
        [str(SCENARIOS / "small.yaml")],
        files,
        SEEDS,
        out,
        workers=1,
        progress=False,
        reference="huge_cap",
    )
    assert result.failures == []
    return load_batch(out)


@pytest.fixture(scope="module")
def runs(batch):
    return ledger_runs(batch)


def _hand_run(seed, payments, scenario, plan):
    """A run whose only money is ``payments`` ({period: amount}) to cohort 2025Q1 of team apps."""
    cashflows = pd.DataFrame(
        {
            "period": list(payments),
            "person_id": "a01",
            "team_id": "apps",
            "cohort": "2025Q1",
            "kind": "pay",
            "amount": [float(a) for a in payments.values()],
        }
    )
    liability = pd.DataFrame(
        {
            "period": ["2026Q4"],
            "cohort": ["2025Q1"],
            "team_id": ["apps"],
            "earned": [0.0],
            "accrual": [0.0],
            "outstanding": [0.0],
            "deferred": [0.0],
            "paid": [0.0],
            "liability": [0.0],
        }
    )
    awards = pd.DataFrame(
        {
            "team_id": ["apps"],
            "cohort": ["2025Q1"],
            "earned": [sum(payments.values())],
            "paid": [sum(payments.values())],
            "outstanding": [0.0],
            "deferred": [0.0],
        }
    )
    tables = LedgerTables(awards, cashflows, liability)
    return LedgerRun("hand", "plan", seed, tables, plan, scenario)


def test_quantiles_over_seeds_are_numpy_linear_and_a_seed_paying_nothing_counts_zero(
    small_scenario,
):
    plan = load_plan("balanced_guarded")
    paid_2025 = [10_000, 50_000, 30_000, 20_000, 40_000]  # shuffled: order must not matter
    runs = []
    for seed, amount in enumerate(paid_2025):
        payments = {"2025Q4": amount}
        if seed != 1:
            payments["2026Q2"] = 100
        runs.append(_hand_run(seed, payments, small_scenario, plan))
    table = liability_forecast(runs).set_index("payment_year")
    # type 7: h = (n - 1) p + 1 over the sorted 10k..50k: P10 = 10k + 0.4 × 10k, P90 = 46k
    assert table.loc[2025, ["p10", "p50", "p90", "mean"]].tolist() == pytest.approx(
        [14_000, 30_000, 46_000, 30_000]
    )
    # 2026: one seed of five pays nothing, [0, 100, 100, 100, 100]
    assert table.loc[2026, ["p10", "p50", "p90", "mean"]].tolist() == pytest.approx(
        [40, 100, 100, 80]
    )
    assert (table["seeds"] == 5).all() and (table["run_off_mean"] == 0).all()
    summary = forecast_summary(runs).set_index("year")
    assert summary.loc[2025, "paid_p10"] == pytest.approx(14_000)
    assert (summary["budget_p90"] == 0).all() and (summary["p_cap_binds"] == 0).all()
    assert summary["cap"].iloc[0] == pytest.approx(cap_amount(plan, small_scenario))


def test_the_forecast_pays_what_the_runs_paid_plus_what_they_owe_to_the_cent(batch, runs):
    paths = payment_paths(runs)
    assert (paths["run_off"] > 0).any() and (paths["paid"] > paths["run_off"]).any()
    for run in runs:
        awards = run.tables.awards
        owed = awards["paid"].sum() + awards["outstanding"].sum() + awards["deferred"].sum()
        mine = paths[(paths["plan"] == run.plan) & (paths["seed"] == run.seed)]
        assert round(mine["paid"].sum(), 2) == round(owed, 2)
        end = batch.runs.set_index(["plan", "seed"]).loc[(run.plan, run.seed)]
        assert round(mine["run_off"].sum(), 2) == round(end["liability_end"], 2)
    table = liability_forecast(runs)
    for plan, rows in table.groupby("plan"):
        total = paths.loc[paths["plan"] == plan, "paid"].sum()
        assert round((rows["mean"] * rows["seeds"]).sum(), 2) == round(total, 2)
        assert (rows["p10"] <= rows["p50"]).all() and (rows["p50"] <= rows["p90"]).all()
    pooled = liability_forecast(runs, pooled=True)
    assert set(pooled["scenario"]) == {"(all scenarios)"} and len(pooled) == len(table)


def test_the_cap_binds_in_every_seed_when_tiny_and_in_none_when_huge(runs):
    summary = forecast_summary(runs)
    vesting = summary[summary["budget_p50"] > 0]
    assert set(vesting["plan"]) == {"tiny_cap", "huge_cap"}
    tiny, huge = (vesting[vesting["plan"] == name] for name in ("tiny_cap", "huge_cap"))
    assert (tiny["p_cap_binds"] == 1).all() and (huge["p_cap_binds"] == 0).all()
    assert (tiny["headroom_p90"] < 0).all() and (huge["headroom_p90"] > 0).all()
    # a year that only releases deferrals needs no budget, and the cap cannot bind in it
    releases = summary[(summary["budget_p90"] == 0) & (summary["paid_p50"] > 0)]
    assert len(releases) and (releases["p_cap_binds"] == 0).all()
    paths = vesting_paths(runs)
    capped = paths[paths["plan"] == "tiny_cap"]
    np.testing.assert_allclose(capped["vested"], capped["cap"])  # vests what the cap allows
    assert (capped["budget"] > capped["cap"]).all()


def test_the_run_off_vests_what_is_unvested_and_pays_what_is_owed(runs):
    run = runs[0]
    liability = run.tables.liability
    end = liability[liability["period"] == liability["period"].iloc[-1]]
    future = run_off_payments(liability, run.tables.cashflows, run.plan_model, 4)
    assert future["paid"].sum() == pytest.approx(end["liability"].sum())
    assert future["vesting"].sum() == pytest.approx(end["outstanding"].sum())
    assert (future["period"] > end["period"].iloc[0]).all()


def test_cost_by_service_and_business_unit_adds_up_to_each_run(small_scenario, runs):
    shares = service_shares(small_scenario)
    np.testing.assert_allclose(shares.groupby("team_id")["share"].sum(), 1.0)
    assert set(shares["service_id"]) == {s.id for s in small_scenario.organisation.services}
    apps = shares[shares["team_id"] == "apps"].set_index("service_id")["share"]
    assert apps["core-banking"] == pytest.approx(2_400_000 / 4_300_000)
    costs = run_costs(runs)
    for run in runs:
        awards = run.tables.awards
        mine = costs[(costs["plan"] == run.plan) & (costs["seed"] == run.seed)]
        expected = {
            "earned": awards["earned"].sum(),
            "paid": awards["paid"].sum(),
            "liability": awards["outstanding"].sum() + awards["deferred"].sum(),
        }
        for column, total in expected.items():
            assert mine[column].sum() == pytest.approx(total, abs=1e-6)
    by_unit = cost_statement(costs)
    by_service = cost_statement(costs, ("business_unit", "service_id"))
    assert set(by_unit["business_unit"]) == {"retail", "corporate"}
    money = ["earned", "paid", "liability"]
    summed = by_service.groupby(["plan", "business_unit"])[money].sum()
    units = by_unit.set_index(["plan", "business_unit"]).loc[summed.index, money]
    np.testing.assert_allclose(summed.to_numpy(), units.to_numpy())
    mean_earned = costs.groupby("plan")["earned"].sum() / SEEDS
    np.testing.assert_allclose(by_unit.groupby("plan")["earned"].sum(), mean_earned)
    with pytest.raises(ValueError, match="ghost"):
        ghost = pd.DataFrame({"team_id": ["ghost"], "paid": [1.0]})
        charge_to_services(ghost, small_scenario, ["paid"])


def test_open_windows_are_completed_at_the_score_to_date(small_scenario):
    plan = load_plan("balanced_guarded")  # three-year cliff from 2026Q1, 40 % deferred 2 years
    labels = [str(p) for p in pd.period_range("2025Q1", periods=12, freq="Q")]
    ledger = AwardLedger(plan, small_scenario, labels, 4)
    teams = [team.id for team in small_scenario.organisation.teams]
    for k in range(len(labels)):
        ledger.close_period(k, dict.fromkeys(teams, 80.0))
    tables = LedgerTables.from_ledger(ledger)
    future = future_service(tables, plan, 4, "to_date").set_index(["cohort", "period"])
    grants = tables.awards.groupby("cohort")["granted"].sum()
    # 2026Q1 has 4 of its 12 periods to come, 2027Q1 has 8; both scored 80 so far
    for cohort, to_come, vest, release in (
        ("2026Q1", 4, "2028Q4", "2030Q4"),
        ("2027Q1", 8, "2029Q4", "2031Q4"),
    ):
        amount = grants[cohort] / 12 * to_come * 0.8
        assert future.loc[(cohort, vest), "vesting"] == pytest.approx(amount)
        assert future.loc[(cohort, vest), "paid"] == pytest.approx(0.6 * amount)
        assert future.loc[(cohort, release), "paid"] == pytest.approx(0.4 * amount)
    at_target = future_service(tables, plan, 4, 100.0)
    assert at_target["paid"].sum() == pytest.approx(future["paid"].sum() / 0.8)
    run = LedgerRun("s", "p", 0, tables, plan, small_scenario)
    paths = payment_paths([run], expected_score="to_date")
    owed = tables.liability[tables.liability["period"] == labels[-1]]["liability"].sum()
    assert paths["run_off"].sum() == pytest.approx(owed + future["paid"].sum())
    assert paths["future_service"].sum() == pytest.approx(future["paid"].sum())
    assert payment_paths([run])["future_service"].sum() == 0


def test_pooled_over_scenarios_every_scenario_and_seed_is_one_draw(small_scenario):
    plan = load_plan("balanced_guarded")
    paid = {seed: {"2025Q4": 1_000 * (seed + 1)} for seed in range(10)}
    runs = [
        replace(_hand_run(seed, paid[seed], small_scenario, plan), scenario=name)
        for name, seeds in (("north", range(0, 5)), ("south", range(5, 10)))
        for seed in seeds
    ]
    apart = liability_forecast(runs).set_index("scenario")
    assert apart.loc["north", "p50"] == pytest.approx(3_000)
    assert apart.loc["south", "p50"] == pytest.approx(8_000)
    pooled = liability_forecast(runs, pooled=True)
    assert pooled["seeds"].tolist() == [10]
    assert pooled[["p10", "p50", "p90"]].iloc[0].tolist() == pytest.approx([1_900, 5_500, 9_100])
