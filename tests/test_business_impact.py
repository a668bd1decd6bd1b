"""Outcomes in money: business loss and delivery value of a log, and net value in a batch."""

import math

import pandas as pd
import pytest
import yaml

from toolkit.config import ConfigError, Scenario, load_scenario
from toolkit.config.loading import validate_mapping
from toolkit.config.scenario import BusinessImpact
from toolkit.experiments import run_batch, summarise_batch
from toolkit.experiments.batch import HEADLINE
from toolkit.metrics.business_impact import business_impact
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.summary import summarise

from .conftest import SCENARIOS
from .test_config import _problems
from .test_metrics import END, HOUR, START, change, incident, make_log, outage

PRICES = BusinessImpact(
    downtime_cost_per_hour={1: 1000.0, 2: 300.0, 3: 100.0, 4: 10.0},
    open_incident_cost_per_hour={1: 50.0, 2: 20.0, 3: 5.0, 4: 2.0},
    failed_change_cost=700.0,
    change_value={"standard": 30.0, "normal": 200.0, "emergency": 90.0, "unauthorized": 7.0},
)


def listed(service_id, tier):
    return {
        "service_id": service_id,
        "team_id": "T1",
        "business_unit": "BU1",
        "criticality": tier,
        "complexity": 1.0,
        "platform_age_years": 3.0,
    }


@pytest.fixture(scope="module")
def tiny():
    """Service A (tier 1) and B (tier 3) listed, C only seen in an outage; two quarters."""
    return make_log(
        services=[listed("A", 1), listed("B", 3)],
        outages=[
            outage("2025-01-10 00:00", "2025-01-10 06:00", service="A"),
            outage("2025-01-10 04:00", "2025-01-10 10:00", service="A"),  # overlaps the first
            outage("2025-03-31 20:00", "2025-04-01 04:00", service="B"),  # across the quarter
            outage("2025-06-01 00:00", "2025-06-01 02:00", service="C"),  # unlisted service
        ],
        incidents=[
            incident("2025-01-10 08:00", 4.0, service="A", priority=1),  # extends A's downtime
            incident("2025-02-01", 10.0, service="B", priority=2),
            incident("2025-05-01", None, service="A", priority=4),  # still open at the end
        ],
        changes=[
            change("2025-02-01", service="A", kind="normal"),
            change("2025-03-01", service="B", kind="emergency", failed=True),
            change(None, service="B", kind="normal"),  # never implemented: worth nothing
            change("2025-05-01", service="A", kind="standard"),
            change("2025-05-02", service="B", kind="unauthorized"),
        ],
    )


def test_tiny_log_is_valued_by_hand(tiny):
    down, open_cost = PRICES.downtime_cost_per_hour, PRICES.open_incident_cost_per_hour
    value = PRICES.change_value
    # Q1: A down 00:00-12:00 on 10 January (two outages and a P1, merged: 12 h, not 6+6+4);
    # B down 4 h before midnight on 31 March.
    q1_downtime = 12 * down[1] + 4 * down[3]
    q1_open = 4 * open_cost[1] + 10 * open_cost[2]
    q1_failed = 1 * PRICES.failed_change_cost
    # Q2: B's 4 h after midnight, C's 2 h at the unlisted tier (4); the P4 open from 1 May on.
    q2_downtime = 4 * down[3] + 2 * down[PRICES.unlisted_service_tier]
    q2_open = (END - pd.Timestamp("2025-05-01")) / HOUR * open_cost[4]
    expected = pd.DataFrame(
        {
            "period": ["2025Q1", "2025Q2"],
            "downtime_cost": [q1_downtime, q2_downtime],
            "open_incident_cost": [q1_open, q2_open],
            "failed_change_cost": [q1_failed, 0.0],
            "business_loss": [q1_downtime + q1_open + q1_failed, q2_downtime + q2_open],
            "delivery_value": [value["normal"], value["standard"] + value["unauthorized"]],
        }
    )
    table = business_impact(tiny, PRICES, "quarter")
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    whole = business_impact(tiny, PRICES, "all")
    assert whole["period"].tolist() == ["all"]
    for column in expected.columns[1:]:
        assert whole[column].iloc[0] == pytest.approx(expected[column].sum())


def test_events_outside_the_window_count_nowhere(tiny):
    later = make_log(
        services=[listed("A", 1)],
        outages=[outage(END, END + 5 * HOUR, service="A")],
        incidents=[incident(START - 10 * HOUR, 4.0, service="A", priority=1)],
        changes=[change(END + HOUR, service="A")],
    )
    table = business_impact(later, PRICES, "quarter")
    assert (table.drop(columns="period") == 0).all().all()


