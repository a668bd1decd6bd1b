"""A plan with and without a gate, paired by seed: levers, firing and awards removed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.levers import ALL_LEVERS, GAMING_LEVERS
from toolkit.experiments.gate_effect import gate_effect, gate_plans
from toolkit.plans import load_plan
from toolkit.resources import SCENARIOS_DIR

SMALL = SCENARIOS_DIR / "small.yaml"
# about one unauthorized change per team and year on small: a gate at 1 fires often
GATE = {"kpi": "unauthorized_count", "at_least": 1}


@pytest.fixture(scope="module")
def effect(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate") / "batch"
    levers, fired, batch = gate_effect("balanced", GATE, [SMALL], 2, out, workers=2, progress=False)
    return levers, fired, batch, out


def test_the_variants_differ_in_the_gate_only():
    without, gated = gate_plans("balanced_guarded", {"kpi": "unauthorized_count", "at_least": 2})
    assert without.gates == [] and [(g.kpi, g.at_least) for g in gated.gates] == [
        ("unauthorized_count", 2.0)
    ]
    base = load_plan("balanced_guarded")
    for plan in (without, gated):
        assert plan.metrics == base.metrics and plan.counter_metrics == base.counter_metrics
        assert plan.malus == base.malus and plan.audit == base.audit


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"kpi": "unauthorised_count", "at_least": 1}, "unknown KPI.*'unauthorized_count'"),
        ({"kpi": "unauthorized_count", "at_least": 0}, "not a gate"),
        ({"kpi": "unauthorized_count"}, "not a gate"),
        ({"kpi": "mttr_mean_hours", "at_least": 3}, "count KPI"),
    ],
)
def test_a_bad_gate_is_refused_before_anything_runs(tmp_path, gate, message):
    with pytest.raises(ValueError, match=message):
        gate_effect("balanced", gate, [SMALL], 2, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_one_row_per_lever(effect):
    levers, _, _, _ = effect
    assert levers["lever"].tolist() == list(ALL_LEVERS)
    assert set(levers.loc[levers["kind"] == "gaming", "lever"]) == set(GAMING_LEVERS)
    assert (levers["seeds"] == 2).all()


def _per_seed(batch, out, plan: str) -> pd.DataFrame:
    """Each run's mean lever over teams and plan periods, read straight from its files."""
    start = load_plan("balanced").start_after_periods
    rows = {}
    for run in batch.runs[batch.runs["plan"] == plan].itertuples():
        behaviour = pd.read_parquet(out / run.directory / "behaviour.parquet")
        later = sorted(behaviour["period"].unique())[start:]
        active = behaviour[behaviour["period"].isin(later)]
        rows[run.seed] = {
            **active[list(ALL_LEVERS)].mean().to_dict(),
            "gated": int(active["findings"].str.contains("gate_breach").sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def test_the_gate_fires_and_the_differences_are_the_runs_own(effect):
    levers, fired, batch, out = effect
    without, gated = gate_plans("balanced", GATE)
    plain, with_gate = _per_seed(batch, out, without.name), _per_seed(batch, out, gated.name)
    (gate,) = fired.itertuples()
    assert gate.gated_team_periods == pytest.approx(with_gate["gated"].mean())
    assert gate.gated_team_periods > 0 and gate.runs_fired >= 1
    assert plain["gated"].sum() == 0  # no gate, nothing gated
    difference = (with_gate[list(ALL_LEVERS)] - plain[list(ALL_LEVERS)]).mean()
    for row in levers.itertuples():
        assert row.mean_without == pytest.approx(plain[row.lever].mean())
        assert row.mean_with == pytest.approx(with_gate[row.lever].mean())
        assert row.difference == pytest.approx(difference[row.lever], abs=1e-12)
        assert np.sign(round(row.difference, 9)) == np.sign(round(difference[row.lever], 9))
        if np.isfinite(row.ci_low):
            assert row.ci_low <= row.difference <= row.ci_high


def test_the_awards_removed_are_the_paired_difference_in_awards(effect):
    _, fired, batch, out = effect
    without, gated = gate_plans("balanced", GATE)
    awards = batch.runs.pivot_table(index="seed", columns="plan", values="total_awards")
    (gate,) = fired.itertuples()
    removed = (awards[without.name] - awards[gated.name]).mean()
    assert gate.awards_removed == pytest.approx(removed)
    assert gate.awards_with == pytest.approx(awards[gated.name].mean())
    assert gate.awards_removed_ci_low <= gate.awards_removed <= gate.awards_removed_ci_high
    comparisons = pd.read_parquet(out / "comparisons.parquet")
    paired = comparisons[(comparisons["metric"] == "total_awards")].set_index("plan")
    assert -paired.loc[gated.name, "mean_difference"] == pytest.approx(removed)


def test_nothing_is_written_outside_the_batch_directory(effect):
    *_, out = effect
    assert [p.name for p in out.parent.iterdir()] == [out.name]
