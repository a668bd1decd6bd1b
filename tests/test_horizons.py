"""A plan under other horizons, paired by seed: net value, awards and short-termism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.experiments.horizons import horizon_comparison, horizon_plans
from toolkit.plans import load_plan
from toolkit.resources import SCENARIOS_DIR

VARIANTS = {
    "one_year": {"performance_period_years": 1},
    "graded": {"vesting": {"schedule": "graded"}},
}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    root = tmp_path_factory.mktemp("horizons")
    scenario = yaml.safe_load((SCENARIOS_DIR / "small.yaml").read_text())
    scenario["horizon"]["years"] = 3
    path = root / "inputs" / "small3.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    out = root / "batch"
    table, batch = horizon_comparison(
        "balanced", [path], 2, out, variants=VARIANTS, workers=2, progress=False
    )
    return table, batch, out, scenario


def test_one_row_per_variant_with_its_horizons(compared):
    table, *_ = compared
    assert table["variant"].tolist() == ["as_is", "one_year", "graded"]
    assert table["performance_period_years"].tolist() == [3, 1, 3]
    assert table["vesting_schedule"].tolist() == ["cliff", "cliff", "graded"]
    assert (table["seeds"] == 2).all()


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ({"short": {"performance_period_years": 0}}, "short'.*performance_period_years"),
        ({"deferred": {"vesting": {"deferral_share": 0.5}}}, "deferred'.*deferral_years"),
        ({"lighter": {"target_award_pct": {}}}, "'lighter'.*target_award_pct.*not a horizon"),
        ({"as_is": {"performance_period_years": 1}}, "'as_is' is taken"),
        ({}, "at least one variant"),
    ],
)
def test_an_invalid_variant_is_refused_before_anything_runs(tmp_path, variants, message):
    with pytest.raises(ValueError, match=f"(?s){message}"):
        horizon_comparison(
            "balanced", [SCENARIOS_DIR / "small.yaml"], 2, tmp_path / "out", variants=variants
        )
    assert not (tmp_path / "out").exists()


def test_the_variants_differ_in_their_horizons_only():
    plans = horizon_plans("balanced", VARIANTS)
    base = load_plan("balanced")
    for plan in plans.values():
        assert plan.metrics == base.metrics and plan.gates == base.gates
        assert plan.target_award_pct == base.target_award_pct
    assert plans["graded"].vesting.deferral_share == base.vesting.deferral_share


def _recomputed(batch, out, scenario: dict) -> pd.DataFrame:
    """Each run's measures read straight from its files, averaged over seeds per plan."""
    natural = (
        scenario["environment"]
        .get("behaviour", {})
        .get("levers", {})
        .get("baseline_reliability_effort", 0.2)
    )
    plans = horizon_plans("balanced", VARIANTS)
    rows = []
    for run in batch.runs.itertuples():
        plan = next(p for p in plans.values() if p.name == run.plan)
        behaviour = pd.read_parquet(out / run.directory / "behaviour.parquet")
        labels = sorted(behaviour["period"].unique())
        active = behaviour[behaviour["period"].isin(labels[plan.start_after_periods :])]
        gaming = active[list(GAMING_LEVERS)].sum(axis=1)
        short = (active["change_rate"] - 1) + gaming - (active["reliability_effort"] - natural)
        # quarters: a tranche vests at the end of each window (cliff) or window year (graded)
        step = 4 if plan.vesting.schedule == "graded" else 4 * plan.performance_period_years
        ends = {
            labels[k]
            for start in range(plan.start_after_periods, len(labels), 4)
            for k in range(start + step - 1, start + 4 * plan.performance_period_years, step)
            if k < len(labels)
        }
        vesting = active["period"].isin(ends)
        rows.append(
            {
                "plan": run.plan,
                "net_value": run.net_value,
                "total_awards": run.total_awards,
                "short_termism": short.mean(),
                "reliability_shift": (active["reliability_effort"] - natural).mean(),
                "vesting_short_termism": short[vesting].mean() - short[~vesting].mean()
                if vesting.any()
                else np.nan,
            }
        )
    return pd.DataFrame(rows).groupby("plan").mean()


def test_the_numbers_are_the_runs_own(compared):
    table, batch, out, scenario = compared
    expected = _recomputed(batch, out, scenario).loc[table["plan"]]
    for column in (
        "net_value",
        "total_awards",
        "short_termism",
        "reliability_shift",
        "vesting_short_termism",
    ):
        assert table[column].to_numpy() == pytest.approx(
            expected[column].to_numpy(), nan_ok=True
        ), column
    assert table.loc[0, "net_value"] == 0
    # the one-year plan vests inside three years, the three-year cliff does not
    assert np.isnan(table.loc[0, "vesting_short_termism"])
    assert np.isfinite(table.loc[1, "vesting_short_termism"])


def test_the_net_value_interval_is_the_batch_comparison(compared):
    table, _, out, _ = compared
    comparisons = pd.read_parquet(out / "comparisons.parquet")
    paired = comparisons[comparisons["metric"] == "net_value"].set_index("plan")
    for row in table.iloc[1:].itertuples():
        assert row.net_value == pytest.approx(paired.loc[row.plan, "mean_difference"])
        assert row.net_value_ci_low == pytest.approx(paired.loc[row.plan, "ci_low"])
        assert row.net_value_ci_high == pytest.approx(paired.loc[row.plan, "ci_high"])


def test_nothing_is_written_outside_the_batch_directory(compared):
    *_, out, _ = compared
    assert sorted(p.name for p in out.parent.iterdir()) == ["batch", "inputs"]
