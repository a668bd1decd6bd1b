"""Late and missing data: feeds with deadlines, provisional scores, holds and true-ups.

Loop runs use ``scenarios/small.yaml`` (quarters over two years) under the balanced plan, whose
four plan periods are 2026Q1..2026Q4; ledger cases use the toy organisation of
``tests/test_ledger.py`` (alice's grant 20k over a window of eight quarters Q1..Q8).
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from toolkit.config import ConfigError, load_scenario
from toolkit.config.plan import LateData
from toolkit.config.scenario import DataFeed
from toolkit.experiments import run_batch
from toolkit.plans import load_plan
from toolkit.plans.ledger import AwardLedger
from toolkit.report import availability_markdown, availability_summary, load_batch
from toolkit.run import run_plan
from toolkit.run.data_availability import (
    COLUMNS,
    clause_due_days,
    draw_deliveries,
    settling_close,
)

from .test_finance import make_plan, make_scenario
from .test_ledger import GRANT, ONE_COHORT, labels, table

SMALL = "scenarios/small.yaml"
PLAN = "balanced"
SEED = 5
ITSM_KPIS = ["mttr_mean_hours", "sla_attainment", "availability", "incident_volume"]
CENT = 0.005


def feed(**overrides) -> DataFeed:
    spec = {
        "id": "itsm",
        "name": "ITSM incident export",
        "kpis": ITSM_KPIS,
        "deadline_days": 5,
        "delay": {"median_days": 30, "sigma": 0.0},
    }
    return DataFeed.model_validate({**spec, **overrides})


def with_feeds(scenario, *feeds):
    return scenario.model_copy(update={"data_feeds": list(feeds)})


def with_rule(plan, **rule):
    return plan.model_copy(update={"late_data": LateData(**rule)})


@pytest.fixture(scope="module")
def small():
    scenario = load_scenario(SMALL)
    return scenario, load_plan(PLAN, scenario=scenario)


@pytest.fixture(scope="module")
def base(small):
    scenario, plan = small
    return run_plan(scenario, plan, SEED)


@pytest.fixture(scope="module")
def late(small):
    """Every period's ITSM data comes 30 days after the period's end, 25 after the deadline."""
    scenario, plan = small
    return run_plan(with_feeds(scenario, feed()), plan, SEED)


@pytest.fixture(scope="module")
def held(small):
    scenario, plan = small
    return run_plan(with_feeds(scenario, feed()), with_rule(plan, policy="hold"), SEED)


def value_at_target(run) -> dict[tuple[str, str], float]:
    """Per (period, team): what a 100 % score accrues, from a fresh ledger of the run's plan."""
    labels_ = run.behaviour["period"].drop_duplicates().tolist()
    ledger = AwardLedger(run.plan, run.scenario, labels_, 4)
    teams = [t.id for t in run.scenario.organisation.teams]
    return {
        (label, team): ledger.period_value(team, k)
        for k, label in enumerate(labels_)
        for team in teams
    }


def on_time_accrual(run, rows: pd.DataFrame) -> np.ndarray:
    """The accrual each row's period would have booked with on-time data: value × score."""
    value = value_at_target(run)
    scores = run.behaviour.set_index(["period", "team_id"])["score_pct"]
    keys = list(zip(rows["period"], rows["team_id"], strict=True))
    return np.array([value[key] * scores[key] / 100 for key in keys])


def money(run):
    return (
        run.awards,
        run.behaviour,
        run.ledger.cashflows(),
        run.ledger.liability(),
    )


# -- no feeds, or feeds that change nothing ----------------------------------------------------


def test_without_feeds_the_record_is_empty(base):
    assert list(base.data_availability.columns) == COLUMNS
    assert base.data_availability.empty
    assert base.plan.fingerprint() == load_plan(PLAN).fingerprint()


@pytest.mark.parametrize(
    "extra",
    [
        {"kpis": ["csat_mean"]},  # a feed the plan does not use
        {"deadline_days": 60, "delay": {"median_days": 1, "sigma": 0.3}},  # always on time
    ],
    ids=["unused", "on_time"],
)
def test_feeds_that_are_never_late_change_no_result(small, base, extra):
    scenario, plan = small
    run = run_plan(with_feeds(scenario, feed(**extra)), plan, SEED)
    for ours, theirs in zip(money(run), money(base), strict=True):
        pd.testing.assert_frame_equal(ours, theirs)
    record = run.data_availability
    if extra.get("kpis") == ["csat_mean"]:
        assert record.empty
    else:
        assert set(record["status"]) == {"on_time"}
        assert len(record) == 4 * 3  # four plan periods, three teams
        assert (record["true_up"] == 0).all()


