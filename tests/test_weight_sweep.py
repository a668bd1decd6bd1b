"""Weight moved between a reliability and a delivery KPI: variants, batch numbers, frontier."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from toolkit.experiments.weight_sweep import non_dominated, sweep_weights, weight_plan
from toolkit.plans import load_plan
from toolkit.report.weight_frontier import weight_frontier_figure
from toolkit.resources import SCENARIOS_DIR

SMALL = SCENARIOS_DIR / "small.yaml"
SHARES = [0.2, 0.5, 0.8]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("weights") / "batch"
    table, batch = sweep_weights(
        weights=SHARES, scenarios=[SMALL], seeds=3, out=out, workers=2, progress=False
    )
    return table, batch, out


def test_the_variant_moves_weight_and_keeps_the_total():
    base = load_plan("balanced")
    pair = {"mttr_mean_hours", "change_throughput"}
    combined = sum(m.weight for m in base.metrics if m.kpi in pair)
    for share in (0.0, 0.3, 1.0):
        plan = weight_plan(base, "mttr_mean_hours", "change_throughput", share)
        weights = {m.kpi: m.weight for m in plan.metrics}
        assert sum(weights.values()) == pytest.approx(sum(m.weight for m in base.metrics))
        assert weights.get("mttr_mean_hours", 0) == pytest.approx(share * combined)
        assert weights.get("change_throughput", 0) == pytest.approx((1 - share) * combined)
        others = {m.kpi: m.weight for m in base.metrics if m.kpi not in pair}
        assert {k: v for k, v in weights.items() if k not in pair} == others


def test_a_share_of_zero_drops_the_metric_and_the_guard_that_would_zero_it():
    plan = weight_plan(load_plan("balanced_guarded"), "mttr_mean_hours", "change_throughput", 0)
    assert "mttr_mean_hours" not in {m.kpi for m in plan.metrics}
    assert all(c.metric != "mttr_mean_hours" for c in plan.counter_metrics)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kpi_a": "mttr_mean_hour"}, "unknown KPI 'mttr_mean_hour'.*'mttr_mean_hours'"),
        ({"kpi_a": "csat_mean"}, "does not reward 'csat_mean'"),
        ({"kpi_b": "mttr_mean_hours"}, "two different KPIs"),
        ({"weights": [0.5, 1.2]}, r"1\.2 lies outside 0\.\.1"),
        ({"weights": [-0.1]}, "outside 0..1"),
        ({"weights": [float("nan")]}, "a number in 0..1"),
        ({"weights": []}, "at least one"),
        ({"weights": [0.5, 0.5]}, "more than once"),
    ],
)
def test_user_mistakes_are_refused_before_anything_runs(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sweep_weights(scenarios=[SMALL], seeds=2, out=tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_one_row_per_weight_with_the_batch_own_numbers(sweep):
    table, batch, out = sweep
    assert table["share_a"].tolist() == SHARES
    assert table["plan"].is_unique and (table["seeds"] == 3).all()
    total = sum(m.weight for m in load_plan("balanced").metrics)
    assert table["total_weight"].to_numpy() == pytest.approx([total] * len(SHARES))
    assert (table["weight_a"] + table["weight_b"]).to_numpy() == pytest.approx([0.4] * 3)
    summary = pd.read_parquet(out / "summary.parquet").set_index("plan")
    comparisons = pd.read_parquet(out / "comparisons.parquet")
    net = comparisons[comparisons["metric"] == "net_value"].set_index("plan")
    for row in table.itertuples():
        for name in ("true_change_throughput", "delivery_value", "total_awards", "gaming_index"):
            assert getattr(row, name) == pytest.approx(summary.loc[row.plan, name])
        assert row.net_value == pytest.approx(summary.loc[row.plan, "net_value"])
        assert row.net_value_ci_low == pytest.approx(net.loc[row.plan, "ci_low"])
        assert row.net_value_ci_high == pytest.approx(net.loc[row.plan, "ci_high"])


def test_reliability_is_the_true_plan_period_mean_of_the_runs(sweep):
    table, batch, out = sweep
    row = table.iloc[0]
    start = load_plan("balanced").start_after_periods
    means = []
    for directory in batch.runs.loc[batch.runs["plan"] == row["plan"], "directory"]:
        kpis = pd.read_parquet(out / directory / "kpis.parquet")
        team = kpis[
            (kpis["kpi"] == "mttr_mean_hours")
            & (kpis["view"] == "true")
            & (kpis["service_id"] == "ALL")
            & (kpis["team_id"] != "ALL")
        ]
        periods = sorted(team["period"].unique())[start:]
        means.append(team.loc[team["period"].isin(periods), "value"].mean())
    assert row["reliability_true"] == pytest.approx(sum(means) / len(means))


def test_the_frontier_holds_exactly_the_undominated_weights(sweep):
    table, _, _ = sweep
    assert table["frontier"].any()
    for i, row in table.iterrows():
        others = table.drop(index=i)
        dominated = (
            (others["reliability_true"] <= row["reliability_true"])  # MTTR: lower is better
            & (others["delivery_value"] >= row["delivery_value"])
            & (others["total_awards"] <= row["total_awards"])
            & (
                (others["reliability_true"] < row["reliability_true"])
                | (others["delivery_value"] > row["delivery_value"])
                | (others["total_awards"] < row["total_awards"])
            )
        ).any()
        assert row["frontier"] == (not dominated)


def test_non_dominated_ignores_incomplete_rows():
    frame = pd.DataFrame({"value": [1.0, float("nan"), 0.5], "cost": [1.0, 0.0, 2.0]})
    assert non_dominated(frame, {"value": "higher", "cost": "lower"}).tolist() == [
        True,
        False,
        False,
    ]


def test_nothing_is_written_outside_the_batch_directory(sweep):
    _, _, out = sweep
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_the_frontier_figure_draws_every_weight(sweep):
    table, _, _ = sweep
    fig = weight_frontier_figure(table)
    assert isinstance(fig, Figure)
    (ax, _colourbar) = fig.axes
    frontier, dominated = (len(points.get_offsets()) for points in ax.collections)
    assert (frontier, dominated) == (table["frontier"].sum(), (~table["frontier"]).sum())
    assert ax.yaxis_inverted()  # lower MTTR is better: better is up
    with pytest.raises(ValueError, match="not in the table"):
        weight_frontier_figure(table, "elsewhere")
