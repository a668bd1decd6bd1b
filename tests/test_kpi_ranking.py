"""Each KPI rewarded alone: plans built from a template, run as a batch, ranked."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.experiments.kpi_ranking import rank_kpis, single_kpi_plan
from toolkit.plans import load_plan
from toolkit.resources import SCENARIOS_DIR

SMALL = SCENARIOS_DIR / "small.yaml"
KPIS = ["mttr_mean_hours", "change_throughput", "sla_attainment"]


@pytest.fixture(scope="module")
def ranking(tmp_path_factory):
    out = tmp_path_factory.mktemp("kpis") / "batch"
    table, batch = rank_kpis(KPIS, [SMALL], 3, out, workers=2, progress=False)
    return table, batch, out


def test_the_plan_takes_the_template_shape_with_the_kpi_alone():
    template = load_plan("mttr_only")
    plan = single_kpi_plan("sla_attainment")
    assert plan.name == "only_sla_attainment"
    (metric,) = plan.metrics
    assert metric.kpi == "sla_attainment" and metric.weight == 1
    assert metric.curve == template.metrics[0].curve
    assert metric.basis == "improvement" and metric.baseline.policy == "fixed"
    assert plan.target_award_pct == template.target_award_pct
    assert not plan.counter_metrics and not plan.gates
    assert plan.audit.probability_per_period == 0


def test_an_unknown_kpi_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown KPI 'mttr_mean_hour'.*'mttr_mean_hours'"):
        single_kpi_plan("mttr_mean_hour")
    with pytest.raises(ValueError, match="'no_such_kpi'"):
        rank_kpis(["mttr_mean_hours", "no_such_kpi"], [SMALL], 2, "unused", progress=False)


def test_a_level_template_is_refused(tmp_path):
    plan = tmp_path / "level.yaml"
    plan.write_text(
        "name: level\ndescription: pays a level\nmetrics:\n"
        "  - {kpi: sla_attainment, weight: 1, basis: level, curve: {kind: linear, "
        "threshold: {level: 0.9, payout_pct: 50}, target: {level: 0.95, payout_pct: 100}, "
        "maximum: {level: 0.99, payout_pct: 200}}}\n"
    )
    with pytest.raises(ValueError, match="basis 'improvement'"):
        single_kpi_plan("mttr_mean_hours", template=plan)


def test_a_kpi_that_is_always_one_is_refused_with_its_reason(tmp_path):
    text = SMALL.read_text().replace(
        "failure_probability: {standard: 0.02, normal: 0.06, emergency: 0.15, unauthorized: 0.3}",
        "failure_probability: {standard: 0, normal: 0, emergency: 0, unauthorized: 0}",
    )
    scenario = tmp_path / "safe.yaml"
    scenario.write_text(text)
    assert load_scenario(scenario)  # the edit gave a valid scenario
    table, batch = rank_kpis(
        ["change_success_rate"], [scenario], 2, tmp_path / "out", progress=False
    )
    assert batch is None  # nothing was worth running
    (row,) = table.itertuples()
    assert row.status == "refused" and "always 1" in row.reason
    assert pd.isna(row.rank_gaming) and pd.isna(row.net_value)


def test_nothing_is_written_outside_the_batch_directory(ranking):
    _, _, out = ranking
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_one_row_per_kpi_with_the_batch_own_numbers(ranking):
    table, batch, out = ranking
    assert sorted(table["kpi"]) == sorted(KPIS)
    assert (table["status"] != "refused").all()
    summary = pd.read_parquet(out / "summary.parquet").set_index("plan")
    comparisons = pd.read_parquet(out / "comparisons.parquet")
    net = comparisons[comparisons["metric"] == "net_value"].set_index("plan")
    for row in table.itertuples():
        assert row.gaming_index == pytest.approx(summary.loc[row.plan, "gaming_index"])
        assert row.net_value == pytest.approx(summary.loc[row.plan, "net_value"])
        assert row.net_value_ci_low == pytest.approx(net.loc[row.plan, "ci_low"])
        assert row.net_value_ci_high == pytest.approx(net.loc[row.plan, "ci_high"])
        assert row.seeds == 3
    # ranks follow the numbers
    by_gaming = table.sort_values("gaming_index")["kpi"].tolist()
    assert table.sort_values("rank_gaming")["kpi"].tolist() == by_gaming
    assert table.loc[table["rank_net_value"] == 1, "net_value"].iloc[0] == table["net_value"].max()


def test_the_gap_in_the_kpi_unit_is_the_runs_own(ranking):
    table, batch, out = ranking
    mttr = table.set_index("kpi").loc["mttr_mean_hours"]
    gaps = []
    for directory in batch.runs.loc[batch.runs["plan"] == mttr["plan"], "directory"]:
        kpis = pd.read_parquet(out / directory / "kpis.parquet")
        team = kpis[
            (kpis["kpi"] == "mttr_mean_hours")
            & (kpis["service_id"] == "ALL")
            & (kpis["team_id"] != "ALL")
        ]
        wide = team.pivot_table(index=["period", "team_id"], columns="view", values="value")
        plan_periods = sorted(team["period"].unique())[load_plan("mttr_only").start_after_periods :]
        wide = wide[wide.index.get_level_values("period").isin(plan_periods)]
        gaps.append((wide["reported"] - wide["true"]).mean())
    assert mttr["reported_minus_true"] == pytest.approx(sum(gaps) / len(gaps))
    # stop-the-clock and premature closure make the record faster than the truth
    assert mttr["reported_minus_true"] < 0 < mttr["gaming_gap"]
    assert mttr["gaming_index"] > 0


def test_a_kpi_with_nothing_to_improve_is_flagged():
    from toolkit.experiments.kpi_ranking import _flag

    never = pd.DataFrame({"spread": [2.0, 1.0], "pre_min": [0.0, 0.0], "pre_max": [0.0, 0.0]})
    assert "nothing to improve" in _flag("unauthorized_count", "changes", "lower", never)
    full = pd.DataFrame({"spread": [0.1], "pre_min": [1.0], "pre_max": [1.0]})
    assert "already 1" in _flag("availability", "share", "higher", full)
    fixed = pd.DataFrame({"spread": [0.0], "pre_min": [0.5], "pre_max": [0.5]})
    assert "same value" in _flag("reopen_rate", "share", "lower", fixed)
    moving = pd.DataFrame({"spread": [3.0], "pre_min": [20.0], "pre_max": [40.0]})
    assert _flag("mttr_mean_hours", "hours", "lower", moving) is None