def test_scenario_without_feeds_keeps_its_fingerprint(small):
    scenario, _ = small
    assert with_feeds(scenario, feed()).fingerprint() != scenario.fingerprint()
    assert with_feeds(scenario).fingerprint() == scenario.fingerprint()


# -- vendor feeds and data-sharing clauses ------------------------------------------------------
# small's cloudco must deliver its outages complete 5 days after each SLA period and its
# incidents 98 % complete by day 5; netlink only its SLA report, by day 10.


@pytest.mark.parametrize(
    ("supplier", "due"),
    [
        ({"vendor": "cloudco", "content": "outages"}, 5.0),
        ({"vendor": "cloudco", "content": "incidents"}, None),  # 98 %: not whole by day 5
        ({"vendor": "netlink", "content": "outages"}, None),  # no such clause
        ({"vendor": "netlink", "content": "sla_report"}, 10.0),
        (None, None),  # an internal feed
    ],
)
def test_a_clause_binds_a_feed_only_when_its_delivery_is_complete(small, supplier, due):
    scenario, _ = small
    due_days = clause_due_days(with_feeds(scenario, feed(supplier=supplier)))
    assert due_days == ({} if due is None else {"itsm": due})


def test_of_two_complete_deliveries_the_earlier_binds(small):
    scenario, _ = small
    cloudco, *others = scenario.organisation.vendors
    deliveries = cloudco.contract.data_deliveries
    early = {"id": "outage-extract-2", "due_days_after_period_end": 3}
    second = deliveries[1].model_copy(update=early)
    contract = cloudco.contract.model_copy(update={"data_deliveries": [*deliveries, second]})
    vendors = [cloudco.model_copy(update={"contract": contract}), *others]
    organisation = scenario.organisation.model_copy(update={"vendors": vendors})
    changed = scenario.model_copy(update={"organisation": organisation})
    supplier = {"vendor": "cloudco", "content": "outages"}
    assert clause_due_days(with_feeds(changed, feed(supplier=supplier))) == {"itsm": 3.0}


def test_a_complete_clause_caps_the_delay_on_the_same_draws():
    spread = feed(delay={"median_days": 6, "sigma": 0.8}, missing_probability=0.1)
    free = draw_deliveries([spread], labels(400), SEED)
    bound = draw_deliveries([spread], labels(400), SEED, {"itsm": 4.0})
    assert (bound["missing"] == free["missing"]).all()  # a clause moves when, not whether
    delivered = ~free["missing"]
    expected = np.minimum(free.loc[delivered, "delay_days"], 4.0)
    np.testing.assert_allclose(bound.loc[delivered, "delay_days"], expected)
    assert not bound.loc[delivered, "late"].any()  # due day 4 is within the 5-day deadline
    assert free.loc[delivered, "late"].mean() > 0.3
    assert (bound["clause_due_days"] == 4.0).all() and free["clause_due_days"].isna().all()


def test_a_data_sharing_clause_makes_a_vendor_feed_on_time_in_a_run(small, late):
    """With data 30 days late, a complete delivery due by the deadline makes every period
    final at its close; the 98 % delivery leaves every period provisional, as with no clause."""
    scenario, plan = small
    complete = feed(supplier={"vendor": "cloudco", "content": "outages"})
    partial = feed(supplier={"vendor": "cloudco", "content": "incidents"})
    on_time = run_plan(with_feeds(scenario, complete), plan, SEED).data_availability
    assert set(on_time["status"]) == {"on_time"}
    assert (on_time["true_up"] == 0).all()
    provisional = run_plan(with_feeds(scenario, partial), plan, SEED).data_availability
    pd.testing.assert_frame_equal(provisional, late.data_availability)


def test_a_feed_from_an_unknown_vendor_is_refused(tmp_path):
    path = tmp_path / "supplier.yaml"
    supplied = FEED_YAML + "    supplier: {vendor: cloudcoo, content: outages}\n"
    path.write_text(Path(SMALL).read_text() + supplied)
    with pytest.raises(ConfigError, match=r"data_feeds\[0\]\.supplier\.vendor: no vendor"):
        load_scenario(path)


# -- provisional scores and true-ups ------------------------------------------------------------