def test_an_unlisted_tier_is_a_setting():
    log = make_log(outages=[outage("2025-02-01 00:00", "2025-02-01 03:00", service="Z")])
    as_tier_1 = PRICES.model_copy(update={"unlisted_service_tier": 1})
    table = business_impact(log, as_tier_1, "all")
    assert table["downtime_cost"].iloc[0] == pytest.approx(3 * PRICES.downtime_cost_per_hour[1])


# -- the scenario section ----------------------------------------------------------------------


@pytest.fixture()
def data():
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def test_section_is_optional_with_complete_defaults(small_scenario):
    impact = small_scenario.business_impact
    assert impact == BusinessImpact()
    assert set(impact.downtime_cost_per_hour) == {1, 2, 3, 4}
    costs = [impact.downtime_cost_per_hour[tier] for tier in (1, 2, 3, 4)]
    assert costs == sorted(costs, reverse=True) and costs[-1] > 0  # more critical, dearer


def test_section_overrides_parts(data):
    data["business_impact"] = {"failed_change_cost": 123.0}
    scenario = validate_mapping(Scenario, data, "x.yaml")
    assert scenario.business_impact.failed_change_cost == 123.0
    assert scenario.business_impact.change_value == BusinessImpact().change_value


@pytest.mark.parametrize(
    ("section", "path", "reason"),
    [
        (
            {"failed_change_costs": 1.0},
            "business_impact.failed_change_costs",
            "did you mean 'failed_change_cost'",
        ),
        (
            {"downtime_cost_per_hour": {1: -5.0, 2: 1.0, 3: 1.0, 4: 1.0}},
            "business_impact.downtime_cost_per_hour.1",
            "greater than or equal to 0",
        ),
        (
            {"downtime_cost_per_hour": {1: 5.0, 2: 1.0, 3: 1.0}},
            "business_impact.downtime_cost_per_hour",
            "tiers [4]",
        ),
        (
            {"change_value": {"standard": 1.0, "normal": 1.0, "emergency": 1.0, "bogus": 1.0}},
            "business_impact.change_value",
            "bogus",
        ),
        ({"failed_change_cost": 1e12}, "business_impact.failed_change_cost", "less than"),
    ],
)
def test_bad_section_is_refused(data, section, path, reason):
    data["business_impact"] = section
    problems = _problems(data)
    assert len(problems) == 1
    assert problems[0][0].startswith(path) and reason in problems[0][1]


def test_infinite_cost_in_a_file_is_refused(tmp_path):
    text = (SCENARIOS / "small.yaml").read_text()
    text += "business_impact:\n  failed_change_cost: .inf\n"
    path = tmp_path / "money.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "money.yaml" in message and "business_impact.failed_change_cost" in message


# -- a run's summary and a batch's net value ---------------------------------------------------


def test_summary_sums_the_plan_periods(small_scenario):
    plan = load_plan("mttr_only", scenario=small_scenario)
    run = PlanLoop(small_scenario, plan, 3).run()
    summary = summarise(run)
    table = business_impact(run.truth, small_scenario.business_impact, "quarter")
    plan_periods = table.iloc[plan.start_after_periods :]
    assert 0 < plan.start_after_periods < len(table)
    assert summary["business_loss"] == pytest.approx(plan_periods["business_loss"].sum())
    assert summary["delivery_value"] == pytest.approx(plan_periods["delivery_value"].sum())
    parts = summary["business_loss_parts"]
    assert sum(parts.values()) == pytest.approx(summary["business_loss"])
    assert summary["business_loss"] < table["business_loss"].sum()  # pre-plan left out
    assert {"business_loss", "delivery_value"} <= set(summary["definitions"])
    assert "business_loss" not in summary["undefined"]
    # true health: loss per period before the plan against loss per plan period
    before = table["business_loss"].iloc[: plan.start_after_periods].mean()
    assert summary["true_health"] == pytest.approx(
        100 * before / plan_periods["business_loss"].mean()
    )
    assert "true_health" not in summary["undefined"]


@pytest.fixture(scope="module")
def money_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("money")
    small = str(SCENARIOS / "small.yaml")
    return run_batch([small], ["no_incentive", "mttr_only"], 2, out, workers=2, progress=False)


def test_net_value_is_recomputable_from_the_runs(money_batch):
    assert money_batch.failures == []
    runs = pd.read_parquet(money_batch.directory / "runs.parquet")
    assert {"business_loss", "delivery_value", "net_value"} <= set(runs.columns)
    assert (runs["business_loss"] > 0).all() and (runs["delivery_value"] > 0).all()
    reference = runs[runs["plan"] == "no_incentive"]
    assert len(reference) == 2 and (reference["net_value"] == 0).all()
    base = reference.set_index("seed")
    plan = runs[runs["plan"] == "mttr_only"]
    assert len(plan) == 2
    for row in plan.itertuples():
        ref = base.loc[row.seed]
        expected = (
            (ref["business_loss"] - row.business_loss)
            + (row.delivery_value - ref["delivery_value"])
            - (row.total_awards - ref["total_awards"])
        )
        assert math.isfinite(expected) and row.net_value == pytest.approx(expected)
        per_period = pd.read_parquet(
            money_batch.directory / row.directory / "business_impact.parquet"
        )
        plan_start = load_plan("mttr_only").start_after_periods
        in_plan = per_period["business_loss"].iloc[plan_start:].sum()
        assert in_plan == pytest.approx(row.business_loss)