def test_always_late_feed_makes_every_period_provisional_and_trues_it_up(late):
    record = late.data_availability
    assert set(record["status"]) == {"provisional"}
    periods = record["period"].drop_duplicates().tolist()
    assert periods == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    # 30 days after the end is in by the next close (its end + 5 days); the last is pending
    settled = record.drop_duplicates("period").set_index("period")["settled_period"]
    assert settled.tolist() == ["2026Q2", "2026Q3", "2026Q4", ""]
    by_team = record.pivot(index="period", columns="team_id")
    # the first provisional score is the target, later ones the previous period's final
    assert (by_team["booked_score_pct"].iloc[0] == 100).all()
    pd.testing.assert_frame_equal(
        by_team["booked_score_pct"].iloc[1:].reset_index(drop=True),
        by_team["final_score_pct"].iloc[:-1].reset_index(drop=True),
    )


def test_provisional_plus_true_up_is_the_on_time_accrual_to_the_cent(late):
    record = late.data_availability
    done = record[record["settled_period"] != ""]
    assert len(done) == 9
    on_time = on_time_accrual(late, done)
    assert np.abs(done["provisional_accrual"] + done["true_up"] - on_time).max() < CENT
    scores = late.behaviour.set_index(["period", "team_id"])["score_pct"]
    assert done["final_score_pct"].tolist() == [
        scores[key] for key in zip(done["period"], done["team_id"], strict=True)
    ]
    # the ledger booked each true-up at the close it names, team by team
    cash = late.ledger.cashflows()
    ups = cash[cash["kind"] == "true_up"].groupby(["period", "team_id"])["amount"].sum()
    recorded = done.groupby(["settled_period", "team_id"])["true_up"].sum()
    recorded = recorded[recorded.abs() > 0]
    assert np.abs(ups.sort_index().to_numpy() - recorded.sort_index().to_numpy()).max() < CENT
    assert ups.index.tolist() == recorded.sort_index().index.tolist()


def test_ledger_accrual_is_final_for_settled_periods_and_booked_for_pending(late):
    record = late.data_availability
    pending = record["settled_period"] == ""
    expected = on_time_accrual(late, record[~pending]).sum()
    expected += record.loc[pending, "provisional_accrual"].sum()
    assert late.awards["accrued"].sum() == pytest.approx(expected, abs=CENT)


def test_hold_books_nothing_at_the_deadline_and_the_full_accrual_later(held):
    record = held.data_availability
    assert set(record["status"]) == {"held"}
    assert (record["booked_score_pct"] == 0).all()
    done = record[record["settled_period"] != ""]
    on_time = on_time_accrual(held, done)
    assert np.abs(done["true_up"] - on_time).max() < CENT
    # accrual waits a period: by each close the ledger holds the earlier periods only
    liability = held.ledger.liability().groupby("period", sort=False)["accrual"].sum()
    settled_at = done.groupby("settled_period")["true_up"].sum()
    for period, amount in liability.items():
        assert amount == pytest.approx(settled_at.get(period, 0.0), abs=CENT)
    assert held.awards["accrued"].sum() == pytest.approx(on_time.sum(), abs=CENT)


@pytest.mark.parametrize(
    ("rule", "booked", "final"),
    [
        # 2026Q1's zero is final at the 2026Q3 close, before 2026Q3 is booked on it
        ({"missing": "zero"}, [100.0, 100.0, 0.0, 0.0], 0.0),
        ({"missing": "last_known"}, [100.0] * 4, 100.0),
        ({"policy": "hold", "missing": "zero"}, [0.0] * 4, 0.0),
        ({"policy": "hold", "missing": "last_known"}, [0.0] * 4, 100.0),
    ],
)
def test_missing_data_is_settled_as_the_plan_says(small, rule, booked, final):
    scenario, plan = small
    never = feed(missing_probability=1.0)
    run = run_plan(with_feeds(scenario, never), with_rule(plan, **rule), SEED)
    record = run.data_availability
    assert set(record["status"]) == {"missing"}
    assert (record["delay_days"] == math.inf).all()
    assert record.groupby("period")["booked_score_pct"].unique().map(list).tolist() == [
        [b] for b in booked
    ]
    # declared missing two closes on: 2026Q1 at 2026Q3, 2026Q2 at 2026Q4, the rest pending
    settled = record.drop_duplicates("period")["settled_period"].tolist()
    assert settled == ["2026Q3", "2026Q4", "", ""]
    done = record[record["settled_period"] != ""]
    assert (done["final_score_pct"] == final).all()
    value = value_at_target(run)
    keys = zip(record["period"], record["team_id"], strict=True)
    expected = sum(
        value[key] * (final if settled_at else score) / 100
        for key, settled_at, score in zip(
            keys, record["settled_period"], record["booked_score_pct"], strict=True
        )
    )
    assert run.awards["accrued"].sum() == pytest.approx(expected, abs=CENT)


def test_same_seed_same_record_and_feeds_draw_from_their_own_streams(small, late):
    scenario, plan = small
    again = run_plan(with_feeds(scenario, feed()), plan, SEED)
    pd.testing.assert_frame_equal(again.data_availability, late.data_availability)
    spread = feed(delay={"median_days": 6, "sigma": 0.8})
    other = DataFeed.model_validate({**spread.model_dump(), "id": "csat", "kpis": ["csat_mean"]})
    alone = draw_deliveries([spread], labels(8), SEED)
    both = draw_deliveries([other, spread], labels(8), SEED)
    pd.testing.assert_frame_equal(both[both["feed"] == "itsm"].reset_index(drop=True), alone)


def test_delivery_delays_follow_the_lognormal():
    spread = feed(delay={"median_days": 6, "sigma": 0.8}, missing_probability=0.1)
    draws = draw_deliveries([spread], labels(4000), SEED)
    missing = draws["missing"].mean()
    assert abs(missing - 0.1) < 4 * math.sqrt(0.1 * 0.9 / 4000)
    delays = draws["delay_days"].dropna()
    late_share = (delays > 5).mean()
    p = 0.5 * math.erfc(math.log(5 / 6) / 0.8 / math.sqrt(2))
    assert abs(late_share - p) < 4 * math.sqrt(p * (1 - p) / len(delays))


def test_settling_close_counts_calendar_days_from_period_ends():
    ends = list(pd.to_datetime(["2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01"]))
    assert settling_close(ends, 0, delay=20, deadline=5) == 1
    assert settling_close(ends, 0, delay=96, deadline=5) == 1  # 91 days + 5 reach day 96
    assert settling_close(ends, 0, delay=97, deadline=5) == 2
    assert settling_close(ends, 2, delay=200, deadline=5) == 4  # past the horizon


# -- the ledger's true-ups, by hand ------------------------------------------------------------


def close_all(plan, booked, true_ups=None):
    ledger = AwardLedger(plan, make_scenario(), labels(len(booked)), 4)
    for k, score in enumerate(booked):
        ledger.close_period(k, {"ops": score}, (), (true_ups or {}).get(k, ()))
    return ledger


def test_true_up_before_vesting_restores_the_on_time_award():
    plan = make_plan(**ONE_COHORT)
    on_time = table(close_all(plan, [100.0] * 9))
    booked = [100.0] * 9
    booked[3] = 80.0
    trued = table(close_all(plan, booked, {4: [(3, {"ops": 20.0})]}))
    pd.testing.assert_frame_equal(trued, on_time)
    assert trued.loc[("alice", "Q1"), "paid"] == pytest.approx(GRANT["alice"])


def test_true_up_after_vesting_is_paid_deferred_or_recovered_by_hand():
    plan = make_plan(
        **ONE_COHORT, vesting={"schedule": "cliff", "deferral_share": 0.25, "deferral_years": 1}
    )
    booked = [100.0] * 10
    booked[8] = 60.0  # the vesting quarter Q8, booked at 60 and trued up at Q9 by +40
    ledger = close_all(plan, booked, {9: [(8, {"ops": 40.0})]})
    cash = ledger.cashflows()
    alice = cash[cash["person_id"] == "alice"].groupby(["period", "kind"])["amount"].sum()
    per_quarter = GRANT["alice"] / 8  # 2,500 at 100 %
    assert alice["Q8", "vest"] == pytest.approx(7 * per_quarter + 0.6 * per_quarter)  # 19,000
    assert alice["Q9", "true_up"] == pytest.approx(0.4 * per_quarter)  # 1,000
    assert alice["Q9", "vest"] == pytest.approx(1_000)
    assert alice["Q9", "defer"] == pytest.approx(250)
    assert alice["Q9", "pay"] == pytest.approx(750)
    row = table(ledger).loc[("alice", "Q1")]
    assert row["vested"] == pytest.approx(GRANT["alice"])
    assert row["deferred"] == pytest.approx(0.25 * GRANT["alice"])

    over = close_all(make_plan(**ONE_COHORT), [100.0] * 10, {9: [(8, {"ops": -40.0})]})
    paid = over.cashflows().query("person_id == 'alice' and kind == 'pay'")
    assert paid.set_index("period")["amount"].to_dict() == pytest.approx(
        {"Q8": 20_000.0, "Q9": -1_000.0}
    )
    assert table(over).loc[("alice", "Q1"), "paid"] == pytest.approx(19_000)