def test_net_value_is_summarised_and_compared(money_batch):
    runs = pd.read_parquet(money_batch.directory / "runs.parquet")
    summary = pd.read_parquet(money_batch.directory / "summary.parquet").set_index("plan")
    means = runs.groupby("plan")["net_value"].mean()
    assert summary["net_value"].to_dict() == pytest.approx(means.to_dict())
    comparisons = pd.read_parquet(money_batch.directory / "comparisons.parquet")
    net = comparisons[comparisons["metric"] == "net_value"].set_index("plan").loc["mttr_only"]
    assert net["mean_difference"] == pytest.approx(means["mttr_only"])
    assert net["ci_low"] <= net["mean_difference"] <= net["ci_high"] and net["pairs"] == 2
    # the summary carries the same paired interval, and none for the reference itself
    ours = summary.loc["mttr_only"]
    assert ours["net_value_ci_low"] == pytest.approx(net["ci_low"])
    assert ours["net_value_ci_high"] == pytest.approx(net["ci_high"])
    assert summary.loc["no_incentive", ["net_value_ci_low", "net_value_ci_high"]].isna().all()
    assert {"business_loss", "delivery_value"} <= set(comparisons["metric"])


def test_awards_per_loss_avoided_is_the_price_of_an_improvement(money_batch):
    runs = pd.read_parquet(money_batch.directory / "runs.parquet")
    summary = pd.read_parquet(money_batch.directory / "summary.parquet").set_index("plan")
    assert math.isnan(summary.loc["no_incentive", "awards_per_loss_avoided"])
    means = runs.groupby("plan")[["business_loss", "total_awards"]].mean()
    avoided = means.loc["no_incentive", "business_loss"] - means.loc["mttr_only", "business_loss"]
    extra = means.loc["mttr_only", "total_awards"] - means.loc["no_incentive", "total_awards"]
    price = summary.loc["mttr_only", "awards_per_loss_avoided"]
    if avoided > 0:
        assert price == pytest.approx(extra / avoided)
    else:  # nothing bought: no price
        assert math.isnan(price)


def test_price_of_improvement_on_hand_made_runs():
    from toolkit.experiments.analysis import awards_per_loss_avoided, net_value

    runs = pd.DataFrame(
        {
            "scenario": ["s"] * 6,
            "plan": ["ref", "ref", "good", "good", "bad", "bad"],
            "seed": [0, 1, 0, 1, 0, 1],
            "business_loss": [100.0, 120.0, 80.0, 90.0, 110.0, 130.0],
            "delivery_value": [10.0, 10.0, 12.0, 9.0, 10.0, 10.0],
            "total_awards": [0.0, 0.0, 5.0, 7.0, 3.0, 3.0],
        }
    )
    net = net_value(runs, "ref")
    # good: seed 0 (100-80) + (12-10) - 5 = 17; seed 1 (120-90) + (9-10) - 7 = 22
    assert net.tolist() == [0.0, 0.0, 17.0, 22.0, -13.0, -13.0]
    price = awards_per_loss_avoided(runs, "ref")
    assert price[("s", "good")] == pytest.approx(6.0 / 25.0)  # mean extra awards / mean avoided
    assert math.isnan(price[("s", "bad")]) and math.isnan(price[("s", "ref")])


def test_summary_gives_the_paired_interval_of_net_value_only_from_two_pairs():
    net = {"ref": [0.0, 0.0, 0.0], "two": [10.0, 30.0, None], "one": [5.0, None, None]}
    rows = [
        {
            "scenario": "s",
            "plan": plan,
            "seed": seed,
            **dict.fromkeys(HEADLINE, 1.0),
            "business_loss": 100.0 - value,  # loss avoided is the whole net value here
        }
        for plan, values in net.items()
        for seed, value in enumerate(values)
        if value is not None
    ]
    summary = summarise_batch(pd.DataFrame(rows), "ref").set_index("plan")
    assert summary.loc["two", "net_value"] == pytest.approx(20.0)
    # t interval of (10, 30): mean 20, standard error 10, t(0.975, 1 df) = 12.706
    half = 12.706205 * 10.0
    assert summary.loc["two", "net_value_ci_low"] == pytest.approx(20.0 - half)
    assert summary.loc["two", "net_value_ci_high"] == pytest.approx(20.0 + half)
    for plan in ("one", "ref"):  # one seed pair, or the reference itself: no interval
        assert summary.loc[plan, ["net_value_ci_low", "net_value_ci_high"]].isna().all()