def test_true_up_after_vesting_meets_the_cap_its_tranche_met():
    scenario = make_scenario()
    plan = make_plan(**ONE_COHORT, cap={"pct_of_personnel_cost": 10})
    factor = 0.10 * 150_000 / (GRANT["alice"] + GRANT["bob"])  # 0.6
    ledger = AwardLedger(plan, scenario, labels(10), 4)
    for k in range(10):
        ledger.close_period(k, {"ops": 100.0}, (), [(8, {"ops": 40.0})] if k == 9 else ())
    row = table(ledger).loc[("alice", "Q1")]
    extra = 0.4 * GRANT["alice"] / 8
    assert row["vested"] == pytest.approx((GRANT["alice"] + extra) * factor)
    assert row["cap_scaling"] == pytest.approx((GRANT["alice"] + extra) * (1 - factor))
    assert row["accrued"] == pytest.approx(row["earned"] + row["cap_scaling"])


@pytest.mark.parametrize(
    ("true_ups", "message"),
    [
        ([(2, {"ops": 1.0})], "earlier period"),
        ([(-1, {"ops": 1.0})], "earlier period"),
        ([(0, {"nobody": 1.0})], "unknown team"),
        ([(0, {"ops": math.nan})], "finite"),
    ],
)
def test_ledger_refuses_bad_true_ups_unchanged(true_ups, message):
    ledger = AwardLedger(make_plan(**ONE_COHORT), make_scenario(), labels(4), 4)
    for k in range(2):
        ledger.close_period(k, {"ops": 100.0})
    before = table(ledger)
    with pytest.raises(ValueError, match=message):
        ledger.close_period(2, {"ops": 100.0}, (), true_ups)
    assert ledger.periods_closed == 2
    pd.testing.assert_frame_equal(table(ledger), before)


# -- strict configuration ----------------------------------------------------------------------

FEED_YAML = """
data_feeds:
  - id: itsm
    name: ITSM incident export
    kpis: [mttr_mean_hours]
    deadline_days: 10
    delay: {median_days: 4, sigma: 0.6}
"""


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("deadline_days: 10", "deadline_day: 10"), "data_feeds[0]"),
        (("deadline_days: 10", "deadline_days: -1"), "data_feeds[0].deadline_days"),
        (("sigma: 0.6", "sigma: 0.6, mean_days: 4"), "data_feeds[0].delay"),
        (("[mttr_mean_hours]", "[mttr_mean_hours, mttr_mean_hours]"), "data_feeds[0].kpis"),
        (("[mttr_mean_hours]", "[]"), "data_feeds[0].kpis"),
        (("sigma: 0.6}", "sigma: 0.6}\n    missing_probability: 1.5"), "missing_probability"),
    ],
)
def test_scenario_refuses_bad_feeds_naming_file_and_field(tmp_path, change, where):
    path = tmp_path / "feeds.yaml"
    text = Path(SMALL).read_text() + FEED_YAML.replace(*change)
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert where in str(caught.value)


def test_scenario_refuses_two_feeds_with_one_id(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(Path(SMALL).read_text() + FEED_YAML + FEED_YAML.split("\n", 2)[2])
    with pytest.raises(ConfigError, match=r"data_feeds\[1\]\.id: data feed id 'itsm' is used"):
        load_scenario(path)


def test_feed_yaml_loads_and_unknown_feed_kpi_is_refused_with_the_plan(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(Path(SMALL).read_text() + FEED_YAML)
    scenario = load_scenario(path)
    assert scenario.data_feeds[0].delay.median_days == 4
    typo = tmp_path / "typo.yaml"
    misspelt = FEED_YAML.replace("[mttr_mean_hours]", "[mttr_hours]")
    typo.write_text(Path(SMALL).read_text() + misspelt)
    with pytest.raises(ConfigError, match=r"data_feeds\[0\]\.kpis\[0\]: unknown KPI 'mttr_hours'"):
        load_plan(PLAN, scenario=load_scenario(typo))


@pytest.mark.parametrize(
    "rule",
    ["{policy: later}", "{missing: ignore}", "{missing_after_periods: 0}", "{polcy: hold}"],
)
def test_plan_refuses_bad_late_data_rules(tmp_path, rule):
    path = tmp_path / "late.yaml"
    path.write_text(Path("scenarios/plans/balanced.yaml").read_text() + f"late_data: {rule}\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(path)
    assert "late_data" in str(caught.value)
    assert str(path) in str(caught.value)


def test_late_data_defaults_are_documented_values():
    rule = LateData()
    assert (rule.policy, rule.missing, rule.missing_after_periods) == (
        "provisional",
        "last_known",
        2,
    )
    with pytest.raises(ValidationError):
        DataFeed.model_validate({**feed().model_dump(), "delay": {"median_days": 0}})


# -- batches and the report --------------------------------------------------------------------

SPREAD_YAML = """
data_feeds:
  - id: itsm
    name: ITSM incident export
    kpis: [mttr_mean_hours, sla_attainment]
    deadline_days: 5
    delay: {median_days: 5, sigma: 0.8}
    missing_probability: 0.1
"""


@pytest.fixture(scope="module")
def feed_batches(tmp_path_factory):
    """The same feed scenario in a batch run in this process and in one on two workers."""
    root = tmp_path_factory.mktemp("feeds")
    scenario = root / "feeds.yaml"
    scenario.write_text(Path(SMALL).read_text() + SPREAD_YAML)
    out = {}
    for workers in (1, 2):
        out[workers] = root / f"batch{workers}"
        run_batch([str(scenario)], [PLAN], [1, 2], out[workers], workers=workers, progress=False)
    return out


def test_record_is_written_alike_by_every_executor(feed_batches):
    files = {
        workers: sorted(directory.glob("runs/*/*/*/data_availability.parquet"))
        for workers, directory in feed_batches.items()
    }
    assert len(files[1]) == len(files[2]) == 2
    for one, two in zip(files[1], files[2], strict=True):
        pd.testing.assert_frame_equal(pd.read_parquet(one), pd.read_parquet(two))
    record = pd.concat(pd.read_parquet(path) for path in files[1])
    assert {"on_time", "provisional"} <= set(record["status"])


def test_report_shows_what_was_provisional_and_what_changed(feed_batches):
    batch = load_batch(feed_batches[2], reference=PLAN)
    summary = availability_summary(batch)
    assert len(summary) == 1
    record = batch.run_table("data_availability")
    row = summary.iloc[0]
    shares = record["status"].value_counts(normalize=True) * 100
    for status in ("on_time", "provisional", "held", "missing"):
        assert row[status] == pytest.approx(shares.get(status, 0.0))
    assert row["true_up_per_seed"] == pytest.approx(record["true_up"].sum() / 2)
    text = availability_markdown(batch)
    assert text.startswith("## Late and missing data")
    assert f"{row['mean_abs_change']:.1f} points" in text
    assert f"| `{PLAN}` | {row['on_time']:.0f} |" in text


def test_report_has_no_data_section_without_feeds(tmp_path):
    run_batch([SMALL], [PLAN], [1], tmp_path, workers=1, progress=False)
    batch = load_batch(tmp_path, reference=PLAN)
    assert availability_summary(batch).empty
    assert availability_markdown(batch) == ""


def test_true_ups_after_vesting_keep_the_ledgers_money_identities(small):
    """A one-year cohort from 2025Q3 vests at 2026Q2; that quarter is trued up at 2026Q3."""
    scenario, plan = small
    yearly = plan.model_copy(update={"performance_period_years": 1, "start_after_periods": 2})
    run = run_plan(with_feeds(scenario, feed()), yearly, SEED)
    cash = run.ledger.cashflows()
    first = cash[cash["cohort"] == "2025Q3"].groupby(["period", "kind"])["amount"].sum()
    assert first["2026Q2", "vest"] > 0
    # after vesting, the true-up is vested and paid at once (no deferral in the plan)
    assert first["2026Q3", "true_up"] == pytest.approx(first["2026Q3", "vest"])
    assert first["2026Q3", "pay"] == pytest.approx(first["2026Q3", "vest"])
    awards = run.awards
    scaled = awards["pool_scaling"] + awards["cap_scaling"] + awards["forfeited"]
    assert np.abs(awards["accrued"] - awards["earned"] - scaled).max() < CENT
    paid_side = awards["paid"] + awards["clawed_back"] + awards["deferred"]
    paid_side += awards["malus"] - awards["forfeited"]
    assert np.abs(awards["vested"] - paid_side).max() < CENT
    record = run.data_availability
    done = record[record["settled_period"] != ""]
    gap = done["provisional_accrual"] + done["true_up"] - on_time_accrual(run, done)
    assert np.abs(gap).max() < CENT
